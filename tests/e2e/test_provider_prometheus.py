"""The `prometheus` provider and the Prometheus API client against a real Prometheus (Debian's package).

No Kubernetes cluster: the server runs from tests.backends.prometheus with a fixed history (built by promtool
before it starts) and a live scrape target served by the test. Queries over the history are evaluated at the
time the history was written (`HISTORY_END`), so every expected value is exact.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ramp.api.analysis import Metric
from ramp.providers.base import EVALUATE, MeasurementContext, Reading
from ramp.providers.prometheus import PrometheusProvider
from ramp.providers.prometheus_api import PrometheusEndpoint, Scalar, query_instant, query_range
from tests.backends import LocalHttpServer, ReceivedRequest, Reply, serve
from tests.backends.prometheus import PrometheusServer, format_openmetrics, start_prometheus

HISTORY_END = datetime.now(UTC).replace(microsecond=0)
END_SECONDS = int(HISTORY_END.timestamp())
# Ten minutes of samples every 30 s: latency counts up 0, 1, 2, ... 20; the success ratio stays 0.99.
HISTORY = format_openmetrics(
    {
        "http_success_ratio": [({"service": "api"}, END_SECONDS - 600 + 30 * k, 0.99) for k in range(21)],
        "http_latency_ms": [({"service": "api"}, END_SECONDS - 600 + 30 * k, float(k)) for k in range(21)],
        "ramp_not_a_number": [({}, END_SECONDS - 30 * k, math.nan) for k in range(3)],
    }
)
LIVE_METRICS = "# TYPE ramp_live_requests gauge\nramp_live_requests 42\n"


@pytest.fixture(scope="module")
def scrape_target() -> Iterator[LocalHttpServer]:
    with serve(lambda _: Reply(200, LIVE_METRICS, {"Content-Type": "text/plain; version=0.0.4"})) as target:
        yield target


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory, scrape_target: LocalHttpServer) -> Iterator[PrometheusServer]:
    server = start_prometheus(tmp_path_factory.mktemp("prometheus"), HISTORY, [scrape_target.url.split("//")[1]])
    yield server
    server.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def measure(http: httpx.AsyncClient, prometheus: dict[str, Any], now: datetime = HISTORY_END) -> Reading:
    metric = Metric.model_validate({"name": "m", "provider": {"prometheus": prometheus}})
    context = MeasurementContext(metric=metric, namespace="default", run_name="run", run_uid="uid", now=now, http=http)
    return await PrometheusProvider().measure(context)


@pytest.mark.parametrize(
    ("query", "result", "value"),
    [
        pytest.param('http_success_ratio{service="api"}', [0.99], "[0.99]", id="instant_vector"),
        pytest.param("http_latency_ms", [20.0], "[20]", id="latest_sample_of_the_history"),
        pytest.param("sum(http_latency_ms) / 4", [5.0], "[5]", id="aggregation"),
        pytest.param("scalar(http_success_ratio)", 0.99, "0.99", id="scalar"),
        pytest.param("ramp_not_a_number", [math.nan], "[NaN]", id="nan_sample"),
        pytest.param("1 / 0", math.inf, "+Inf", id="infinite_scalar"),
        pytest.param("does_not_exist", [], "[]", id="empty_result"),
    ],
)
async def test_instant_queries_read_as_upstream(
    http: httpx.AsyncClient, prometheus: PrometheusServer, query: str, result: Any, value: str
) -> None:
    reading = await measure(http, {"address": prometheus.url, "query": query})
    assert (reading.phase, reading.value, reading.message) == (EVALUATE, value, None)
    assert repr(reading.result) == repr(result)  # repr: NaN equals itself only there


async def test_range_query_returns_every_step_of_the_window(
    http: httpx.AsyncClient, prometheus: PrometheusServer
) -> None:
    range_query = {"start": 'now() - duration("10m")', "end": "now()", "step": "1m"}
    reading = await measure(http, {"address": prometheus.url, "query": "http_latency_ms", "rangeQuery": range_query})
    assert reading.phase == EVALUATE
    assert reading.result == [float(k) for k in range(0, 21, 2)]
    assert reading.value == "[0,2,4,6,8,10,12,14,16,18,20]"


async def test_bad_promql_is_an_error_with_prometheus_message(
    http: httpx.AsyncClient, prometheus: PrometheusServer
) -> None:
    reading = await measure(http, {"address": prometheus.url, "query": "sum(http_latency_ms"})
    assert reading.phase == "Error"
    assert (reading.message or "").startswith('bad_data: invalid parameter "query"')
    assert "parse error" in (reading.message or "")


async def test_scraped_values_are_measured_live(http: httpx.AsyncClient, prometheus: PrometheusServer) -> None:
    prometheus.wait_until_queryable("ramp_live_requests")
    reading = await measure(http, {"address": prometheus.url, "query": "ramp_live_requests"}, datetime.now(UTC))
    assert (reading.phase, reading.result, reading.value) == (EVALUATE, [42.0], "[42]")


async def test_query_range_gives_the_judge_series_with_labels(
    http: httpx.AsyncClient, prometheus: PrometheusServer
) -> None:
    endpoint = PrometheusEndpoint(prometheus.url)
    series = await query_range(http, endpoint, "http_latency_ms", HISTORY_END - timedelta(minutes=10), HISTORY_END, 120)
    assert [dict(item.labels) for item in series] == [{"__name__": "http_latency_ms", "service": "api"}]
    assert series[0].samples == [(float(END_SECONDS - 600 + 120 * j), float(4 * j)) for j in range(6)]
    assert await query_instant(http, endpoint, "scalar(http_latency_ms)", HISTORY_END) == Scalar(END_SECONDS, 20.0)


async def test_a_stopped_server_is_a_connection_refused_error(http: httpx.AsyncClient, tmp_path: Path) -> None:
    server = start_prometheus(tmp_path)
    server.stop()
    reading = await measure(http, {"address": server.url, "query": "up"})
    assert reading.phase == "Error"
    assert reading.message == f"cannot reach Prometheus at {server.url}: connection refused"


def forwarding_to(prometheus: PrometheusServer, delay_seconds: float = 0.0) -> LocalHttpServer:
    """A proxy in front of Prometheus that records what the provider sent, and grants OAuth2 tokens."""

    def respond(request: ReceivedRequest) -> Reply:
        if request.path == "/token":
            return Reply.json('{"access_token":"granted-token","token_type":"bearer"}')
        answer = httpx.request(
            request.method,
            prometheus.url + request.path,
            params=request.query,
            content=request.body,
            headers={"Content-Type": request.headers.get("content-type", "")},
        )
        return Reply(answer.status_code, answer.content, {"Content-Type": "application/json"}, delay_seconds)

    return LocalHttpServer(respond).start()


@pytest.mark.parametrize(
    ("settings", "authorization", "tenant"),
    [
        pytest.param(
            {"authentication": {"basicAuth": {"username": "grafana", "password": "s3cret"}}},
            "Basic Z3JhZmFuYTpzM2NyZXQ=",
            None,
            id="basic_auth",
        ),
        pytest.param(
            {"headers": [{"key": "Authorization", "value": "Bearer abc"}, {"key": "X-Scope-OrgID", "value": "t1"}]},
            "Bearer abc",
            "t1",
            id="bearer_and_custom_headers",
        ),
        pytest.param(
            {"authentication": {"oauth2": {"tokenUrl": "{proxy}/token", "clientId": "id", "clientSecret": "x"}}},
            "Bearer granted-token",
            None,
            id="oauth2_bearer",
        ),
    ],
)
async def test_authentication_reaches_the_server(
    http: httpx.AsyncClient,
    prometheus: PrometheusServer,
    settings: dict[str, Any],
    authorization: str,
    tenant: str | None,
) -> None:
    proxy = forwarding_to(prometheus)
    try:
        oauth2 = settings.get("authentication", {}).get("oauth2")
        if oauth2:
            oauth2["tokenUrl"] = oauth2["tokenUrl"].replace("{proxy}", proxy.url)
        reading = await measure(http, {"address": proxy.url, "query": "http_success_ratio", **settings})
    finally:
        proxy.stop()
    assert (reading.phase, reading.value) == (EVALUATE, "[0.99]")
    query = next(request for request in proxy.requests if request.path == "/api/v1/query")
    assert query.headers["authorization"] == authorization
    assert query.headers.get("x-scope-orgid") == tenant


async def test_a_slow_server_is_a_timeout_error(http: httpx.AsyncClient, prometheus: PrometheusServer) -> None:
    proxy = forwarding_to(prometheus, delay_seconds=2.0)
    try:
        reading = await measure(http, {"address": proxy.url, "query": "up", "timeout": 1})
    finally:
        proxy.stop()
    assert reading.phase == "Error"
    assert reading.message == f"Prometheus at {proxy.url} did not answer within 1s"
