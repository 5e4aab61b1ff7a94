"""Analysis in the canary plan: step runs, background runs, and what their phases do to the rollout."""

from __future__ import annotations

from typing import Any

from ramp.core.hashing import compute_steps_hash
from ramp.rollout.analysis import select_runs_to_delete
from ramp.rollout.canary import plan_canary
from tests.unit.rollout.test_canary_plan import replica_set, rollout, snapshot

TEMPLATES = {"templates": [{"templateName": "success-rate"}]}
STEPS: list[dict[str, Any]] = [{"setWeight": 25}, {"analysis": TEMPLATES}, {"setWeight": 50}]


def run(name: str, phase: str, *, index: int | None = 1, message: str = "", terminate: bool = False) -> dict:
    labels = {"rollouts-pod-template-hash": "new", "rollout-type": "Step" if index is not None else "Background"}
    if index is not None:
        labels["step-index"] = str(index)
    return {
        "metadata": {"name": name, "labels": labels, "creationTimestamp": "2026-05-01T12:00:00Z"},
        "spec": {"terminate": terminate},
        "status": {"phase": phase, "message": message} if phase else {},
    }


def at_step(index: int, steps: list[dict[str, Any]] = STEPS, **extra: Any) -> dict[str, Any]:
    canary = extra.pop("canary", {})
    return {
        "stableRS": "old",
        "currentPodHash": "new",
        "currentStepHash": compute_steps_hash(steps),
        "currentStepIndex": index,
        "canary": canary,
        **extra,
    }


def plan_for(status: dict[str, Any], runs: list[dict], steps: list[dict[str, Any]] = STEPS, **spec: Any) -> Any:
    stable, new = replica_set("old", 1, 3), replica_set("new", 2, 1)
    snap = snapshot(rollout(status, steps=steps, **spec), [stable, new], new)
    return plan_canary(snap.__class__(**{**snap.__dict__, "runs": runs}))


def test_reaching_an_analysis_step_asks_for_its_run_named_after_rollout_hash_revision_and_step() -> None:
    plan = plan_for(at_step(1), [])
    [request] = plan.analysis.create
    assert request.name == "web-new-2-1"
    assert request.labels == {"rollouts-pod-template-hash": "new", "rollout-type": "Step", "step-index": "1"}
    assert request.analysis == TEMPLATES
    assert plan.status["currentStepIndex"] == 1


def test_a_running_step_analysis_holds_the_step_and_shows_in_the_status() -> None:
    status = at_step(1, canary={"currentStepAnalysisRunStatus": {"name": "web-new-2-1", "status": ""}})
    plan = plan_for(status, [run("web-new-2-1", "Running")])
    assert plan.analysis.create == []
    assert plan.status["currentStepIndex"] == 1
    assert plan.status["canary"]["currentStepAnalysisRunStatus"] == {"name": "web-new-2-1", "status": "Running"}
    assert [e.reason for e in plan.events] == ["AnalysisRunRunning"]


def test_a_successful_step_analysis_completes_the_step() -> None:
    status = at_step(1, canary={"currentStepAnalysisRunStatus": {"name": "web-new-2-1", "status": "Running"}})
    plan = plan_for(status, [run("web-new-2-1", "Successful")])
    assert plan.status["currentStepIndex"] == 2
    assert not plan.status.get("abort")
    assert "AnalysisRunSuccessful" in [e.reason for e in plan.events]


def test_a_failed_step_analysis_aborts_with_its_message() -> None:
    status = at_step(1, canary={"currentStepAnalysisRunStatus": {"name": "web-new-2-1", "status": "Running"}})
    failed = run("web-new-2-1", "Failed", message='Metric "error-rate" assessed Failed')
    plan = plan_for(status, [failed])
    assert plan.status["abort"] is True
    assert plan.status["currentStepIndex"] == 0
    assert plan.abort_message == 'Step-based analysis phase error/failed: Metric "error-rate" assessed Failed'
    aborted = [e for e in plan.events if e.reason == "RolloutAborted"]
    assert aborted and aborted[0].message.endswith(plan.abort_message)
    # the canary goes back to 0 pods
    assert plan.scales.get("web-new") == 0


