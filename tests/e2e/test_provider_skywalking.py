"""An AnalysisRun on the local cluster measured by the skywalking provider against a local GraphQL server.

Behaviour matched (upstream docs analysis/skywalking.md): the GraphQL answer's data is `result` for the conditions.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.backends import LocalHttpServer, ReceivedRequest, Reply, serve
from tests.e2e.harness import Cluster, ControllerProcess, wait_until
from tests.e2e.scenario import Scenario

DATA = {"service_apdex": {"label": None, "values": {"values": [{"value": 9950}, {"value": 9910}]}}}


def answer_graphql(request: ReceivedRequest) -> Reply:
    payload = json.loads(request.body or b"{}")
    if request.path == "/graphql" and "duration" in (payload.get("variables") or {}):
        return Reply.json(json.dumps({"data": DATA}))
    return Reply.json('{"errors": [{"message": "unexpected request"}]}', 400)


@pytest.fixture
def oap() -> Iterator[LocalHttpServer]:
    with serve(answer_graphql) as server:
        yield server


def analysis_run(address: str) -> str:
    query = (
        "query queryData($duration: Duration!) { service_apdex: readMetricsValues(condition: "
        '{ name: \\"service_apdex\\", entity: { scope: Service, serviceName: \\"checkout\\", normal: true } }, '
        "duration: $duration) "
        "{ label values { values { value } } } }"
    )
    return f"""
apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata:
  name: checkout-apdex
spec:
  metrics:
  - name: apdex
    interval: 1s
    count: 2
    successCondition: "all(result.service_apdex.values.values, {{asFloat(.value) >= 9900}})"
    provider:
      skywalking:
        address: {address}
        interval: 3m
        query: "{query}"
"""


def test_a_skywalking_metric_whose_apdex_holds_makes_the_run_successful(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], oap: LocalHttpServer
) -> None:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    s = Scenario(cluster, namespace)
    # Given an AnalysisRun whose metric is a SkyWalking GraphQL query, measured twice
    s.given(analysis_run(oap.url))

    # Then it is Successful, each measurement's value the JSON of the answer's data
    def successful() -> dict[str, Any] | None:
        run = s.get("analysisrun", "checkout-apdex")
        return run if (run.get("status") or {}).get("phase") == "Successful" else None

    run = wait_until(successful, 60, "AnalysisRun checkout-apdex to be Successful")
    measurements = run["status"]["metricResults"][0]["measurements"]
    value = json.dumps(DATA, sort_keys=True, separators=(",", ":"))
    assert [(m["phase"], m["value"]) for m in measurements] == [("Successful", value)] * 2
    assert len(oap.requests) == 2
