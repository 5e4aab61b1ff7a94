"""Rollout phase and message, controller side (`calculate_phase`) and client side (`client_phase`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from ramp.core.phase import PhaseInputs, calculate_phase, client_phase, is_restart_pending, read_phase_inputs

# A basic canary of 3 replicas, fully promoted: the starting point every row changes one thing of.
HEALTHY_CANARY = PhaseInputs(
    spec_replicas=3,
    replicas=3,
    updated_replicas=3,
    available_replicas=3,
    strategy="canary",
    current_pod_hash="abc",
    stable_rs="abc",
)
HEALTHY_BLUE_GREEN = replace(HEALTHY_CANARY, strategy="blueGreen", active_selector="abc")
ABORTED = {
    "type": "Progressing",
    "status": "False",
    "reason": "RolloutAborted",
    "message": "Rollout aborted update to revision 2",
}
TIMED_OUT = {
    "type": "Progressing",
    "status": "False",
    "reason": "ProgressDeadlineExceeded",
    "message": 'ReplicaSet "web-abc" has timed out progressing.',
}
INVALID = {"type": "InvalidSpec", "status": "True", "reason": "InvalidSpec", "message": "The Rollout is invalid"}
AVAILABLE = {
    "type": "Available",
    "status": "True",
    "reason": "AvailableReason",
    "message": "Rollout has minimum availability",
}


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        pytest.param(HEALTHY_CANARY, ("Healthy", ""), id="promoted-canary-is-healthy"),
        pytest.param(HEALTHY_BLUE_GREEN, ("Healthy", ""), id="promoted-blue-green-is-healthy"),
        pytest.param(
            replace(HEALTHY_CANARY, conditions=(AVAILABLE, INVALID)),
            ("Degraded", "InvalidSpec: The Rollout is invalid"),
            id="invalid-spec-is-degraded",
        ),
        pytest.param(
            replace(HEALTHY_CANARY, conditions=(ABORTED,), paused=True),
            ("Degraded", "RolloutAborted: Rollout aborted update to revision 2"),
            id="aborted-is-degraded-even-when-paused",
        ),
        pytest.param(
            replace(HEALTHY_CANARY, conditions=(TIMED_OUT,)),
            ("Degraded", 'ProgressDeadlineExceeded: ReplicaSet "web-abc" has timed out progressing.'),
            id="progress-deadline-exceeded-is-degraded",
        ),
        pytest.param(
            replace(HEALTHY_CANARY, conditions=(TIMED_OUT, INVALID)),
            ("Degraded", 'ProgressDeadlineExceeded: ReplicaSet "web-abc" has timed out progressing.'),
            id="first-degrading-condition-wins",
        ),
        pytest.param(
            replace(HEALTHY_CANARY, paused=True, pause_reasons=("CanaryPauseStep",)),
            ("Paused", "manually paused"),
            id="spec-paused-before-pause-conditions",
        ),
        pytest.param(
            replace(HEALTHY_CANARY, pause_reasons=("CanaryPauseStep", "InconclusiveAnalysisRun")),
            ("Paused", "CanaryPauseStep"),
            id="pause-condition-reason-is-the-message",
        ),
        pytest.param(
            replace(HEALTHY_CANARY, restart_at="2024-05-01T12:00:00Z"),
            ("Progressing", "rollout is restarting"),
            id="restart-requested-not-done",
        ),
        pytest.param(
            replace(HEALTHY_CANARY, restart_at="2024-05-01T12:00:00Z", restarted_at="2024-05-01T12:00:00+00:00"),
            ("Healthy", ""),
            id="restart-done-at-the-same-instant",
        ),
        pytest.param(
            replace(HEALTHY_CANARY, updated_replicas=2, available_replicas=2),
            ("Progressing", "more replicas need to be updated"),
            id="fewer-updated-than-desired",
        ),
        pytest.param(
            replace(HEALTHY_CANARY, available_replicas=2),
            ("Progressing", "updated replicas are still becoming available"),
            id="updated-not-yet-available",
        ),
        pytest.param(
            replace(HEALTHY_BLUE_GREEN, active_selector="old"),
            ("Progressing", "active service cutover pending"),
            id="blue-green-active-service-not-switched",
        ),
        pytest.param(
            replace(HEALTHY_BLUE_GREEN, active_selector=""),
            ("Progressing", "active service cutover pending"),
            id="blue-green-no-active-selector",
        ),
        pytest.param(
            replace(HEALTHY_BLUE_GREEN, stable_rs="old", awaiting_post_promotion_analysis=True),
            ("Progressing", "waiting for analysis to complete"),
            id="blue-green-post-promotion-analysis-running",
        ),
        pytest.param(
            replace(HEALTHY_BLUE_GREEN, stable_rs="old"),
            ("Progressing", "waiting for post-promotion verification to complete"),
            id="blue-green-switched-not-yet-stable",
        ),
        pytest.param(
            replace(HEALTHY_BLUE_GREEN, replicas=6),
            ("Healthy", ""),
            id="blue-green-old-replicas-kept-for-scale-down-delay",
        ),
        pytest.param(
            replace(HEALTHY_CANARY, replicas=4),
            ("Progressing", "old replicas are pending termination"),
            id="basic-canary-old-replicas-left",
        ),
        pytest.param(
            replace(HEALTHY_CANARY, replicas=4, has_traffic_routing=True),
            ("Healthy", ""),
            id="routed-canary-old-replicas-kept-for-scale-down-delay",
        ),
        pytest.param(
            replace(HEALTHY_CANARY, stable_rs="old"),
            ("Progressing", "waiting for all steps to complete"),
            id="canary-steps-not-finished",
        ),
        pytest.param(
            replace(HEALTHY_CANARY, stable_rs="", current_pod_hash=""),
            ("Progressing", "waiting for all steps to complete"),
            id="canary-without-stable-is-not-promoted",
        ),
    ],
)
def test_calculate_phase(inputs, expected):
    assert calculate_phase(inputs) == expected


def test_is_restart_pending():
    assert not is_restart_pending(None, "2024-05-01T12:00:00Z")
    assert is_restart_pending("2024-05-01T12:00:00Z", None)
    assert is_restart_pending("2024-05-01T12:00:01Z", "2024-05-01T12:00:00Z")
    assert not is_restart_pending("2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z")


def _rollout(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "generation": 3},
        "spec": {
            "replicas": 3,
            "strategy": {"canary": {"steps": [{"setWeight": 20}]}},
        },
        "status": {
            "observedGeneration": "3",
            "replicas": 3,
            "updatedReplicas": 3,
            "availableReplicas": 3,
            "currentPodHash": "abc",
            "stableRS": "abc",
            **status,
        },
    }


def test_read_phase_inputs_from_a_rollout():
    rollout = _rollout(pauseConditions=[{"reason": "CanaryPauseStep", "startTime": "2024-05-01T12:00:00Z"}])
    rollout["spec"]["strategy"] = {
        "blueGreen": {"activeService": "a", "postPromotionAnalysis": {"templates": [{"templateName": "t"}]}}
    }
    rollout["status"]["blueGreen"] = {"activeSelector": "abc", "postPromotionAnalysisRunStatus": {"status": "Running"}}
    inputs = read_phase_inputs(rollout)
    assert inputs.strategy == "blueGreen"
    assert inputs.pause_reasons == ("CanaryPauseStep",)
    assert inputs.active_selector == "abc"
    assert inputs.awaiting_post_promotion_analysis
    assert inputs.spec_replicas == 3


def test_spec_replicas_default_to_one():
    rollout = _rollout(replicas=1, updatedReplicas=1, availableReplicas=1)
    del rollout["spec"]["replicas"]
    assert read_phase_inputs(rollout).spec_replicas == 1
    assert calculate_phase(read_phase_inputs(rollout)) == ("Healthy", "")


@pytest.mark.parametrize(
    ("rollout", "expected"),
    [
        pytest.param(
            _rollout(phase="Healthy", message=""), ("Healthy", ""), id="status-phase-when-generation-observed"
        ),
        pytest.param(
            _rollout(observedGeneration="2", phase="Healthy"),
            ("Progressing", "waiting for rollout spec update to be observed"),
            id="spec-change-not-yet-observed",
        ),
        pytest.param(
            _rollout(observedGeneration="5d7f8b9c4", phase="Paused", message="CanaryPauseStep"),
            ("Paused", "CanaryPauseStep"),
            id="old-hash-observed-generation-counts-as-observed",
        ),
        pytest.param(
            _rollout(controllerPause=True, phase="Paused", message="CanaryPauseStep"),
            ("Progressing", "waiting for rollout to unpause"),
            id="promoted-but-controller-not-yet-unpaused",
        ),
        pytest.param(
            _rollout(
                controllerPause=True,
                pauseConditions=[{"reason": "CanaryPauseStep"}],
                phase="Paused",
                message="CanaryPauseStep",
            ),
            ("Paused", "CanaryPauseStep"),
            id="paused-by-the-controller",
        ),
        pytest.param(
            _rollout(stableRS="old"),
            ("Progressing", "waiting for all steps to complete"),
            id="no-phase-written-yet-is-computed",
        ),
    ],
)
def test_client_phase(rollout, expected):
    assert client_phase(rollout) == expected
