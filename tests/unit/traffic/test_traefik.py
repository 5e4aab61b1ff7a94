"""The Traefik router's weights on a TraefikService's weighted services, on plain dicts (no cluster)."""

from __future__ import annotations

import copy
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ramp.api.traffic import RolloutTrafficRouting
from ramp.kube.client import KubeClient
from ramp.traffic.base import (
    Destination,
    HeaderMatch,
    HeaderRoute,
    MirrorRoute,
    RequestMatch,
    RouterContext,
    RouterError,
    RouterIO,
    StringMatch,
    UnsupportedFeature,
    Weights,
)
from ramp.traffic.traefik import TraefikRouter, all_to_stable, apply_weights, weighted_services

FIELD = "spec.strategy.canary.trafficRouting.traefik.weightedTraefikServiceName"


def weights(canary: int, total: int = 100, *additional: tuple[str, int]) -> Weights:
    extra = tuple(Destination(service, weight) for service, weight in additional)
    stable = total - canary - sum(d.weight for d in extra)
    return Weights(Destination("app-canary", canary), Destination("app-stable", stable), extra, total)


def traefik_service(*entries: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "traefik.io/v1alpha1",
        "kind": "TraefikService",
        "metadata": {"name": "app-traefik", "namespace": "ns", "resourceVersion": "3"},
        "spec": {"weighted": {"services": list(entries), "sticky": {"cookie": {"name": "lvl"}}}},
    }


STABLE = {"name": "app-stable", "port": 80}
CANARY = {"name": "app-canary", "port": 80}


def shares(obj: dict[str, Any]) -> dict[str, int]:
    return {str(e["name"]): int(e.get("weight", -1)) for e in weighted_services(obj)}


def context(total: int | None = None) -> RouterContext:
    routing = {"traefik": {"weightedTraefikServiceName": "app-traefik"}, "maxTrafficWeight": total}
    return RouterContext(
        "ns", "app", "u1", RolloutTrafficRouting.model_validate(routing), "app-stable", "app-canary", ("r",)
    )


def test_the_canary_entry_gets_the_weight_and_the_stable_entry_the_rest() -> None:
    result = apply_weights(traefik_service(STABLE, CANARY), weights(10))
    assert shares(result) == {"app-stable": 90, "app-canary": 10}


def test_entries_are_found_by_name_whatever_their_order_and_other_fields_stay() -> None:
    before = traefik_service(CANARY, {"name": "other", "port": 81, "weight": 7}, STABLE)
    result = apply_weights(before, weights(33))
    assert shares(result) == {"app-canary": 33, "other": 7, "app-stable": 67}
    assert result["spec"]["weighted"]["sticky"] == {"cookie": {"name": "lvl"}}
    assert result["metadata"] == before["metadata"]
    assert weighted_services(result)[0]["port"] == 80


def test_the_input_object_is_not_changed() -> None:
    before = traefik_service(STABLE, CANARY)
    kept = copy.deepcopy(before)
    apply_weights(before, weights(50))
    assert before == kept


def test_weights_follow_max_traffic_weight() -> None:
    assert shares(apply_weights(traefik_service(STABLE, CANARY), weights(250, 1000))) == {
        "app-stable": 750,
        "app-canary": 250,
    }


def test_experiment_services_are_not_routed_and_their_share_stays_with_stable() -> None:
    result = apply_weights(traefik_service(STABLE, CANARY), weights(10, 100, ("exp-svc", 20)))
    assert shares(result) == {"app-stable": 90, "app-canary": 10}


def test_an_entry_naming_another_traefik_service_is_not_the_canary() -> None:
    nested = {"name": "app-canary", "kind": "TraefikService"}
    with pytest.raises(RouterError, match='no weighted service "app-canary"'):
        apply_weights(traefik_service(STABLE, nested), weights(10))


@pytest.mark.parametrize(
    ("entries", "missing"),
    [((STABLE,), "app-canary"), ((CANARY,), "app-stable")],
    ids=["no-canary-entry", "no-stable-entry"],
)
def test_a_missing_entry_is_an_error_naming_the_field_and_the_fix(
    entries: tuple[dict[str, Any], ...], missing: str
) -> None:
    with pytest.raises(RouterError) as raised:
        apply_weights(traefik_service(*entries), weights(10))
    message = str(raised.value)
    assert message.startswith(FIELD)
    assert f'"{missing}"' in message and "spec.weighted.services" in message


def test_a_traefik_service_without_weighted_services_is_an_error() -> None:
    obj = traefik_service()
    obj["spec"] = {"mirroring": {"name": "app-stable"}}
    with pytest.raises(RouterError, match=rf"^{FIELD}: .*has no spec\.weighted\.services"):
        apply_weights(obj, weights(10))


def test_all_to_stable_sends_the_whole_total_to_stable() -> None:
    assert shares(apply_weights(traefik_service(STABLE, CANARY), all_to_stable(context(400)))) == {
        "app-stable": 400,
        "app-canary": 0,
    }


def test_applying_the_same_weights_twice_gives_the_same_object() -> None:
    once = apply_weights(traefik_service(STABLE, CANARY), weights(10))
    assert apply_weights(once, weights(10)) == once


@given(st.integers(min_value=0, max_value=100))
def test_the_two_shares_always_add_up_to_the_total(canary: int) -> None:
    result = shares(apply_weights(traefik_service(STABLE, CANARY), weights(canary)))
    assert result["app-canary"] + result["app-stable"] == 100


async def test_header_and_mirror_routes_are_unsupported_but_removing_them_is_fine() -> None:
    router = TraefikRouter(context(), RouterIO(cast(KubeClient, None), "ns"))
    with pytest.raises(UnsupportedFeature, match="traefik does not support setHeaderRoute"):
        await router.set_header_route(HeaderRoute("r", (HeaderMatch("x", StringMatch("exact", "y")),)))
    with pytest.raises(UnsupportedFeature, match="traefik does not support setMirrorRoute"):
        await router.set_mirror_route(MirrorRoute("r", (RequestMatch(method=StringMatch("exact", "GET")),)))
    await router.set_header_route(HeaderRoute("r", ()))
    await router.set_mirror_route(MirrorRoute("r", ()))
    await router.remove_managed_routes()
    assert await router.verify_weight(weights(10)) is None
