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
