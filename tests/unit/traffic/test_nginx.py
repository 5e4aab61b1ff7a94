"""The nginx router's canary Ingress and its header-route annotations, on plain dicts (no cluster)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ramp.traffic.base import HeaderMatch, HeaderRoute, RouterError, StringMatch, UnsupportedFeature
from ramp.traffic.nginx import (
    HEADER_ROUTE_ANNOTATION,
    CanarySettings,
    build_canary_ingress,
    canary_ingress_name,
    drop_header_route,
    header_annotations,
    put_header_route,
)

P = "nginx.ingress.kubernetes.io"
FIELD = "spec.strategy.canary.trafficRouting.nginx.stableIngress"
OWNER = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "app", "uid": "u1", "controller": True}
SETTINGS = CanarySettings("app-stable", "app-canary", OWNER)


def path(service: str, route: str = "/") -> dict[str, Any]:
    return {"path": route, "pathType": "Prefix", "backend": {"service": {"name": service, "port": {"number": 80}}}}


def stable_ingress(*rules: dict[str, Any], **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "app-ingress",
            "namespace": "ns",
            "annotations": dict(annotations),
            "resourceVersion": "7",
        },
        "spec": {
            "ingressClassName": "nginx",
            "tls": [{"hosts": ["app.example.com"], "secretName": "tls"}],
            "defaultBackend": {"service": {"name": "other", "port": {"number": 80}}},
            "rules": list(rules) or [{"host": "app.example.com", "http": {"paths": [path("app-stable")]}}],
        },
    }


def annotations_on(obj: dict[str, Any]) -> dict[str, str]:
    return dict(obj["metadata"].get("annotations") or {})


def header(kind: str, value: str, name: str = "x-canary") -> HeaderMatch:
    return HeaderMatch(name, StringMatch(kind, value))


def test_canary_name_is_rollout_stable_ingress_and_suffix_cut_to_253() -> None:
    assert canary_ingress_name("app", "app-ingress") == "app-app-ingress-canary"
    long = canary_ingress_name("app", "x" * 300)
    assert len(long) == 253 and long.endswith("-canary") and long.startswith("app-xxx")


def test_new_canary_ingress_clones_the_rules_that_use_the_stable_service_onto_the_canary() -> None:
    stable = stable_ingress(
        {"host": "a.example.com", "http": {"paths": [path("app-stable"), path("docs", "/docs")]}},
        {"host": "b.example.com", "http": {"paths": [path("unrelated")]}},
        **{"kubernetes.io/ingress.class": "nginx", "team": "web"},
    )
    canary = build_canary_ingress(stable, "app-app-ingress-canary", SETTINGS, 10, None, FIELD)
    assert canary["metadata"]["name"] == "app-app-ingress-canary"
    assert canary["metadata"]["namespace"] == "ns"
    assert canary["metadata"]["ownerReferences"] == [OWNER]
    assert "resourceVersion" not in canary["metadata"]
    rules = canary["spec"]["rules"]
    assert [r["host"] for r in rules] == ["a.example.com"]
    assert [p["backend"]["service"]["name"] for p in rules[0]["http"]["paths"]] == ["app-canary", "docs"]
    assert canary["spec"]["ingressClassName"] == "nginx"
    assert canary["spec"]["tls"] == stable["spec"]["tls"]
    assert "defaultBackend" not in canary["spec"]
    assert annotations_on(canary) == {
        "kubernetes.io/ingress.class": "nginx",
        f"{P}/canary": "true",
        f"{P}/canary-weight": "10",
    }
    assert stable["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "app-stable"


def test_no_rule_using_the_stable_service_names_the_field() -> None:
    stable = stable_ingress({"host": "a", "http": {"paths": [path("unrelated")]}})
    with pytest.raises(RouterError, match=r"trafficRouting\.nginx\.stableIngress: Ingress \"app-ingress\""):
        build_canary_ingress(stable, "c", SETTINGS, 10, None, FIELD)


def test_user_annotations_are_prefixed_and_canary_annotations_win() -> None:
    settings = CanarySettings(
        "app-stable",
        "app-canary",
        OWNER,
        prefix="custom.io",
        additional_annotations={"canary-by-cookie": "beta", "custom.io/load-balance": "ewma"},
        canary_annotations={"custom.io/canary-by-cookie": "gamma", "plain": "x"},
        weight_total=1000,
    )
    canary = build_canary_ingress(stable_ingress(), "c", settings, 250, None, FIELD)
    assert annotations_on(canary) == {
        "custom.io/canary": "true",
        "custom.io/canary-weight": "250",
        "custom.io/canary-weight-total": "1000",
        "custom.io/canary-by-cookie": "gamma",
        "custom.io/load-balance": "ewma",
        "plain": "x",
    }


def test_existing_canary_keeps_foreign_annotations_and_metadata_and_drops_a_stale_total() -> None:
    current = build_canary_ingress(
        stable_ingress(), "c", CanarySettings("app-stable", "app-canary", OWNER, weight_total=200), 20, None, FIELD
    )
    current["metadata"]["resourceVersion"] = "42"
    current["metadata"]["labels"] = {"kept": "yes"}
    current["metadata"]["annotations"]["other.controller/seen"] = "1"
    updated = build_canary_ingress(stable_ingress(), "c", SETTINGS, 33, current, FIELD)
    assert updated["metadata"]["resourceVersion"] == "42"
    assert updated["metadata"]["labels"] == {"kept": "yes"}
    assert annotations_on(updated) == {f"{P}/canary": "true", f"{P}/canary-weight": "33", "other.controller/seen": "1"}


def test_building_again_from_the_result_changes_nothing() -> None:
    first = build_canary_ingress(stable_ingress(), "c", SETTINGS, 10, None, FIELD)
    assert build_canary_ingress(stable_ingress(), "c", SETTINGS, 10, first, FIELD) == first


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        (header("exact", "yes"), {"canary-by-header": "x-canary", "canary-by-header-value": "yes"}),
        (header("prefix", "a.b"), {"canary-by-header": "x-canary", "canary-by-header-pattern": r"^a\.b.*"}),
        (header("regex", "^(yes|y)$"), {"canary-by-header": "x-canary", "canary-by-header-pattern": "^(yes|y)$"}),
    ],
    ids=["exact-is-a-value", "prefix-is-an-anchored-pattern", "regex-is-the-pattern"],
)
def test_header_match_becomes_canary_by_header_annotations(match: HeaderMatch, expected: dict[str, str]) -> None:
    found = header_annotations(HeaderRoute("r", (match,)), SETTINGS)
    assert found == {f"{P}/{k}": v for k, v in expected.items()}


def test_more_than_one_header_match_is_unsupported() -> None:
    with pytest.raises(UnsupportedFeature, match="setHeaderRoute"):
        header_annotations(HeaderRoute("r", (header("exact", "a"), header("exact", "b", "x-other"))), SETTINGS)


def with_route(canary: dict[str, Any], route: str = "header-route", kind: str = "exact") -> dict[str, Any]:
    wanted = header_annotations(HeaderRoute(route, (header(kind, "yes"),)), SETTINGS)
    return put_header_route(canary, route, wanted, SETTINGS)


def test_header_route_is_set_on_the_canary_ingress_and_survives_weight_changes() -> None:
    canary = with_route(build_canary_ingress(stable_ingress(), "c", SETTINGS, 10, None, FIELD))
    assert annotations_on(canary)[HEADER_ROUTE_ANNOTATION] == "header-route"
    assert annotations_on(canary)[f"{P}/canary-by-header-value"] == "yes"
    reweighted = build_canary_ingress(stable_ingress(), "c", SETTINGS, 33, canary, FIELD)
    assert annotations_on(reweighted)[f"{P}/canary-by-header"] == "x-canary"
    assert annotations_on(reweighted)[f"{P}/canary-weight"] == "33"


def test_changing_the_match_kind_replaces_value_with_pattern() -> None:
    canary = with_route(
        with_route(build_canary_ingress(stable_ingress(), "c", SETTINGS, 10, None, FIELD)), kind="prefix"
    )
    assert f"{P}/canary-by-header-value" not in annotations_on(canary)
    assert annotations_on(canary)[f"{P}/canary-by-header-pattern"] == "^yes.*"


def test_removing_the_active_route_restores_the_static_header_annotations() -> None:
    settings = CanarySettings("app-stable", "app-canary", OWNER, additional_annotations={"canary-by-header": "x-beta"})
    canary = with_route(build_canary_ingress(stable_ingress(), "c", settings, 10, None, FIELD))
    removed = put_header_route(canary, "header-route", None, settings)
    assert annotations_on(removed) == {
        f"{P}/canary": "true",
        f"{P}/canary-weight": "10",
        f"{P}/canary-by-header": "x-beta",
    }
    assert drop_header_route(canary, settings) == removed


def test_removing_another_route_changes_nothing_and_a_second_route_is_unsupported() -> None:
    canary = with_route(build_canary_ingress(stable_ingress(), "c", SETTINGS, 10, None, FIELD))
    assert put_header_route(canary, "other", None, SETTINGS) == canary
    with pytest.raises(UnsupportedFeature, match='"header-route" is active'):
        with_route(canary, route="other")
    assert with_route(canary) == canary


def test_dropping_without_an_active_route_changes_nothing() -> None:
    canary = build_canary_ingress(stable_ingress(), "c", SETTINGS, 10, None, FIELD)
    assert drop_header_route(copy.deepcopy(canary), SETTINGS) == canary
