"""An AnalysisRun on the local cluster measured by the kayenta provider against a local Kayenta stand-in.

Behaviour matched (upstream docs analysis/kayenta.md): the judgement is started, the measurement stays Running with
its `canaryExecutionId` until Kayenta says it is complete (looked at again after 15 seconds), and the score decides
the phase with the thresholds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.backends.kayenta import KayentaStandIn
from tests.e2e.harness import Cluster, ControllerProcess, wait_until
from tests.e2e.scenario import Scenario


@pytest.fixture
def kayenta() -> Iterator[KayentaStandIn]:
    stand_in = KayentaStandIn().start()
    yield stand_in
    stand_in.stop()


def analysis_run(address: str) -> str:
    return f"""
apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata:
  name: checkout-judgement
spec:
  metrics:
  - name: mann-whitney
    provider:
      kayenta:
        address: {address}
        application: shop
        canaryConfigName: checkout-canary
        metricsAccountName: prometheus-account
        configurationAccountName: config-account
        storageAccountName: storage-account
        threshold:
          pass: 90
          marginal: 75
        scopes:
        - name: default
          controlScope:
            scope: app=checkout-stable
            region: us-east-1
            step: 60
            start: "2024-01-01T11:00:00Z"
            end: "2024-01-01T12:00:00Z"
          experimentScope:
            scope: app=checkout-canary
            region: us-east-1
            step: 60
            start: "2024-01-01T11:00:00Z"
            end: "2024-01-01T12:00:00Z"
"""


def run_in_phase(s: Scenario, phase: str) -> Callable[[], dict[str, Any] | None]:
    def reached() -> dict[str, Any] | None:
        run = s.get("analysisrun", "checkout-judgement")
        return run if (run.get("status") or {}).get("phase") == phase else None

    return reached


def test_a_kayenta_judgement_is_polled_until_complete_and_its_score_passes_the_run(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], kayenta: KayentaStandIn
) -> None:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    s = Scenario(cluster, namespace)
    # Given an AnalysisRun whose metric is a Kayenta judgement, Kayenta still working on it
    s.given(analysis_run(kayenta.server.url))
    # Then the measurement is Running with the judgement's id
    running = wait_until(run_in_phase(s, "Running"), 60, "the run to be Running")

    def measured() -> dict[str, Any] | None:
        run = s.get("analysisrun", "checkout-judgement")
        results = (run.get("status") or {}).get("metricResults") or []
        return results[0]["measurements"][0] if results and results[0].get("measurements") else None

    measurement = wait_until(measured, 60, "a measurement")
    assert (measurement["phase"], measurement["metadata"]) == ("Running", {"canaryExecutionId": "exec-7"})
    assert running["status"]["phase"] == "Running"
    # When Kayenta completes the judgement with a score of 95
    kayenta.score = 95.0
    # Then the run is Successful with the score as the value
    run = wait_until(run_in_phase(s, "Successful"), 90, "the run to be Successful")
    measurements = run["status"]["metricResults"][0]["measurements"]
    assert [(m["phase"], m["value"]) for m in measurements] == [("Successful", "95")]
    posts = [request for request in kayenta.server.requests if request.method == "POST"]
    assert [request.path for request in posts] == ["/canary/cfg-1"]
