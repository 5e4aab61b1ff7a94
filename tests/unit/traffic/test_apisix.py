"""The APISIX router's backend weights and header-route ApisixRoutes, on plain dicts (no cluster)."""

from __future__ import annotations

import copy
from typing import Any, cast

import pytest

from ramp.api.traffic import ApisixRoute, RolloutTrafficRouting
from ramp.kube.client import KubeClient
from ramp.traffic.apisix import (
    ApisixRouter,
    RuleSelection,
    apply_weights,
    build_header_route,
    header_exprs,
    header_priority_boost,
    http_rules,
    rule_selection,
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

OWNER = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "app", "uid": "u1", "controller": True}
MANAGED = ("header-route", "other-route")
SELECTION = rule_selection(ApisixRoute(name="app-route", rules=["rule1"]), "app-stable", "app-canary")
TO_CANARY = HeaderRoute("header-route", (HeaderMatch("x-canary", StringMatch("exact", "yes")),))


def backend(service: str, **extra: Any) -> dict[str, Any]:
    return {"serviceName": service, "servicePort": 80, **extra}


def rule(name: str, *backends: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "match": {"hosts": ["app.example.com"], "paths": ["/*"]}, "backends": list(backends), **extra}


def apisix_route(*rules: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apisix.apache.org/v2",
        "kind": "ApisixRoute",
        "metadata": {"name": "app-route", "namespace": "ns", "labels": {"team": "web"}, "resourceVersion": "4"},
        "spec": {"ingressClassName": "apisix", "http": list(rules)},
    }


WEIGHTED = rule("rule1", backend("app-stable"), backend("app-canary"))


def weights_of(obj: dict[str, Any], name: str = "rule1") -> dict[str, int]:
    found = next(r for r in http_rules(obj) if r["name"] == name)
    return {b["serviceName"]: b.get("weight", -1) for b in found["backends"]}


def test_selected_rules_are_named_in_rules_or_default_to_the_route_name_as_upstream() -> None:
    assert SELECTION.rules == (("rule1", "spec.strategy.canary.trafficRouting.apisix.route.rules[0]"),)
    default = rule_selection(ApisixRoute(name="app-route"), "s", "c")
    assert default.rules == (("app-route", "spec.strategy.canary.trafficRouting.apisix.route.name"),)


def test_the_canary_backend_gets_the_weight_and_the_stable_backend_the_rest() -> None:
    assert weights_of(apply_weights(apisix_route(WEIGHTED), SELECTION, 10, 100)) == {"app-stable": 90, "app-canary": 10}


def test_only_the_selected_rules_and_backends_change() -> None:
    other = rule("rule2", backend("app-stable", weight=100), backend("app-canary", weight=0))
    extra = rule("rule1", backend("app-canary"), backend("mirror-svc", weight=5), backend("app-stable"))
    before = apisix_route(other, extra)
    after = apply_weights(before, SELECTION, 33, 100)
    assert weights_of(after, "rule1") == {"app-canary": 33, "mirror-svc": 5, "app-stable": 67}
    assert weights_of(after, "rule2") == {"app-stable": 100, "app-canary": 0}
    assert after["spec"]["ingressClassName"] == "apisix" and after["metadata"] == before["metadata"]
    assert before == apisix_route(other, extra)


def test_weights_follow_max_traffic_weight_and_repeat_to_the_same_object() -> None:
    once = apply_weights(apisix_route(WEIGHTED), SELECTION, 250, 1000)
    assert weights_of(once) == {"app-stable": 750, "app-canary": 250}
    assert apply_weights(once, SELECTION, 250, 1000) == once


def test_a_missing_rule_is_an_error_naming_the_rules_field() -> None:
    with pytest.raises(RouterError) as raised:
        apply_weights(apisix_route(rule("other", backend("app-stable"), backend("app-canary"))), SELECTION, 10, 100)
    message = str(raised.value)
    assert message.startswith('spec.strategy.canary.trafficRouting.apisix.route.rules[0]: ApisixRoute "app-route"')
    assert 'no http rule named "rule1"' in message and "['other']" in message


