"""The traffic decisions of a routed canary: the canary's share, the split, the managed routes, Service targets."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ramp.rollout.traffic import (
    TrafficInputs,
    active_routes,
    calculate_canary_weight,
    service_hashes,
    service_names,
    split_weights,
)
from ramp.traffic.base import Destination, HeaderMatch, StringMatch

STEPS: list[dict[str, Any]] = [{"setWeight": 10}, {"pause": {}}, {"setWeight": 33}, {"pause": {}}]
BASE = TrafficInputs(
    steps=STEPS,
    index=1,
    total=100,
    replicas=4,
    aborted=False,
    promote_full=False,
    fully_promoted=False,
    new_available=1,
    stable_available=4,
    at_desired_counts=True,
    previous_canary_weight=10,
)


@pytest.mark.parametrize(
    ("name", "inputs", "weight"),
    [
        ("a pause after setWeight keeps its weight", BASE, 10),
        (
            "a setWeight not yet reached by pod counts keeps the previous weight",
            replace(BASE, index=2, at_desired_counts=False),
            10,
        ),
        ("a setWeight reached by pod counts takes its weight", replace(BASE, index=2), 33),
        ("after the last step the canary takes everything", replace(BASE, index=4), 100),
        ("after the last step with maxTrafficWeight 1000", replace(BASE, index=4, total=1000), 1000),
        ("fully promoted sends nothing to the canary", replace(BASE, fully_promoted=True), 0),
        ("aborted sends nothing to the canary", replace(BASE, aborted=True), 0),
        ("no available canary pod sends nothing", replace(BASE, new_available=0), 0),
        ("promoteFull keeps the weight reached", replace(BASE, promote_full=True, previous_canary_weight=33), 33),
        (
            "promoteFull with dynamicStableScale follows the canary's available pods",
            replace(BASE, promote_full=True, dynamic_stable_scale=True, new_available=2),
            50,
        ),
        (
            "aborted with dynamicStableScale leaves only as the stable comes back",
            replace(BASE, aborted=True, dynamic_stable_scale=True, stable_available=3, previous_canary_weight=33),
            25,
        ),
        (
            "aborted with dynamicStableScale never moves forward again",
            replace(BASE, aborted=True, dynamic_stable_scale=True, stable_available=1, previous_canary_weight=33),
            33,
        ),
        (
            "before the first setWeight the canary gets nothing",
            replace(BASE, steps=[{"pause": {}}, *STEPS], index=0),
            0,
        ),
    ],
)
def test_canary_weight(name: str, inputs: TrafficInputs, weight: int) -> None:
    assert calculate_canary_weight(inputs) == weight, name


@given(
    canary=st.integers(-5, 1200),
    total=st.integers(1, 1000),
    extras=st.lists(st.integers(0, 600), max_size=3),
)
def test_split_always_sums_to_the_total(canary: int, total: int, extras: list[int]) -> None:
    additional = [Destination(f"e{i}", w) for i, w in enumerate(extras)]
    weights = split_weights(canary, total, ("c", "h2"), ("s", "h1"), additional)
    assert weights.canary.weight + weights.stable.weight + sum(d.weight for d in weights.additional) == total
    assert min(d.weight for d in weights.destinations) >= 0


def test_split_names_services_and_hashes() -> None:
    weights = split_weights(10, 100, ("canary", "h2"), ("stable", "h1"))
    assert (weights.canary.service, weights.canary.pod_hash, weights.canary.weight) == ("canary", "h2", 10)
    assert (weights.stable.service, weights.stable.pod_hash, weights.stable.weight) == ("stable", "h1", 90)


def test_routes_reached_so_far_latest_step_per_name_wins() -> None:
    steps: list[dict[str, Any]] = [
        {"setWeight": 10},
        {"setHeaderRoute": {"name": "h", "match": [{"headerName": "x", "headerValue": {"exact": "1"}}]}},
        {"setMirrorRoute": {"name": "m", "percentage": 20, "match": [{"method": {"exact": "GET"}}]}},
        {"setHeaderRoute": {"name": "h", "match": [{"headerName": "x", "headerValue": {"regex": "2.*"}}]}},
        {"setHeaderRoute": {"name": "h"}},
    ]
    headers, mirrors = active_routes(steps, 1)
    assert [h.matches for h in headers] == [(HeaderMatch("x", StringMatch("exact", "1")),)]
    assert mirrors == ()
    headers, mirrors = active_routes(steps, 3)
    assert headers[0].matches == (HeaderMatch("x", StringMatch("regex", "2.*")),)
    assert mirrors[0].percentage == 20
    assert mirrors[0].matches[0].method == StringMatch("exact", "GET")
    headers, _ = active_routes(steps, 4)
    assert headers[0].name == "h" and headers[0].matches == ()  # a step with no match removes the route


def test_no_index_means_no_routes() -> None:
    assert active_routes(STEPS, None) == ((), ())


def test_services_from_ping_pong_follow_the_stable_side() -> None:
    strategy = {"pingPong": {"pingService": "ping", "pongService": "pong"}}
    assert service_names(strategy, {}) == ("ping", "pong")
    assert service_names(strategy, {"canary": {"stablePingPong": "pong"}}) == ("pong", "ping")
    assert service_names({"stableService": "s", "canaryService": "c"}, {}) == ("s", "c")


def test_a_service_only_moves_to_pods_that_are_available() -> None:
    assert service_hashes("s", "c", "h1", "h2", canary_available=0, stable_available=3) == {"s": "h1"}
    assert service_hashes("s", "c", "h1", "h2", canary_available=1, stable_available=3) == {"s": "h1", "c": "h2"}


def test_status_reports_weights_as_upstream() -> None:
    from ramp.rollout.traffic import TrafficPlan

    plan = TrafficPlan(
        weights=split_weights(10, 100, ("c", "h2"), ("s", "h1"), [Destination("e", 5, "h3")]),
        header_routes=(),
        mirror_routes=(),
        remove_routes=True,
        service_hashes={},
    )
    assert plan.status(True) == {
        "canary": {"podTemplateHash": "h2", "serviceName": "c", "weight": 10},
        "stable": {"podTemplateHash": "h1", "serviceName": "s", "weight": 85},
        "additional": [{"podTemplateHash": "h3", "serviceName": "e", "weight": 5}],
        "verified": True,
    }
    assert "verified" not in plan.status(None)
