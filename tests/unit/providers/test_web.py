"""The `web` provider against a real local HTTP server: requests it sends, results and status text it reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ramp.api.analysis import Metric
from ramp.providers.base import EVALUATE, MeasurementContext, Reading
from ramp.providers.web import WebMetricError, WebProvider, compile_json_path, format_json
from tests.backends import LocalHttpServer, ReceivedRequest, Reply, serve

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
PAYLOAD = """{"data": {"ok": true, "successPercent": 0.95, "count": 3, "name": "api <v2>",
  "items": [{"latency": 120}, {"latency": 80.5}], "empty": [], "nothing": null, "dashed-key": "yes"}}"""


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def context_for(http: httpx.AsyncClient, web: dict[str, Any]) -> MeasurementContext:
    metric = Metric.model_validate({"name": "webmetric", "provider": {"web": web}})
    return MeasurementContext(metric=metric, namespace="default", run_name="run", run_uid="uid", now=NOW, http=http)


async def measure(http: httpx.AsyncClient, reply: Reply, **settings: Any) -> tuple[Reading, list[ReceivedRequest]]:
    with serve(lambda _: reply) as server:
        web = {"url": server.url + "/api/v1/measurement?service=api", **settings}
        reading = await WebProvider().measure(context_for(http, web))
    return reading, server.requests


@pytest.mark.parametrize(
    ("json_path", "result", "value"),
    [
        pytest.param("{$.data.ok}", True, "true", id="boolean_field"),
        pytest.param("{.data.ok}", True, "true", id="path_without_dollar"),
        pytest.param("{$.data.successPercent}", 0.95, "0.95", id="number"),
        pytest.param("{$.data.count}", 3.0, "3", id="whole_numbers_are_floats_written_without_point"),
        pytest.param("{$.data.name}", "api <v2>", '"api \\u003cv2\\u003e"', id="string_as_go_escapes_it"),
        pytest.param("{$.data.items[0].latency}", 120.0, "120", id="array_index"),
        pytest.param("{$.data.items[-1].latency}", 80.5, "80.5", id="negative_index"),
        pytest.param("{$.data.items[*].latency}", 120.0, "120", id="wildcard_takes_the_first_value"),
        pytest.param("{$.data.items[1:]}", {"latency": 80.5}, '{"latency":80.5}', id="slice_takes_the_first_value"),
        pytest.param("{$['data']['dashed-key']}", "yes", '"yes"', id="quoted_field"),
        pytest.param("{$.data.nothing}", None, "null", id="null"),
        pytest.param(
            "{$.data.items}", [{"latency": 120.0}, {"latency": 80.5}], '[{"latency":120},{"latency":80.5}]', id="array"
        ),
    ],
)
async def test_json_path_selects_the_result(http: httpx.AsyncClient, json_path: str, result: Any, value: str) -> None:
    reading, _ = await measure(http, Reply.json(PAYLOAD), jsonPath=json_path)
    assert (reading.phase, reading.result, reading.value) == (EVALUATE, result, value)


async def test_without_json_path_the_whole_document_is_the_result(http: httpx.AsyncClient) -> None:
    reading, requests = await measure(http, Reply.json('{"b": [1, 2], "a": {"ok": false}}'))
    assert reading.result == {"b": [1.0, 2.0], "a": {"ok": False}}
    assert reading.value == '{"a":{"ok":false},"b":[1,2]}'
    assert (requests[0].method, requests[0].path, requests[0].query) == (
        "GET",
        "/api/v1/measurement",
        {"service": "api"},
    )


@pytest.mark.parametrize(
    ("body", "result"),
    [
        pytest.param("I am OK", "I am OK", id="plain_text"),
        pytest.param("", "", id="empty_body"),
        pytest.param("NaN", "NaN", id="not_json_number"),
    ],
)
async def test_a_body_that_is_not_json_is_the_result_as_text(http: httpx.AsyncClient, body: str, result: str) -> None:
    reading, _ = await measure(http, Reply(200, body, {"Content-Type": "text/plain"}), jsonPath="{$.data}")
    assert (reading.phase, reading.result, reading.value) == (EVALUATE, result, result)


async def test_post_sends_the_text_body_and_headers(http: httpx.AsyncClient) -> None:
    headers = [{"key": "Authorization", "value": "Bearer token"}, {"key": "Content-Type", "value": "text/plain"}]
    reading, requests = await measure(
        http, Reply.json('{"ok": true}'), method="POST", body="string value", headers=headers, jsonPath="{$.ok}"
    )
    assert reading.result is True
    request = requests[0]
    assert (request.method, request.body) == ("POST", b"string value")
    assert request.headers["authorization"] == "Bearer token"
    assert request.headers["content-type"] == "text/plain"


async def test_json_body_is_sent_as_json(http: httpx.AsyncClient) -> None:
    json_body = {"key1": "value_1", "key2": {"nestedObj": "nested value"}}
    _, requests = await measure(
        http,
        Reply.json('{"ok": true}'),
        method="PUT",
        jsonBody=json_body,
        headers=[{"key": "content-type", "value": "text/plain"}],
    )
    request = requests[0]
    assert request.method == "PUT"
    assert request.headers["content-type"] == "application/json"
    assert request.body == b'{"key1":"value_1","key2":{"nestedObj":"nested value"}}'


async def test_oauth2_token_is_sent_as_a_bearer_token(http: httpx.AsyncClient) -> None:
    def respond(request: ReceivedRequest) -> Reply:
        if request.path == "/token":
            return Reply.json('{"access_token":"granted"}')
        return Reply.json('{"ok": true}')

    with serve(respond) as server:
        oauth2 = {"tokenUrl": server.url + "/token", "clientId": "id", "clientSecret": "secret", "scopes": ["s"]}
        web = {"url": server.url + "/m", "authentication": {"oauth2": oauth2}, "jsonPath": "{$.ok}"}
        reading = await WebProvider().measure(context_for(http, web))
    assert reading.result is True
    assert server.requests[0].form == {"grant_type": "client_credentials", "scope": "s"}
    assert server.requests[1].headers["authorization"] == "Bearer granted"


async def test_insecure_requests_use_a_client_of_their_own(http: httpx.AsyncClient) -> None:
    reading, _ = await measure(http, Reply.json('{"ok": true}'), insecure=True, jsonPath="{$.ok}")
    assert reading.result is True


@pytest.mark.parametrize(
    ("reply", "settings", "message"),
    [
        pytest.param(Reply(404, "nope"), {}, "answered HTTP 404 Not Found", id="non_2xx_status"),
        pytest.param(Reply(500), {}, "answered HTTP 500", id="server_error"),
        pytest.param(Reply.json(PAYLOAD), {"jsonPath": "{$.data.missing}"}, "missing is not found", id="missing"),
        pytest.param(
            Reply.json(PAYLOAD),
            {"jsonPath": "{$.data.items[5]}"},
            "array index out of bounds: index 5, length 2",
            id="index_out_of_bounds",
        ),
        pytest.param(Reply.json(PAYLOAD), {"jsonPath": "{$.data.ok[0]}"}, "true is not an array", id="not_array"),
        pytest.param(Reply.json(PAYLOAD), {"jsonPath": "{$.data.empty[*]}"}, "produced no value", id="no_value"),
        pytest.param(
            Reply.json(PAYLOAD),
            {"jsonPath": "{$.data.items[?(@.latency > 100)]}"},
            "provider.web.jsonPath '{$.data.items[?(@.latency > 100)]}': filters",
            id="filter_not_supported",
        ),
        pytest.param(
            Reply.json(PAYLOAD), {"method": "POST", "body": "a", "jsonBody": {"a": 1}}, "both body and jsonBody", id="2"
        ),
        pytest.param(Reply.json(PAYLOAD), {"body": "a"}, "need method POST or PUT, not GET", id="body_with_get"),
        pytest.param(Reply.json(PAYLOAD), {"method": "DELETE"}, "must be GET, POST or PUT", id="method"),
    ],
)
async def test_problems_are_error_readings_naming_the_cause(
    http: httpx.AsyncClient, reply: Reply, settings: dict[str, Any], message: str
) -> None:
    reading, _ = await measure(http, reply, **settings)
    assert reading.phase == "Error"
    assert message in (reading.message or "")


async def test_a_slow_endpoint_is_a_timeout_error(http: httpx.AsyncClient) -> None:
    reading, _ = await measure(http, Reply(200, "{}", delay_seconds=1.5), timeoutSeconds=1)
    assert reading.phase == "Error"
    assert "did not answer within 1s" in (reading.message or "")


async def test_a_stopped_endpoint_is_a_connection_refused_error(http: httpx.AsyncClient) -> None:
    server = LocalHttpServer(lambda _: Reply()).start()
    server.stop()
    reading = await WebProvider().measure(context_for(http, {"url": server.url + "/m"}))
    assert reading.phase == "Error"
    assert reading.message == f"cannot reach {server.url}/m: connection refused"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (None, "null"),
        (1.0, "1"),
        (-0.0, "-0"),
        (0.000001, "0.000001"),
        (1.5e-7, "1.5e-7"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        ("tab\there & \u2028", '"tab\\there \\u0026 \\u2028"'),
        ("\x01", '"\\u0001"'),
        ({"b": 1.0, "a": [True, "x"]}, '{"a":[true,"x"],"b":1}'),
    ],
)
def test_status_text_is_written_as_go_encodes_json(value: Any, text: str) -> None:
    assert format_json(value) == text


@pytest.mark.parametrize(
    ("json_path", "message"),
    [
        ("{$.a", "never closed"),
        ("{$.a[0}", "never closed"),
        ("{$..a}", "recursive descent"),
        ("{$.a['x','y']}", "unions"),
        ("{$.a[::0]}", "step cannot be 0"),
        ("{range .items}", "unexpected"),
    ],
)
def test_unsupported_json_paths_are_refused_with_the_reason(json_path: str, message: str) -> None:
    with pytest.raises(WebMetricError, match=message):
        compile_json_path(json_path)
