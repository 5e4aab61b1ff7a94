"""Prometheus' query API as Ramp reads it, and the `prometheus` provider's readings, against recorded responses.

Responses are those Prometheus documents for /api/v1/query and /api/v1/query_range, served by a local HTTP server
(tests.backends.LocalHttpServer); the real server is exercised in tests/e2e/test_provider_prometheus.py.
"""

from __future__ import annotations

import base64
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ramp.api.analysis import Metric
from ramp.providers.base import EVALUATE, MeasurementContext, Reading
from ramp.providers.prometheus import (
    PrometheusProvider,
    evaluate_time_expression,
    format_sample_value,
)
from ramp.providers.prometheus_api import (
    Matrix,
    PrometheusEndpoint,
    PrometheusError,
    Sample,
    Scalar,
    Series,
    StringResult,
    Vector,
    fetch_oauth2_token,
    query_instant,
    query_range,
    read_answer,
)
from tests.backends import LocalHttpServer, ReceivedRequest, Reply, serve

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
NOW_SECONDS = 1704110400

VECTOR = """{"status":"success","data":{"resultType":"vector","result":[
  {"metric":{"__name__":"up","job":"api"},"value":[1704110400,"0.99"]}]}}"""
TWO_SAMPLE_VECTOR = """{"status":"success","data":{"resultType":"vector","result":[
  {"metric":{"job":"a"},"value":[1704110400,"1"]},{"metric":{"job":"b"},"value":[1704110400,"NaN"]}]}}"""
EMPTY_VECTOR = '{"status":"success","data":{"resultType":"vector","result":[]}}'
SCALAR = '{"status":"success","data":{"resultType":"scalar","result":[1704110400.5,"1.5"]}}'
NAN_SCALAR = '{"status":"success","data":{"resultType":"scalar","result":[1704110400,"NaN"]}}'
INF_SCALAR = '{"status":"success","data":{"resultType":"scalar","result":[1704110400,"+Inf"]}}'
STRING = '{"status":"success","data":{"resultType":"string","result":[1704110400,"hello"]}}'
MATRIX = """{"status":"success","data":{"resultType":"matrix","result":[
  {"metric":{"job":"a"},"values":[[1704110340,"1"],[1704110400,"2"]]},
  {"metric":{"job":"b"},"values":[[1704110400,"0.5"]]}]}}"""
WARNED = """{"status":"success","warnings":["first warning","second"],
  "data":{"resultType":"vector","result":[{"metric":{},"value":[1704110400,"3"]}]}}"""
BAD_DATA = """{"status":"error","errorType":"bad_data",
  "error":"invalid parameter \\"query\\": 1:5: parse error: unclosed left parenthesis"}"""
UNAVAILABLE = '{"status":"error","errorType":"unavailable","error":"TSDB not ready"}'
HISTOGRAM = """{"status":"success","data":{"resultType":"vector","result":[
  {"metric":{},"histogram":[1704110400,{"count":"1","sum":"2","buckets":[]}]}]}}"""


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        pytest.param(200, VECTOR, Vector([Sample({"__name__": "up", "job": "api"}, NOW_SECONDS, 0.99)]), id="vector"),
        pytest.param(200, EMPTY_VECTOR, Vector([]), id="empty_vector"),
        pytest.param(200, SCALAR, Scalar(NOW_SECONDS + 0.5, 1.5), id="scalar"),
        pytest.param(200, STRING, StringResult(NOW_SECONDS, "hello"), id="string"),
        pytest.param(
            200,
            MATRIX,
            Matrix(
                [
                    Series({"job": "a"}, [(NOW_SECONDS - 60, 1.0), (NOW_SECONDS, 2.0)]),
                    Series({"job": "b"}, [(NOW_SECONDS, 0.5)]),
                ]
            ),
            id="matrix",
        ),
    ],
)
def test_successful_answers_are_read_into_typed_results(status: int, body: str, expected: object) -> None:
    assert read_answer(status, body.encode(), "http://prometheus:9090").result == expected


