"""The Istio router's edits of VirtualServices and DestinationRules, on plain dicts (no cluster)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ramp.api.traffic import IstioDestinationRule, IstioTrafficRouting
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
from ramp.traffic.istio import (
    HASH_LABEL,
    MANAGED_BY_ANNOTATION,
    point_subsets,
    release_subsets,
    split_reference,
    subset_hash,
    virtual_service_refs,
)
from ramp.traffic.istio_routes import (
    RouteSelection,
    Targets,
    TLSSelector,
    apply_weights,
    canary_destination,
    drain_canary,
    first_weighted_route,
    header_route,
    mirror_route,
    put_managed_route,
    remove_http_routes,
)

FIELD = "spec.strategy.canary.trafficRouting.istio.virtualService"
HOSTS = Targets(stable_service="app-stable", canary_service="app-canary")
SUBSETS = Targets("app-stable", "app-canary", stable_subset="stable", canary_subset="canary")
MANAGED = ("header-route", "mirror-route")


def weights(canary: int, *additional: tuple[str, int], total: int = 100) -> Weights:
    extra = tuple(Destination(service, weight) for service, weight in additional)
    stable = total - canary - sum(d.weight for d in extra)
    return Weights(Destination("app-canary", canary), Destination("app-stable", stable), extra, total)


def selection(*routes: str, tls: tuple[TLSSelector, ...] = (), tcp: tuple[int, ...] = ()) -> RouteSelection:
    return RouteSelection("app-vsvc", FIELD, routes, tls, tcp, MANAGED)


def dest(host: str, weight: int, subset: str | None = None, **extra: Any) -> dict[str, Any]:
    destination: dict[str, Any] = {"host": host}
    if subset:
        destination["subset"] = subset
    return {"destination": destination, "weight": weight, **extra}


def vsvc(http: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"hosts": ["app.example.com"], "gateways": ["mesh"], **spec}
    if http is not None:
        body["http"] = http
    return {
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "VirtualService",
        "metadata": {"name": "app-vsvc", "namespace": "apps", "resourceVersion": "7"},
        "spec": body,
    }


def primary(*destinations: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "primary", "route": list(destinations), **extra}


def shares(route: dict[str, Any]) -> dict[str, int]:
    """Weight per destination, keyed by host (and subset when there is one)."""
    return {
        "/".join(filter(None, (d["destination"]["host"], d["destination"].get("subset")))): d["weight"]
        for d in route["route"]
    }


def http_names(virtual_service: dict[str, Any]) -> list[str | None]:
    return [route.get("name") for route in virtual_service["spec"]["http"]]


# Host-level weights


def test_the_named_route_splits_between_the_stable_and_canary_hosts_and_keeps_everything_else() -> None:
    retries = {"attempts": 3, "perTryTimeout": "2s"}
    given = vsvc(
        [
            {"name": "other", "match": [{"uri": {"prefix": "/admin"}}], "route": [dest("admin", 100)]},
            primary(
                dest("app-stable", 100, headers={"request": {"set": {"x": "1"}}}),
                dest("app-canary", 0),
                retries=retries,
            ),
        ]
    )
    result = apply_weights(given, selection("primary"), HOSTS, weights(10))

    route = result["spec"]["http"][1]
    assert shares(route) == {"app-stable": 90, "app-canary": 10}
    assert route["retries"] == retries
    assert route["route"][0]["headers"] == {"request": {"set": {"x": "1"}}}
    assert result["spec"]["http"][0] == given["spec"]["http"][0]
    assert result["spec"]["gateways"] == ["mesh"] and result["metadata"] == given["metadata"]


def test_hosts_written_as_fqdn_or_with_the_namespace_are_the_services() -> None:
    given = vsvc([primary(dest("app-stable.apps.svc.cluster.local", 100), dest("app-canary.apps", 0))])
    result = apply_weights(given, selection("primary"), HOSTS, weights(33))
    assert shares(result["spec"]["http"][0]) == {"app-stable.apps.svc.cluster.local": 67, "app-canary.apps": 33}


def test_setting_the_same_weights_twice_gives_the_same_object() -> None:
    once = apply_weights(
        vsvc([primary(dest("app-stable", 100), dest("app-canary", 0))]), selection(), HOSTS, weights(10)
    )
    assert apply_weights(once, selection(), HOSTS, weights(10)) == once


def test_the_input_object_is_not_changed() -> None:
    given = vsvc([primary(dest("app-stable", 100), dest("app-canary", 0))])
    before = copy.deepcopy(given)
    apply_weights(given, selection("primary"), HOSTS, weights(50))
    assert given == before


def test_without_routes_the_only_http_route_besides_managed_ones_is_taken() -> None:
    header = {
        "name": "header-route",
        "match": [{"headers": {"x-canary": {"exact": "yes"}}}],
        "route": [dest("app-canary", 100)],
    }
    given = vsvc([header, {"route": [dest("app-stable", 100), dest("app-canary", 0)]}])
    result = apply_weights(given, selection(), HOSTS, weights(20))
    assert shares(result["spec"]["http"][1]) == {"app-stable": 80, "app-canary": 20}
    assert result["spec"]["http"][0] == header


@pytest.mark.parametrize(
    ("name", "http", "routes", "message"),
    [
        (
            "two routes and no routes field",
            [primary(dest("app-stable", 100), dest("app-canary", 0)), {"name": "b", "route": [dest("x", 100)]}],
            (),
            f'{FIELD}.routes: VirtualService "app-vsvc" has 2 HTTP routes',
        ),
        (
            "a named route that does not exist",
            [primary(dest("app-stable", 100), dest("app-canary", 0))],
            ("secondary",),
            f'{FIELD}.routes: HTTP route "secondary" not found',
        ),
        (
            "the route lacks the canary destination",
            [primary(dest("app-stable", 100))],
            ("primary",),
            f'{FIELD}.routes: HTTP route "primary" of VirtualService "app-vsvc" has no destination for the canary '
            'Service "app-canary"; add a destination with host: app-canary',
        ),
        (
            "the route lacks the stable destination",
            [primary(dest("app-canary", 100))],
            ("primary",),
            'has no destination for the stable Service "app-stable"',
        ),
        ("no route at all", None, (), f'{FIELD}.name: VirtualService "app-vsvc" has no http, tls or tcp route'),
    ],
)
def test_a_route_that_cannot_carry_the_split_is_an_error_naming_the_field(
    name: str, http: list[dict[str, Any]] | None, routes: tuple[str, ...], message: str
) -> None:
    with pytest.raises(RouterError, match=message.replace("(", r"\(").replace(".", r"\.")):
        apply_weights(vsvc(http), selection(*routes), HOSTS, weights(10))


def test_several_named_routes_all_carry_the_split() -> None:
    given = vsvc(
        [
            {"name": "a", "route": [dest("app-stable", 100), dest("app-canary", 0)]},
            {"name": "b", "route": [dest("app-canary", 0), dest("app-stable", 100)]},
        ]
    )
    result = apply_weights(given, selection("a", "b"), HOSTS, weights(40))
    assert [shares(r) for r in result["spec"]["http"]] == [{"app-stable": 60, "app-canary": 40}] * 2


# Experiments (additional destinations)


def test_experiment_services_get_destinations_of_their_own_and_lose_them_when_gone() -> None:
    given = vsvc([primary(dest("app-stable", 100), dest("app-canary", 0))])
    during = apply_weights(given, selection("primary"), HOSTS, weights(10, ("exp-b", 5), ("exp-a", 5)))
    assert shares(during["spec"]["http"][0]) == {"app-stable": 80, "app-canary": 10, "exp-a": 5, "exp-b": 5}
    assert [d["destination"]["host"] for d in during["spec"]["http"][0]["route"]][2:] == ["exp-a", "exp-b"]

    changed = apply_weights(during, selection("primary"), HOSTS, weights(10, ("exp-a", 20)))
    assert shares(changed["spec"]["http"][0]) == {"app-stable": 70, "app-canary": 10, "exp-a": 20}

    after = apply_weights(changed, selection("primary"), HOSTS, weights(10))
    assert shares(after["spec"]["http"][0]) == {"app-stable": 90, "app-canary": 10}


def test_additional_subsets_keep_their_weight_and_it_comes_from_stable() -> None:
    targets = Targets("app-stable", "app-canary", "stable", "canary", additional_subsets=("shadow",))
    given = vsvc([primary(dest("app", 90, "stable"), dest("app", 0, "canary"), dest("app", 10, "shadow"))])
    result = apply_weights(given, selection("primary"), targets, weights(20))
    assert shares(result["spec"]["http"][0]) == {"app/stable": 70, "app/canary": 20, "app/shadow": 10}


@given(canary=st.integers(0, 100), experiment=st.integers(0, 100))
def test_the_selected_route_always_sums_to_the_total(canary: int, experiment: int) -> None:
    experiment = min(experiment, 100 - canary)
    given = vsvc([primary(dest("app-stable", 100), dest("app-canary", 0), dest("old-exp", 0))])
    result = apply_weights(given, selection("primary"), HOSTS, weights(canary, ("exp", experiment)))
    assert sum(shares(result["spec"]["http"][0]).values()) == 100


# Subset-level weights and the DestinationRule


def test_subset_destinations_are_matched_by_subset_on_one_host() -> None:
    given = vsvc([primary(dest("app-root", 100, "stable"), dest("app-root", 0, "canary"))])
    result = apply_weights(given, selection("primary"), SUBSETS, weights(25))
    assert shares(result["spec"]["http"][0]) == {"app-root/stable": 75, "app-root/canary": 25}


def test_a_missing_subset_destination_names_the_subset() -> None:
    with pytest.raises(
        RouterError, match='no destination for the canary subset "canary"; add a destination with subset: canary'
    ):
        apply_weights(vsvc([primary(dest("app-root", 100, "stable"))]), selection("primary"), SUBSETS, weights(5))


def test_subsets_need_no_services_to_split() -> None:
    no_services = Targets("", "", stable_subset="stable", canary_subset="canary")
    given = vsvc([primary(dest("app-root", 100, "stable"), dest("app-root", 0, "canary"))])
    split = Weights(Destination("", 30), Destination("", 70), (), 100)
    result = apply_weights(given, selection("primary"), no_services, split)
    assert shares(result["spec"]["http"][0]) == {"app-root/stable": 70, "app-root/canary": 30}


RULE_SETTINGS = IstioDestinationRule.model_validate(
    {"name": "app-rule", "canarySubsetName": "canary", "stableSubsetName": "stable"}
)


def rule(*subsets: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "DestinationRule",
        "metadata": {"name": "app-rule", "annotations": {"team": "web"}},
        "spec": {"host": "app-root", "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}, "subsets": list(subsets)},
    }


def test_update_hash_labels_the_subsets_and_records_the_rollout() -> None:
    given = rule(
        {"name": "canary", "labels": {"app": "web"}},
        {"name": "stable", "labels": {"app": "web"}, "trafficPolicy": {"loadBalancer": {"simple": "ROUND_ROBIN"}}},
        {"name": "legacy", "labels": {"version": "v0"}},
    )
    result = point_subsets(given, RULE_SETTINGS, "c123", "s456", (), "app")

    assert result["metadata"]["annotations"] == {"team": "web", MANAGED_BY_ANNOTATION: "app"}
    assert subset_hash(result, "canary") == "c123" and subset_hash(result, "stable") == "s456"
    subsets = {s["name"]: s for s in result["spec"]["subsets"]}
    assert subsets["canary"]["labels"] == {"app": "web", HASH_LABEL: "c123"}
    assert subsets["stable"]["trafficPolicy"] == {"loadBalancer": {"simple": "ROUND_ROBIN"}}
    assert subsets["legacy"] == {"name": "legacy", "labels": {"version": "v0"}}
    assert result["spec"]["trafficPolicy"] == given["spec"]["trafficPolicy"]
    assert point_subsets(result, RULE_SETTINGS, "c123", "s456", (), "app") == result


def test_an_empty_hash_removes_the_label() -> None:
    given = rule({"name": "canary", "labels": {HASH_LABEL: "old"}}, {"name": "stable", "labels": {HASH_LABEL: "s"}})
    result = point_subsets(given, RULE_SETTINGS, "", "s", (), "app")
    assert result["spec"]["subsets"][0] == {"name": "canary"}


def test_experiment_subsets_are_added_and_dropped_when_the_experiment_ends() -> None:
    given = rule({"name": "canary"}, {"name": "stable"})
    during = point_subsets(given, RULE_SETTINGS, "c", "s", (Destination("exp-a", 10, "e1"),), "app")
    assert during["spec"]["subsets"][-1] == {"name": "exp-a", "labels": {HASH_LABEL: "e1"}}
    after = point_subsets(during, RULE_SETTINGS, "c", "s", (), "app")
    assert [s["name"] for s in after["spec"]["subsets"]] == ["canary", "stable"]


def test_a_missing_subset_is_an_error_naming_the_field() -> None:
    with pytest.raises(
        RouterError, match=r"destinationRule\.stableSubsetName: DestinationRule \"app-rule\" has no subset \"stable\""
    ):
        point_subsets(rule({"name": "canary"}), RULE_SETTINGS, "c", "s", (), "app")


def test_release_takes_back_the_labels_and_annotation_of_this_rollout_only() -> None:
    pointed = point_subsets(
        rule({"name": "canary"}, {"name": "stable", "labels": {"app": "web"}}), RULE_SETTINGS, "c", "s", (), "app"
    )
    released = release_subsets(pointed, RULE_SETTINGS, "app")
    assert released["metadata"]["annotations"] == {"team": "web"}
    assert released["spec"]["subsets"] == [{"name": "canary"}, {"name": "stable", "labels": {"app": "web"}}]
    assert release_subsets(pointed, RULE_SETTINGS, "another") == pointed


def test_drain_moves_the_canary_share_to_stable() -> None:
    given = vsvc([primary(dest("app-root", 70, "stable"), dest("app-root", 30, "canary"))])
    result = drain_canary(given, selection("primary"), SUBSETS)
    assert shares(result["spec"]["http"][0]) == {"app-root/stable": 100, "app-root/canary": 0}


# TLS and TCP routes


def tls_route(port: int, *sni: str, weight: int = 100) -> dict[str, Any]:
    return {
        "match": [{"port": port, "sniHosts": list(sni)}],
        "route": [dest("app-stable", weight), dest("app-canary", 100 - weight)],
    }


def test_tls_routes_are_selected_by_port_and_sni_hosts() -> None:
    given = vsvc(
        tls=[
            tls_route(443, "a.example.com"),
            tls_route(443, "b.example.com", "c.example.com"),
            tls_route(8443, "b.example.com"),
        ]
    )
    wanted = TLSSelector(443, frozenset({"c.example.com", "b.example.com"}))
    result = apply_weights(given, selection(tls=(wanted,)), HOSTS, weights(10))
    assert [shares(r) for r in result["spec"]["tls"]] == [
        {"app-stable": 100, "app-canary": 0},
        {"app-stable": 90, "app-canary": 10},
        {"app-stable": 100, "app-canary": 0},
    ]


def test_a_lone_tls_route_is_taken_without_tls_routes_and_several_need_them() -> None:
    result = apply_weights(vsvc(tls=[tls_route(443, "a")]), selection(), HOSTS, weights(10))
    assert shares(result["spec"]["tls"][0]) == {"app-stable": 90, "app-canary": 10}
    with pytest.raises(RouterError, match=r"virtualService\.tlsRoutes: VirtualService \"app-vsvc\" has 2 TLS routes"):
        apply_weights(vsvc(tls=[tls_route(443, "a"), tls_route(443, "b")]), selection(), HOSTS, weights(10))


def test_routes_naming_http_routes_are_ignored_by_a_virtual_service_with_only_tls_routes() -> None:
    # Upstream skips the HTTP routes when the VirtualService has no http section at all.
    result = apply_weights(vsvc(tls=[tls_route(443, "a")]), selection("primary"), HOSTS, weights(10))
    assert shares(result["spec"]["tls"][0]) == {"app-stable": 90, "app-canary": 10}
    assert "http" not in result["spec"]
    with pytest.raises(RouterError, match=r'HTTP route "primary" not found'):
        apply_weights(vsvc([], tls=[tls_route(443, "a")]), selection("primary"), HOSTS, weights(10))


def test_without_routes_the_first_unnamed_http_route_of_several_is_taken() -> None:
    given = vsvc(
        [
            {"name": "named", "route": [dest("app-stable", 100), dest("app-canary", 0)]},
            {"route": [dest("app-stable", 100), dest("app-canary", 0)]},
            {"route": [dest("app-stable", 100), dest("app-canary", 0)]},
        ]
    )
    result = apply_weights(given, selection(), HOSTS, weights(10))
    assert [shares(r)["app-canary"] for r in result["spec"]["http"]] == [0, 10, 0]


def test_tcp_routes_are_selected_by_port_and_a_route_on_several_ports_never_matches() -> None:
    given = vsvc(
        tcp=[
            {"match": [{"port": 5432}, {"port": 5433}], "route": [dest("app-stable", 100), dest("app-canary", 0)]},
            {"match": [{"port": 5432}], "route": [dest("app-stable", 100), dest("app-canary", 0)]},
        ]
    )
    result = apply_weights(given, selection(tcp=(5432,)), HOSTS, weights(50))
    assert [shares(r) for r in result["spec"]["tcp"]] == [
        {"app-stable": 100, "app-canary": 0},
        {"app-stable": 50, "app-canary": 50},
    ]
    with pytest.raises(RouterError, match=r"virtualService\.tcpRoutes: no TCP route .* matches port 6379"):
        apply_weights(given, selection(tcp=(6379,)), HOSTS, weights(50))


def test_http_and_tls_routes_of_one_virtual_service_both_carry_the_split() -> None:
    given = vsvc([primary(dest("app-stable", 100), dest("app-canary", 0))], tls=[tls_route(443, "a")])
    result = apply_weights(given, selection("primary"), HOSTS, weights(30))
    assert shares(result["spec"]["http"][0]) == shares(result["spec"]["tls"][0]) == {"app-stable": 70, "app-canary": 30}


# Managed header and mirror routes


X_CANARY = HeaderRoute("header-route", (HeaderMatch("x-canary", StringMatch("exact", "yes")),))
GET_MIRROR = MirrorRoute(
    "mirror-route", (RequestMatch(method=StringMatch("exact", "GET"), path=StringMatch("prefix", "/api")),), 50
)


def with_header_route(given: dict[str, Any], targets: Targets = HOSTS, route: HeaderRoute = X_CANARY) -> dict[str, Any]:
    weighted = first_weighted_route(given, selection("primary"), targets)
    return put_managed_route(given, route.name, header_route(route, canary_destination(weighted, targets)), MANAGED)


def with_mirror_route(given: dict[str, Any], targets: Targets = HOSTS) -> dict[str, Any]:
    weighted = first_weighted_route(given, selection("primary"), targets)
    made = mirror_route(GET_MIRROR, weighted, canary_destination(weighted, targets))
    return put_managed_route(given, GET_MIRROR.name, made, MANAGED)


def test_a_header_route_goes_first_and_sends_matching_requests_to_the_canary() -> None:
    port = {"number": 8080}
    given = vsvc([primary(dest("app-stable", 90), {"destination": {"host": "app-canary", "port": port}, "weight": 10})])
    result = with_header_route(given)
    assert http_names(result) == ["header-route", "primary"]
    assert result["spec"]["http"][0] == {
        "name": "header-route",
        "match": [{"headers": {"x-canary": {"exact": "yes"}}}],
        "route": [{"destination": {"host": "app-canary", "port": port}, "weight": 100}],
    }
    assert with_header_route(result) == result


def test_several_headers_must_all_match() -> None:
    both = HeaderRoute(
        "header-route",
        (HeaderMatch("x-canary", StringMatch("exact", "yes")), HeaderMatch("x-user", StringMatch("regex", "^qa-.*"))),
    )
    result = with_header_route(vsvc([primary(dest("app-stable", 100), dest("app-canary", 0))]), route=both)
    assert result["spec"]["http"][0]["match"] == [
        {"headers": {"x-canary": {"exact": "yes"}, "x-user": {"regex": "^qa-.*"}}}
    ]


def test_a_header_route_with_subsets_goes_to_the_canary_subset() -> None:
    result = with_header_route(vsvc([primary(dest("app-root", 100, "stable"), dest("app-root", 0, "canary"))]), SUBSETS)
    assert result["spec"]["http"][0]["route"] == [
        {"destination": {"host": "app-root", "subset": "canary"}, "weight": 100}
    ]


def test_a_mirror_route_serves_as_before_and_copies_to_the_canary_then_follows_the_split() -> None:
    given = vsvc([primary(dest("app-stable", 90), dest("app-canary", 10))])
    result = with_mirror_route(with_header_route(given))

    assert http_names(result) == ["header-route", "mirror-route", "primary"]
    mirror = result["spec"]["http"][1]
    assert mirror["match"] == [{"method": {"exact": "GET"}, "uri": {"prefix": "/api"}}]
    assert shares(mirror) == {"app-stable": 90, "app-canary": 10}
    assert mirror["mirror"] == {"host": "app-canary"} and mirror["mirrorPercentage"] == {"value": 50}

    reweighted = apply_weights(result, selection("primary"), HOSTS, weights(33))
    assert (
        shares(reweighted["spec"]["http"][1])
        == shares(reweighted["spec"]["http"][2])
        == {"app-stable": 67, "app-canary": 33}
    )


def test_managed_routes_follow_managed_routes_order_whatever_order_they_are_set_in() -> None:
    given = vsvc([primary(dest("app-stable", 100), dest("app-canary", 0))])
    assert http_names(with_header_route(with_mirror_route(given))) == ["header-route", "mirror-route", "primary"]


def test_removing_one_managed_route_keeps_the_others() -> None:
    both = with_mirror_route(with_header_route(vsvc([primary(dest("app-stable", 100), dest("app-canary", 0))])))
    assert http_names(put_managed_route(both, "header-route", None, MANAGED)) == ["mirror-route", "primary"]


def test_removing_managed_routes_leaves_the_users_routes() -> None:
    user = {"name": "user-route", "match": [{"headers": {"x-debug": {"exact": "1"}}}], "route": [dest("debug", 100)]}
    both = with_mirror_route(with_header_route(vsvc([user, primary(dest("app-stable", 100), dest("app-canary", 0))])))
    assert http_names(both) == ["header-route", "mirror-route", "user-route", "primary"]
    assert http_names(remove_http_routes(both, MANAGED)) == ["user-route", "primary"]


# Settings


def test_a_virtual_service_in_another_namespace_is_written_name_dot_namespace() -> None:
    assert split_reference("app-vsvc", "apps") == ("apps", "app-vsvc")
    assert split_reference("app-vsvc.mesh", "apps") == ("mesh", "app-vsvc")
    assert split_reference("app.vsvc.mesh.cluster.local", "apps") == ("mesh", "app.vsvc")


def test_several_virtual_services_each_name_their_own_field() -> None:
    settings = IstioTrafficRouting.model_validate(
        {"virtualServices": [{"name": "a", "routes": ["primary"]}, {"name": "b.mesh", "tcpRoutes": [{"port": 5432}]}]}
    )
    refs = virtual_service_refs(settings, "apps", MANAGED)
    assert [(r.namespace, r.name, r.selection.field_path) for r in refs] == [
        ("apps", "a", "spec.strategy.canary.trafficRouting.istio.virtualServices[0]"),
        ("mesh", "b", "spec.strategy.canary.trafficRouting.istio.virtualServices[1]"),
    ]
    assert refs[1].selection.tcp_ports == (5432,) and refs[0].selection.http_names == ("primary",)


def test_no_virtual_service_is_an_error() -> None:
    with pytest.raises(RouterError, match="name the VirtualService"):
        virtual_service_refs(IstioTrafficRouting.model_validate({}), "apps", ())
