"""replicaProgressThreshold: a canary step's scaling counts as done once that many of its pods are available."""

from __future__ import annotations

from typing import Any

import pytest

from ramp.api import ManifestError, parse_rollout
from ramp.core.replicas import is_replica_progress_met
from ramp.rollout.canary import plan_canary
from tests.unit.rollout.test_canary_plan import replica_set, rollout, snapshot
from tests.unit.rollout.test_canary_routed import mid, routed

STEPS: list[dict[str, Any]] = [{"setWeight": 50}, {"pause": {}}]


@pytest.mark.parametrize(
    ("available", "desired", "kind", "value", "met"),
    [
        pytest.param(3, 4, "Percent", 75, True, id="percent-reached"),
        pytest.param(2, 4, "Percent", 75, False, id="percent-short"),
        pytest.param(1, 3, "Percent", 33, True, id="percent-rounds-in-favour"),
        pytest.param(0, 0, "Percent", 50, True, id="percent-nothing-desired"),
        pytest.param(2, 5, "Pods", 2, True, id="pods-reached"),
        pytest.param(1, 5, "Pods", 2, False, id="pods-short"),
        pytest.param(2, 2, "Pods", 3, True, id="all-available-beats-a-higher-threshold"),
    ],
)
def test_threshold_table(available: int, desired: int, kind: str, value: int, met: bool) -> None:
    assert is_replica_progress_met(available, desired, kind, value) is met


def basic(threshold: dict[str, Any] | None) -> dict[str, Any]:
    raw = rollout(mid(0, STEPS), STEPS)
    if threshold is not None:
        raw["spec"]["strategy"]["canary"]["replicaProgressThreshold"] = threshold
    return raw


@pytest.mark.parametrize(
    ("threshold", "completes"),
    [
        pytest.param(None, False, id="no-threshold"),
        pytest.param({"type": "Percent", "value": 50}, True, id="percent"),
        pytest.param({"type": "Pods", "value": 1}, True, id="pods"),
        pytest.param({"type": "Pods", "value": 2}, False, id="pods-short"),
    ],
)
def test_a_basic_set_weight_step_completes_at_the_threshold(threshold: dict[str, Any] | None, completes: bool) -> None:
    # 4 replicas at 50%: the canary has its 2 pods, 1 of them available; the stable is down to 2
    old, new = replica_set("old", 1, 2), replica_set("new", 2, 2, available=1)
    plan = plan_canary(snapshot(basic(threshold), [old, new], new))
    assert (plan.status["currentStepIndex"] == 1) is completes


@pytest.mark.parametrize(("threshold", "weight"), [(None, 0), ({"type": "Percent", "value": 50}, 50)])
def test_with_a_router_the_weight_moves_at_the_threshold(threshold: dict[str, Any] | None, weight: int) -> None:
    extra = {} if threshold is None else {"replicaProgressThreshold": threshold}
    raw = routed(mid(0, STEPS), STEPS, **extra)
    old, new = replica_set("old", 1, 4), replica_set("new", 2, 2, available=1)
    plan = plan_canary(snapshot(raw, [old, new], new))
    assert plan.traffic is not None
    assert (plan.status["currentStepIndex"] == 1) is (threshold is not None)
    assert plan.traffic.weights.canary.weight == weight


def test_after_the_last_step_the_canary_is_promoted_at_the_threshold() -> None:
    raw = basic({"type": "Pods", "value": 3})
    raw["status"]["currentStepIndex"] = len(STEPS)
    old, new = replica_set("old", 1, 1), replica_set("new", 2, 4, available=3)
    plan = plan_canary(snapshot(raw, [old, new], new))
    assert plan.status["stableRS"] == "new"


@pytest.mark.parametrize(
    ("threshold", "field"),
    [({"type": "Percentage", "value": 50}, "type"), ({"type": "Pods", "value": -1}, "value")],
)
def test_a_bad_threshold_names_the_field(threshold: dict[str, Any], field: str) -> None:
    with pytest.raises(ManifestError) as caught:
        parse_rollout(basic(threshold))
    assert f"spec.strategy.canary.replicaProgressThreshold.{field}" in str(caught.value)
