"""The FeatureFlag rollout plan: step walk, pauses, analysis verdicts, abort, promote and retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ramp.actions.flags import plan_flag_promotion
from ramp.api.featureflag import FeatureFlag, parse_feature_flag
from ramp.flags.plan import FlagPlan, plan_flag, rollout_hash, run_name

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
STEPS: list[dict[str, Any]] = [
    {"setWeight": 10},
    {"pause": {}},
    {"setWeight": 50},
    {"analysis": {"templates": [{"templateName": "errors"}], "args": [{"name": "flag", "value": "{{flag.key}}"}]}},
    {"setWeight": 80},
    {"pause": {"duration": "30s"}},
]


def flag(status: dict[str, Any] | None = None, steps: list[dict[str, Any]] | None = None, **spec: Any) -> FeatureFlag:
    raw: dict[str, Any] = {
        "apiVersion": "ramp.dev/v1alpha1",
        "kind": "FeatureFlag",
        "metadata": {"name": "checkout", "namespace": "shop", "generation": 1},
        "spec": {
            "variants": {"new": True, "old": False},
            "defaultVariant": "old",
            "rollout": {"variant": "new", "steps": STEPS if steps is None else steps},
            **spec,
        },
    }
    if status is not None:
        raw["status"] = status
    return parse_feature_flag(raw)


def again(previous: FeatureFlag, plan: FlagPlan, **spec: Any) -> FeatureFlag:
    """The flag as the next reconcile reads it: the planned status written."""
    raw = previous.model_dump(mode="json", by_alias=True, exclude_none=True)
    raw["status"] = plan.status
    raw["spec"].update(spec)
    return parse_feature_flag(raw)


def run(phase: str, message: str = "") -> dict[str, Any]:
    return {"metadata": {"name": "x"}, "status": {"phase": phase, "message": message}}


def test_a_new_flag_walks_set_weight_steps_until_the_first_pause() -> None:
    plan = plan_flag(flag(), {}, NOW)
    assert plan.status["weight"] == 10
    assert plan.status["currentStepIndex"] == 1
    assert plan.status["phase"] == "Paused"
    assert plan.status["pauseConditions"][0]["reason"] == "PausedStep"
    assert plan.status["controllerPause"] is True
    assert plan.create == []


def test_an_indefinite_pause_holds_until_promoted() -> None:
    first = flag()
    held = plan_flag(again(first, plan_flag(first, {}, NOW)), {}, NOW + timedelta(hours=5))
    assert held.status["currentStepIndex"] == 1
    assert held.status["weight"] == 10


def test_promote_clears_the_pause_and_the_next_analysis_step_creates_a_run() -> None:
    first = flag()
    paused = again(first, plan_flag(first, {}, NOW))
    promotion = plan_flag_promotion(paused.model_dump(mode="json", by_alias=True, exclude_none=True))
    assert promotion.status == {"pauseConditions": None}
    status = {**paused.model_dump(mode="json", by_alias=True, exclude_none=True)["status"], "pauseConditions": None}
    promoted = flag(status=status)
    plan = plan_flag(promoted, {}, NOW)
    expected = run_name("checkout", rollout_hash(promoted), "step", 3)
    assert plan.status["weight"] == 50
    assert plan.status["currentStepIndex"] == 3
    assert plan.status["phase"] == "Progressing"
    assert [request.name for request in plan.create] == [expected]
    assert plan.status["currentStepAnalysisRunStatus"] == {"name": expected, "status": "Pending"}


def _at_analysis() -> tuple[FeatureFlag, str]:
    at = flag(status={"currentStepHash": rollout_hash(flag()), "currentStepIndex": 3, "weight": 50})
    return at, run_name("checkout", rollout_hash(at), "step", 3)


def test_a_running_analysis_holds_the_weight() -> None:
    at, name = _at_analysis()
    plan = plan_flag(at, {name: run("Running")}, NOW)
    assert (plan.status["weight"], plan.status["currentStepIndex"], plan.create) == (50, 3, [])


def test_a_successful_analysis_goes_on_to_the_timed_pause_which_ends_by_itself() -> None:
    at, name = _at_analysis()
    plan = plan_flag(at, {name: run("Successful")}, NOW)
    assert (plan.status["weight"], plan.status["currentStepIndex"], plan.status["phase"]) == (80, 5, "Paused")
    assert plan.requeue_after == 30
    later = plan_flag(again(at, plan), {name: run("Successful")}, NOW + timedelta(seconds=31))
    assert later.status["phase"] == "Healthy"
    assert later.status["weight"] == 100
    assert later.status["currentStepIndex"] == len(STEPS)


def test_a_failed_analysis_aborts_at_weight_zero_naming_the_run() -> None:
    at, name = _at_analysis()
    plan = plan_flag(at, {name: run("Failed", "metric errors failed")}, NOW)
    assert plan.status["weight"] == 0
    assert plan.status["phase"] == "Degraded"
    assert plan.status["abort"] is True
    assert f'AnalysisRun "{name}" Failed: metric errors failed' in plan.status["message"]


def test_an_error_analysis_aborts_too() -> None:
    at, name = _at_analysis()
    assert plan_flag(at, {name: run("Error")}, NOW).status["phase"] == "Degraded"


def test_an_inconclusive_analysis_pauses_and_promote_moves_past_it() -> None:
    at, name = _at_analysis()
    plan = plan_flag(at, {name: run("Inconclusive")}, NOW)
    assert plan.status["phase"] == "Paused"
    promotion = plan_flag_promotion({"spec": {"rollout": {"steps": STEPS}}, "status": plan.status})
    assert promotion.status == {"pauseConditions": None, "currentStepIndex": 4}


def test_abort_sets_weight_zero_and_terminates_running_runs() -> None:
    at, name = _at_analysis()
    aborted = flag(status={**at.model_dump(mode="json", by_alias=True, exclude_none=True)["status"], "abort": True})
    plan = plan_flag(aborted, {name: run("Running")}, NOW)
    assert (plan.status["weight"], plan.status["phase"]) == (0, "Degraded")
    assert plan.terminate == [name]
    assert "abortedAt" in plan.status


def test_retry_starts_the_steps_again_and_drops_the_earlier_runs() -> None:
    at, name = _at_analysis()
    failed = plan_flag(at, {name: run("Failed")}, NOW)
    retried_status = {**failed.status, "abort": False}
    plan = plan_flag(flag(status=retried_status), {name: run("Failed")}, NOW)
    assert plan.delete == [name]
    assert (plan.status["weight"], plan.status["currentStepIndex"], plan.status["phase"]) == (10, 1, "Paused")
    assert "abortedAt" not in plan.status


def test_a_changed_rollout_starts_again_from_the_first_step() -> None:
    done = flag(status={"currentStepHash": "old", "currentStepIndex": 6, "weight": 100, "phase": "Healthy"})
    plan = plan_flag(done, {}, NOW)
    assert (plan.status["weight"], plan.status["currentStepIndex"]) == (10, 1)


def test_spec_paused_holds_the_flag_and_promote_unpauses_it() -> None:
    at, name = _at_analysis()
    paused = flag(status=at.model_dump(mode="json", by_alias=True, exclude_none=True)["status"], paused=True)
    plan = plan_flag(paused, {name: run("Successful")}, NOW)
    assert (plan.status["phase"], plan.status["currentStepIndex"]) == ("Paused", 3)
    raw = paused.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert plan_flag_promotion(raw).spec == {"paused": False}


def test_promote_skips_a_running_step_and_full_skips_them_all() -> None:
    at, _ = _at_analysis()
    raw = at.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert plan_flag_promotion(raw).status == {"currentStepIndex": 4}
    assert plan_flag_promotion(raw, full=True).status["currentStepIndex"] == len(STEPS)


def test_background_analysis_runs_from_its_starting_step_and_a_failure_aborts() -> None:
    background = {"templates": [{"templateName": "errors"}], "startingStep": 1}
    raw_flag = flag(steps=[{"setWeight": 10}, {"pause": {}}])
    spec = raw_flag.model_dump(mode="json", by_alias=True, exclude_none=True)["spec"]
    spec["rollout"]["analysis"] = background
    with_background = parse_feature_flag({"metadata": {"name": "checkout", "namespace": "shop"}, "spec": spec})
    plan = plan_flag(with_background, {}, NOW)
    name = run_name("checkout", rollout_hash(with_background), "background")
    assert [request.name for request in plan.create] == [name]
    failed = plan_flag(again(with_background, plan), {name: run("Failed")}, NOW)
    assert (failed.status["weight"], failed.status["phase"]) == (0, "Degraded")


def test_no_steps_rolls_the_variant_out_at_once() -> None:
    plan = plan_flag(flag(steps=[]), {}, NOW)
    assert (plan.status["phase"], plan.status["weight"]) == ("Healthy", 100)


def test_planning_twice_changes_nothing() -> None:
    first = flag()
    plan = plan_flag(first, {}, NOW)
    assert plan_flag(again(first, plan), {}, NOW).status == plan.status
