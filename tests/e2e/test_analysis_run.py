"""AnalysisRuns on the local cluster, measured by the web provider against a real HTTP server in the test.

Behaviour matched (upstream docs features/analysis.md): a metric with `interval` and `count` is measured that many
times and the run is Successful with a runSummary; one failed measurement beyond failureLimit fails the run; a
metric with an interval and no count is measured until `spec.terminate` is set, then the run is Successful with
"Run Terminated"; a condition that cannot be evaluated makes Error measurements (Ramp's message names the column)
and past consecutiveErrorLimit the run is Error. Events carry upstream's reasons (MetricSuccessful,
AnalysisRunSuccessful, AnalysisRunFailed, ...).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.e2e.harness import Cluster, ControllerProcess, wait_until
from tests.e2e.scenario import Scenario


class MetricsEndpoint:
    """A JSON endpoint answering each path with the document set for it, counting the requests."""

    def __init__(self) -> None:
        self.documents: dict[str, Any] = {}
        self.requests: dict[str, int] = {}
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                endpoint.requests[self.path] = endpoint.requests.get(self.path, 0) + 1
                document = endpoint.documents.get(self.path)
                body = json.dumps(document).encode()
                self.send_response(200 if document is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(name="endpoint")
def endpoint_fixture() -> Iterator[MetricsEndpoint]:
    """The `endpoint` fixture: /healthy reports a ratio of 0.99, /unhealthy 0.50 (test_experiment uses it too)."""
    serving = MetricsEndpoint()
    serving.documents["/healthy"] = {"ratio": 0.99}
    serving.documents["/unhealthy"] = {"ratio": 0.50}
    yield serving
    serving.stop()


def start_namespaced(start_controller: Callable[..., ControllerProcess], namespace: str) -> ControllerProcess:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    return controller


def _run(name: str, url: str, **metric: Any) -> str:
    spec = {
        "name": "ratio",
        "provider": {"web": {"url": url, "jsonPath": "{$.ratio}"}},
        **metric,
    }
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {"name": name},
        "spec": {"metrics": [spec]},
    }
    return json.dumps(manifest)


def then_phase(s: Scenario, kind: str, name: str, phase: str, timeout: float) -> dict[str, Any]:
    """Wait until the object's status.phase is `phase` (an AnalysisRun here, an Experiment in test_experiment)."""

    def reached() -> dict[str, Any] | None:
        found = s.get(kind, name)
        return found if (found.get("status") or {}).get("phase") == phase else None

    return wait_until(reached, timeout, f"{kind} {name} to be {phase}")


def _then_run(s: Scenario, name: str, phase: str, timeout: float = 60) -> dict[str, Any]:
    return then_phase(s, "analysisrun", name, phase, timeout)


def _measurements(run: dict[str, Any]) -> list[dict[str, Any]]:
    results = (run.get("status") or {}).get("metricResults") or [{}]
    return list(results[0].get("measurements") or [])


