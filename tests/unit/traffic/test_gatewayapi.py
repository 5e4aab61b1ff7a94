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
    TCP_ROUTES,
    configured_routes,
    in_progress_label,
    route_selectors,
)
from ramp.traffic.gatewayapi_routes import (
    IN_PROGRESS_LABEL_KEY,
    apply_weights,
    header_rule,
    mirror_rule,
    put_rule,
    read_managed,
    split_route,
    with_in_progress_label,
    without_managed_rules,
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
    assert read_managed(running).backends == ("exp-canary",)
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
    with_mirror = put_rule(base, "m", mirror_rule(base, mirror, "canary", FIELD), ("h", "m"), "canary")
    both = put_rule(with_mirror, "h", header_rule(with_mirror, header, "canary", FIELD), ("h", "m"), "canary")
    rules = both["spec"]["rules"]
    assert rules[0] == split_rule(90, 10)
    assert rules[1]["backendRefs"] == [{"name": "canary", "port": 80}]
    assert [rules[1]["name"], rules[2]["name"]] == ["h", "m"]
    assert rules[2]["filters"] == [
        {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "canary", "port": 80}, "percent": 50}}
    ]
    assert rules[2]["matches"] == [{"method": "GET"}]
    assert read_managed(both).rules == ("h", "m")
    # Weights move the weighted rule and the mirror rule's backends alike; the header rule stays on the canary.
    moved = apply_weights(both, weights(33), FIELD)
    assert [r["weight"] for r in moved["spec"]["rules"][0]["backendRefs"]] == [67, 33]
    assert [r["weight"] for r in moved["spec"]["rules"][2]["backendRefs"]] == [67, 33]
    assert moved["spec"]["rules"][1]["backendRefs"] == [{"name": "canary", "port": 80}]
    removed = put_rule(put_rule(moved, "h", None, ("h", "m"), "canary"), "m", None, ("h", "m"), "canary")
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


HEADER = HeaderRoute("header-route", (HeaderMatch("x-canary", StringMatch("exact", "yes")),))


def with_header_rule(base: dict[str, Any]) -> dict[str, Any]:
    return put_rule(base, HEADER.name, header_rule(base, HEADER, "canary", FIELD), (HEADER.name,), "canary")


def test_a_managed_rule_whose_name_was_pruned_is_still_recognised_by_its_shape() -> None:
    managed = with_header_rule(route(split_rule(90, 10)))
    del managed["spec"]["rules"][1]["name"]  # an older Gateway API CRD has no rule names and prunes them
    assert list(split_route(managed, "canary").managed_rules) == [HEADER.name]
    assert without_managed_rules(managed, "canary")["spec"]["rules"] == [split_rule(90, 10)]


def test_a_stale_record_never_makes_a_users_rule_managed() -> None:
    # The user re-applied their manifest: the rules are theirs again, the annotation stayed behind.
    managed = with_header_rule(route(split_rule(90, 10)))
    admin = {"matches": [{"path": {"type": "PathPrefix", "value": "/admin"}}], "backendRefs": [{"name": "admin"}]}
    reapplied = {**managed, "spec": {"rules": [split_rule(), admin]}}
    assert split_route(reapplied, "canary").managed_rules == {}
    moved = apply_weights(reapplied, weights(10), FIELD)
    assert moved["spec"]["rules"][1] == admin
    assert "annotations" not in moved["metadata"]
    assert without_managed_rules(reapplied, "canary")["spec"]["rules"] == [split_rule(), admin]


def test_weights_are_set_again_with_managed_rules_left_as_they_are_and_twice_is_once() -> None:
    managed = with_header_rule(route(split_rule(90, 10)))
    once = apply_weights(managed, weights(40), FIELD)
    assert once["spec"]["rules"][1] == managed["spec"]["rules"][1]
    assert apply_weights(once, weights(40), FIELD) == once


def test_header_rule_keeps_the_weighted_rules_filters_and_adds_a_match_when_it_had_none() -> None:
    rewrite = {"type": "URLRewrite", "urlRewrite": {"hostname": "internal"}}
    plain = {**split_rule(90, 10), "filters": [rewrite]}
    del plain["matches"]
    rule = header_rule(route(plain), HEADER, "canary", FIELD)
    assert rule["matches"] == [{"headers": [{"type": "Exact", "name": "x-canary", "value": "yes"}]}]
    assert rule["filters"] == [rewrite]