def test_special_sample_values_are_read_as_floats() -> None:
    result = read_answer(200, INF_SCALAR.encode(), "http://p").result
    assert isinstance(result, Scalar) and result.value == math.inf
    result = read_answer(200, NAN_SCALAR.encode(), "http://p").result
    assert isinstance(result, Scalar) and math.isnan(result.value)


def test_warnings_are_kept_with_the_result() -> None:
    assert read_answer(200, WARNED.encode(), "http://p").warnings == ("first warning", "second")


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        pytest.param(400, BAD_DATA, 'bad_data: invalid parameter "query": 1:5: parse error', id="bad_promql"),
        pytest.param(503, UNAVAILABLE, "unavailable: TSDB not ready", id="unavailable"),
        pytest.param(500, "boom\nstack", "answered HTTP 500 Internal Server Error: boom", id="server_error_text"),
        pytest.param(401, "", "answered HTTP 401 Unauthorized", id="unauthorized"),
        pytest.param(200, "<html>", "not JSON", id="not_json"),
        pytest.param(400, VECTOR, "with a successful body", id="success_body_with_error_status"),
        pytest.param(200, HISTOGRAM, "native histogram", id="native_histogram"),
        pytest.param(
            200, '{"status":"success","data":{"resultType":"vector","result":[{}]}}', "lacks 'value'", id="no_value"
        ),
    ],
)
def test_failed_answers_raise_a_prometheus_error(status: int, body: str, message: str) -> None:
    with pytest.raises(PrometheusError, match=message.replace("(", r"\(")):
        read_answer(status, body.encode(), "http://prometheus:9090")


# --- the client against a local server -------------------------------------------------------------------


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def answering(body: str, status: int = 200, delay: float = 0.0) -> LocalHttpServer:
    reply = Reply(status, body, {"Content-Type": "application/json"}, delay)
    return LocalHttpServer(lambda _: reply).start()


async def test_instant_query_posts_the_query_and_its_time(http: httpx.AsyncClient) -> None:
    server = answering(VECTOR)
    try:
        endpoint = PrometheusEndpoint(server.url + "/", headers={"X-Scope-OrgID": "team-a"})
        result = await query_instant(http, endpoint, "up", NOW)
    finally:
        server.stop()
    assert result == Vector([Sample({"__name__": "up", "job": "api"}, NOW_SECONDS, 0.99)])
    request = server.requests[0]
    assert (request.method, request.path) == ("POST", "/api/v1/query")
    assert request.form == {"query": "up", "time": str(NOW_SECONDS)}
    assert request.headers["x-scope-orgid"] == "team-a"


async def test_range_query_posts_start_end_and_step_and_returns_series(http: httpx.AsyncClient) -> None:
    server = answering(MATRIX)
    try:
        series = await query_range(
            http, PrometheusEndpoint(server.url), "rate(x[1m])", NOW - timedelta(minutes=5), NOW, 30
        )
    finally:
        server.stop()
    assert [item.labels for item in series] == [{"job": "a"}, {"job": "b"}]
    assert series[0].samples == [(NOW_SECONDS - 60, 1.0), (NOW_SECONDS, 2.0)]
    request = server.requests[0]
    assert request.path == "/api/v1/query_range"
    assert request.form == {
        "query": "rate(x[1m])",
        "start": str(NOW_SECONDS - 300),
        "end": str(NOW_SECONDS),
        "step": "30",
    }


async def test_a_range_query_answered_with_a_vector_is_an_error(http: httpx.AsyncClient) -> None:
    with (
        serve(lambda _: Reply.json(VECTOR)) as server,
        pytest.raises(PrometheusError, match="answered a range query with a vector"),
    ):
        await query_range(http, PrometheusEndpoint(server.url), "up", NOW, NOW, 60)