def test_a_web_metric_measured_count_times_makes_the_run_successful(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], endpoint: MetricsEndpoint
) -> None:
    start_namespaced(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given an AnalysisRun whose web metric is measured every second, three times
    s.given(_run("healthy", endpoint.url("/healthy"), interval="1s", count=3, successCondition="result >= 0.95"))
    # Then it is Successful with three Successful measurements and a runSummary
    run = _then_run(s, "healthy", "Successful")
    status = run["status"]
    measurements = _measurements(run)
    assert [m["phase"] for m in measurements] == ["Successful"] * 3
    assert measurements[0]["value"] == "0.99"
    result = status["metricResults"][0]
    assert (result["phase"], result["count"], result["successful"]) == ("Successful", 3, 3)
    assert status["runSummary"] == {"count": 1, "successful": 1}
    assert status["startedAt"] and status["completedAt"]
    assert endpoint.requests["/healthy"] == 3
    s.then_event("healthy", "AnalysisRunSuccessful")
    assert "MetricSuccessful" in s.event_reasons("healthy")


def test_a_failed_measurement_beyond_the_failure_limit_fails_the_run(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], endpoint: MetricsEndpoint
) -> None:
    start_namespaced(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a run whose endpoint reports an unhealthy ratio, with no failure tolerated
    s.given(
        _run(
            "unhealthy",
            endpoint.url("/unhealthy"),
            interval="1s",
            count=3,
            failureLimit=0,
            successCondition="result >= 0.95",
        )
    )
    # Then the first Failed measurement fails the run, with upstream's message
    run = _then_run(s, "unhealthy", "Failed")
    status = run["status"]
    assert [m["phase"] for m in _measurements(run)] == ["Failed"]
    assert status["message"] == 'Metric "ratio" assessed Failed due to failed (1) > failureLimit (0)'
    assert status["runSummary"] == {"count": 1, "failed": 1}
    s.then_event("unhealthy", "AnalysisRunFailed")
    assert "MetricFailed" in s.event_reasons("unhealthy")


def test_a_metric_without_count_runs_until_terminated(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], endpoint: MetricsEndpoint
) -> None:
    start_namespaced(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a run measuring every second with no count
    s.given(_run("forever", endpoint.url("/healthy"), interval="1s", successCondition="result >= 0.95"))
    wait_until(lambda: len(_measurements(s.get("analysisrun", "forever"))) >= 3, 60, "three measurements")
    assert (s.get("analysisrun", "forever")["status"]["phase"]) == "Running"
    # When it is terminated
    s.when_patched("analysisrun", "forever", {"spec": {"terminate": True}})
    # Then it is Successful, "Run Terminated", and takes no more measurements
    run = _then_run(s, "forever", "Successful")
    assert run["status"]["message"] == "Run Terminated"
    taken = len(_measurements(run))
    assert all(m["phase"] == "Successful" for m in _measurements(run))
    time.sleep(2.5)
    assert len(_measurements(s.get("analysisrun", "forever"))) == taken


def test_a_malformed_condition_errors_naming_the_column_and_ends_the_run_in_error(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], endpoint: MetricsEndpoint
) -> None:
    start_namespaced(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a run whose successCondition is cut short, tolerating one error in a row
    s.given(
        _run(
            "malformed",
            endpoint.url("/healthy"),
            interval="1s",
            count=3,
            consecutiveErrorLimit=1,
            successCondition="result >= ",
        )
    )
    # Then its measurement is Error with a message naming the condition's column
    first = wait_until(lambda: _measurements(s.get("analysisrun", "malformed")), 60, "a measurement")
    assert first[0]["phase"] == "Error"
    assert "successCondition" in first[0]["message"] and "column 11" in first[0]["message"]
    # And after a second error (retried 10s later, as upstream) the run is Error
    run = _then_run(s, "malformed", "Error", timeout=60)
    assert [m["phase"] for m in _measurements(run)] == ["Error", "Error"]
    assert run["status"]["message"].startswith(
        'Metric "ratio" assessed Error due to consecutiveErrors (2) > consecutiveErrorLimit (1)'
    )
    assert run["status"]["runSummary"] == {"count": 1, "error": 1}
    s.then_event("malformed", "AnalysisRunError")


def _job_run(name: str, *, fail: bool) -> str:
    annotations = {"ramp.dev/simulate-duration": "2s"}
    if fail:
        annotations["ramp.dev/simulate"] = "fail"
    job = {
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": annotations},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "check", "image": "busybox:1.37"}]},
            },
        }
    }
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {"name": name},
        "spec": {"metrics": [{"name": "smoke", "provider": {"job": job}}]},
    }
    return json.dumps(manifest)


@pytest.mark.parametrize(("fail", "phase"), [(False, "Successful"), (True, "Failed")], ids=["passes", "fails"])
def test_a_job_metric_passes_or_fails_with_its_job(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], fail: bool, phase: str
) -> None:
    start_namespaced(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given an AnalysisRun whose metric is a Job (its pod succeeds, or fails: the local cluster's simulate annotation)
    s.given(_job_run("smoke", fail=fail))
    # Then the run follows the Job: Successful when it completes, Failed when it fails
    run = _then_run(s, "smoke", phase)
    [measurement] = _measurements(run)
    assert measurement["phase"] == phase
    job_name = measurement["metadata"]["job-name"]
    job = s.get("job", job_name)
    assert job["metadata"]["ownerReferences"][0]["name"] == "smoke"
    conditions = {c["type"]: c["status"] for c in job["status"].get("conditions") or []}
    assert conditions.get("Failed" if fail else "Complete") == "True"
