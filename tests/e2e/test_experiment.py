"""Experiments on the local cluster with the real controller: templates run as ReplicaSets for a duration,
analyses judge them, and `ramp terminate/get/list experiment` act on them.

Behaviour matched (upstream docs features/experiment.md): each template's ReplicaSet `<experiment>-<template>`
runs until every pod is available (Pending → Running, availableAt set), the Experiment is Successful once the
duration has passed, and the ReplicaSets are scaled to 0 after scaleDownDelaySeconds; a failing analysis ends
it Failed; an analysis with requiredForCompletion ends it Successful when it completes; spec.terminate ends it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import Cluster, ControllerProcess, wait_until
from tests.e2e.scenario import Scenario
from tests.e2e.test_analysis_run import (
    MetricsEndpoint,
    endpoint_fixture,  # noqa: F401 - provides the `endpoint` fixture
    start_namespaced,
    then_phase,
)
from tests.e2e.test_cli import ramp

pytestmark = pytest.mark.cluster


def _template(name: str, image: str) -> dict[str, Any]:
    labels = {"app": "demo", "variant": name}
    return {
        "name": name,
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": image}]}},
    }


def _experiment(name: str, **spec: Any) -> str:
    body = {"templates": [_template("baseline", "nginx:1.27"), _template("canary", "nginx:1.28")], **spec}
    manifest = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Experiment", "metadata": {"name": name}, "spec": body}
    return json.dumps(manifest)


def _analysis_template(name: str, url: str) -> str:
    metric = {
        "name": "ratio",
        "interval": "1s",
        "count": 2,
        "failureLimit": 0,
        "successCondition": "result >= 0.95",
        "provider": {"web": {"url": url, "jsonPath": "{$.ratio}"}},
    }
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": name},
        "spec": {"metrics": [metric]},
    }
    return json.dumps(manifest)


def _then_experiment(s: Scenario, name: str, phase: str, timeout: float = 90) -> dict[str, Any]:
    return then_phase(s, "experiment", name, phase, timeout)


def _then_scaled(s: Scenario, name: str, replicas: int, timeout: float = 60) -> None:
    def scaled() -> bool:
        sets = [s.get("replicaset", f"{name}-{template}") for template in ("baseline", "canary")]
        return all(rs["spec"]["replicas"] == replicas for rs in sets)

    wait_until(scaled, timeout, f"ReplicaSets of {name} at {replicas}")


def test_templates_run_for_the_duration_then_the_experiment_succeeds_and_scales_down(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    start_namespaced(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given an Experiment with a baseline and a canary template, running 10s once available
    s.given(_experiment("compare", duration="10s", scaleDownDelaySeconds=5))
    # Then both ReplicaSets run their pod, and the Experiment is Running with availableAt set
    s.expect_pods("app=demo,variant=baseline", count=1, ready=1, image="nginx:1.27")
    s.expect_pods("app=demo,variant=canary", count=1, ready=1, image="nginx:1.28")
    running = _then_experiment(s, "compare", "Running")
    assert running["status"]["availableAt"]
    canary_rs = s.get("replicaset", "compare-canary")
    assert canary_rs["metadata"]["annotations"]["experiment.argoproj.io/template-name"] == "canary"
    owner = canary_rs["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("Experiment", "compare", True)
    statuses = {t["name"]: t for t in running["status"]["templateStatuses"]}
    assert statuses["canary"]["status"] == "Running" and statuses["canary"]["availableReplicas"] == 1
    # Then after the duration it is Successful, with upstream's Progressing condition
    done = _then_experiment(s, "compare", "Successful", timeout=60)
    progressing = next(c for c in done["status"]["conditions"] if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("False", "ExperimentCompleted")
    # And the ReplicaSets carry a scale-down deadline, then are scaled to 0 once it has passed
    wait_until(
        lambda: "scale-down-deadline" in (s.get("replicaset", "compare-baseline")["metadata"].get("annotations") or {}),
        30,
        "a scale-down deadline",
    )
    _then_scaled(s, "compare", 0)
    s.then_event("compare", "ExperimentSuccessful")


def test_a_failing_analysis_fails_the_experiment_and_scales_it_down(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], endpoint: MetricsEndpoint
) -> None:
    start_namespaced(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given an analysis that measures an unhealthy ratio, in an Experiment with no duration
    s.given(_analysis_template("ratio", endpoint.url("/unhealthy")))
    s.given(_experiment("bad", analyses=[{"name": "ratio", "templateName": "ratio"}], scaleDownDelaySeconds=0))
    # Then its run `<experiment>-<analysis>` fails, and so does the Experiment
    failed = _then_experiment(s, "bad", "Failed")
    runs = failed["status"]["analysisRuns"]
    assert runs[0]["analysisRun"] == "bad-ratio" and runs[0]["phase"] == "Failed"
    assert s.get("analysisrun", "bad-ratio")["metadata"]["ownerReferences"][0]["name"] == "bad"
    # And its ReplicaSets are scaled to 0 at once (scaleDownDelaySeconds 0)
    _then_scaled(s, "bad", 0)


def test_a_required_analysis_that_passes_completes_the_experiment(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], endpoint: MetricsEndpoint
) -> None:
    start_namespaced(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given an Experiment with no duration whose analysis is required for completion
    s.given(_analysis_template("ratio", endpoint.url("/healthy")))
    analysis = {"name": "ratio", "templateName": "ratio", "requiredForCompletion": True}
    s.given(_experiment("good", analyses=[analysis]))
    # Then it is Successful when the analysis completes
    done = _then_experiment(s, "good", "Successful")
    assert done["status"]["message"] == "Required AnalysisRuns completed"
    assert done["status"]["analysisRuns"][0]["phase"] == "Successful"
    assert endpoint.requests["/healthy"] == 2


def test_terminate_ends_an_experiment_and_get_and_list_print_it(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    start_namespaced(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given an Experiment that would run until stopped
    s.given(_experiment("forever", scaleDownDelaySeconds=0))
    _then_experiment(s, "forever", "Running")
    # When `ramp get experiment` and `ramp list experiments` run
    shown = ramp(cluster, namespace, "get", "experiment", "forever")
    listed = ramp(cluster, namespace, "list", "experiments")
    # Then they print its status, ReplicaSets and pods
    assert shown.returncode == 0, shown.stderr
    assert "Status:" in shown.stdout and "Running" in shown.stdout
    assert "forever-canary" in shown.stdout and "Experiment" in shown.stdout and "Pod" in shown.stdout
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "STATUS", "DURATION", "REMAINING", "AGE"]
    assert row.split()[:4] == ["forever", "Running", "-", "-"]
    # When it is terminated
    terminated = ramp(cluster, namespace, "terminate", "experiment", "forever")
    assert terminated.returncode == 0, terminated.stderr
    # Then it ends Successful and its ReplicaSets are scaled down
    _then_experiment(s, "forever", "Successful")
    _then_scaled(s, "forever", 0)