async def test_a_server_refusing_posts_is_asked_with_get(http: httpx.AsyncClient) -> None:
    def respond(request: ReceivedRequest) -> Reply:
        return Reply(405) if request.method == "POST" else Reply.json(SCALAR)

    with serve(respond) as server:
        result = await query_instant(http, PrometheusEndpoint(server.url), "1.5")
    assert result == Scalar(NOW_SECONDS + 0.5, 1.5)
    assert [request.method for request in server.requests] == ["POST", "GET"]
    assert server.requests[1].query == {"query": "1.5"}


async def test_a_slow_server_is_a_timeout_error(http: httpx.AsyncClient) -> None:
    server = answering(VECTOR, delay=1.0)
    try:
        with pytest.raises(PrometheusError, match=r"did not answer within 0.2s"):
            await query_instant(http, PrometheusEndpoint(server.url, timeout_seconds=0.2), "up")
    finally:
        server.stop()


async def test_a_stopped_server_is_a_connection_refused_error(http: httpx.AsyncClient) -> None:
    server = answering(VECTOR)
    server.stop()
    with pytest.raises(PrometheusError, match=f"cannot reach Prometheus at {server.url}: connection refused"):
        await query_instant(http, PrometheusEndpoint(server.url), "up")


async def test_oauth2_token_is_asked_with_basic_credentials_first(http: httpx.AsyncClient) -> None:
    with serve(lambda _: Reply.json('{"access_token":"t0k","token_type":"bearer"}')) as server:
        token = await fetch_oauth2_token(http, server.url + "/token", "client", "s3cret", ["read", "write"])
    assert token == "t0k"
    request = server.requests[0]
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"client:s3cret").decode()
    assert request.form == {"grant_type": "client_credentials", "scope": "read write"}


async def test_oauth2_credentials_go_in_the_form_when_the_header_is_refused(http: httpx.AsyncClient) -> None:
    def respond(request: ReceivedRequest) -> Reply:
        if "authorization" in request.headers:
            return Reply.json('{"error":"invalid_client"}', 401)
        return Reply.json('{"access_token":"form-token"}')

    with serve(respond) as server:
        token = await fetch_oauth2_token(http, server.url + "/token", "client", "s3cret")
    assert token == "form-token"
    assert server.requests[1].form == {
        "grant_type": "client_credentials",
        "client_id": "client",
        "client_secret": "s3cret",
    }


# --- the provider ------------------------------------------------------------------------------------------


def context_for(http: httpx.AsyncClient, prometheus: dict[str, Any]) -> MeasurementContext:
    metric = Metric.model_validate({"name": "success-rate", "provider": {"prometheus": prometheus}})
    return MeasurementContext(metric=metric, namespace="default", run_name="run", run_uid="uid", now=NOW, http=http)


async def measure(http: httpx.AsyncClient, body: str, **settings: Any) -> tuple[Reading, LocalHttpServer]:
    with serve(lambda _: Reply.json(body)) as server:
        prometheus = {"address": server.url, "query": "up", **settings}
        reading = await PrometheusProvider().measure(context_for(http, prometheus))
    return reading, server


@pytest.mark.parametrize(
    ("body", "result", "value"),
    [
        pytest.param(VECTOR, [0.99], "[0.99]", id="vector_is_a_list_of_values"),
        pytest.param(TWO_SAMPLE_VECTOR, [1.0, math.nan], "[1,NaN]", id="vector_keeps_nan"),
        pytest.param(EMPTY_VECTOR, [], "[]", id="empty_vector_is_an_empty_list"),
        pytest.param(SCALAR, 1.5, "1.5", id="scalar_is_a_number"),
        pytest.param(NAN_SCALAR, math.nan, "NaN", id="scalar_nan"),
        pytest.param(INF_SCALAR, math.inf, "+Inf", id="scalar_inf"),
        pytest.param(MATRIX, [1.0, 2.0, 0.5], "[1,2,0.5]", id="matrix_values_of_all_series_in_order"),
    ],
)
async def test_results_are_read_as_upstream_reports_them(
    http: httpx.AsyncClient, body: str, result: Any, value: str
) -> None:
    reading, _ = await measure(http, body)
    assert (reading.phase, reading.value) == (EVALUATE, value)
    assert repr(reading.result) == repr(result)  # repr: NaN equals itself only there


