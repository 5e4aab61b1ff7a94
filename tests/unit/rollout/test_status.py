"""The status every strategy shares (`complete_status`): counters, the progress deadline, phase."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ramp.api import format_timestamp
from ramp.rollout.replicasets import ReplicaSetView
from ramp.rollout.status import StatusInputs, complete_status, is_waiting_for_scale_down

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
SELECTOR = {"matchLabels": {"app": "web"}}


def replica_set(
    pod_hash: str, replicas: int, ready: int | None = None, available: int | None = None, deadline: str | None = None
) -> ReplicaSetView:
    annotations = {"rollout.argoproj.io/revision": "1"}
    if deadline is not None:
        annotations["scale-down-deadline"] = deadline
    return ReplicaSetView.of(
        {
            "metadata": {
                "name": f"web-{pod_hash}",
                "labels": {"rollouts-pod-template-hash": pod_hash},
                "annotations": annotations,
            },
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"rollouts-pod-template-hash": pod_hash}}},
            "status": {
                "replicas": replicas,
                "readyReplicas": replicas if ready is None else ready,
                "availableReplicas": replicas if available is None else available,
            },
        }
    )


def raw(strategy: dict[str, Any], status: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "ns", "generation": 3},
        "spec": {"replicas": 3, "selector": SELECTOR, "strategy": strategy},
        "status": status,
    }


def inputs(rollout: dict[str, Any], sets: list[ReplicaSetView], new: ReplicaSetView, **extra: Any) -> StatusInputs:
    return StatusInputs(
        raw=rollout,
        sets=sets,
        new=new,
        replicas=3,
        max_unavailable=0,
        progress_deadline_seconds=10,
        progress_deadline_abort=False,
        paused_by_spec=False,
        selector=SELECTOR,
        now=NOW,
        **extra,
    )


def test_paused_blue_green_counts_the_active_pods_not_the_preview_ones() -> None:
    # Upstream's syncRolloutStatusBlueGreen: ready/available/HPA replicas and selector of the active ReplicaSet.
    active, preview = replica_set("old", 3), replica_set("new", 1)
    status = {
        "stableRS": "old",
        "currentPodHash": "new",
        "blueGreen": {"activeSelector": "old", "previewSelector": "new"},
        "pauseConditions": [{"reason": "BlueGreenPause", "startTime": format_timestamp(NOW)}],
    }
    rollout = raw({"blueGreen": {"activeService": "a", "previewService": "p"}}, status)
    result = complete_status(status, inputs(rollout, [active, preview], preview, blue_green=True)).status
    counts = [result[k] for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "HPAReplicas")]
    assert counts == [4, 1, 3, 3, 3]
    assert result["selector"] == "rollouts-pod-template-hash=old"
    assert result["phase"] == "Paused"


def test_blue_green_with_no_active_replica_set_counts_every_pod() -> None:
    first = replica_set("new", 3, ready=2, available=1)
    status = {"currentPodHash": "new", "stableRS": "new", "blueGreen": {}}
    rollout = raw({"blueGreen": {"activeService": "a"}}, status)
    result = complete_status(status, inputs(rollout, [first], first, blue_green=True)).status
    assert (result["readyReplicas"], result["availableReplicas"], result["HPAReplicas"]) == (2, 1, 3)
    assert result["selector"] == "app=web"


def _stale_progress(status: dict[str, Any]) -> dict[str, Any]:
    """A Progressing condition last updated long before the 10 s deadline."""
    long_ago = format_timestamp(NOW - timedelta(minutes=5))
    condition = {
        "type": "Progressing",
        "status": "True",
        "reason": "ReplicaSetUpdated",
        "message": 'ReplicaSet "web-new" is progressing.',
        "lastUpdateTime": long_ago,
        "lastTransitionTime": long_ago,
    }
    return {**status, "conditions": [condition]}


def test_a_completed_rollout_whose_old_pods_are_going_away_after_the_delay_does_not_time_out() -> None:
    # The delay is up and the old ReplicaSet is being scaled down (its pods still counted): nothing is owed.
    new = replica_set("new", 3)
    going_raw = replica_set("old", 3).raw
    going = ReplicaSetView.of({**going_raw, "spec": {**going_raw["spec"], "replicas": 0}})
    assert (going.replicas, going.status_replicas) == (0, 3)
    status = _stale_progress(
        {"stableRS": "new", "currentPodHash": "new", "replicas": 6, "updatedReplicas": 3, "readyReplicas": 6}
    )
    status["availableReplicas"] = 6
    strategy = {"canary": {"canaryService": "c", "stableService": "s", "trafficRouting": {"nginx": {}}}}
    result = complete_status(status, inputs(raw(strategy, status), [going, new], new))
    assert not result.timed_out_now
    progressing = next(c for c in result.status["conditions"] if c["type"] == "Progressing")
    assert progressing["reason"] != "ProgressDeadlineExceeded"


def test_a_completed_rollout_waiting_out_its_scale_down_delay_is_healthy_and_never_times_out() -> None:
    new = replica_set("new", 3)
    old = replica_set("old", 3, deadline=format_timestamp(NOW + timedelta(seconds=20)))
    status = _stale_progress(
        {"stableRS": "new", "currentPodHash": "new", "replicas": 6, "updatedReplicas": 3, "readyReplicas": 6}
    )
    status["availableReplicas"] = 6
    strategy = {"canary": {"canaryService": "c", "stableService": "s", "trafficRouting": {"nginx": {}}}}
    result = complete_status(status, inputs(raw(strategy, status), [old, new], new))
    assert not result.timed_out_now
    assert result.status["phase"] == "Healthy"
    progressing = next(c for c in result.status["conditions"] if c["type"] == "Progressing")
    assert progressing["reason"] != "ProgressDeadlineExceeded"


def test_an_update_making_no_progress_still_times_out() -> None:
    new, old = replica_set("new", 1, ready=0, available=0), replica_set("old", 3)
    status = _stale_progress(
        {"stableRS": "old", "currentPodHash": "new", "replicas": 4, "updatedReplicas": 1, "readyReplicas": 3}
    )
    status["availableReplicas"] = 3
    result = complete_status(status, inputs(raw({"canary": {}}, status), [old, new], new))
    assert result.timed_out_now
    assert result.status["phase"] == "Degraded"


def test_waiting_for_scale_down_ignores_the_new_and_stable_sets_and_scaled_down_ones() -> None:
    deadline = format_timestamp(NOW)
    new, stable = replica_set("new", 3, deadline=deadline), replica_set("stable", 3, deadline=deadline)
    assert not is_waiting_for_scale_down([new, stable], new, "stable")
    assert not is_waiting_for_scale_down([new, replica_set("gone", 0, deadline=deadline)], new, "new")
    assert is_waiting_for_scale_down([new, replica_set("old", 2, deadline=deadline)], new, "new")
