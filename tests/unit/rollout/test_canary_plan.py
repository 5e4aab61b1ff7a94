"""The canary decision (`plan_canary`) on snapshots built by hand: steps, pauses, abort, promotion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ramp.api import format_timestamp, parse_rollout
from ramp.core.hashing import compute_steps_hash
from ramp.rollout.canary import is_canary_update_start, plan_canary, plan_canary_update_start
from ramp.rollout.replicasets import ReplicaSetView
from ramp.rollout.snapshot import Snapshot

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
STEPS = [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {"duration": "10s"}}]


def rollout(status: dict[str, Any] | None = None, steps: list[dict[str, Any]] | None = None, **spec: Any) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web", "namespace": "ns", "uid": "u1", "generation": 2, "resourceVersion": "10"},
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a", "image": "x"}]}},
            "strategy": {"canary": {"steps": STEPS if steps is None else steps}},
            **spec,
        },
        "status": status or {},
    }


def replica_set(pod_hash: str, revision: int, replicas: int, available: int | None = None) -> ReplicaSetView:
    available = replicas if available is None else available
    return ReplicaSetView.of(
        {
            "metadata": {
                "name": f"web-{pod_hash}",
                "labels": {"rollouts-pod-template-hash": pod_hash},
                "annotations": {"rollout.argoproj.io/revision": str(revision)},
                "creationTimestamp": f"2026-05-01T1{revision}:00:00Z",
            },
            "spec": {"replicas": replicas},
            "status": {"replicas": replicas, "readyReplicas": available, "availableReplicas": available},
        }
    )


def snapshot(raw: dict, sets: list[ReplicaSetView], new: ReplicaSetView, now: datetime = NOW) -> Snapshot:
    return Snapshot(raw, parse_rollout(raw), raw["spec"]["template"], raw["spec"]["selector"], sets, new, now)


def mid_rollout(index: int, **status: Any) -> dict[str, Any]:
    return {
        "stableRS": "old",
        "currentPodHash": "new",
        "currentStepHash": compute_steps_hash(STEPS),
        "currentStepIndex": index,
        **status,
    }


def test_first_deploy_skips_the_steps_and_makes_the_template_stable() -> None:
    new = replica_set("new", 1, 0)
    plan = plan_canary(snapshot(rollout(), [new], new))
    assert plan.status["stableRS"] == "new"
    assert plan.status["currentStepIndex"] == len(STEPS)
    assert plan.scales == {"web-new": 4}
    assert "RolloutCompleted" in [e.reason for e in plan.events]


def test_a_new_template_restarts_the_steps_at_the_first_weight() -> None:
    old, new = replica_set("old", 1, 4), replica_set("new", 2, 0)
    status = {"stableRS": "old", "currentPodHash": "old", "currentStepIndex": 4, "abort": True}
    plan = plan_canary(snapshot(rollout(status), [old, new], new))
    assert plan.status["currentStepIndex"] == 0
    assert plan.status["currentPodHash"] == "new"
    assert plan.status["abort"] is False
    assert plan.weight == 25
    # one pod of surge (25% of 4 rounds up) for the canary; one stable pod may go (maxUnavailable 1)
    assert plan.scales == {"web-new": 1, "web-old": 3}
    assert "RolloutUpdated" not in [e.reason for e in plan.events]  # the reconciler's, with the revision


def test_setting_the_stable_template_back_skips_the_steps() -> None:
    stable, canary = replica_set("old", 1, 3), replica_set("new", 2, 1)
    status = {**mid_rollout(1), "currentPodHash": "new"}
    plan = plan_canary(snapshot(rollout(status), [stable, canary], stable))
    assert plan.status["currentStepIndex"] == len(STEPS)
    assert plan.weight == 100
    assert "SkipSteps" in [e.reason for e in plan.events]


def test_a_reached_weight_completes_the_step_and_the_pause_step_adds_its_condition() -> None:
    stable, new = replica_set("old", 1, 3), replica_set("new", 2, 1)
    plan = plan_canary(snapshot(rollout(mid_rollout(0)), [stable, new], new))
    assert plan.status["currentStepIndex"] == 1
    assert not plan.scales
    paused = plan_canary(snapshot(rollout(plan.status), [stable, new], new))
    assert [c["reason"] for c in paused.status["pauseConditions"]] == ["CanaryPauseStep"]
    assert paused.status["controllerPause"] is True
    assert paused.status["currentStepIndex"] == 1


def test_removing_the_pause_condition_is_a_promote() -> None:
    stable, new = replica_set("old", 1, 3), replica_set("new", 2, 1)
    status = mid_rollout(1, controllerPause=True)  # the condition was removed by `promote`
    plan = plan_canary(snapshot(rollout(status), [stable, new], new))
    assert plan.status["currentStepIndex"] == 2
    assert plan.status["controllerPause"] is False
    assert "pauseConditions" not in plan.status


@pytest.mark.parametrize(("elapsed", "done"), [(3, False), (11, True)], ids=["before the duration", "after it"])
def test_a_timed_pause_ends_by_itself(elapsed: int, done: bool) -> None:
    stable, new = replica_set("old", 1, 2), replica_set("new", 2, 2)
    started = format_timestamp(NOW - timedelta(seconds=elapsed))
    status = mid_rollout(3, controllerPause=True, pauseConditions=[{"reason": "CanaryPauseStep", "startTime": started}])
    plan = plan_canary(snapshot(rollout(status), [stable, new], new))
    assert plan.status["currentStepIndex"] == (4 if done else 3)
    if not done:
        assert plan.requeue_after == pytest.approx(10 - elapsed)


def test_abort_sends_the_weight_to_zero_and_resets_the_step() -> None:
    stable, new = replica_set("old", 1, 2), replica_set("new", 2, 2)
    plan = plan_canary(snapshot(rollout(mid_rollout(3, abort=True)), [stable, new], new))
    assert plan.weight == 0
    assert plan.status["currentStepIndex"] == 0
    assert plan.status["abortedAt"] == format_timestamp(NOW)
    # the stable grows into the surge pod, the canary shrinks by what maxUnavailable allows
    assert plan.scales == {"web-old": 3, "web-new": 1}
    assert [e.reason for e in plan.events] == ["RolloutAborted"]


def test_promote_full_goes_to_the_end_and_promotes_once_all_pods_are_available() -> None:
    stable, new = replica_set("old", 1, 0, 0), replica_set("new", 2, 4)
    plan = plan_canary(snapshot(rollout(mid_rollout(1, promoteFull=True)), [stable, new], new))
    assert plan.status["stableRS"] == "new"
    assert plan.status["currentStepIndex"] == len(STEPS)
    assert "promoteFull" not in plan.status


def test_spec_paused_holds_the_step() -> None:
    stable, new = replica_set("old", 1, 3), replica_set("new", 2, 1)
    plan = plan_canary(snapshot(rollout(mid_rollout(0), paused=True), [stable, new], new))
    assert plan.status["currentStepIndex"] == 0


def test_without_steps_the_new_set_becomes_stable_when_every_pod_is_available() -> None:
    old, new = replica_set("old", 1, 0, 0), replica_set("new", 2, 4)
    status = {"stableRS": "old", "currentPodHash": "new", "currentStepHash": compute_steps_hash([])}
    plan = plan_canary(snapshot(rollout(status, steps=[]), [old, new], new))
    assert plan.status["stableRS"] == "new"
    assert "currentStepIndex" not in plan.status


def test_an_analysis_step_waits() -> None:
    steps = [{"analysis": {"templates": [{"templateName": "t"}]}}]
    stable, new = replica_set("old", 1, 4), replica_set("new", 2, 0)
    status = {"stableRS": "old", "currentPodHash": "new", "currentStepHash": compute_steps_hash(steps)}
    plan = plan_canary(snapshot(rollout({**status, "currentStepIndex": 0}, steps=steps), [stable, new], new))
    assert plan.status["currentStepIndex"] == 0


@pytest.mark.parametrize(("window", "skips"), [(1, False), (2, True)], ids=["outside the window", "inside it"])
def test_rolling_back_within_the_rollback_window_skips_the_steps(window: int, skips: bool) -> None:
    # revisions by creation: v1 (hash a), v2 (hash b), v3 (hash c, stable); the template goes back to v1
    v1, v2, v3 = replica_set("a", 1, 0), replica_set("b", 2, 0), replica_set("c", 3, 4)
    status = {
        "stableRS": "c",
        "currentPodHash": "c",
        "currentStepHash": compute_steps_hash(STEPS),
        "currentStepIndex": 4,
    }
    raw = rollout(status, rollbackWindow={"revisions": window})
    plan = plan_canary(snapshot(raw, [v1, v2, v3], v1))
    assert (plan.status["currentStepIndex"] == len(STEPS)) is skips
    assert ("SkipSteps" in [e.reason for e in plan.events]) is skips


def test_scale_ups_wait_while_a_scaled_down_replica_set_still_has_its_pods() -> None:
    # the old ReplicaSet was just scaled 4 → 3 but still runs 4 pods: no new pod may start before one has gone
    old = ReplicaSetView.of(
        {
            "metadata": {
                "name": "web-old",
                "labels": {"rollouts-pod-template-hash": "old"},
                "annotations": {"rollout.argoproj.io/revision": "1"},
            },
            "spec": {"replicas": 3},
            "status": {"replicas": 4, "readyReplicas": 4, "availableReplicas": 4},
        }
    )
    new = replica_set("new", 2, 1)
    status = {"stableRS": "old", "currentPodHash": "new", "currentStepHash": compute_steps_hash([])}
    plan = plan_canary(snapshot(rollout(status, steps=[]), [old, new], new))
    assert "web-new" not in plan.scales  # scale-downs within maxUnavailable may go on
    drained = replica_set("old", 1, 3)
    assert plan_canary(snapshot(rollout(status, steps=[]), [drained, new], new)).scales["web-new"] == 2


def test_abort_points_the_canary_service_back_at_the_stable_pods_at_once() -> None:
    # Upstream's reconcileStableAndCanaryService: aborted without a router, both Services select stable.
    stable, new = replica_set("old", 1, 2), replica_set("new", 2, 2)
    services = {"stableService": "web-stable", "canaryService": "web-canary", "steps": STEPS}
    raw = rollout(mid_rollout(3, abort=True), strategy={"canary": services})
    plan = plan_canary(snapshot(raw, [stable, new], new))
    assert plan.traffic is not None
    assert plan.traffic.service_hashes == {"web-stable": "old", "web-canary": "old"}
    running = plan_canary(snapshot(rollout(mid_rollout(3), strategy={"canary": services}), [stable, new], new))
    assert running.traffic is not None
    assert running.traffic.service_hashes == {"web-stable": "old", "web-canary": "new"}


def test_abort_with_no_update_in_progress_does_nothing() -> None:
    stable = replica_set("old", 1, 4)
    status = {"stableRS": "old", "currentPodHash": "old", "currentStepHash": compute_steps_hash(STEPS)}
    plan = plan_canary(snapshot(rollout({**status, "currentStepIndex": 4, "abort": True}), [stable], stable))
    assert plan.status["abort"] is False
    assert "abortedAt" not in plan.status
    assert plan.weight == 100
    assert plan.scales == {}
    assert plan.events == []


def test_a_new_template_starts_with_a_reset_status_and_nothing_scaled() -> None:
    # Upstream's first reconcile of an update only resets the status (its RolloutNotCompleted precedes scaling).
    old, new = replica_set("old", 1, 4), replica_set("new", 2, 0)
    status = {"stableRS": "old", "currentPodHash": "old", "currentStepHash": compute_steps_hash(STEPS)}
    snap = snapshot(rollout({**status, "currentStepIndex": 4}), [old, new], new)
    assert is_canary_update_start(snap)
    start = plan_canary_update_start(snap)
    assert start.scales == {} and start.traffic is None
    assert (start.status["currentPodHash"], start.status["currentStepIndex"]) == ("new", 0)
    started = snapshot(rollout({**start.status, "currentStepIndex": 0}), [old, new], new)
    assert not is_canary_update_start(started)
    assert is_canary_update_start(snapshot(rollout({}), [new], new))  # the first deploy too, as upstream


def test_the_last_step_completes_and_the_next_reconcile_promotes() -> None:
    # Upstream: RolloutStepCompleted in one reconcile, RolloutCompleted in the next.
    steps = [{"setWeight": 50}, {"pause": {"duration": 5}}, {"setWeight": 100}]
    stable, new = replica_set("old", 1, 0), replica_set("new", 2, 4)
    status = mid_rollout(2, currentStepHash=compute_steps_hash(steps))
    done = plan_canary(snapshot(rollout(status, steps=steps), [stable, new], new))
    assert [e.reason for e in done.events] == ["RolloutStepCompleted"]
    assert done.status["stableRS"] == "old"
    promoted = plan_canary(snapshot(rollout({**status, "currentStepIndex": 3}, steps=steps), [stable, new], new))
    assert promoted.status["stableRS"] == "new"
    assert [e.reason for e in promoted.events] == ["RolloutCompleted"]
