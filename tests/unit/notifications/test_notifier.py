"""The notifier: an event a Rollout subscribes to becomes one message per destination, written as pending before
it is sent and as notified after; the same event again sends nothing; a restart resumes what was pending; a
failed send is a NotificationFailed Warning event on the Rollout; events of other kinds and the notifier's own
never notify.

The configuration side is a small stand-in engine here (the real one is tested with the config modules); the
API server is an httpx.MockTransport that applies merge patches to the annotations of one Rollout."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import httpx

from ramp.kube.client import KubeClient
from ramp.kube.config import ClusterConfig
from ramp.kube.events import EventRecorder
from ramp.notifications.bookkeeping import NOTIFIED_ANNOTATION, PENDING_ANNOTATION, read_ledger
from ramp.notifications.delivery import RetryPolicy
from ramp.notifications.engine import EMPTY_WHEN, ConfigLike, ProblemLike
from ramp.notifications.notifier import NOTIFICATION_FAILED, Lookup, Notifier
from ramp.notifications.services.base import (
    SERVICE_TYPES,
    Notification,
    SendError,
    ServiceContext,
    register,
)
from ramp.notifications.watch import ConfigBook

SENT: dict[str, list[tuple[str, str]]] = {}


class _Inbox:
    def __init__(self, name: str, options: Mapping[str, Any]) -> None:
        self.name = name
        self.down = bool(options.get("down"))

    async def send(self, notification: Notification, recipient: str) -> None:
        if self.down:
            raise SendError(f"{self.name}: connection refused")
        SENT.setdefault(self.name, []).append((notification.message, recipient))


if "test-inbox" not in SERVICE_TYPES:
    register("test-inbox")(lambda name, options, context: _Inbox(name, options))


@dataclass(frozen=True)
class _Spec:
    type: str
    name: str
    options: Mapping[str, Any]


@dataclass(frozen=True)
class _Config:
    namespace: str
    services: Mapping[str, _Spec]


@dataclass(frozen=True)
class _Destination:
    service: str
    recipient: str


@dataclass(frozen=True)
class _Result:
    key: str
    triggered: bool
    templates: Sequence[str]
    once_per: str | None = None


@dataclass
class _Engine:
    """Subscriptions by annotation, every trigger `on-x` with one condition without `when` sending template `x`."""

    rendered: list[Mapping[str, Any]] = field(default_factory=list)

    def load(
        self, configmap: Mapping[str, str] | None, secret: Mapping[str, str] | None, namespace: str
    ) -> tuple[ConfigLike, Sequence[ProblemLike]]:
        services = {
            key.split(".", 2)[2]: _Spec("test-inbox", key.split(".", 2)[2], {"down": value == "down"})
            for key, value in (configmap or {}).items()
            if key.startswith("service.test-inbox.")
        }
        return _Config(namespace, services), []

    def destinations(
        self, config: ConfigLike, annotations: Mapping[str, str], labels: Mapping[str, str]
    ) -> Mapping[str, Collection[_Destination]]:
        found: dict[str, set[_Destination]] = {}
        for key, value in annotations.items():
            if key.startswith("notifications.argoproj.io/subscribe."):
                trigger, service = key.removeprefix("notifications.argoproj.io/subscribe.").split(".")
                found.setdefault(trigger, set()).update(_Destination(service, r) for r in value.split(";"))
        return found

    def subscription_problems(self, config: ConfigLike, annotations: Mapping[str, str]) -> Sequence[tuple[str, str]]:
        return [(k, "service 'nope' is not configured") for k in annotations if k.endswith(".nope")]

    def trigger_for_reason(self, reason: str) -> str:
        known = {
            "RolloutAborted": "on-rollout-aborted",
            "RolloutCompleted": "on-rollout-completed",
            "Purple": "on-purple",
        }
        return known.get(reason, "?")

    def run_trigger(self, config: ConfigLike, trigger: str, variables: Mapping[str, Any]) -> Sequence[_Result]:
        image = (variables["rollout"].get("spec") or {}).get("image")
        if trigger == "on-purple":  # when: image == 'purple'
            return [_Result("[0].purple", image == "purple", ("purple",))]
        if trigger == "on-new-image":  # when: true, oncePer: image
            return [_Result("[0].always", True, ("new-image",), once_per=str(image))]
        return [_Result(f"[0].{EMPTY_WHEN}", True, (trigger.removeprefix("on-"),))]

    def variables(
        self, obj: Mapping[str, Any], *, kind: str, analysis_runs: Sequence[Mapping[str, Any]], now: datetime
    ) -> dict[str, Any]:
        return {"rollout": obj}

    def render(
        self,
        config: ConfigLike,
        templates: Sequence[str],
        variables: Mapping[str, Any],
        *,
        service_type: str | None,
        service: str,
        recipient: str,
    ) -> Notification:
        self.rendered.append(variables)
        return Notification(f"{templates[0]}: {variables['rollout']['metadata']['name']}")


class _Cluster:
    """One Rollout's annotations (merge-patched) and the Events created."""

    def __init__(self, rollout: dict[str, Any]) -> None:
        self.rollout = rollout
        self.patches: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.path.endswith("/events"):
            self.events.append(body)
            return httpx.Response(201, json=body)
        self.patches.append(body)
        annotations = self.rollout["metadata"].setdefault("annotations", {})
        for key, value in body["metadata"]["annotations"].items():
            if value is None:
                annotations.pop(key, None)
            else:
                annotations[key] = value
        return httpx.Response(200, json=self.rollout)


