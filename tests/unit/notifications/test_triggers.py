"""`ramp.notifications.triggers`: reasons to trigger names, conditions on upstream's variables, upstream's keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ramp.notifications.config import load_config
from ramp.notifications.subscriptions import Destination
from ramp.notifications.triggers import (
    TriggerError,
    TriggerResult,
    condition_key,
    hash_condition,
    run_trigger,
    select_analysis_runs,
    state_key,
    trigger_for_reason,
    variables_for,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ROLLOUT = {
    "metadata": {"name": "web", "annotations": {"rollout.argoproj.io/revision": "3"}},
    "spec": {"replicas": 3},
    "status": {"phase": "Degraded", "currentPodHash": "abc", "observedGeneration": "7"},
}


@pytest.mark.parametrize(
    ("reason", "trigger"),
    [
        ("RolloutCompleted", "on-rollout-completed"),
        ("RolloutStepCompleted", "on-rollout-step-completed"),
        ("RolloutUpdated", "on-rollout-updated"),
        ("ScalingReplicaSet", "on-scaling-replica-set"),
        ("RolloutPaused", "on-rollout-paused"),
        ("RolloutAborted", "on-rollout-aborted"),
        ("AnalysisRunRunning", "on-analysis-run-running"),
        ("AnalysisRunError", "on-analysis-run-error"),
        ("AnalysisRunFailed", "on-analysis-run-failed"),
        ("TrafficWeightUpdated", "on-traffic-weight-updated"),
        ("RolloutNotCompleted", "on-rollout-not-completed"),
    ],
)
def test_event_reasons_name_triggers_as_upstream(reason, trigger):
    assert trigger_for_reason(reason) == trigger


def configured(data):
    config, problems = load_config(data, {"token": "t"}, namespace="ns", service_types=())
    assert problems == []
    return config


def test_a_builtin_trigger_without_when_always_fires_with_upstreams_key():
    (result,) = run_trigger(configured({}), "on-rollout-aborted", variables_for(ROLLOUT, now=NOW))
    assert result == TriggerResult(key=condition_key(0, ""), triggered=True, templates=("rollout-aborted",))
    assert result.key == "[0].2jmj7l5rSw0yVb_vlWAYkK_YBwk"  # sha1("") in unpadded base64url, as upstream's hash


@pytest.mark.parametrize(
    ("when", "triggered"),
    [
        ("rollout.status.phase == 'Degraded'", True),
        ("rollout.status.phase == 'Healthy'", False),
        ("rollout.spec.replicas > 2 && rollout.metadata.name startsWith 'w'", True),
        ("time.Now().Sub(time.Parse('2024-05-01T11:00:00Z')).Minutes() >= 30", True),
        ("secrets.token == 't'", True),
        ("analysisRuns == nil", True),
    ],
)
def test_conditions_run_on_upstreams_variables(when, triggered):
    config = configured({"trigger.on-x": f'- when: "{when}"\n  send: [rollout-aborted]', "template.t": "message: x"})
    (result,) = run_trigger(config, "on-x", variables_for(ROLLOUT, analysis_runs=[], now=NOW))
    assert (result.triggered, result.error) == (triggered, None)
    assert result.key == f"[0].{hash_condition(when)}"


@pytest.mark.parametrize(
    ("when", "error"),
    [
        ("rollout.spec.replicas", "gave int, not true or false"),
        ("rollout.spec.replicas > 'a'", "when"),
        ("time.Parse(rollout.metadata.name).Unix() > 0", "cannot parse 'web' as RFC 3339"),
    ],
)
def test_a_condition_that_cannot_be_evaluated_does_not_fire_and_says_why(when, error):
    config = configured({"trigger.on-x": f'- when: "{when}"\n  send: [rollout-aborted]'})
    (result,) = run_trigger(config, "on-x", variables_for(ROLLOUT, now=NOW))
    assert result.triggered is False
    assert result.error is not None and error in result.error


def test_once_per_gives_the_value_as_go_prints_it_and_only_when_triggered():
    config = configured(
        {
            "trigger.on-x": (
                "- when: 'true'\n  oncePer: rollout.status.observedGeneration\n  send: [rollout-aborted]\n"
                "- when: 'false'\n  oncePer: rollout.spec.replicas\n  send: [rollout-paused]\n"
            )
        }
    )
    first, second = run_trigger(config, "on-x", variables_for(ROLLOUT, now=NOW))
    assert (first.triggered, first.once_per, first.key[:4]) == (True, "7", "[0].")
    assert (second.triggered, second.once_per, second.key[:4]) == (False, None, "[1].")


def test_an_unconfigured_trigger_is_an_error_naming_it():
    with pytest.raises(TriggerError, match="trigger 'on-nothing' is not configured"):
        run_trigger(configured({}), "on-nothing", {})


def test_state_keys_are_notifications_engines():
    destination = Destination("slack", "ops")
    plain = TriggerResult("[0].abc", True, ("t",))
    once = TriggerResult("[0].abc", True, ("t",), once_per="7")
    assert state_key("on-x", plain, destination) == "on-x:[0].abc:slack:ops"
    assert state_key("on-x", once, destination, self_service_namespace="team") == "7:team:on-x:[0].abc:slack:ops"


def run(name, pod_hash, revision, created):
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": created,
            "labels": {"rollouts-pod-template-hash": pod_hash},
            "annotations": {"rollout.argoproj.io/revision": revision},
        }
    }


def test_analysis_runs_are_those_of_the_current_pod_hash_and_revision_newest_first():
    runs = [
        run("old", "abc", "3", "2024-05-01T10:00:00Z"),
        run("other-hash", "def", "3", "2024-05-01T11:00:00Z"),
        run("other-revision", "abc", "2", "2024-05-01T11:00:00Z"),
        run("new", "abc", "3", "2024-05-01T11:30:00Z"),
    ]
    chosen = select_analysis_runs(ROLLOUT, runs)
    assert [r["metadata"]["name"] for r in chosen or []] == ["new", "old"]
    assert select_analysis_runs(ROLLOUT, [runs[1]]) is None


def test_variables_hold_rollout_time_and_analysis_runs_only_when_known():
    assert set(variables_for(ROLLOUT, now=NOW)) == {"rollout", "time"}
    assert set(variables_for(ROLLOUT, analysis_runs=[], now=NOW)) == {"rollout", "time", "analysisRuns"}
    other = variables_for({"kind": "AnalysisRun"}, kind="AnalysisRun", now=NOW)
    assert other["rollout"] is other["analysisRun"]
