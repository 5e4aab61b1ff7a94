"""Ephemeral pod metadata: which ReplicaSet's pods carry canaryMetadata / stableMetadata, as roles change."""

from __future__ import annotations

import json
from typing import Any

from ramp.rollout.canary import plan_canary
from ramp.rollout.ephemeral import canary_roles, plan_ephemeral_metadata, shape_metadata
from ramp.rollout.replicasets import ReplicaSetView
from tests.unit.rollout.test_canary_plan import mid_rollout, replica_set, rollout, snapshot

CANARY = {"labels": {"role": "canary"}, "annotations": {"note": "new"}}
STABLE = {"labels": {"role": "stable"}}


def carrying(rs: ReplicaSetView, metadata: dict[str, Any]) -> ReplicaSetView:
    raw = json.loads(json.dumps(rs.raw))
    raw["metadata"]["annotations"]["rollout.argoproj.io/ephemeral-metadata"] = json.dumps(metadata)
    return ReplicaSetView.of(raw)


def with_metadata(raw: dict[str, Any]) -> dict[str, Any]:
    raw["spec"]["strategy"]["canary"].update(canaryMetadata=CANARY, stableMetadata=STABLE)
    return raw


def test_shape_keeps_only_non_empty_labels_and_annotations_as_strings() -> None:
    assert shape_metadata(None) == {}
    assert shape_metadata({"labels": {}, "annotations": {"a": 1}, "other": {"x": "y"}}) == {"annotations": {"a": "1"}}


def test_during_an_update_the_canary_gets_canary_metadata_and_the_stable_stable_metadata() -> None:
    old, new, older = replica_set("old", 2, 3), replica_set("new", 3, 1), replica_set("older", 1, 0)
    roles = canary_roles("web-new", "new", "old", CANARY, STABLE)
    assert plan_ephemeral_metadata([older, old, new], roles) == {"web-old": STABLE, "web-new": CANARY}


def test_once_promoted_the_new_pods_get_stable_metadata_and_the_old_stable_loses_it() -> None:
    old = carrying(replica_set("old", 2, 1), STABLE)
    new = carrying(replica_set("new", 3, 4), CANARY)
    roles = canary_roles("web-new", "new", "new", CANARY, STABLE)
    assert plan_ephemeral_metadata([old, new], roles) == {"web-old": {}, "web-new": STABLE}


def test_before_the_first_promotion_the_only_replica_set_is_the_stable_one() -> None:
    new = replica_set("new", 1, 4)
    assert plan_ephemeral_metadata([new], canary_roles("web-new", "new", "", CANARY, STABLE)) == {"web-new": STABLE}


def test_a_replica_set_that_carries_nothing_and_should_carry_nothing_is_left_out() -> None:
    old, new = replica_set("old", 2, 3), replica_set("new", 3, 1)
    assert plan_ephemeral_metadata([old, new], canary_roles("web-new", "new", "old", None, None)) == {}


def test_removing_the_fields_from_the_spec_takes_the_injected_metadata_off() -> None:
    new = carrying(replica_set("new", 3, 4), STABLE)
    assert plan_ephemeral_metadata([new], canary_roles("web-new", "new", "new", None, None)) == {"web-new": {}}


def test_canary_plan_puts_canary_and_stable_metadata_on_the_sides_mid_update() -> None:
    old, new = replica_set("old", 1, 3), replica_set("new", 2, 1)
    raw = with_metadata(rollout(mid_rollout(1)))
    plan = plan_canary(snapshot(raw, [old, new], new))
    assert plan.pod_metadata == {"web-old": STABLE, "web-new": CANARY}


def test_canary_plan_swaps_the_metadata_in_the_reconcile_that_promotes() -> None:
    old = carrying(replica_set("old", 1, 0), STABLE)
    new = carrying(replica_set("new", 2, 4), CANARY)
    raw = with_metadata(rollout(mid_rollout(4)))
    plan = plan_canary(snapshot(raw, [old, new], new))
    assert plan.status["stableRS"] == "new"
    assert plan.pod_metadata == {"web-old": {}, "web-new": STABLE}