def _rollout(**annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web", "namespace": "shop", "resourceVersion": "41", "annotations": dict(annotations)},
    }


SUBSCRIBED = {
    "notifications.argoproj.io/subscribe.on-rollout-aborted.ops": "alerts;oncall",
    "notifications.argoproj.io/subscribe.on-rollout-completed.down": "x",
}


def _setup(cluster: _Cluster) -> tuple[Notifier, EventRecorder, _Engine]:
    client = KubeClient(ClusterConfig(server="https://mock"), transport=httpx.MockTransport(cluster), qps=0)
    recorder = EventRecorder(client, host="test")
    engine = _Engine()
    http = httpx.AsyncClient()
    book = ConfigBook(engine, ServiceContext(http, lambda **kw: http), recorder, controller_namespace="argo-rollouts")
    book.set(
        "argo-rollouts",
        {
            "metadata": {"name": "cm", "namespace": "argo-rollouts"},
            "data": {"service.test-inbox.ops": "up", "service.test-inbox.down": "down"},
        },
        None,
    )
    notifier = Notifier(client, recorder, book, engine, policy=RetryPolicy(attempts=2, backoff=0.0))
    recorder.add_listener(notifier.listen)
    return notifier, recorder, engine


async def _settle(notifier: Notifier, recorder: EventRecorder) -> None:
    tasks = [asyncio.create_task(notifier.run()), asyncio.create_task(recorder.run())]
    await asyncio.sleep(0)
    await notifier.drain(5.0)
    await recorder.close(5.0)
    for task in tasks:
        task.cancel()


async def test_an_event_sends_one_message_per_destination_and_the_ledger_records_each() -> None:
    SENT.clear()
    cluster = _Cluster(_rollout(**SUBSCRIBED))
    notifier, recorder, _ = _setup(cluster)
    await notifier.resume(Lookup(lambda k, ns, n: cluster.rollout, lambda ns: []), [])
    recorder.warning(cluster.rollout, "RolloutAborted", "Rollout aborted update to revision 2")
    await _settle(notifier, recorder)
    assert sorted(SENT["ops"]) == [("rollout-aborted: web", "alerts"), ("rollout-aborted: web", "oncall")]
    assert PENDING_ANNOTATION in cluster.patches[0]["metadata"]["annotations"], "promised before sent"
    annotations = cluster.rollout["metadata"]["annotations"]
    assert PENDING_ANNOTATION not in annotations
    assert sorted(json.loads(annotations[NOTIFIED_ANNOTATION])) == sorted(
        f"{key}" for key in read_ledger(annotations).notified
    )
    assert len(read_ledger(annotations).notified) == 2


async def test_the_same_event_again_sends_nothing_more_even_from_a_new_controller() -> None:
    SENT.clear()
    cluster = _Cluster(_rollout(**SUBSCRIBED))
    notifier, recorder, _ = _setup(cluster)
    await notifier.resume(Lookup(lambda k, ns, n: cluster.rollout, lambda ns: []), [])
    recorder.warning(dict(cluster.rollout), "RolloutAborted", "aborted")
    await _settle(notifier, recorder)
    again, recorder2, _ = _setup(cluster)  # a restarted controller reads the ledger from the object
    await again.resume(Lookup(lambda k, ns, n: cluster.rollout, lambda ns: []), [cluster.rollout])
    recorder2.warning(
        {**cluster.rollout, "metadata": {**cluster.rollout["metadata"], "resourceVersion": "41"}},
        "RolloutAborted",
        "aborted",
    )
    await _settle(again, recorder2)
    assert len(SENT["ops"]) == 2