async def test_warnings_are_recorded_in_the_measurement_metadata(http: httpx.AsyncClient) -> None:
    reading, _ = await measure(http, WARNED)
    assert reading.metadata == {"warnings": '"first warning", "second"'}


@pytest.mark.parametrize(
    ("body", "settings", "message"),
    [
        pytest.param(BAD_DATA, {}, "bad_data: invalid parameter", id="prometheus_error"),
        pytest.param(STRING, {}, "string result", id="string_result"),
        pytest.param(VECTOR, {"query": " "}, "provider.prometheus.query is empty", id="empty_query"),
        pytest.param(VECTOR, {"address": "prometheus:9090"}, "provider.prometheus.address 'prometheus:9090'", id="url"),
        pytest.param(VECTOR, {"timeout": -1}, "provider.prometheus.timeout must be a positive", id="timeout"),
        pytest.param(
            VECTOR,
            {"authentication": {"basicAuth": {"username": "u"}}},
            "basicAuth.password is missing",
            id="basic_auth_without_password",
        ),
        pytest.param(
            VECTOR,
            {"authentication": {"oauth2": {"tokenUrl": "http://x/token"}}},
            "oauth2 needs clientId and clientSecret",
            id="oauth2_without_client",
        ),
        pytest.param(
            VECTOR,
            {"rangeQuery": {"start": 'now() - duration("5m")', "end": "now()", "step": "soon"}},
            "provider.prometheus.rangeQuery.step 'soon' is not a duration",
            id="range_step",
        ),
        pytest.param(
            VECTOR,
            {"rangeQuery": {"start": 'duration("5m")', "end": "now()", "step": "1m"}},
            "rangeQuery.start 'duration(\"5m\")' as a time: it is a duration",
            id="range_start_duration",
        ),
        pytest.param(
            VECTOR,
            {"rangeQuery": {"start": "now()", "end": 'now() - duration("1h")', "step": "1m"}},
            "rangeQuery.end is before rangeQuery.start",
            id="range_backwards",
        ),
    ],
)
async def test_problems_are_error_readings_naming_the_cause(
    http: httpx.AsyncClient, body: str, settings: dict[str, Any], message: str
) -> None:
    reading, _ = await measure(http, body, **settings)
    assert reading.phase == "Error"
    assert message in (reading.message or "")


async def test_a_missing_address_names_the_field(http: httpx.AsyncClient) -> None:
    reading = await PrometheusProvider().measure(context_for(http, {"query": "up"}))
    assert reading.phase == "Error"
    assert "provider.prometheus.address is not set" in (reading.message or "")


async def test_a_missing_address_falls_back_to_the_environment_address(http: httpx.AsyncClient) -> None:
    with serve(lambda _: Reply.json(VECTOR)) as server:
        provider = PrometheusProvider.from_environment({"ARGO_ROLLOUTS_PROMETHEUS_ADDRESS": server.url})
        reading = await provider.measure(context_for(http, {"query": "up"}))
    assert reading.value == "[0.99]"


async def test_range_query_window_is_computed_from_now(http: httpx.AsyncClient) -> None:
    range_query = {"start": "now() - duration('10m')", "end": "now()", "step": "1m"}
    _, server = await measure(http, MATRIX, rangeQuery=range_query)
    request = server.requests[0]
    assert request.path == "/api/v1/query_range"
    assert (request.form["start"], request.form["end"], request.form["step"]) == (
        str(NOW_SECONDS - 600),
        str(NOW_SECONDS),
        "60",
    )


async def test_instant_query_is_evaluated_at_the_measurement_time(http: httpx.AsyncClient) -> None:
    _, server = await measure(http, VECTOR, query='sum(rate(http_requests_total{code!~"5.."}[5m]))')
    assert server.requests[0].form == {
        "query": 'sum(rate(http_requests_total{code!~"5.."}[5m]))',
        "time": str(NOW_SECONDS),
    }


