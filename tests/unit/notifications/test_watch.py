"""The configuration book: what a ConfigMap gets wrong is a NotificationConfigInvalid Warning event on it, once per
change (not once per resync), and the rest is used; a Secret's values reach the configuration decoded; without a
ConfigMap a namespace has no configuration; self-service namespaces are served with the controller's."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import httpx

from ramp.kube.client import KubeClient
from ramp.kube.events import EventRecorder
from ramp.notifications.engine import ConfigLike, ProblemLike
from ramp.notifications.services.base import SERVICE_TYPES, ServiceConfigError, ServiceContext, register
from ramp.notifications.watch import CONFIG_INVALID, ConfigBook, secret_values


@dataclass(frozen=True)
class _Spec:
    type: str
    name: str
    options: Mapping[str, Any]


@dataclass(frozen=True)
class _Config:
    namespace: str
    services: Mapping[str, _Spec]
    secret: Mapping[str, str] | None


@dataclass(frozen=True)
class _Problem:
    key: str
    message: str


def _refuse(name: str, options: Mapping[str, Any], context: ServiceContext) -> Any:
    raise ServiceConfigError(f"service.test-refused.{name}: url is required; add url: https://...")


if "test-refused" not in SERVICE_TYPES:
    register("test-refused")(_refuse)


@dataclass
class _Tolerant:
    name: str
    warnings: tuple[str, ...]

    async def send(self, notification: Any, recipient: str) -> None:
        return None


def _tolerate(name: str, options: Mapping[str, Any], context: ServiceContext) -> Any:
    return _Tolerant(name, (f"service.test-tolerant.{name}: option 'maxIdleConns' has no effect in Ramp",))


if "test-tolerant" not in SERVICE_TYPES:
    register("test-tolerant")(_tolerate)


class _Engine:
    def load(
        self, configmap: Mapping[str, str] | None, secret: Mapping[str, str] | None, namespace: str
    ) -> tuple[ConfigLike, Sequence[ProblemLike]]:
        data = configmap or {}
        problems = [_Problem(k, "Ramp has no notification service of type 'awssqs'") for k in data if "awssqs" in k]
        services = {
            k.split(".")[-1]: _Spec(k.split(".")[1], k.split(".")[-1], {})
            for k in data
            if "refused" in k or "tolerant" in k
        }
        return _Config(namespace, services, secret), problems


def _book(self_service: bool = False) -> tuple[ConfigBook, EventRecorder, list[tuple[str, str, str]]]:
    recorder = EventRecorder(cast(KubeClient, None), host="test")
    heard: list[tuple[str, str, str]] = []
    recorder.add_listener(lambda obj, kind, reason, message: heard.append((obj["kind"], reason, message)))
    http = httpx.AsyncClient()
    book = ConfigBook(
        _Engine(),
        ServiceContext(http, lambda **kw: http),
        recorder,
        controller_namespace="argo-rollouts",
        self_service=self_service,
    )
    return book, recorder, heard


def _configmap(namespace: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": namespace}, "data": data}


async def test_what_a_configmap_gets_wrong_is_a_warning_event_on_it_once_per_change() -> None:
    book, _, heard = _book()
    configmap = _configmap("argo-rollouts", **{"service.awssqs": "x", "service.test-refused.hook": "y"})
    book.set("argo-rollouts", configmap, None)
    book.set("argo-rollouts", configmap, None)  # the same again (a resync): nothing new to say
    assert sorted(reason for _, reason, _ in heard) == [CONFIG_INVALID, CONFIG_INVALID]
    assert {kind for kind, _, _ in heard} == {"ConfigMap"}
    messages = sorted(message for _, _, message in heard)
    assert messages[0].startswith("service.awssqs: Ramp has no notification service")
    assert messages[1] == "service.test-refused.hook: url is required; add url: https://..."
    loaded = book.get("argo-rollouts")
    assert loaded is not None and loaded.services == {}, "the refused service is left out, the rest is used"


async def test_the_secret_reaches_the_configuration_decoded_and_no_configmap_means_no_configuration() -> None:
    book, _, _ = _book()
    secret = {"data": {"slack-token": base64.b64encode(b"xoxb-1").decode()}, "stringData": {"other": "v"}}
    book.set("argo-rollouts", _configmap("argo-rollouts"), secret)
    loaded = book.get("argo-rollouts")
    assert loaded is not None and cast(_Config, loaded.config).secret == {"slack-token": "xoxb-1", "other": "v"}
    book.set("argo-rollouts", None, secret)
    assert book.get("argo-rollouts") is None
    assert book.for_namespace("shop") == []


def test_undecodable_secret_values_are_left_out() -> None:
    assert secret_values({"data": {"a": "!!notbase64", "b": base64.b64encode(b"ok").decode()}}) == {"b": "ok"}
    assert secret_values(None) is None


async def test_with_self_service_an_object_is_served_by_the_controllers_configuration_and_its_namespaces() -> None:
    book, _, _ = _book(self_service=True)
    book.set("argo-rollouts", _configmap("argo-rollouts"), None)
    book.set("shop", _configmap("shop"), None)
    assert [c.namespace for c in book.for_namespace("shop")] == ["argo-rollouts", "shop"]
    assert [c.self_service for c in book.for_namespace("shop")] == [False, True]
    assert [c.namespace for c in book.for_namespace("other")] == ["argo-rollouts"]
    plain, _, _ = _book(self_service=False)
    plain.set("argo-rollouts", _configmap("argo-rollouts"), None)
    plain.set("shop", _configmap("shop"), None)
    assert [c.namespace for c in plain.for_namespace("shop")] == ["argo-rollouts"]


async def test_a_standby_replica_reports_nothing_and_reports_once_it_leads() -> None:
    book, _, heard = _book()
    book.set_leading(False)
    book.set("argo-rollouts", _configmap("argo-rollouts", **{"service.awssqs": "x"}), None)
    assert heard == []
    book.set_leading(True)
    assert [reason for _, reason, _ in heard] == [CONFIG_INVALID]


async def test_an_option_a_service_accepts_without_effect_is_a_warning_event_and_the_service_is_used() -> None:
    book, _, heard = _book()
    book.set("argo-rollouts", _configmap("argo-rollouts", **{"service.test-tolerant.pool": "y"}), None)
    assert heard == [
        ("ConfigMap", CONFIG_INVALID, "service.test-tolerant.pool: option 'maxIdleConns' has no effect in Ramp")
    ]
    loaded = book.get("argo-rollouts")
    assert loaded is not None and set(loaded.services) == {"pool"}