async def test_a_restart_between_the_promise_and_the_send_sends_it_after_the_restart() -> None:
    SENT.clear()
    cluster = _Cluster(_rollout(**SUBSCRIBED))
    notifier, recorder, _ = _setup(cluster)
    await notifier.resume(Lookup(lambda k, ns, n: cluster.rollout, lambda ns: []), [])
    recorder.warning(cluster.rollout, "RolloutAborted", "aborted")
    intake = asyncio.create_task(notifier._take_events())  # promises, but no sender runs: the controller dies
    await notifier._intake.join()
    intake.cancel()
    assert len(read_ledger(cluster.rollout["metadata"]["annotations"]).pending) == 2
    assert "ops" not in SENT
    restarted, recorder2, _ = _setup(cluster)
    assert await restarted.resume(Lookup(lambda k, ns, n: cluster.rollout, lambda ns: []), [cluster.rollout]) == 2
    await _settle(restarted, recorder2)
    assert sorted(r for _, r in SENT["ops"]) == ["alerts", "oncall"]
    assert not read_ledger(cluster.rollout["metadata"]["annotations"]).pending


async def test_a_send_that_fails_for_good_is_a_warning_event_on_the_rollout_and_not_recorded_as_sent() -> None:
    SENT.clear()
    cluster = _Cluster(_rollout(**SUBSCRIBED))
    notifier, recorder, _ = _setup(cluster)
    await notifier.resume(Lookup(lambda k, ns, n: cluster.rollout, lambda ns: []), [])
    recorder.normal(cluster.rollout, "RolloutCompleted", "completed")
    await _settle(notifier, recorder)
    failed = [e for e in cluster.events if e["reason"] == NOTIFICATION_FAILED]
    assert len(failed) == 1
    assert failed[0]["type"] == "Warning" and failed[0]["involvedObject"]["name"] == "web"
    assert failed[0]["message"] == "notification on-rollout-completed to down failed: down: connection refused"
    assert not read_ledger(cluster.rollout["metadata"]["annotations"]).knows("anything")
    assert read_ledger(cluster.rollout["metadata"]["annotations"]).notified == {}


async def test_events_of_other_kinds_unsubscribed_triggers_and_the_notifiers_own_send_nothing() -> None:
    SENT.clear()
    cluster = _Cluster(_rollout(**SUBSCRIBED))
    notifier, recorder, _ = _setup(cluster)
    flag = {**cluster.rollout, "apiVersion": "ramp.dev/v1alpha1", "kind": "FeatureFlag"}
    recorder.warning(flag, "RolloutAborted", "aborted")
    recorder.warning(cluster.rollout, NOTIFICATION_FAILED, "x")
    recorder.normal(cluster.rollout, "ScalingReplicaSet", "scaled")
    await _settle(notifier, recorder)
    assert SENT == {}
    assert cluster.patches == []


async def test_messages_are_rendered_from_the_freshest_copy_of_the_rollout() -> None:
    SENT.clear()
    cluster = _Cluster(_rollout(**SUBSCRIBED))
    notifier, recorder, engine = _setup(cluster)
    newer = {**cluster.rollout, "status": {"phase": "Degraded"}}
    await notifier.resume(Lookup(lambda k, ns, n: newer, lambda ns: []), [])
    recorder.warning(cast(dict[str, Any], cluster.rollout), "RolloutAborted", "aborted")
    await _settle(notifier, recorder)
    assert engine.rendered and all(v["rollout"].get("status") == {"phase": "Degraded"} for v in engine.rendered)


