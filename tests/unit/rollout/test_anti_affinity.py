"""antiAffinity: the term a new ReplicaSet's template gets against the stable pods, kept and taken off."""

from __future__ import annotations

from typing import Any

import pytest

from ramp.rollout.antiaffinity import (
    affinity_patch,
    anti_affinity_of,
    calculate_template_affinity,
    remove_injected_anti_affinity,
    template_for_new_set,
)

TEMPLATE: dict[str, Any] = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a"}]}}
OWN_RULE = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}}


def rollout(strategy: str, anti_affinity: dict[str, Any] | None, stable: str = "old") -> dict[str, Any]:
    block: dict[str, Any] = {} if anti_affinity is None else {"antiAffinity": anti_affinity}
    if strategy == "blueGreen":
        block["activeService"] = "active"
    return {
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {"template": TEMPLATE, "strategy": {strategy: block}},
        "status": {"stableRS": stable} if stable else {},
    }


def term(stable: str) -> dict[str, Any]:
    return {
        "labelSelector": {
            "matchExpressions": [{"key": "rollouts-pod-template-hash", "operator": "In", "values": [stable]}]
        },
        "namespaces": ["ns"],
        "topologyKey": "kubernetes.io/hostname",
    }


@pytest.mark.parametrize("strategy", ["canary", "blueGreen"])
def test_preferred_adds_a_weighted_term_against_the_stable_hash(strategy: str) -> None:
    raw = rollout(strategy, {"preferredDuringSchedulingIgnoredDuringExecution": {"weight": 40}})
    shaped = template_for_new_set(raw, TEMPLATE, "new")
    assert shaped["spec"]["affinity"] == {
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 40, "podAffinityTerm": term("old")}]
        }
    }
    assert remove_injected_anti_affinity(shaped) == TEMPLATE


@pytest.mark.parametrize("strategy", ["canary", "blueGreen"])
def test_required_adds_a_hard_term_against_the_stable_hash(strategy: str) -> None:
    raw = rollout(strategy, {"requiredDuringSchedulingIgnoredDuringExecution": {}})
    shaped = template_for_new_set(raw, TEMPLATE, "new")
    assert shaped["spec"]["affinity"] == {
        "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("old")]}
    }


@pytest.mark.parametrize(
    ("anti_affinity", "stable"),
    [
        pytest.param(None, "old", id="not-set"),
        pytest.param({}, "old", id="neither-rule"),
        pytest.param({"requiredDuringSchedulingIgnoredDuringExecution": {}}, "", id="first-deploy"),
        pytest.param({"requiredDuringSchedulingIgnoredDuringExecution": {}}, "new", id="new-is-stable"),
    ],
)
def test_no_term_without_anti_affinity_or_another_stable_replica_set(
    anti_affinity: dict[str, Any] | None, stable: str
) -> None:
    raw = rollout("canary", anti_affinity, stable)
    assert template_for_new_set(raw, TEMPLATE, "new") == TEMPLATE


def test_the_templates_own_affinity_rules_are_kept_beside_the_term() -> None:
    own = {**TEMPLATE, "spec": {**TEMPLATE["spec"], "affinity": OWN_RULE}}
    raw = rollout("canary", {"requiredDuringSchedulingIgnoredDuringExecution": {}})
    affinity = calculate_template_affinity(raw, own, "new", "old")
    assert affinity is not None
    assert affinity["nodeAffinity"] == OWN_RULE["nodeAffinity"]
    assert affinity["podAntiAffinity"] == {"requiredDuringSchedulingIgnoredDuringExecution": [term("old")]}


def test_the_term_follows_a_new_stable_and_is_taken_off_when_the_set_becomes_stable() -> None:
    raw = rollout("canary", {"requiredDuringSchedulingIgnoredDuringExecution": {}})
    injected = template_for_new_set(raw, TEMPLATE, "new")
    replica_set = {"spec": {"template": injected}}
    assert affinity_patch(replica_set, calculate_template_affinity(raw, injected, "new", "old")) == []
    moved = calculate_template_affinity(raw, injected, "new", "other")
    assert moved == {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term("other")]}}
    assert affinity_patch(replica_set, moved) == [{"op": "add", "path": "/spec/template/spec/affinity", "value": moved}]
    assert calculate_template_affinity(raw, injected, "new", "new") is None
    assert affinity_patch(replica_set, None) == [{"op": "remove", "path": "/spec/template/spec/affinity"}]


def test_canary_setting_wins_and_blue_green_is_read_too() -> None:
    assert anti_affinity_of(rollout("canary", {"requiredDuringSchedulingIgnoredDuringExecution": {}})) is not None
    assert anti_affinity_of(rollout("blueGreen", {"preferredDuringSchedulingIgnoredDuringExecution": {"weight": 1}}))
    assert anti_affinity_of(rollout("canary", None)) is None
