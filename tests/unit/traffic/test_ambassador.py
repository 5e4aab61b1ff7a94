"""The Ambassador router's canary Mappings: what they say and when they come and go, on plain dicts (no cluster)."""

from __future__ import annotations

import copy
from typing import Any, cast

import pytest

from ramp.api.traffic import RolloutTrafficRouting
from ramp.kube.client import KubeClient
from ramp.traffic.ambassador import (
    Action,
    AmbassadorRouter,
    CanarySettings,
    build_canary_mapping,
    canary_mapping_name,
    canary_service_of,
    decide_action,
)
from ramp.traffic.base import (
    HeaderMatch,
    HeaderRoute,
    MirrorRoute,
    RequestMatch,
    RouterContext,
    RouterError,
    RouterIO,
    StringMatch,
    UnsupportedFeature,
)

FIELD = "spec.strategy.canary.trafficRouting.ambassador.mappings[0]"
OWNER = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "app", "uid": "u1", "controller": True}
SETTINGS = CanarySettings("app-stable", "app-canary", OWNER)


def base_mapping(
    service: str = "app-stable:80", api_version: str = "getambassador.io/v2", **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": "Mapping",
        "metadata": {
            "name": "app-mapping",
            "namespace": "ns",
            "labels": {"team": "web"},
            "annotations": {"note": "user's"},
            "resourceVersion": "5",
            "uid": "base-uid",
        },
        "spec": {"prefix": "/", "rewrite": "/", "service": service, **spec},
    }


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ("app-stable", "app-canary"),
        ("app-stable:80", "app-canary:80"),
        ("app-stable.ns:8080", "app-canary.ns:8080"),
        ("http://app-stable.ns.svc.cluster.local:80", "http://app-canary.ns.svc.cluster.local:80"),
        ("app-stable-v2:80", None),
        ("other:80", None),
    ],
)
def test_the_canary_service_replaces_only_the_service_name(service: str, expected: str | None) -> None:
    assert canary_service_of(service, "app-stable", "app-canary") == expected


def test_the_canary_mapping_name_is_the_base_name_with_a_suffix_cut_as_upstream() -> None:
    assert canary_mapping_name("app-mapping") == "app-mapping-canary"
    assert canary_mapping_name("m" * 300) == "m" * 246 + "-canary"


def test_a_new_canary_mapping_copies_the_base_spec_to_the_canary_service_with_the_weight() -> None:
    base = base_mapping(host="app.example.com", timeout_ms=3000)
    canary = build_canary_mapping(base, None, SETTINGS, 10, FIELD)
    assert canary == {
        "apiVersion": "getambassador.io/v2",
        "kind": "Mapping",
        "metadata": {
            "name": "app-mapping-canary",
            "namespace": "ns",
            "labels": {"team": "web"},
            "ownerReferences": [OWNER],
        },
        "spec": {
            "prefix": "/",
            "rewrite": "/",
            "service": "app-canary:80",
            "host": "app.example.com",
            "timeout_ms": 3000,
            "weight": 10,
        },
    }


def test_the_canary_mapping_keeps_the_base_api_version() -> None:
    canary = build_canary_mapping(base_mapping(api_version="getambassador.io/v3alpha1"), None, SETTINGS, 10, FIELD)
    assert canary["apiVersion"] == "getambassador.io/v3alpha1"


def test_an_existing_canary_mapping_keeps_its_metadata_and_follows_the_base_spec() -> None:
    current = build_canary_mapping(base_mapping(), None, SETTINGS, 10, FIELD)
    current["metadata"].update({"resourceVersion": "9", "annotations": {"added-by": "someone"}})
    changed_base = base_mapping(rewrite="/v2/")
    updated = build_canary_mapping(changed_base, current, SETTINGS, 33, FIELD)
    assert updated["metadata"] == current["metadata"]
    assert updated["spec"]["rewrite"] == "/v2/" and updated["spec"]["weight"] == 33
    again = build_canary_mapping(changed_base, copy.deepcopy(updated), SETTINGS, 33, FIELD)
    assert again == updated


def test_a_base_mapping_with_a_weight_is_an_error_naming_the_field() -> None:
    with pytest.raises(RouterError) as raised:
        build_canary_mapping(base_mapping(weight=20), None, SETTINGS, 10, FIELD)
    assert str(raised.value).startswith(f'{FIELD}: Mapping "app-mapping" sets weight 20; remove spec.weight')


def test_a_base_mapping_not_sending_to_the_stable_service_is_an_error_naming_the_field() -> None:
    with pytest.raises(RouterError) as raised:
        build_canary_mapping(base_mapping("legacy:80"), None, SETTINGS, 10, FIELD)
    assert str(raised.value).startswith(FIELD)
    assert '"legacy:80"' in str(raised.value) and "app-stable" in str(raised.value)


@pytest.mark.parametrize(
    ("current_weight", "weight", "action"),
    [
        (None, 0, Action.NONE),
        (None, 10, Action.CREATE),
        (10, 33, Action.UPDATE),
        (10, 10, Action.UPDATE),
        (33, 0, Action.UPDATE),
        (0, 0, Action.DELETE),
        (0, 10, Action.UPDATE),
    ],
    ids=[
        "absent-at-zero-stays-absent",
        "created-on-first-traffic",
        "reweighted",
        "same-weight-is-an-update-that-writes-nothing",
        "at-zero-first-set-to-zero",
        "already-zero-then-deleted",
        "zero-back-to-traffic",
    ],
)
def test_the_canary_mapping_action_follows_upstream(current_weight: int | None, weight: int, action: Action) -> None:
    current = None if current_weight is None else {"spec": {"weight": current_weight}}
    assert decide_action(current, weight) is action


async def test_header_and_mirror_routes_are_unsupported_but_removing_them_is_fine() -> None:
    routing = RolloutTrafficRouting.model_validate({"ambassador": {"mappings": ["app-mapping"]}})
    context = RouterContext("ns", "app", "u1", routing, "app-stable", "app-canary", ("r",))
    router = AmbassadorRouter(context, RouterIO(cast(KubeClient, None), "ns"))
    with pytest.raises(UnsupportedFeature, match="ambassador does not support setHeaderRoute"):
        await router.set_header_route(HeaderRoute("r", (HeaderMatch("x", StringMatch("exact", "y")),)))
    with pytest.raises(UnsupportedFeature, match="ambassador does not support setMirrorRoute"):
        await router.set_mirror_route(MirrorRoute("r", (RequestMatch(method=StringMatch("exact", "GET")),)))
    await router.set_header_route(HeaderRoute("r", ()))
    await router.remove_managed_routes()