async def test_a_subscription_no_configuration_can_honour_is_a_warning_event_once() -> None:
    SENT.clear()
    cluster = _Cluster(_rollout(**SUBSCRIBED, **{"notifications.argoproj.io/subscribe.on-rollout-aborted.nope": "x"}))
    notifier, recorder, _ = _setup(cluster)
    await notifier.resume(Lookup(lambda k, ns, n: cluster.rollout, lambda ns: []), [])
    recorder.warning(cluster.rollout, "RolloutAborted", "aborted")
    recorder.warning(cluster.rollout, "RolloutAborted", "aborted again")
    await _settle(notifier, recorder)
    invalid = [e for e in cluster.events if e["reason"] == "NotificationSubscriptionInvalid"]
    assert [e["message"] for e in invalid] == [
        "notifications.argoproj.io/subscribe.on-rollout-aborted.nope: service 'nope' is not configured"
    ]


async def _changes(notifier: Notifier, recorder: EventRecorder, cluster: _Cluster, *images: str) -> None:
    tasks = [asyncio.create_task(notifier.run()), asyncio.create_task(recorder.run())]
    for image in images:
        cluster.rollout["spec"] = {"image": image}
        notifier.observe(cluster.rollout)
        await asyncio.sleep(0)
        await notifier.drain(5.0)
    await recorder.close(5.0)
    for task in tasks:
        task.cancel()


async def test_a_custom_trigger_sends_when_its_condition_comes_to_hold_and_again_only_after_it_lapsed() -> None:
    SENT.clear()
    cluster = _Cluster(_rollout(**{"notifications.argoproj.io/subscribe.on-purple.ops": "team"}))
    notifier, recorder, _ = _setup(cluster)
    await notifier.resume(Lookup(lambda k, ns, n: cluster.rollout, lambda ns: []), [])
    await _changes(notifier, recorder, cluster, "blue", "purple", "purple", "purple")
    assert SENT["ops"] == [("purple: web", "team")]
    notified = read_ledger(cluster.rollout["metadata"]["annotations"]).notified
    assert list(notified) == ["on-purple:[0].purple:ops:team"], "upstream's key, as its engine writes it"
    await _changes(notifier, recorder, cluster, "blue", "purple")
    assert len(SENT["ops"]) == 2


async def test_a_condition_with_once_per_sends_once_per_value_ever() -> None:
    SENT.clear()
    cluster = _Cluster(_rollout(**{"notifications.argoproj.io/subscribe.on-new-image.ops": "team"}))
    notifier, recorder, _ = _setup(cluster)
    await notifier.resume(Lookup(lambda k, ns, n: cluster.rollout, lambda ns: []), [])
    await _changes(notifier, recorder, cluster, "v1", "v1", "v2", "v1", "v2", "v3")
    assert len(SENT["ops"]) == 3
    assert sorted(read_ledger(cluster.rollout["metadata"]["annotations"]).notified) == [
        f"v{n}:on-new-image:[0].always:ops:team" for n in (1, 2, 3)
    ]


async def test_events_never_send_conditions_with_a_when() -> None:
    SENT.clear()
    cluster = _Cluster(_rollout(**{"notifications.argoproj.io/subscribe.on-purple.ops": "team"}))
    notifier, recorder, _ = _setup(cluster)
    await notifier.resume(Lookup(lambda k, ns, n: cluster.rollout, lambda ns: []), [])
    cluster.rollout["spec"] = {"image": "purple"}
    recorder.normal(cluster.rollout, "Purple", "an event whose trigger is on-purple")
    await _settle(notifier, recorder)
    assert SENT == {}


async def test_a_delivery_another_controller_left_pending_is_sent_at_the_rollouts_next_change_once() -> None:
    SENT.clear()
    cluster = _Cluster(_rollout(**SUBSCRIBED))
    notifier, recorder, _ = _setup(cluster)
    await notifier.resume(Lookup(lambda k, ns, n: cluster.rollout, lambda ns: []), [])
    recorder.warning(cluster.rollout, "RolloutAborted", "aborted")
    intake = asyncio.create_task(notifier._take_events())  # promised, never sent: that controller stops
    await notifier._intake.join()
    intake.cancel()
    # A sharded replica resumes nothing at its start: it sends at the Rollout's next change instead
    other, recorder2, _ = _setup(cluster)
    await other.resume(Lookup(lambda k, ns, n: cluster.rollout, lambda ns: []), [])
    await _changes(other, recorder2, cluster, "v1", "v2")
    assert sorted(r for _, r in SENT["ops"]) == ["alerts", "oncall"]
    assert not read_ledger(cluster.rollout["metadata"]["annotations"]).pending
