"""The Experiment plan: what one reconcile creates, scales and writes, from plain dicts (no cluster)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ramp.experiments.assessment import verify_spec
from ramp.experiments.objects import EXPERIMENT_NAME_ANNOTATION, TEMPLATE_NAME_ANNOTATION, TemplatesFound
from ramp.experiments.plan import Inputs, plan_experiment

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def stamp(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def template(name: str, **extra: Any) -> dict[str, Any]:
    labels = {"app": "demo", "variant": name}
    pod = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": f"img:{name}"}]}}
    return {"name": name, "selector": {"matchLabels": labels}, "template": pod, **extra}


def experiment(status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    body = {"templates": [template("baseline"), template("canary")], **spec}
    return {
        "metadata": {"name": "exp", "namespace": "ns", "uid": "u1"},
        "spec": body,
        "status": status or {},
    }


def replica_set(name: str, replicas: int = 1, available: int = 1, **annotations: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"exp-{name}",
            "labels": {"rollouts-pod-template-hash": f"h-{name}"},
            "annotations": {EXPERIMENT_NAME_ANNOTATION: "exp", TEMPLATE_NAME_ANNOTATION: name, **annotations},
        },
        "spec": {"replicas": replicas},
        "status": {"replicas": available, "readyReplicas": available, "availableReplicas": available},
    }


def running_status(**extra: Any) -> dict[str, Any]:
    counts = {"replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}
    return {
        "phase": "Running",
        "availableAt": stamp(20),
        "templateStatuses": [
            {"name": n, "status": "Running", "lastTransitionTime": stamp(25), **counts} for n in ("baseline", "canary")
        ],
        **extra,
    }


def both_sets(**kw: Any) -> dict[str, Any]:
    return {name: replica_set(name, **kw) for name in ("baseline", "canary")}


def plan(exp: dict[str, Any], sets: dict[str, Any] | None = None, **kw: Any) -> Any:
    return plan_experiment(
        Inputs(exp, sets or {}, kw.get("services", {}), kw.get("runs", {}), kw.get("templates", {}), NOW)
    )


def test_a_new_experiment_creates_one_replica_set_per_template_at_zero_and_is_pending() -> None:
    result = plan(experiment())
    names = [body["metadata"]["name"] for _, body in result.create_replica_sets]
    assert names == ["exp-baseline", "exp-canary"]
    body = result.create_replica_sets[1][1]
    pod_hash = body["spec"]["template"]["metadata"]["labels"]["rollouts-pod-template-hash"]
    assert body["spec"]["replicas"] == 0
    assert body["spec"]["selector"]["matchLabels"] == {
        "app": "demo",
        "variant": "canary",
        "rollouts-pod-template-hash": pod_hash,
    }
    assert body["metadata"]["annotations"] == {EXPERIMENT_NAME_ANNOTATION: "exp", TEMPLATE_NAME_ANNOTATION: "canary"}
    assert body["metadata"]["ownerReferences"][0]["kind"] == "Experiment"
    assert result.status["phase"] == "Pending"
    assert [t["status"] for t in result.status["templateStatuses"]] == ["Progressing", "Progressing"]


def test_replica_sets_at_zero_are_scaled_to_the_template_replicas() -> None:
    exp = experiment({"phase": "Pending"})
    exp["spec"]["templates"][0]["replicas"] = 2
    result = plan(exp, both_sets(replicas=0, available=0))
    assert {(s.name, s.replicas) for s in result.scale} == {("exp-baseline", 2), ("exp-canary", 1)}
    assert result.status["phase"] == "Pending"


def test_all_templates_available_makes_it_running_with_available_at() -> None:
    result = plan(experiment({"phase": "Pending"}, duration="1m"), both_sets())
    assert result.status["phase"] == "Running"
    assert result.status["availableAt"] == stamp(0)
    assert result.requeue_after == 60


def test_after_the_duration_the_templates_and_the_experiment_are_successful() -> None:
    result = plan(experiment(running_status(), duration="10s"), both_sets())
    assert [t["status"] for t in result.status["templateStatuses"]] == ["Successful", "Successful"]
    assert result.status["phase"] == "Successful"
    progressing = next(c for c in result.status["conditions"] if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("False", "ExperimentCompleted")
    assert "ExperimentSuccessful" in [e.reason for e in result.events]


def test_a_finished_experiment_marks_a_scale_down_deadline_and_keeps_pods_until_it_passes() -> None:
    status = running_status(phase="Successful")
    result = plan(experiment(status, scaleDownDelaySeconds=30), both_sets())
    assert result.set_deadlines == [("exp-baseline", stamp(-30)), ("exp-canary", stamp(-30))]
    assert result.scale == []
    assert result.requeue_after == 30


def test_a_passed_scale_down_deadline_scales_to_zero() -> None:
    status = running_status(phase="Successful")
    sets = both_sets(**{"scale-down-deadline": stamp(1)})
    result = plan(experiment(status), sets)
    assert {(s.name, s.replicas) for s in result.scale} == {("exp-baseline", 0), ("exp-canary", 0)}


def test_a_zero_scale_down_delay_scales_to_zero_at_once() -> None:
    result = plan(experiment(running_status(phase="Failed"), scaleDownDelaySeconds=0), both_sets())
    assert result.set_deadlines == []
    assert {s.replicas for s in result.scale} == {0}


def test_a_template_without_progress_past_the_deadline_fails_the_experiment() -> None:
    status = {
        "phase": "Pending",
        "templateStatuses": [{"name": "baseline", "status": "Progressing", "lastTransitionTime": stamp(700)}],
    }
    sets = {"baseline": replica_set("baseline", available=0), "canary": replica_set("canary")}
    result = plan(experiment(status), sets)
    baseline = result.status["templateStatuses"][0]
    assert baseline["status"] == "Failed"
    assert baseline["message"] == "Template 'baseline' exceeded its progressDeadlineSeconds (600)"
    assert result.status["phase"] == "Failed"


def test_analyses_start_only_once_available_and_missing_templates_are_an_error_before() -> None:
    analyses = [{"name": "ratio", "templateName": "ratio"}]
    missing = {"ratio": TemplatesFound(error='AnalysisTemplate "ratio" not found in namespace ns')}
    result = plan(experiment({"phase": "Pending"}, analyses=analyses), both_sets(available=0), templates=missing)
    assert result.create_runs == []
    assert result.status["analysisRuns"][0]["phase"] == "Error"
    assert result.status["analysisRuns"][0]["message"].startswith(
        "AnalysisTemplate verification failed for analysis 'ratio'"
    )


def test_an_argument_no_template_can_resolve_is_an_error_before_the_templates_are_up() -> None:
    metric = {"name": "m", "provider": {"web": {"url": "http://x/{{args.hash}}"}}}
    found = {
        "ratio": TemplatesFound(
            [{"metadata": {"name": "ratio"}, "spec": {"metrics": [metric], "args": [{"name": "hash"}]}}]
        )
    }
    for value, error in (
        ("{{templates.nope.podTemplateHash}}", "failed to resolve {{templates.nope.podTemplateHash}}"),
        ("{{templates.baseline.podTemplateHash}}", None),
    ):
        analyses = [{"name": "ratio", "templateName": "ratio", "args": [{"name": "hash", "value": value}]}]
        result = plan(experiment({"phase": "Pending"}, analyses=analyses), both_sets(available=0), templates=found)
        assert result.create_runs == []
        run = result.status["analysisRuns"][0]
        if error is None:
            assert run.get("phase") != "Error", run
        else:
            assert run["phase"] == "Error"
            assert run["message"] == f"Failed to create AnalysisRun for analysis 'ratio': {error}"


def test_a_run_is_created_with_experiment_placeholders_resolved() -> None:
    metric = {"name": "m", "provider": {"web": {"url": "http://x/{{args.hash}}"}}}
    found = {
        "ratio": TemplatesFound(
            [{"metadata": {"name": "ratio"}, "spec": {"metrics": [metric], "args": [{"name": "hash"}]}}]
        )
    }
    analyses = [
        {
            "name": "ratio",
            "templateName": "ratio",
            "args": [{"name": "hash", "value": "{{templates.canary.podTemplateHash}}"}],
        }
    ]
    result = plan(experiment(running_status(), analyses=analyses), both_sets(), templates=found)
    [(name, run)] = result.create_runs
    assert name == "ratio" and run["metadata"]["name"] == "exp-ratio"
    assert run["spec"]["args"] == [{"name": "hash", "value": "h-canary"}]
    assert result.status["analysisRuns"] == [{"name": "ratio", "phase": "Pending", "analysisRun": "exp-ratio"}]


def test_a_failed_run_fails_the_experiment_with_its_message() -> None:
    analyses = [{"name": "ratio", "templateName": "ratio"}]
    status = running_status(analysisRuns=[{"name": "ratio", "analysisRun": "exp-ratio", "phase": "Running"}])
    runs = {
        "exp-ratio": {"metadata": {"name": "exp-ratio"}, "spec": {}, "status": {"phase": "Failed", "message": "bad"}}
    }
    result = plan(experiment(status, analyses=analyses), both_sets(), runs=runs)
    assert (result.status["phase"], result.status["message"]) == ("Failed", "bad")
    assert "AnalysisRunFailed" in [e.reason for e in result.events]


def test_required_analyses_successful_complete_the_experiment() -> None:
    analyses = [{"name": "ratio", "templateName": "ratio", "requiredForCompletion": True}]
    status = running_status(analysisRuns=[{"name": "ratio", "analysisRun": "exp-ratio", "phase": "Running"}])
    runs = {"exp-ratio": {"metadata": {"name": "exp-ratio"}, "spec": {}, "status": {"phase": "Successful"}}}
    result = plan(experiment(status, analyses=analyses), both_sets(), runs=runs)
    assert (result.status["phase"], result.status["message"]) == ("Successful", "Required AnalysisRuns completed")


def test_terminate_terminates_running_runs_and_ends_successful() -> None:
    analyses = [{"name": "ratio", "templateName": "ratio"}]
    status = running_status(analysisRuns=[{"name": "ratio", "analysisRun": "exp-ratio", "phase": "Running"}])
    runs = {"exp-ratio": {"metadata": {"name": "exp-ratio"}, "spec": {}, "status": {"phase": "Running"}}}
    result = plan(experiment(status, analyses=analyses, terminate=True), both_sets(), runs=runs)
    assert result.terminate_runs == [("ratio", "exp-ratio")]
    assert result.status["phase"] == "Successful"


def test_a_template_with_a_service_gets_one_selecting_its_pods() -> None:
    exp = experiment({"phase": "Pending"})
    exp["spec"]["templates"][1]["service"] = {}
    exp["spec"]["templates"][1]["template"]["spec"]["containers"][0]["ports"] = [
        {"name": "http", "containerPort": 8080}
    ]
    sets = both_sets()
    sets["canary"]["metadata"]["labels"] = {"app": "demo", "rollouts-pod-template-hash": "h-canary"}
    sets["canary"]["spec"]["template"] = exp["spec"]["templates"][1]["template"]
    result = plan(exp, sets)
    [(template_name, service)] = result.create_services
    assert template_name == "canary"
    assert service["metadata"]["name"] == "exp-canary"
    assert service["spec"]["selector"] == {"app": "demo", "rollouts-pod-template-hash": "h-canary"}
    assert service["spec"]["ports"] == [{"protocol": "TCP", "port": 8080, "targetPort": 8080, "name": "http"}]
    assert result.status["templateStatuses"][1]["serviceName"] == "exp-canary"


def test_running_twice_on_the_written_state_changes_nothing() -> None:
    exp = experiment(running_status(), duration="1m")
    first = plan(exp, both_sets())
    second = plan({**exp, "status": first.status}, both_sets())
    assert second.status == first.status
    assert (second.scale, second.create_replica_sets, second.events) == ([], [], [])


def test_invalid_specs_are_named_as_upstream() -> None:
    duplicate = experiment()
    duplicate["spec"]["templates"][1]["name"] = "baseline"
    assert verify_spec(duplicate) == "Experiment exp has repeated template name 'baseline' in templates"
    select_all = experiment()
    select_all["spec"]["templates"][0]["selector"] = {}
    assert (
        verify_spec(select_all) == "This experiment is selecting all pods at index 0. A non-empty selector is required."
    )
    assert verify_spec(experiment()) is None
