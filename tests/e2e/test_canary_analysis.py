"""Canary analysis on the local cluster, with real metric backends: metrics decide, and a bad release rolls back.

Behaviour matched (upstream docs features/analysis.md): an `analysis` step creates an AnalysisRun named
`<rollout>-<hash>-<revision>-<step>`; Successful moves on, Failed or Error aborts the update (canary scaled to 0,
Degraded, RolloutAborted), Inconclusive pauses with InconclusiveAnalysisRun until promote. Background analysis
runs from `startingStep` and aborts mid-way on failure. A backend that stops answering gives Error measurements;
past consecutiveErrorLimit the run is Error and the rollout aborts: a release is never promoted on missing data.
A dryRun metric is recorded but never fails the run.

The metrics come from a real Prometheus (Debian's package) scraping a source the test controls, and from a real
HTTP endpoint for web metrics.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.backends.prometheus import PrometheusServer, start_prometheus
from tests.e2e.harness import Cluster, ControllerProcess, ramp_command, wait_until
from tests.e2e.metrics_source import MetricsSource
from tests.e2e.scenario import Scenario

OLD, NEW, NEWER = "nginx:1.27", "nginx:1.28", "nginx:1.29"
ERROR_RATIO = 'http_error_ratio{app="web"}'


@pytest.fixture
def source() -> Iterator[MetricsSource]:
    serving = MetricsSource()
    serving.set(ERROR_RATIO, 0.01)
    serving.set_document({"ratio": 0.99})
    yield serving
    serving.stop()


@pytest.fixture
def prometheus(tmp_path: Path, source: MetricsSource) -> Iterator[PrometheusServer]:
    server = start_prometheus(tmp_path, scrape_targets=[source.address])
    # Values are queryable once scraped (scrape interval 1s).
    wait_until(lambda: _query(server, ERROR_RATIO), 60, "Prometheus to have scraped the source")
    yield server
    server.stop()


def _query(server: PrometheusServer, query: str) -> list[Any]:
    import httpx

    try:
        found = httpx.get(f"{server.url}/api/v1/query", params={"query": query}, timeout=5).json()
    except httpx.HTTPError:
        return []
    return list(found.get("data", {}).get("result") or [])


def _start(start_controller: Callable[..., ControllerProcess], namespace: str) -> ControllerProcess:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    return controller


def _template(name: str, metrics: list[dict[str, Any]], args: list[dict[str, Any]] | None = None) -> str:
    spec: dict[str, Any] = {"metrics": metrics}
    if args:
        spec["args"] = args
    manifest = {"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate", "metadata": {"name": name}}
    return json.dumps({**manifest, "spec": spec})


def _error_rate_metric(prometheus: PrometheusServer, **extra: Any) -> dict[str, Any]:
    return {
        "name": "error-rate",
        "interval": "1s",
        "count": 3,
        "successCondition": "result[0] < 0.05",
        "failureLimit": 0,
        "provider": {"prometheus": {"address": prometheus.url, "query": 'max(http_error_ratio{app="{{args.app}}"})'}},
        **extra,
    }


def _healthy_canary(s: Scenario, canary: dict[str, Any]) -> None:
    s.given_rollout("web", image=OLD, replicas=4, canary=canary)
    s.then_phase("web", "Healthy")
    s.then_ready_images("app=web", {OLD: 4})


def _runs(s: Scenario) -> list[dict[str, Any]]:
    return s.cluster.list("analysisruns", s.namespace)


def _run_phase(s: Scenario, name: str) -> str:
    found = [r for r in _runs(s) if r["metadata"]["name"] == name]
    return str((found[0].get("status") or {}).get("phase") or "") if found else ""


def _revision_hash(s: Scenario, image: str) -> str:
    rs = s.replica_set_for_image("web", image)
    return str(rs["metadata"]["labels"]["rollouts-pod-template-hash"])


ANALYSIS_STEP = {"analysis": {"templates": [{"templateName": "error-rate"}], "args": [{"name": "app", "value": "web"}]}}


def test_an_analysis_step_promotes_on_healthy_metrics_and_aborts_the_release_when_errors_breach(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    prometheus: PrometheusServer,
    source: MetricsSource,
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given an error-rate template on Prometheus, and a Healthy canary whose second step is that analysis
    s.given(_template("error-rate", [_error_rate_metric(prometheus)], args=[{"name": "app"}]))
    _healthy_canary(s, {"steps": [{"setWeight": 50}, ANALYSIS_STEP]})
    # When a new version rolls out while the error ratio is 1%
    s.when_image("rollout", "web", "app", NEW)
    # Then the step's AnalysisRun, named after the rollout, hash, revision and step, passes and the release completes
    run_name = f"web-{_revision_hash(s, NEW)}-2-1"
    wait_until(lambda: _run_phase(s, run_name) == "Successful", 60, f"{run_name} to be Successful")
    rollout = s.then_phase("web", "Healthy")
    s.then_ready_images("app=web", {NEW: 4})
    run = s.get("analysisrun", run_name)
    [result] = run["status"]["metricResults"]
    summary = (result["name"], result["phase"], result["count"], result["successful"])
    assert summary == ("error-rate", "Successful", 3, 3)
    assert run["spec"]["args"] == [{"name": "app", "value": "web"}]
    assert run["metadata"]["labels"]["rollout-type"] == "Step"
    assert run["metadata"]["ownerReferences"][0]["name"] == "web"
    assert "currentStepAnalysisRunStatus" not in rollout["status"]["canary"]
    # When the next version's error ratio is 50%
    source.set(ERROR_RATIO, 0.5)
    s.when_image("rollout", "web", "app", NEWER)
    # Then its analysis fails and the release aborts by itself: canary scaled down, weight 0, Degraded
    failed_name = f"web-{_revision_hash(s, NEWER)}-3-1"
    wait_until(lambda: _run_phase(s, failed_name) == "Failed", 60, f"{failed_name} to be Failed")
    rollout = s.then_phase("web", "Degraded")
    assert rollout["status"]["abort"] is True
    assert rollout["status"]["currentStepIndex"] == 0
    progressing = s.condition("web", "Progressing")
    assert progressing is not None and progressing["reason"] == "RolloutAborted"
    assert "Step-based analysis phase error/failed" in progressing["message"]
    s.then_ready_images("app=web", {NEW: 4})
    assert s.replica_set_for_image("web", NEWER)["spec"]["replicas"] == 0
    s.then_event("web", "AnalysisRunFailed")


def test_background_analysis_aborts_a_rollout_mid_way(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    prometheus: PrometheusServer,
    source: MetricsSource,
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a canary with background analysis from step 1 (measuring every second, no count: until promoted)
    metric = _error_rate_metric(prometheus)
    del metric["count"]
    s.given(_template("error-rate", [metric], args=[{"name": "app"}]))
    background = {"templates": [{"templateName": "error-rate"}], "args": [{"name": "app", "value": "web"}]}
    steps = [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}]
    _healthy_canary(s, {"steps": steps, "analysis": {**background, "startingStep": 1}})
    # When a new version reaches the first pause
    s.when_image("rollout", "web", "app", NEW)
    s.then_step("web", 1)
    run_name = f"web-{_revision_hash(s, NEW)}-2"
    wait_until(lambda: _run_phase(s, run_name) == "Running", 60, f"{run_name} to be Running")
    status = s.status("web")
    assert status["canary"]["currentBackgroundAnalysisRunStatus"]["name"] == run_name
    # When the error ratio breaches while it waits there
    source.set(ERROR_RATIO, 0.4)
    # Then the background run fails and the rollout aborts back to the stable version
    wait_until(lambda: _run_phase(s, run_name) == "Failed", 60, f"{run_name} to be Failed")
    s.then_phase("web", "Degraded")
    progressing = s.condition("web", "Progressing")
    assert progressing is not None and "Background analysis phase error/failed" in progressing["message"]
    s.then_ready_images("app=web", {OLD: 4})


def test_an_inconclusive_web_analysis_pauses_until_promote(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    source: MetricsSource,
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a web metric that passes above 0.95 and fails below 0.5, reading 0.7 (neither)
    source.set_document({"ratio": 0.7})
    metric = {
        "name": "success-ratio",
        "successCondition": "result > 0.95",
        "failureCondition": "result < 0.5",
        "provider": {"web": {"url": f"{source.url}/health", "jsonPath": "{$.ratio}"}},
    }
    s.given(_template("success-ratio", [metric]))
    step = {"analysis": {"templates": [{"templateName": "success-ratio"}]}}
    _healthy_canary(s, {"steps": [{"setWeight": 50}, step, {"setWeight": 75}]})
    # When a new version reaches the analysis step
    s.when_image("rollout", "web", "app", NEW)
    # Then the run is Inconclusive and the rollout pauses on it
    run_name = f"web-{_revision_hash(s, NEW)}-2-1"
    wait_until(lambda: _run_phase(s, run_name) == "Inconclusive", 60, f"{run_name} to be Inconclusive")
    rollout = s.then_phase("web", "Paused")
    assert [c["reason"] for c in rollout["status"]["pauseConditions"]] == ["InconclusiveAnalysisRun"]
    assert rollout["status"]["currentStepIndex"] == 1
    # When a person promotes it
    cluster_run = [*ramp_command(), "promote", "web", "-n", namespace, "--kubeconfig", str(cluster.kubeconfig)]
    import subprocess

    subprocess.run(cluster_run, check=True, capture_output=True, text=True)
    # Then it carries on to the end
    s.then_phase("web", "Healthy")
    s.then_ready_images("app=web", {NEW: 4})


def test_a_metrics_backend_that_stops_answering_aborts_and_a_dry_run_metric_never_does(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    prometheus: PrometheusServer,
    source: MetricsSource,
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a dry-run metric that always fails next to a real one, with at most 2 errors in a row
    failing = {
        "name": "always-failing",
        "successCondition": "result[0] > 10",
        "interval": "1s",
        "count": 2,
        "provider": {"prometheus": {"address": prometheus.url, "query": 'max(http_error_ratio{app="web"})'}},
    }
    real = _error_rate_metric(prometheus, count=120, consecutiveErrorLimit=2)
    template = json.loads(_template("error-rate", [real, failing], args=[{"name": "app"}]))
    s.given(json.dumps(template))
    step = {
        "analysis": {
            "templates": [{"templateName": "error-rate"}],
            "args": [{"name": "app", "value": "web"}],
            "dryRun": [{"metricName": "always-failing"}],
        }
    }
    _healthy_canary(s, {"steps": [{"setWeight": 50}, step]})
    # When a new version is analysed and Prometheus goes away mid-analysis
    s.when_image("rollout", "web", "app", NEW)
    run_name = f"web-{_revision_hash(s, NEW)}-2-1"

    def measured_twice() -> bool:
        runs = [r for r in _runs(s) if r["metadata"]["name"] == run_name]
        results = {m["name"]: m for m in (runs[0].get("status") or {}).get("metricResults") or []} if runs else {}
        return int(results.get("error-rate", {}).get("count") or 0) >= 2

    wait_until(measured_twice, 60, "two measurements of error-rate")
    prometheus.stop()
    # Then the measurements are errors, the run is Error after 2 in a row, and the release aborts
    wait_until(lambda: _run_phase(s, run_name) == "Error", 60, f"{run_name} to be Error")
    s.then_phase("web", "Degraded")
    s.then_ready_images("app=web", {OLD: 4})
    run = s.get("analysisrun", run_name)
    results = {m["name"]: m for m in run["status"]["metricResults"]}
    assert results["error-rate"]["phase"] == "Error"
    assert results["error-rate"]["measurements"][-1]["phase"] == "Error"
    # And the dry-run metric's failures were recorded without deciding anything
    assert results["always-failing"]["dryRun"] is True
    assert results["always-failing"]["phase"] == "Failed"
    assert run["status"]["dryRunSummary"]["failed"] == 1
    # (zero counts are left out, as upstream writes them)
    assert run["status"]["runSummary"].get("failed", 0) == 0
    assert run["status"]["runSummary"]["error"] == 1