def test_a_regex_header_match_is_kept_as_written() -> None:
    regex = HeaderRoute("r", (HeaderMatch("x-v", StringMatch("regex", "v[0-9]+")),))
    rule = header_rule(route(split_rule()), regex, "canary", FIELD)
    assert rule["matches"][0]["headers"][-1] == {"type": "RegularExpression", "name": "x-v", "value": "v[0-9]+"}


def test_a_full_mirror_has_no_percent_and_matches_path_and_headers() -> None:
    mirror = MirrorRoute(
        "m",
        (
            RequestMatch(path=StringMatch("prefix", "/api")),
            RequestMatch(headers=(HeaderMatch("x-debug", StringMatch("exact", "1")),)),
        ),
    )
    rule = mirror_rule(route(split_rule(80, 20)), mirror, "canary", FIELD)
    assert rule["filters"] == [
        {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "canary", "port": 80}}}
    ]
    assert rule["matches"] == [
        {"path": {"type": "PathPrefix", "value": "/api"}},
        {"headers": [{"type": "Exact", "name": "x-debug", "value": "1"}]},
    ]
    assert rule["backendRefs"] == split_rule(80, 20)["backendRefs"]


def test_a_mirror_on_a_method_pattern_is_unsupported() -> None:
    mirror = MirrorRoute("m", (RequestMatch(method=StringMatch("prefix", "G")),))
    with pytest.raises(RouterError, match=r'setMirrorRoute "m": .*method\.exact'):
        mirror_rule(route(split_rule()), mirror, "canary", FIELD)


def test_a_managed_rule_needs_a_weighted_rule_to_copy() -> None:
    with pytest.raises(RouterError, match='HTTPRoute "web" has no rule with backendRefs to "canary"'):
        header_rule(route({"backendRefs": [{"name": "stable"}]}), HEADER, "canary", FIELD)


def test_a_route_name_that_is_not_a_section_name_leaves_the_rule_unnamed() -> None:
    base = route(split_rule())
    odd = HeaderRoute("Canary_Header", HEADER.matches)
    updated = put_rule(base, odd.name, header_rule(base, odd, "canary", FIELD), (odd.name,), "canary")
    assert "name" not in updated["spec"]["rules"][1]
    assert list(split_route(updated, "canary").managed_rules) == [odd.name]


def test_the_in_progress_label_is_on_while_the_canary_has_a_share() -> None:
    labelled = with_in_progress_label(route(split_rule()), 10, IN_PROGRESS_LABEL_KEY, "in-progress")
    assert labelled["metadata"]["labels"] == {IN_PROGRESS_LABEL_KEY: "in-progress"}
    assert "labels" not in with_in_progress_label(labelled, 0, IN_PROGRESS_LABEL_KEY, "in-progress")["metadata"]


def test_in_progress_label_settings() -> None:
    assert in_progress_label(GatewayAPIRouting()) == ("rollouts.argoproj.io/gatewayapi-canary", "in-progress")
    custom = GatewayAPIRouting.model_validate({"inProgressLabelKey": "k", "inProgressLabelValue": "v"})
    assert in_progress_label(custom) == ("k", "v")
    assert in_progress_label(GatewayAPIRouting.model_validate({"disableInProgressLabel": True})) is None


def test_route_selectors_become_label_selector_text() -> None:
    settings = GatewayAPIRouting.model_validate(
        {
            "httpRouteSelector": {"matchLabels": {"app": "web"}},
            "tcpRouteSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]},
        }
    )
    assert route_selectors(settings, "base") == [
        (HTTP_ROUTES, "app=web", "base.httpRouteSelector"),
        (TCP_ROUTES, "tier in (a,b)", "base.tcpRouteSelector"),
    ]


def test_a_grpc_header_rule_keeps_the_method_match_and_adds_the_headers() -> None:
    grpc = {
        "kind": "GRPCRoute",
        "metadata": {"name": "api"},
        "spec": {
            "rules": [
                {
                    "matches": [{"method": {"service": "shop.Cart"}}],
                    "backendRefs": [{"name": "stable", "port": 9000}, {"name": "canary", "port": 9000, "weight": 0}],
                }
            ]
        },
    }
    rule = header_rule(grpc, HEADER, "canary", FIELD)
    assert rule == {
        "matches": [
            {"method": {"service": "shop.Cart"}, "headers": [{"type": "Exact", "name": "x-canary", "value": "yes"}]}
        ],
        "backendRefs": [{"name": "canary", "port": 9000}],
    }
