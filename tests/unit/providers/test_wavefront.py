"""The wavefront provider against a local stand-in for Wavefront's chart API (recorded responses)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import httpx
import pytest

from ramp.analysis.expression import evaluate_condition
from ramp.api.analysis import Metric
from ramp.providers.base import EVALUATE, MeasurementContext, Reading
from ramp.providers.wavefront import WavefrontProvider, build_url, find_closest_point
from tests.unit.providers.local_server import only_request, recorded_reply, serve_recorded

NOW = datetime(2023, 11, 14, 22, 13, 20, 400000, tzinfo=UTC)  # 1700000000.4
QUERY = 'sum(rate(5m, ts("istio.requestcount.count")))'


async def measure(address: str, tokens: Mapping[str, str] | None) -> Reading:
    async def read_secret(namespace: str, name: str) -> Mapping[str, str]:
        if tokens is None or (namespace, name) != ("argo-rollouts", "wavefront-api-tokens"):
            raise LookupError(f'secrets "{name}" not found')
        return tokens

    metric = Metric.model_validate({"name": "rate", "provider": {"wavefront": {"address": address, "query": QUERY}}})
    async with httpx.AsyncClient() as http:
        context = MeasurementContext(
            metric=metric, namespace="shop", run_name="run", run_uid="uid", now=NOW, http=http, read_secret=read_secret
        )
        return await WavefrontProvider().measure(context)


async def test_one_series_gives_the_point_closest_to_now():
    with serve_recorded({"/api/v2/chart/api": recorded_reply("wavefront/chart.json")}) as server:
        reading = await measure(server.url, {server.url: "wf-token", "other.wavefront.com": "nope"})
    assert (reading.phase, reading.result, reading.value) == (EVALUATE, 0.97, "0.97")
    assert reading.metadata == {
        "warnings": "Query results may be incomplete",
        "timestamps": "1699999990",
        "drift": "-10",
    }
    assert evaluate_condition("result >= 0.95", reading.result) is True
    request = only_request(server)
    assert request.headers["authorization"] == "Bearer wf-token"
    assert request.query == {
        "q": QUERY,
        "s": "1700000000000",
        "e": "1700000000000",
        "g": "s",
        "p": "1",
        "i": "true",
        "autoEvents": "false",
        "listmode": "false",
        "strict": "false",
        "includeObsoleteMetrics": "false",
    }


async def test_several_series_give_a_list_that_can_fail():
    with serve_recorded({"/api/v2/chart/api": recorded_reply("wavefront/chart_many.json")}) as server:
        reading = await measure(server.url, {server.url: "wf-token"})
    assert (reading.result, reading.value) == ([0.5, 0.125], "[0.50,0.12]")
    assert reading.metadata == {"timestamps": "[1700000003,1699999990]", "drift": "[3,-10]"}
    assert evaluate_condition("all(result, {# >= 0.95})", reading.result) is False


@pytest.mark.parametrize(
    ("recording", "status", "message"),
    [
        ("chart_empty.json", 200, "No TimeSeries found in response from Wavefront"),
        ("chart.json", 401, "Wavefront answered HTTP 401"),
        ("../graphite/render_malformed.json", 200, "Wavefront's answer is not a JSON object"),
        ("chart_malformed.json", 200, "a data point that is not [timestamp, value]"),
    ],
    ids=["no series", "unauthorized", "not an object", "malformed data point"],
)
async def test_bad_answers_are_errors(recording, status, message):
    with serve_recorded({"/api/v2/chart/api": recorded_reply(f"wavefront/{recording}", status)}) as server:
        reading = await measure(server.url, {server.url: "wf-token"})
    assert reading.phase == "Error"
    assert message in (reading.message or "")


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        (None, 'cannot read Secret argo-rollouts/wavefront-api-tokens: secrets "wavefront-api-tokens" not found'),
        ({"other.wavefront.com": "t"}, "API token not found: Secret argo-rollouts/wavefront-api-tokens has no key"),
    ],
    ids=["no secret", "no token for the address"],
)
async def test_missing_tokens_are_errors(tokens, message):
    reading = await measure("example.wavefront.com", tokens)
    assert reading.phase == "Error"
    assert message in (reading.message or "")


def test_a_bare_address_is_called_over_https():
    assert build_url("example.wavefront.com") == "https://example.wavefront.com/api/v2/chart/api"


def test_a_series_without_points_reads_zero_as_upstream():
    point = find_closest_point([], 1700000000.0)
    assert (point.value, point.timestamp) == (0.0, 0)
