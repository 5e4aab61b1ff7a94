"""An AnalysisRun on the local cluster whose Prometheus metric is signed with AWS SigV4 (Amazon Managed Prometheus).

The controller gets its AWS credentials as on EKS with IAM roles for service accounts: a web identity token file and
AWS_ROLE_ARN, exchanged through STS AssumeRoleWithWebIdentity; the metric's `sigv4.roleArn` is then assumed through
STS AssumeRole. STS and the Prometheus query endpoint are a local stand-in (tests.backends.aws) on a free port,
which answers a query only when botocore, recomputing the signature from the known test credentials, agrees.

Behaviour matched (upstream docs analysis/prometheus.md, "Additional Metadata"/"Authorization" for AMP):
`authentication.sigv4: {region, roleArn}` signs every query with the role's credentials.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.backends import ReceivedRequest, Reply
from tests.backends.aws import (
    REGION,
    ROLE_KEYS,
    WEB_IDENTITY_ROLE,
    AwsStandIn,
    isolate_aws_environment,
    use_web_identity,
)
from tests.e2e.harness import Cluster, ControllerProcess, wait_until
from tests.e2e.scenario import Scenario

READER_ROLE = "arn:aws:iam::123456789012:role/amp-query"
VECTOR = '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1704067200,"0.99"]}]}}'


def answer_query(request: ReceivedRequest) -> Reply:
    if request.path == "/workspaces/ws-e2e/api/v1/query" and request.form.get("query"):
        return Reply.json(VECTOR)
    return Reply.json('{"status":"error","errorType":"not_found","error":"unknown path"}', 404)


@pytest.fixture
def amp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[AwsStandIn]:
    """The stand-in, and the controller's environment pointing its STS calls at it (set before it starts)."""
    isolate_aws_environment(monkeypatch, tmp_path)
    stand_in = AwsStandIn("aps", answer_query).start()
    use_web_identity(monkeypatch, tmp_path, stand_in.url)
    yield stand_in
    stand_in.stop()


def analysis_run(address: str) -> str:
    return f"""
apiVersion: argoproj.io/v1alpha1
kind: AnalysisRun
metadata:
  name: amp-success-rate
spec:
  metrics:
  - name: success-rate
    interval: 1s
    count: 2
    successCondition: result[0] >= 0.95
    provider:
      prometheus:
        address: {address}
        query: sum(rate(http_requests_total{{code!~"5.."}}[5m])) / sum(rate(http_requests_total[5m]))
        authentication:
          sigv4:
            region: {REGION}
            roleArn: {READER_ROLE}
"""


def test_a_sigv4_prometheus_metric_signed_with_an_assumed_role_makes_the_run_successful(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], amp: AwsStandIn
) -> None:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    s = Scenario(cluster, namespace)
    # Given an AnalysisRun whose Prometheus metric is signed with AWS SigV4 and a role to assume
    s.given(analysis_run(amp.url + "/workspaces/ws-e2e"))

    # Then the run is Successful: both queries were answered, so both were signed correctly
    def successful() -> dict[str, Any] | None:
        run = s.get("analysisrun", "amp-success-rate")
        return run if (run.get("status") or {}).get("phase") == "Successful" else None

    run = wait_until(successful, 60, "AnalysisRun amp-success-rate to be Successful")
    measurements = run["status"]["metricResults"][0]["measurements"]
    assert [(m["phase"], m["value"]) for m in measurements] == [("Successful", "[0.99]")] * 2
    # And the controller's web identity was exchanged, then the metric's role assumed with it, through STS
    actions = [(call["Action"], call["RoleArn"]) for call in amp.sts_calls]
    assert actions[:2] == [("AssumeRoleWithWebIdentity", WEB_IDENTITY_ROLE), ("AssumeRole", READER_ROLE)]
    # And every query was signed with the assumed role's credentials
    assert amp.signed_with == [ROLE_KEYS.access_key] * 2