@pytest.mark.parametrize(
    ("authentication", "headers", "authorization"),
    [
        pytest.param({"basicAuth": {"username": "u", "password": "p"}}, [], "Basic dTpw", id="basic_auth"),
        pytest.param(
            {"basicAuth": {"username": "u", "password": "p"}},
            [{"key": "authorization", "value": "Bearer custom"}],
            "Bearer custom",
            id="a_custom_authorization_header_wins",
        ),
        pytest.param(None, [{"key": "Authorization", "value": "Bearer abc"}], "Bearer abc", id="bearer_header"),
    ],
)
async def test_authentication_and_headers_are_sent(
    http: httpx.AsyncClient, authentication: dict[str, Any] | None, headers: list[dict[str, str]], authorization: str
) -> None:
    settings: dict[str, Any] = {"headers": headers}
    if authentication:
        settings["authentication"] = authentication
    reading, server = await measure(http, VECTOR, **settings)
    assert reading.phase == EVALUATE
    assert server.requests[0].headers["authorization"] == authorization


async def test_oauth2_token_is_sent_as_a_bearer_token(http: httpx.AsyncClient) -> None:
    def respond(request: ReceivedRequest) -> Reply:
        if request.path == "/token":
            return Reply.json('{"access_token":"granted","token_type":"bearer"}')
        return Reply.json(VECTOR)

    with serve(respond) as server:
        oauth2 = {"tokenUrl": server.url + "/token", "clientId": "id", "clientSecret": "secret", "scopes": ["read"]}
        prometheus = {"address": server.url, "query": "up", "authentication": {"oauth2": oauth2}}
        reading = await PrometheusProvider().measure(context_for(http, prometheus))
    assert reading.value == "[0.99]"
    assert server.requests[-1].headers["authorization"] == "Bearer granted"


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param("now()", NOW, id="now"),
        pytest.param('now() - duration("5m")', NOW - timedelta(minutes=5), id="minus_duration"),
        pytest.param("now()-duration('1h30m')", NOW - timedelta(minutes=90), id="single_quotes_no_spaces"),
        pytest.param('duration("1m") + now()', NOW + timedelta(minutes=1), id="duration_first"),
        pytest.param(
            'now() - (duration("1h") - duration("10m"))', NOW - timedelta(minutes=50), id="parenthesised_durations"
        ),
        pytest.param('now() + -duration("30s")', NOW - timedelta(seconds=30), id="negated_duration"),
        pytest.param('date("2024-01-01T10:00:00Z")', datetime(2024, 1, 1, 10, tzinfo=UTC), id="date"),
        pytest.param('date("2024-01-01T10:00:00")', datetime(2024, 1, 1, 10, tzinfo=UTC), id="date_naive_is_utc"),
    ],
)
def test_range_query_time_expressions(expression: str, expected: datetime) -> None:
    assert evaluate_time_expression(expression, NOW) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param('duration("5m")', "it is a duration", id="duration_alone"),
        pytest.param("now() + now()", "cannot add", id="two_times"),
        pytest.param("later()", "later() with 0 argument", id="unknown_function"),
        pytest.param("now() * 2", "unexpected '*'", id="unknown_operator"),
        pytest.param("now(", "ends too early", id="unclosed"),
        pytest.param('duration("five")', "must be a duration", id="bad_duration"),
    ],
)
def test_bad_time_expressions_say_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        evaluate_time_expression(expression, NOW)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.99, "0.99"),
        (1.0, "1"),
        (0.0, "0"),
        (-2.5, "-2.5"),
        (1e21, "1000000000000000000000"),
        (1.5e-7, "0.00000015"),
        (math.nan, "NaN"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
    ],
)
def test_sample_values_are_written_as_go_formats_them(value: float, text: str) -> None:
    assert format_sample_value(value) == text