def test_an_inconclusive_step_analysis_pauses_the_rollout() -> None:
    status = at_step(1, canary={"currentStepAnalysisRunStatus": {"name": "web-new-2-1", "status": "Running"}})
    plan = plan_for(status, [run("web-new-2-1", "Inconclusive")])
    assert [c["reason"] for c in plan.status["pauseConditions"]] == ["InconclusiveAnalysisRun"]
    assert plan.status["controllerPause"] is True
    assert plan.status["currentStepIndex"] == 1


def test_after_a_retry_the_step_analysis_runs_again() -> None:
    previous = at_step(1, abortedAt="2026-05-01T11:00:00Z")
    previous["canary"] = {"currentStepAnalysisRunStatus": {"name": "web-new-2-1", "status": "Failed"}}
    plan = plan_for(previous, [run("web-new-2-1", "Failed")])
    assert [r.name for r in plan.analysis.create] == ["web-new-2-1"]  # the reconciler adds ".1" on the collision


def test_abort_cancels_the_running_analysis() -> None:
    status = at_step(1, abort=True, canary={"currentStepAnalysisRunStatus": {"name": "web-new-2-1", "status": ""}})
    plan = plan_for(status, [run("web-new-2-1", "Running")])
    assert plan.analysis.terminate == ["web-new-2-1"]
    assert "currentStepAnalysisRunStatus" not in plan.status["canary"]


def test_background_analysis_starts_at_its_starting_step_and_aborts_on_failure() -> None:
    steps: list[dict[str, Any]] = [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}]
    background = {**TEMPLATES, "startingStep": 1}
    spec = {"strategy": {"canary": {"steps": steps, "analysis": background}}}
    before = plan_for(at_step(0, steps), [], steps, **spec)
    assert before.analysis.create == []
    started = plan_for(at_step(1, steps), [], steps, **spec)
    assert [(r.name, r.kind) for r in started.analysis.create] == [("web-new-2", "Background")]
    current = {"currentBackgroundAnalysisRunStatus": {"name": "web-new-2", "status": "Running"}}
    failed = plan_for(
        at_step(2, steps, canary=current), [run("web-new-2", "Error", index=None, message="boom")], steps, **spec
    )
    assert failed.status["abort"] is True
    assert failed.abort_message == "Background analysis phase error/failed: boom"


def test_runs_of_other_revisions_are_cancelled_and_old_ones_deleted_beyond_the_limit() -> None:
    stale = run("web-old-1-1", "Running")
    stale["metadata"]["labels"]["rollouts-pod-template-hash"] = "old"
    plan = plan_for(at_step(0), [stale])
    assert plan.analysis.terminate == ["web-old-1-1"]


def test_history_limits_keep_the_newest_runs_and_drop_runs_of_deleted_replica_sets() -> None:
    def finished(name: str, phase: str, created: str, pod_hash: str = "abc") -> dict:
        return {
            "metadata": {
                "name": name,
                "creationTimestamp": created,
                "labels": {"rollouts-pod-template-hash": pod_hash},
            },
            "status": {"phase": phase},
        }

    runs = [
        finished("s1", "Successful", "2026-01-01T00:00:01Z"),
        finished("s2", "Successful", "2026-01-01T00:00:02Z"),
        finished("f1", "Failed", "2026-01-01T00:00:03Z"),
        finished("gone", "Successful", "2026-01-01T00:00:04Z", pod_hash="deleted"),
    ]
    assert select_runs_to_delete(runs, {"abc": False}, 1, 1) == ["gone", "s1"]


def test_the_status_patch_nulls_fields_dropped_inside_objects() -> None:
    from ramp.rollout.status import status_patch

    old = {"canary": {"currentStepAnalysisRunStatus": {"name": "r", "status": "Successful"}}, "phase": "Paused"}
    new = {"canary": {}, "phase": "Healthy"}
    assert status_patch(old, new) == {"canary": {"currentStepAnalysisRunStatus": None}, "phase": "Healthy"}
    assert status_patch(new, new) is None
