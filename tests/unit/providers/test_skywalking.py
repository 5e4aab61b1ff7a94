"""The skywalking provider against a local server speaking GraphQL as SkyWalking's OAP does."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ramp.analysis.expression import evaluate_condition
from ramp.api.analysis import Metric
from ramp.providers.base import EVALUATE, MeasurementContext, Reading, measure_safely
from ramp.providers.skywalking import SkyWalkingProvider, build_duration
from tests.backends import ReceivedRequest, Reply, serve

NOW = datetime(2024, 1, 1, 12, 0, 30, tzinfo=UTC)
QUERY = (
    'query queryData($duration: Duration!) { service_apdex: readMetricsValues(condition: { name: "service_apdex", '
    'entity: { scope: Service, serviceName: "checkout", normal: true } }, duration: $duration) '
    "{ label values { values { value } } } }"
)
DATA = {"service_apdex": {"label": None, "values": {"values": [{"value": 9950}, {"value": 9900}]}}}
CONDITION = "all(result.service_apdex.values.values, {asFloat(.value) >= 9900})"


def answer_graphql(request: ReceivedRequest) -> Reply:
    if request.method != "POST" or request.path != "/graphql":
        return Reply.json('{"errors": [{"message": "not found"}]}', 404)
    payload = json.loads(request.body)
    if "readMetricsValues" not in payload["query"]:
        return Reply.json('{"data": null, "errors": [{"message": "Validation error of type FieldUndefined"}]}')
    return Reply.json(json.dumps({"data": DATA}))


async def measure(skywalking: dict[str, Any]) -> Reading:
    metric = Metric.model_validate({"name": "apdex", "provider": {"skywalking": skywalking}})
    async with httpx.AsyncClient() as http:
        context = MeasurementContext(metric=metric, namespace="shop", run_name="r", run_uid="u", now=NOW, http=http)
        return await measure_safely(SkyWalkingProvider(), context)


async def test_the_answers_data_is_the_result_and_its_json_the_value() -> None:
    with serve(answer_graphql) as server:
        reading = await measure({"address": server.url, "query": QUERY, "interval": "5m"})
    assert (reading.phase, reading.message) == (EVALUATE, None)
    assert reading.result == DATA
    assert reading.value == ('{"service_apdex":{"label":null,"values":{"values":[{"value":9950},{"value":9900}]}}}')
    assert evaluate_condition(CONDITION, reading.result) is True
    request = server.requests[0]
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == {
        "query": QUERY,
        "variables": {"duration": {"start": "2024-01-01 1155", "end": "2024-01-01 1200", "step": "MINUTE"}},
    }


def test_the_duration_covers_the_interval_at_minute_precision_in_utc() -> None:
    assert build_duration(NOW, timedelta(hours=2)) == {
        "start": "2024-01-01 1000",
        "end": "2024-01-01 1200",
        "step": "MINUTE",
    }


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"query": QUERY, "interval": "5m"}, "provider.skywalking.address is not set"),
        ({"address": "http://oap:12800", "interval": "5m"}, "provider.skywalking.query is empty"),
        ({"address": "http://oap:12800", "query": QUERY}, "provider.skywalking.interval is not set"),
        (
            {"address": "http://oap:12800", "query": QUERY, "interval": "soon"},
            "provider.skywalking.interval 'soon' is not a duration",
        ),
    ],
    ids=["no_address", "no_query", "no_interval", "bad_interval"],
)
async def test_settings_that_cannot_be_queried_are_errors_naming_the_field(
    settings: dict[str, str], message: str
) -> None:
    reading = await measure(settings)
    assert reading.phase == "Error"
    assert (reading.message or "").startswith(message)


async def test_a_graphql_error_is_an_error_with_skywalkings_message() -> None:
    with serve(answer_graphql) as server:
        reading = await measure({"address": server.url, "query": "{ nope }", "interval": "5m"})
    assert (reading.phase, reading.message) == ("Error", "graphql: Validation error of type FieldUndefined")


async def test_an_answer_without_data_is_an_error() -> None:
    with serve(lambda request: Reply.json('{"data": null}')) as server:
        reading = await measure({"address": server.url, "query": QUERY, "interval": "5m"})
    assert (reading.phase, reading.message) == ("Error", "no results returned from SkyWalking query")


async def test_an_unreachable_server_is_an_error_without_the_password() -> None:
    with serve(lambda request: Reply()) as server:
        port = server.url.rsplit(":", 1)[1]
    reading = await measure({"address": f"http://ops:s3cret@127.0.0.1:{port}", "query": QUERY, "interval": "5m"})
    assert reading.phase == "Error"
    assert (
        reading.message == f"cannot reach SkyWalking at http://ops:*****@127.0.0.1:{port}/graphql: connection refused"
    )
