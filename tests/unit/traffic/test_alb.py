"""The ALB router's Ingress annotations and header-route paths, on plain dicts (no cluster)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ramp.api.traffic import ALBTrafficRouting, RolloutTrafficRouting
from ramp.traffic.alb import (
    MANAGED_ANNOTATIONS,
    ActionSettings,
    action_settings_of,
    apply_weights,
    encode,
    forward_action,
    header_conditions,
    put_header_route,
    record_managed,
    remove_routes,
)
from ramp.traffic.base import (
    Destination,
    HeaderMatch,
    HeaderRoute,
    RouterContext,
    RouterError,
    StringMatch,
    UnsupportedFeature,
    Weights,
)

A = "alb.ingress.kubernetes.io"
FIELD = "spec.strategy.canary.trafficRouting.alb.ingress"
SETTINGS = ActionSettings("app", "app-root", "app-canary", "app-stable", 80)
MANAGED = ("header-route", "second")


def weights(canary: int, *additional: tuple[str, int], total: int = 100) -> Weights:
    extra = tuple(Destination(service, weight) for service, weight in additional)
    stable = total - canary - sum(d.weight for d in extra)
    return Weights(Destination("app-canary", canary), Destination("app-stable", stable), extra, total)


def backend(service: str, route: str = "/", port: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "path": route,
        "pathType": "Prefix",
        "backend": {"service": {"name": service, "port": port or {"name": "use-annotation"}}},
    }


def ingress(*paths: dict[str, Any], **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "app-ingress", "annotations": dict(annotations)},
        "spec": {"rules": [{"host": "app.example.com", "http": {"paths": list(paths) or [backend("app-root")]}}]},
    }


def annotation(obj: dict[str, Any], key: str) -> Any:
    return json.loads(obj["metadata"]["annotations"][key])


def services_in_order(obj: dict[str, Any]) -> list[str]:
    return [p["backend"]["service"]["name"] for p in obj["spec"]["rules"][0]["http"]["paths"]]


def route(*matches: tuple[str, str, str], name: str = "header-route") -> HeaderRoute:
    return HeaderRoute(name, tuple(HeaderMatch(h, StringMatch(kind, v)) for h, kind, v in matches))


def test_forward_action_is_written_as_upstream_encodes_it() -> None:
    assert encode(forward_action(SETTINGS, weights(10))) == (
        '{"Type":"forward","ForwardConfig":{"TargetGroups":['
        '{"ServiceName":"app-canary","ServicePort":"80","Weight":10},'
        '{"ServiceName":"app-stable","ServicePort":"80","Weight":90}]}}'
    )


def test_additional_services_sit_between_canary_and_stable_and_stickiness_follows() -> None:
    sticky = ActionSettings("app", "app-root", "app-canary", "app-stable", 80, stickiness_seconds=300)
    action = forward_action(sticky, weights(10, ("exp-a", 20)))
    groups = action["ForwardConfig"]["TargetGroups"]
    assert [(g["ServiceName"], g["Weight"]) for g in groups] == [("app-canary", 10), ("exp-a", 20), ("app-stable", 70)]
    assert action["ForwardConfig"]["TargetGroupStickinessConfig"] == {"Enabled": True, "DurationSeconds": 300}


def test_go_escapes_are_kept() -> None:
    assert encode({"a": "<&>"}) == '{"a":"\\u003c\\u0026\\u003e"}'


def test_weights_go_into_the_root_service_action_and_are_recorded_as_managed() -> None:
    updated = apply_weights(ingress(other="kept"), SETTINGS, weights(33), FIELD)
    groups = annotation(updated, f"{A}/actions.app-root")["ForwardConfig"]["TargetGroups"]
    assert {g["ServiceName"]: g["Weight"] for g in groups} == {"app-canary": 33, "app-stable": 67}
    assert (
        updated["metadata"]["annotations"][MANAGED_ANNOTATIONS]
        == '{"app":["alb.ingress.kubernetes.io/actions.app-root"]}'
    )
    assert updated["metadata"]["annotations"]["other"] == "kept"
    assert apply_weights(updated, SETTINGS, weights(33), FIELD) == updated


def test_missing_root_backend_names_the_field_and_the_fix() -> None:
    with pytest.raises(
        RouterError, match=r'alb\.ingress: Ingress "app-ingress" has no rule backend for Service "app-root"'
    ):
        apply_weights(ingress(backend("app-stable")), SETTINGS, weights(10), FIELD)


def test_root_service_defaults_to_the_stable_service_and_stickiness_range_is_checked() -> None:
    context = RouterContext(
        "ns", "app", "uid", RolloutTrafficRouting.model_validate({"alb": {"ingress": "i", "servicePort": 80}}), "s", "c"
    )
    assert context.routing.alb is not None
    assert action_settings_of(context, context.routing.alb).root_service == "s"
    bad = ALBTrafficRouting.model_validate(
        {"ingress": "i", "servicePort": 80, "stickinessConfig": {"enabled": True, "durationSeconds": 0}}
    )
    with pytest.raises(RouterError, match=r"stickinessConfig\.durationSeconds"):
        action_settings_of(context, bad)


def test_header_conditions_share_a_header_name_and_turn_a_prefix_into_a_wildcard() -> None:
    found = header_conditions(
        route(("x-canary", "exact", "yes"), ("x-canary", "prefix", "beta"), ("x-b", "exact", "1"))
    )
    assert found == [
        {"field": "http-header", "httpHeaderConfig": {"httpHeaderName": "x-canary", "values": ["yes", "beta*"]}},
        {"field": "http-header", "httpHeaderConfig": {"httpHeaderName": "x-b", "values": ["1"]}},
    ]
    with pytest.raises(UnsupportedFeature, match="regular expressions"):
        header_conditions(route(("x-canary", "regex", "y.*")))


def test_header_route_adds_action_condition_and_a_first_path_in_managed_order() -> None:
    base = apply_weights(ingress(), SETTINGS, weights(10), FIELD)
    first = put_header_route(base, SETTINGS, "second", header_conditions(route(("x-b", "exact", "1"))), MANAGED)
    both = put_header_route(
        first, SETTINGS, "header-route", header_conditions(route(("x-canary", "exact", "yes"))), MANAGED
    )
    assert services_in_order(both) == ["header-route", "second", "app-root"]
    path = both["spec"]["rules"][0]["http"]["paths"][0]
    assert path == {
        "path": "/*",
        "pathType": "ImplementationSpecific",
        "backend": {"service": {"name": "header-route", "port": {"name": "use-annotation"}}},
    }
    action = annotation(both, f"{A}/actions.header-route")
    assert action["ForwardConfig"]["TargetGroups"] == [
        {"ServiceName": "app-canary", "ServicePort": "80", "Weight": 100}
    ]
    assert annotation(both, f"{A}/conditions.header-route")[0]["httpHeaderConfig"]["values"] == ["yes"]
    assert annotation(both, MANAGED_ANNOTATIONS)["app"] == [
        f"{A}/actions.app-root",
        f"{A}/actions.second",
        f"{A}/conditions.second",
        f"{A}/actions.header-route",
        f"{A}/conditions.header-route",
    ]
    again = put_header_route(
        both, SETTINGS, "header-route", header_conditions(route(("x-canary", "exact", "yes"))), MANAGED
    )
    assert again == both


def test_removing_routes_gives_back_the_weighted_ingress() -> None:
    base = apply_weights(ingress(), SETTINGS, weights(10), FIELD)
    routed = put_header_route(base, SETTINGS, "header-route", header_conditions(route(("x", "exact", "y"))), MANAGED)
    assert put_header_route(routed, SETTINGS, "header-route", None, MANAGED) == base
    assert remove_routes(routed, SETTINGS, MANAGED) == base


def test_forgetting_keys_never_written_leaves_the_ingress_alone() -> None:
    untouched = ingress()
    assert remove_routes(untouched, SETTINGS, MANAGED) == untouched
    assert record_managed({}, "app", ["k"], add=False) == {}
    with pytest.raises(RouterError, match=MANAGED_ANNOTATIONS):
        record_managed({MANAGED_ANNOTATIONS: "rollout:action"}, "app", ["k"], add=True)
