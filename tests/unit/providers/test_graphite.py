"""The graphite provider against a local stand-in for Graphite's render API (recorded responses)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from ramp.analysis.expression import evaluate_condition
from ramp.api.analysis import Metric
from ramp.providers.base import EVALUATE, MeasurementContext, Reading
from ramp.providers.graphite import GraphiteProvider, build_render_url
from tests.unit.providers.local_server import only_request, recorded_reply, serve_recorded

QUERY = """target=summarize(
  asPercent(sumSeries(stats.checkout.ok), sumSeries(stats.checkout.all)),
  '5min',
  'avg'
)&from=-5min"""
TARGET = "summarize(asPercent(sumSeries(stats.checkout.ok),sumSeries(stats.checkout.all)),'5min','avg')"


async def measure(address: str, query: str = QUERY) -> Reading:
    metric = Metric.model_validate({"name": "ok", "provider": {"graphite": {"address": address, "query": query}}})
    async with httpx.AsyncClient() as http:
        context = MeasurementContext(
            metric=metric, namespace="shop", run_name="run", run_uid="uid", now=datetime.now(UTC), http=http
        )
        return await GraphiteProvider().measure(context)


@pytest.mark.parametrize(
    ("recording", "result", "value", "passes"),
    [
        ("render.json", [97.5, 92.25], "[97.500000,92.250000]", True),
        ("render_failing.json", [85.125, 70.0], "[85.125000,70.000000]", False),
    ],
    ids=["high success rates pass", "low success rates fail"],
)
async def test_the_first_targets_values_are_the_result(recording, result, value, passes):
    with serve_recorded({"/render": recorded_reply(f"graphite/{recording}")}) as server:
        reading = await measure(server.url)
    assert (reading.phase, reading.result, reading.value) == (EVALUATE, result, value)
    assert evaluate_condition("result[0] >= 90.000000", reading.result) is passes
    request = only_request(server)
    assert (request.method, request.path) == ("GET", "/render")
    assert request.query == {"format": "json", "from": "-5min", "target": TARGET}


async def test_points_that_are_all_null_give_an_empty_list():
    with serve_recorded({"/render": recorded_reply("graphite/render_nulls.json")}) as server:
        reading = await measure(server.url)
    assert (reading.phase, reading.result, reading.value) == (EVALUATE, [], "[]")


@pytest.mark.parametrize(
    ("recording", "status", "message"),
    [
        ("render_empty.json", 200, "no values found"),
        ("render.json", 500, "Graphite answered HTTP 500"),
        ("render_malformed.json", 200, "a data point that is not [value, timestamp]"),
        ("../datadog/v2_scalar.json", 200, "Graphite's answer is not a list of targets"),
    ],
    ids=["no target", "server error", "malformed point", "not a list"],
)
async def test_bad_answers_are_errors(recording, status, message):
    with serve_recorded({"/render": recorded_reply(f"graphite/{recording}", status)}) as server:
        reading = await measure(server.url)
    assert reading.phase == "Error"
    assert message in (reading.message or "")


@pytest.mark.parametrize(
    ("address", "query", "url"),
    [
        (
            "http://graphite:8080",
            "target=a.b&from=-10min",
            "http://graphite:8080/render?format=json&from=-10min&target=a.b",
        ),
        ("http://graphite:8080/", "target=a.b", "http://graphite:8080/render?format=json&target=a.b"),
        ("http://proxy/graphite", "target=a.b&format=raw", "http://proxy/graphite/render?format=json&target=a.b"),
        ("http://graphite", "target=a b&target=c+d", "http://graphite/render?format=json&target=ab&target=c+d"),
    ],
    ids=["parameters in name order", "trailing slash", "path kept and format forced", "spaces removed"],
)
def test_render_url_is_built_as_upstream(address, query, url):
    assert build_render_url(address, query) == url


async def test_a_missing_address_is_an_error():
    reading = await measure("")
    assert reading.phase == "Error"
    assert "provider.graphite.address '' is not a URL" in (reading.message or "")
