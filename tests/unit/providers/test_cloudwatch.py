"""The cloudWatch provider against a local stand-in for CloudWatch's Query API (recorded XML responses).

Credentials come from the standard AWS chain (botocore), given here through the process environment; the stand-in
recomputes each SigV4 signature with botocore from the known test credentials (tests.backends.aws).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ramp.analysis.expression import evaluate_condition
from ramp.api.analysis import Metric
from ramp.providers.base import EVALUATE, MeasurementContext, Reading
from ramp.providers.cloudwatch import CloudWatchProvider, read_endpoint
from tests.backends.aws import (
    WEB_KEYS,
    AwsStandIn,
    KeyPair,
    isolate_aws_environment,
    signing_key,
    use_keys,
    use_web_identity,
)
from tests.unit.providers.local_server import only_request, recorded_reply, serve_recorded

KEYS = KeyPair("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token")


@pytest.fixture(autouse=True)
def aws_keys(monkeypatch: pytest.MonkeyPatch, tmp_path) -> pytest.MonkeyPatch:
    """The controller's AWS keys (environment variables), nothing else of this machine's AWS setup."""
    isolate_aws_environment(monkeypatch, tmp_path)
    use_keys(monkeypatch, KEYS)
    return monkeypatch


NOW = datetime(2024, 1, 1, 0, 30, tzinfo=UTC)
QUERIES = [
    {"id": "rate", "expression": "errors / requests"},
    {
        "id": "errors",
        "metricStat": {
            "metric": {
                "namespace": "app",
                "metricName": "errors",
                "dimensions": [{"name": "Service", "value": "checkout"}],
            },
            "period": 300,
            "stat": "Sum",
            "unit": "Count",
        },
        "returnData": False,
    },
]
CONDITION = "len(result[0].Values) >= 2 and all(result[0].Values, {# <= 0.01})"


def environment(url: str) -> dict[str, str]:
    return {"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_CLOUDWATCH": url, "HOME": "/root"}


async def measure(cloud_watch: Mapping[str, Any], variables: Mapping[str, str]) -> Reading:
    metric = Metric.model_validate({"name": "rate", "provider": {"cloudWatch": dict(cloud_watch)}})
    async with httpx.AsyncClient() as http:
        context = MeasurementContext(metric=metric, namespace="shop", run_name="run", run_uid="uid", now=NOW, http=http)
        return await CloudWatchProvider.from_environment(variables).measure(context)


@pytest.mark.parametrize(
    ("recording", "values", "value", "passes"),
    [
        ("get_metric_data.xml", [0.004, 0.0021], "[[0.004 0.0021] []]", True),
        ("get_metric_data_failing.xml", [0.5, 1250000.0], "[[0.5 1.25e+06]]", False),
    ],
    ids=["low error rates pass", "high error rates fail"],
)
async def test_results_are_the_metric_data_results_with_aws_field_names(recording, values, value, passes):
    with serve_recorded({"/": recorded_reply(f"cloudwatch/{recording}")}) as server:
        reading = await measure({"interval": "30m", "metricDataQueries": QUERIES}, environment(server.url))
    assert (reading.phase, reading.value) == (EVALUATE, value)
    first = reading.result[0]
    assert (first["Id"], first["Label"], first["StatusCode"], first["Values"]) == ("rate", "rate", "Complete", values)
    assert first["Timestamps"][0] == datetime(2024, 1, 1, 0, 25, tzinfo=UTC)
    assert evaluate_condition(CONDITION, reading.result) is passes


async def test_the_request_is_a_signed_get_metric_data_call_over_the_interval():
    with serve_recorded({"/": recorded_reply("cloudwatch/get_metric_data.xml")}) as server:
        reading = await measure({"interval": "30m", "metricDataQueries": QUERIES}, environment(server.url))
    assert reading.metadata == {
        "messages": "[{Code:MaxQueryTimeRangeExceed Value:The query time range exceeds the limit}]"
    }
    request = only_request(server)
    assert (request.method, request.path) == ("POST", "/")
    assert request.form == {
        "Action": "GetMetricData",
        "Version": "2010-08-01",
        "StartTime": "2024-01-01T00:00:00Z",
        "EndTime": "2024-01-01T00:30:00Z",
        "MetricDataQueries.member.1.Id": "rate",
        "MetricDataQueries.member.1.Expression": "errors / requests",
        "MetricDataQueries.member.2.Id": "errors",
        "MetricDataQueries.member.2.MetricStat.Metric.Namespace": "app",
        "MetricDataQueries.member.2.MetricStat.Metric.MetricName": "errors",
        "MetricDataQueries.member.2.MetricStat.Metric.Dimensions.member.1.Name": "Service",
        "MetricDataQueries.member.2.MetricStat.Metric.Dimensions.member.1.Value": "checkout",
        "MetricDataQueries.member.2.MetricStat.Period": "300",
        "MetricDataQueries.member.2.MetricStat.Stat": "Sum",
        "MetricDataQueries.member.2.MetricStat.Unit": "Count",
        "MetricDataQueries.member.2.ReturnData": "false",
    }
    assert request.headers["x-amz-security-token"] == "session-token"
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert (
        "/us-east-1/monitoring/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token"
        in (request.headers["authorization"])
    )
    # The signature covers the request exactly as it arrived (host, body), recomputed by botocore.
    assert signing_key(request, server.url, "monitoring", {KEYS.access_key: KEYS}) == "AKIDEXAMPLE"


async def test_an_empty_answer_is_an_empty_list_for_the_conditions():
    with serve_recorded({"/": recorded_reply("cloudwatch/get_metric_data_empty.xml")}) as server:
        reading = await measure({"metricDataQueries": QUERIES}, environment(server.url))
    assert (reading.phase, reading.result, reading.value) == (EVALUATE, [], "[]")
    assert only_request(server).form["StartTime"] == "2024-01-01T00:25:00Z"  # the default interval is 5m


@pytest.mark.parametrize(
    ("recording", "status", "message"),
    [
        ("error_validation.xml", 400, "CloudWatch answered HTTP 400 ValidationError: The value for parameter"),
        ("malformed_value.xml", 200, "a value that is not a number: 'lots'"),
        ("../datadog/v2_scalar.json", 200, "not XML"),
    ],
    ids=["validation error", "malformed value", "not xml"],
)
async def test_bad_answers_are_errors(recording, status, message):
    with serve_recorded({"/": recorded_reply(f"cloudwatch/{recording}", status)}) as server:
        reading = await measure({"metricDataQueries": QUERIES}, environment(server.url))
    assert reading.phase == "Error"
    assert message in (reading.message or "")


@pytest.mark.parametrize(
    ("variables", "endpoint"),
    [
        ({"AWS_REGION": "eu-west-1"}, "https://monitoring.eu-west-1.amazonaws.com"),
        ({"AWS_DEFAULT_REGION": "cn-north-1"}, "https://monitoring.cn-north-1.amazonaws.com.cn"),
        ({"AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://shared:4566"}, "http://shared:4566"),
        (
            {
                "AWS_REGION": "eu-west-1",
                "AWS_ENDPOINT_URL": "http://shared:4566",
                "AWS_ENDPOINT_URL_CLOUDWATCH": "http://cloudwatch:4566",
            },
            "http://cloudwatch:4566",
        ),
    ],
    ids=["regional", "china", "shared endpoint", "service endpoint wins"],
)
def test_endpoint_follows_the_aws_variables(variables, endpoint):
    region = variables.get("AWS_REGION") or variables["AWS_DEFAULT_REGION"]
    assert read_endpoint(variables, region) == endpoint + "/"


@pytest.mark.parametrize(
    ("variables", "spec", "message"),
    [
        ({}, {}, "no AWS region"),
        ({"AWS_REGION": "us-east-1", "no keys": ""}, {}, "no AWS credentials"),
        (
            {"AWS_REGION": "us-east-1"},
            {"interval": "soon"},
            "provider.cloudWatch.interval 'soon' is not a duration",
        ),
    ],
    ids=["no region", "no keys", "bad interval"],
)
async def test_settings_that_cannot_be_sent_are_errors(variables, spec, message, aws_keys):
    if "no keys" in variables:
        aws_keys.delenv("AWS_ACCESS_KEY_ID")
        aws_keys.delenv("AWS_SECRET_ACCESS_KEY")
    reading = await measure({"metricDataQueries": QUERIES, **spec}, variables)
    assert reading.phase == "Error"
    assert message in (reading.message or "")


async def test_a_web_identity_signs_the_call_with_the_credentials_sts_hands_out(aws_keys, tmp_path):
    """IRSA on EKS: no keys in the environment, a web identity token exchanged through STS."""
    aws_keys.delenv("AWS_ACCESS_KEY_ID")
    aws_keys.delenv("AWS_SECRET_ACCESS_KEY")
    aws_keys.delenv("AWS_SESSION_TOKEN")
    stand_in = AwsStandIn("monitoring", lambda request: recorded_reply("cloudwatch/get_metric_data.xml")).start()
    try:
        use_web_identity(aws_keys, tmp_path, stand_in.url)
        reading = await measure({"metricDataQueries": QUERIES}, environment(stand_in.url))
    finally:
        stand_in.stop()
    assert (reading.phase, reading.value) == (EVALUATE, "[[0.004 0.0021] []]")
    assert [call["Action"] for call in stand_in.sts_calls] == ["AssumeRoleWithWebIdentity"]
    assert stand_in.signed_with == [WEB_KEYS.access_key]
