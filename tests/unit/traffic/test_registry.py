"""The router registry covers every trafficRouting key Ramp supports, and names the ones it does not."""

from __future__ import annotations

import pytest

from ramp.api import parse_rollout
from ramp.api.traffic import GATEWAY_API_PLUGIN, ROUTER_FIELDS, RolloutTrafficRouting
from ramp.rollout.validation import validate_rollout
from ramp.traffic.base import RouterContext, RouterError, RouterIO
from ramp.traffic.registry import ROUTERS, build_routers, describe_unsupported, unsupported_routers

UNSUPPORTED = {"appMesh"}


def test_every_router_field_has_a_router_except_the_unsupported_ones() -> None:
    assert set(ROUTER_FIELDS) - set(ROUTERS) == UNSUPPORTED
    assert f"plugins/{GATEWAY_API_PLUGIN}" in ROUTERS


@pytest.mark.parametrize("key", sorted(ROUTERS))
def test_each_router_is_named_after_its_key(key: str) -> None:
    assert ROUTERS[key].name == key  # type: ignore[attr-defined]


def test_an_unsupported_router_is_named_with_the_fix() -> None:
    assert unsupported_routers(["nginx", "appMesh", "plugins/example.com/x"]) == ["appMesh", "plugins/example.com/x"]
    message = describe_unsupported("appMesh")
    assert message.startswith("spec.strategy.canary.trafficRouting.appMesh: this router is not supported by Ramp")
    assert "use one of" in message and "istio" in message


def test_building_an_unsupported_router_raises() -> None:
    routing = RolloutTrafficRouting.model_validate({"plugins": {"example.com/x": {}}})
    context = RouterContext("ns", "web", "u1", routing, "s", "c")
    with pytest.raises(RouterError, match=r"plugins\.example\.com/x"):
        build_routers(context, RouterIO(client=None, namespace="ns"))  # type: ignore[arg-type]


def _rollout(canary: dict[str, object]) -> dict[str, object]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a", "image": "x"}]}},
            "strategy": {"canary": canary},
        },
    }


def test_validation_names_missing_services_and_unsupported_routers() -> None:
    rollout = parse_rollout(_rollout({"trafficRouting": {"appMesh": {}}}))
    problems = [str(p) for p in validate_rollout(rollout, rollout.spec.template)]  # type: ignore[arg-type]
    assert any(
        p.startswith("spec.strategy.canary.stableService: Canary service and Stable service must to be set")
        for p in problems
    )
    assert any(
        p.startswith("spec.strategy.canary.canaryService: Canary service and Stable service must to be set")
        for p in problems
    )
    assert any(
        p.startswith("spec.strategy.canary.trafficRouting.appMesh: this router is not supported") for p in problems
    )


def test_ping_pong_replaces_the_two_services() -> None:
    routing = {"istio": {"virtualService": {"name": "vs"}}}  # ping-pong works with ALB, Istio and Gateway API
    canary = {"pingPong": {"pingService": "ping", "pongService": "pong"}, "trafficRouting": routing}
    rollout = parse_rollout(_rollout(canary))
    assert validate_rollout(rollout, rollout.spec.template) == []  # type: ignore[arg-type]


def test_istio_subset_level_splitting_needs_no_services_but_host_level_does() -> None:
    # Upstream: the DestinationRule's subsets carry the split, so stableService/canaryService may be left out.
    rule = {"name": "app-rule", "canarySubsetName": "canary", "stableSubsetName": "stable"}
    subsets = _rollout({"trafficRouting": {"istio": {"virtualService": {"name": "vs"}, "destinationRule": rule}}})
    rollout = parse_rollout(subsets)
    assert validate_rollout(rollout, rollout.spec.template) == []  # type: ignore[arg-type]
    hosts = parse_rollout(_rollout({"trafficRouting": {"istio": {"virtualService": {"name": "vs"}}}}))
    problems = [str(p) for p in validate_rollout(hosts, hosts.spec.template)]  # type: ignore[arg-type]
    assert any(p.startswith("spec.strategy.canary.stableService: Canary service and Stable service") for p in problems)


def test_istio_subsets_with_services_named_are_valid_too() -> None:
    rule = {"name": "app-rule", "canarySubsetName": "canary", "stableSubsetName": "stable"}
    routing = {"istio": {"virtualService": {"name": "vs"}, "destinationRule": rule}}
    named = parse_rollout(_rollout({"stableService": "s", "canaryService": "c", "trafficRouting": routing}))
    assert validate_rollout(named, named.spec.template) == []  # type: ignore[arg-type]