@pytest.mark.parametrize("missing", ["app-stable", "app-canary"])
def test_a_rule_without_the_stable_or_canary_backend_is_an_error_naming_the_fix(missing: str) -> None:
    kept = "app-canary" if missing == "app-stable" else "app-stable"
    with pytest.raises(
        RouterError, match=rf'no backend for the \w+ Service "{missing}"; add \{{serviceName: {missing}'
    ):
        apply_weights(apisix_route(rule("rule1", backend(kept))), SELECTION, 10, 100)


@pytest.mark.parametrize(
    ("kind", "value", "op", "written"),
    [
        ("exact", "yes", "Equal", "yes"),
        ("regex", "y.*", "RegexMatch", "y.*"),
        ("prefix", "v1.", "RegexMatch", r"^v1\..*"),
    ],
)
def test_header_matches_become_apisix_exprs(kind: str, value: str, op: str, written: str) -> None:
    assert header_exprs([HeaderMatch("x-canary", StringMatch(kind, value))]) == [
        {"subject": {"scope": "Header", "name": "x-canary"}, "op": op, "value": written}
    ]


def test_earlier_managed_routes_get_higher_priority() -> None:
    assert [header_priority_boost(name, MANAGED) for name in MANAGED] == [2, 1]
    assert header_priority_boost("unlisted", MANAGED) == 1


def test_a_header_route_is_a_new_apisix_route_sending_matching_requests_to_the_canary_only() -> None:
    base = apisix_route(
        rule("rule1", backend("app-stable", weight=90), backend("app-canary", weight=10), priority=3),
        rule("rule2", backend("app-stable")),
    )
    query = {"subject": {"scope": "Query", "name": "v"}, "op": "Equal", "value": "1"}
    base["spec"]["http"][0]["match"]["exprs"] = [query]
    base["spec"]["http"][0]["plugins"] = [{"name": "cors", "enable": True}]
    built = build_header_route(base, None, TO_CANARY, SELECTION, MANAGED, OWNER)
    assert built["metadata"] == {
        "name": "header-route",
        "ownerReferences": [OWNER],
        "namespace": "ns",
        "labels": {"team": "web"},
    }
    assert built["spec"] == {
        "ingressClassName": "apisix",
        "http": [
            {
                "name": "rule1",
                "match": {
                    "hosts": ["app.example.com"],
                    "paths": ["/*"],
                    "exprs": [
                        query,
                        {"subject": {"scope": "Header", "name": "x-canary"}, "op": "Equal", "value": "yes"},
                    ],
                },
                "backends": [backend("app-canary", weight=100)],
                "priority": 5,
                "plugins": [{"name": "cors", "enable": True}],
            }
        ],
    }


def test_an_existing_header_route_keeps_its_metadata_and_rebuilds_to_the_same_spec() -> None:
    base = apisix_route(WEIGHTED)
    first = build_header_route(base, None, TO_CANARY, SELECTION, MANAGED, OWNER)
    first["metadata"]["resourceVersion"] = "12"
    again = build_header_route(base, copy.deepcopy(first), TO_CANARY, SELECTION, MANAGED, OWNER)
    assert again == first


def test_a_header_route_needs_the_canary_backend_in_the_selected_rule() -> None:
    with pytest.raises(RouterError, match='no backend for the canary Service "app-canary"'):
        build_header_route(
            apisix_route(rule("rule1", backend("app-stable"))), None, TO_CANARY, SELECTION, MANAGED, OWNER
        )


def test_rule_selection_is_a_plain_record() -> None:
    assert RuleSelection("app-route", SELECTION.rules, "app-stable", "app-canary") == SELECTION


async def test_mirror_routes_are_unsupported_and_unlisted_header_routes_are_an_error() -> None:
    routing = RolloutTrafficRouting.model_validate({"apisix": {"route": {"name": "app-route", "rules": ["rule1"]}}})
    context = RouterContext("ns", "app", "u1", routing, "app-stable", "app-canary", MANAGED)
    router = ApisixRouter(context, RouterIO(cast(KubeClient, None), "ns"))
    with pytest.raises(UnsupportedFeature, match="apisix does not support setMirrorRoute"):
        await router.set_mirror_route(MirrorRoute("r", (RequestMatch(method=StringMatch("exact", "GET")),)))
    await router.set_mirror_route(MirrorRoute("r", ()))
    with pytest.raises(RouterError, match=r'managedRoutes: route "unlisted" is not listed'):
        await router.set_header_route(HeaderRoute("unlisted", TO_CANARY.matches))
