"""A run created by a reconcile whose status write never landed (the controller killed in between, or a conflict) is
taken back by the next reconcile, whatever its phase; runs put aside (finished ones of the update included) never are.

Found by the chaos scenario (tests/e2e/test_chaos.py): a controller SIGKILLed right after creating a step's run left
the run out of the Rollout's status; the run finished under the next controller, which then created `<name>.1` and
measured again (five runs for one step in the worst case, and a failed analysis measured twice).
"""

from __future__ import annotations

from typing import Any

from ramp.rollout.analysis import may_adopt_run, should_cancel
from tests.unit.rollout.test_canary_analysis import STEPS, at_step, plan_for, run

OWNER = [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "web", "uid": "u1", "controller": True}]
SPEC = {"metrics": [{"name": "verdict", "provider": {"web": {"url": "http://x"}}}]}


def wanted(name: str = "web-new-2-1") -> dict[str, Any]:
    return {"metadata": {"name": name, "ownerReferences": OWNER}, "spec": dict(SPEC)}


def existing(phase: str, **changes: Any) -> dict[str, Any]:
    found = {**wanted(), "status": {"phase": phase}}
    found["metadata"] = {**found["metadata"], **changes.pop("metadata", {})}
    found["spec"] = {**found["spec"], **changes.pop("spec", {})}
    return found


def test_a_run_left_out_of_the_status_is_adopted_even_when_it_has_finished() -> None:
    for phase in ("", "Running", "Successful", "Failed", "Error", "Inconclusive"):
        assert may_adopt_run(existing(phase), wanted()), phase


def test_a_terminated_run_is_never_adopted() -> None:
    assert not may_adopt_run(existing("Failed", spec={"terminate": True}), wanted())
    assert not may_adopt_run(existing("Running", spec={"terminate": True}), wanted())


def test_the_run_being_replaced_is_never_adopted() -> None:
    assert not may_adopt_run(existing("Inconclusive"), wanted(), replaces="web-new-2-1")
    assert may_adopt_run(existing("Inconclusive"), wanted(), replaces="web-new-2-1.1")


def test_a_run_of_another_owner_or_with_another_spec_is_not_adopted() -> None:
    other_owner = [{**OWNER[0], "uid": "u2"}]
    assert not may_adopt_run(existing("Running", metadata={"ownerReferences": other_owner}), wanted())
    assert not may_adopt_run(existing("Running", metadata={"ownerReferences": []}), wanted())
    assert not may_adopt_run(existing("Running", spec={"args": [{"name": "a", "value": "b"}]}), wanted())
    assert not may_adopt_run(existing("Running", metadata={"deletionTimestamp": "2026-01-01T00:00:00Z"}), wanted())


def test_finished_runs_of_the_update_are_cancelled_once_when_put_aside_other_updates_only_when_running() -> None:
    assert should_cancel(run("web-new-2-1", "Successful"), "new")
    assert should_cancel(run("web-new-2-1", "Running"), "other")
    assert not should_cancel(run("web-new-2-1", "Successful"), "other")
    assert not should_cancel(run("web-new-2-1", "Successful", terminate=True), "new")


def test_moving_past_an_analysis_step_terminates_its_finished_run() -> None:
    status = at_step(2, canary={"currentStepAnalysisRunStatus": {"name": "web-new-2-1", "status": "Successful"}})
    plan = plan_for(status, [run("web-new-2-1", "Successful")])
    assert plan.analysis.terminate == ["web-new-2-1"]
    assert "currentStepAnalysisRunStatus" not in plan.status["canary"]


def test_an_abort_terminates_the_failed_run_so_a_retry_measures_again() -> None:
    failed = {"name": "web-new-2-1", "status": "Failed"}
    plan = plan_for(
        at_step(1, abort=True, canary={"currentStepAnalysisRunStatus": failed}), [run("web-new-2-1", "Failed")]
    )
    assert plan.analysis.terminate == ["web-new-2-1"]


def test_a_step_run_missing_from_the_status_is_asked_for_under_its_own_name_replacing_nothing() -> None:
    # The run exists (its create landed) but the status never named it: the request has the same name, and
    # creating it adopts the existing run.
    plan = plan_for(at_step(1), [run("web-new-2-1", "Failed")], STEPS)
    [request] = plan.analysis.create
    assert (request.name, request.replaces) == ("web-new-2-1", None)
    assert "web-new-2-1" not in plan.analysis.terminate


def test_a_retried_step_run_replaces_the_aborted_one() -> None:
    failed = {"name": "web-new-2-1", "status": "Failed"}
    status = at_step(1, abortedAt="2026-05-01T12:00:00Z", canary={"currentStepAnalysisRunStatus": failed})
    plan = plan_for(status, [run("web-new-2-1", "Failed", terminate=True)])
    [request] = plan.analysis.create
    assert (request.name, request.replaces) == ("web-new-2-1", "web-new-2-1")


def test_promoting_an_inconclusive_run_replaces_it_and_puts_it_aside_at_once() -> None:
    # Promoted (pause removed, controllerPause still set): a new run is asked for, the inconclusive one is
    # terminated in the same reconcile, so no later request can take it back.
    inconclusive = {"name": "web-new-2-1", "status": "Inconclusive"}
    status = at_step(1, controllerPause=True, canary={"currentStepAnalysisRunStatus": inconclusive})
    plan = plan_for(status, [run("web-new-2-1", "Inconclusive")])
    [request] = plan.analysis.create
    assert (request.name, request.replaces) == ("web-new-2-1", "web-new-2-1")
    assert plan.analysis.terminate == ["web-new-2-1"]
