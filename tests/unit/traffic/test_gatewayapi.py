"""Gateway API route edits: weights on rules naming both Services, managed header and mirror rules, experiment
backendRefs, and the errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest

from ramp.api.traffic import GatewayAPIRouting
from ramp.traffic.base import (
    Destination,
    HeaderMatch,
    HeaderRoute,
    MirrorRoute,
    RequestMatch,
    RouterError,
    StringMatch,
    Weights,
)
from ramp.traffic.gatewayapi import (
    GRPC_ROUTES,
    HTTP_ROUTES,
    apply_weights,
    configured_routes,
    header_rule,
    mirror_rule,
    put_rule,
    read_managed,
)

FIELD = "spec.strategy.canary.trafficRouting.gatewayAPI.httpRoute"


def route(*rules: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "web"},
        "spec": {"parentRefs": [{"name": "gw"}], "rules": list(rules)},
    }


def split_rule(stable: int = 100, canary: int = 0) -> dict[str, Any]:
    return {
        "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
        "backendRefs": [
            {"name": "stable", "port": 80, "weight": stable},
            {"name": "canary", "port": 80, "weight": canary},
        ],
    }


def weights(canary: int, total: int = 100, *extra: Destination) -> Weights:
    used = canary + sum(d.weight for d in extra)
    return Weights(Destination("canary", canary), Destination("stable", total - used), tuple(extra), total)


def test_weights_go_on_every_rule_naming_both_services_and_others_are_left_alone() -> None:
    other = {"matches": [{"path": {"type": "PathPrefix", "value": "/admin"}}], "backendRefs": [{"name": "admin"}]}
    updated = apply_weights(route(split_rule(), other, split_rule()), weights(10), FIELD)
    rules = updated["spec"]["rules"]
    assert [r["weight"] for r in rules[0]["backendRefs"]] == [90, 10]
    assert rules[1] == other
    assert [r["weight"] for r in rules[2]["backendRefs"]] == [90, 10]
    assert updated["spec"]["parentRefs"] == [{"name": "gw"}]


def test_a_rule_without_the_canary_backend_is_an_error_naming_the_fix() -> None:
    rule = {"backendRefs": [{"name": "stable", "port": 80}]}
    with pytest.raises(RouterError, match=r'httpRoute: HTTPRoute "web" has a rule .* none to "canary"; add one'):
        apply_weights(route(rule), weights(10), FIELD)


def test_a_route_naming_neither_service_is_an_error() -> None:
    with pytest.raises(RouterError, match="has no rule with backendRefs"):
        apply_weights(route({"backendRefs": [{"name": "x"}]}), weights(10), FIELD)


def test_experiment_services_get_backend_refs_while_they_run_and_lose_them_after() -> None:
    running = apply_weights(route(split_rule()), weights(20, 100, Destination("exp-canary", 5)), FIELD)
    refs = running["spec"]["rules"][0]["backendRefs"]
    assert refs[-1] == {"name": "exp-canary", "port": 80, "weight": 5}
    assert sum(r["weight"] for r in refs) == 100
    assert read_managed(running).backends == ["exp-canary"]
    ended = apply_weights(running, weights(20), FIELD)
    assert [r["name"] for r in ended["spec"]["rules"][0]["backendRefs"]] == ["stable", "canary"]
    assert "annotations" not in ended["metadata"]


def test_header_rule_copies_the_matches_and_sends_only_to_the_canary() -> None:
    header = HeaderRoute(
        "h", (HeaderMatch("x-canary", StringMatch("exact", "yes")), HeaderMatch("x-v", StringMatch("prefix", "2.")))
    )
    rule = header_rule(route(split_rule(90, 10)), header, "canary", FIELD)
    assert rule == {
        "matches": [
            {
                "path": {"type": "PathPrefix", "value": "/"},
                "headers": [
                    {"type": "Exact", "name": "x-canary", "value": "yes"},
                    {"type": "RegularExpression", "name": "x-v", "value": "^2\\..*"},
                ],
            }
        ],
        "backendRefs": [{"name": "canary", "port": 80}],
    }


def test_managed_rules_come_last_in_managed_routes_order_and_are_removed_by_name() -> None:
    base = route(split_rule(90, 10))
    mirror = MirrorRoute("m", (RequestMatch(method=StringMatch("exact", "GET")),), 50)
    header = HeaderRoute("h", (HeaderMatch("x-canary", StringMatch("exact", "yes")),))
    with_mirror = put_rule(base, "m", mirror_rule(base, mirror, "canary", FIELD), ("h", "m"))
    both = put_rule(with_mirror, "h", header_rule(with_mirror, header, "canary", FIELD), ("h", "m"))
    rules = both["spec"]["rules"]
    assert rules[0] == split_rule(90, 10)
    assert rules[1]["backendRefs"] == [{"name": "canary", "port": 80}]
    assert rules[2]["filters"] == [
        {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "canary", "port": 80}, "percent": 50}}
    ]
    assert rules[2]["matches"] == [{"method": "GET"}]
    assert read_managed(both).rules == ["h", "m"]
    # Weights move the weighted rule and the mirror rule's backends alike; the header rule stays on the canary.
    moved = apply_weights(both, weights(33), FIELD)
    assert [r["weight"] for r in moved["spec"]["rules"][0]["backendRefs"]] == [67, 33]
    assert [r["weight"] for r in moved["spec"]["rules"][2]["backendRefs"]] == [67, 33]
    assert moved["spec"]["rules"][1]["backendRefs"] == [{"name": "canary", "port": 80}]
    removed = put_rule(put_rule(moved, "h", None, ("h", "m")), "m", None, ("h", "m"))
    assert removed["spec"]["rules"] == [moved["spec"]["rules"][0]]
    assert "annotations" not in removed["metadata"]


def test_every_configured_route_is_found_with_its_field() -> None:
    settings = GatewayAPIRouting.model_validate(
        {"httpRoute": "a", "grpcRoutes": [{"name": "b", "useHeaderRoutes": False}]}
    )
    found = configured_routes(settings, "base")
    assert [(r.resource, r.name, r.field_path, r.use_header_routes) for r in found] == [
        (HTTP_ROUTES, "a", "base.httpRoute", True),
        (GRPC_ROUTES, "b", "base.grpcRoutes[0]", False),
    ]
