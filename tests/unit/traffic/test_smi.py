"""SMI TrafficSplit objects: built, re-weighted, ownership."""

from __future__ import annotations

from ramp.traffic.base import Destination, Weights
from ramp.traffic.smi import backends_for, build_traffic_split, is_controlled_by, with_weights

OWNER = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "web", "uid": "u1", "controller": True}
WEIGHTS = Weights(Destination("web-canary", 10), Destination("web-stable", 90))


def test_a_new_split_sends_the_root_service_to_canary_and_stable() -> None:
    split = build_traffic_split("web", "web-root", WEIGHTS, "v1alpha3", OWNER)
    assert split["apiVersion"] == "split.smi-spec.io/v1alpha3"
    assert split["spec"] == {
        "service": "web-root",
        "backends": [{"service": "web-canary", "weight": 10}, {"service": "web-stable", "weight": 90}],
    }
    assert is_controlled_by(split, "u1")
    assert not is_controlled_by(split, "other")


def test_reweighting_keeps_other_fields_and_adds_experiment_services() -> None:
    existing = {"metadata": {"name": "web", "labels": {"team": "a"}}, "spec": {"service": "web-root", "x": 1}}
    weights = Weights(Destination("c", 10), Destination("s", 85), (Destination("exp", 5),))
    updated = with_weights(existing, "web-root", weights, "v1alpha2")
    assert updated["metadata"] == existing["metadata"]
    assert updated["spec"]["x"] == 1
    assert [b["weight"] for b in updated["spec"]["backends"]] == [10, 85, 5]


def test_v1alpha1_weights_are_quantities() -> None:
    assert [b["weight"] for b in backends_for(WEIGHTS, "v1alpha1")] == ["10", "90"]


def test_a_split_without_an_owner_is_not_ramps() -> None:
    assert not is_controlled_by({"metadata": {"name": "web"}}, "u1")


def test_experiment_services_follow_canary_and_stable_and_the_shares_sum_to_the_total() -> None:
    weights = Weights(Destination("c", 300), Destination("s", 600), (Destination("exp", 100),), total=1000)
    backends = backends_for(weights, "v1alpha2")
    assert backends == [
        {"service": "c", "weight": 300},
        {"service": "s", "weight": 600},
        {"service": "exp", "weight": 100},
    ]
    assert sum(b["weight"] for b in backends) == 1000


def test_reweighting_sets_the_root_service_and_drops_an_ended_experiment() -> None:
    running = build_traffic_split(
        "web",
        "old-root",
        Weights(Destination("c", 10), Destination("s", 80), (Destination("exp", 10),)),
        "v1alpha3",
        OWNER,
    )
    updated = with_weights(running, "web-root", WEIGHTS, "v1alpha3")
    assert updated["spec"] == {
        "service": "web-root",
        "backends": [{"service": "web-canary", "weight": 10}, {"service": "web-stable", "weight": 90}],
    }
    assert running["spec"]["service"] == "old-root"  # the object read is left as it was


def test_the_same_weights_give_the_same_object() -> None:
    split = build_traffic_split("web", "web-root", WEIGHTS, "v1alpha3", OWNER)
    assert with_weights(split, "web-root", WEIGHTS, "v1alpha3") == split


def test_a_non_controller_owner_reference_is_not_control() -> None:
    owned = {"metadata": {"ownerReferences": [{**OWNER, "controller": False}]}}
    assert not is_controlled_by(owned, "u1")
