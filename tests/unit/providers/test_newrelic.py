"""The newRelic provider against a local stand-in for NerdGraph (recorded GraphQL responses)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ramp.analysis.expression import evaluate_condition
from ramp.api.analysis import Metric
from ramp.providers.base import EVALUATE, MeasurementContext, Reading
from ramp.providers.newrelic import NewRelicProvider, read_account
from tests.unit.providers.local_server import only_request, recorded_reply, serve_recorded

NRQL = "FROM Transaction SELECT percentage(count(*), WHERE httpResponseCode != 500) as successRate"


def profile(url: str, **extra: str) -> dict[str, str]:
    return {"personal-api-key": "NRAK-secret", "account-id": "1234567", "base-url-nerdgraph": url + "/graphql", **extra}


async def measure(new_relic: Mapping[str, Any], secrets: Mapping[tuple[str, str], Mapping[str, str]]) -> Reading:
    async def read_secret(namespace: str, name: str) -> Mapping[str, str]:
        if (namespace, name) not in secrets:
            raise LookupError(f'secrets "{name}" not found')
        return secrets[(namespace, name)]

    metric = Metric.model_validate({"name": "success", "provider": {"newRelic": dict(new_relic)}})
    async with httpx.AsyncClient() as http:
        context = MeasurementContext(
            metric=metric,
            namespace="shop",
            run_name="run",
            run_uid="uid",
            now=datetime.now(UTC),
            http=http,
            controller_namespace="argo-rollouts",
            read_secret=read_secret,
        )
        return await NewRelicProvider().measure(context)


@pytest.mark.parametrize(
    ("recording", "result", "value", "passes"),
    [
        ("nrql_single.json", {"successRate": 99.25}, '{"successRate":99.25}', True),
        ("nrql_failing.json", {"successRate": 81.5}, '{"successRate":81.5}', False),
    ],
    ids=["a high success rate passes", "a low success rate fails"],
)
async def test_one_row_is_a_map(recording, result, value, passes):
    with serve_recorded({"/graphql": recorded_reply(f"newrelic/{recording}")}) as server:
        reading = await measure({"query": NRQL}, {("argo-rollouts", "newrelic"): profile(server.url)})
    assert (reading.phase, reading.result, reading.value) == (EVALUATE, result, value)
    assert evaluate_condition("result.successRate >= 95", reading.result) is passes
    request = only_request(server)
    assert (request.method, request.headers["api-key"]) == ("POST", "NRAK-secret")
    body = json.loads(request.body)
    assert body["variables"] == {"accountId": 1234567, "query": NRQL, "timeout": 5}
    assert "nrql(query: $query, timeout: $timeout)" in body["query"]


async def test_several_rows_are_a_list_of_maps_written_as_go_json():
    with serve_recorded({"/graphql": recorded_reply("newrelic/nrql_facets.json")}) as server:
        reading = await measure(
            {"query": NRQL + " FACET appName", "timeout": 20, "profile": "team"},
            {("argo-rollouts", "team"): profile(server.url)},
        )
    assert reading.result == [
        {"facet": "checkout", "average.duration": 0.125, "appName": "checkout"},
        {"facet": "cart<beta>", "average.duration": 2.5e-7, "appName": "cart<beta>"},
    ]
    assert reading.value == (
        '[{"appName":"checkout","average.duration":0.125,"facet":"checkout"},'
        '{"appName":"cart\\u003cbeta\\u003e","average.duration":2.5e-7,"facet":"cart\\u003cbeta\\u003e"}]'
    )
    assert evaluate_condition("result[0]['average.duration'] < 1", reading.result) is True
    assert json.loads(only_request(server).body)["variables"]["timeout"] == 20


@pytest.mark.parametrize(
    ("recording", "status", "message"),
    [
        ("nrql_empty.json", 200, "no results returned from NRQL query"),
        ("nrql_errors.json", 200, "New Relic refused the query: NRQL Syntax Error"),
        ("unauthorized.json", 401, "New Relic refused the query: Invalid API key"),
        ("nrql_single.json", 503, "New Relic answered HTTP 503"),
        ("../graphite/render_failing.json", 200, "New Relic's answer is not a JSON object"),
    ],
    ids=["no rows", "graphql errors", "bad key", "server error", "malformed"],
)
async def test_bad_answers_are_errors(recording, status, message):
    with serve_recorded({"/graphql": recorded_reply(f"newrelic/{recording}", status)}) as server:
        reading = await measure({"query": NRQL}, {("argo-rollouts", "newrelic"): profile(server.url)})
    assert reading.phase == "Error"
    assert message in (reading.message or "")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"personal-api-key": "k", "account-id": "1"}, "https://api.newrelic.com/graphql"),
        ({"personal-api-key": "k", "account-id": "1", "region": "EU"}, "https://api.eu.newrelic.com/graphql"),
        (
            {"personal-api-key": "k", "account-id": "1", "region": "eu", "base-url-nerdgraph": "http://proxy/graphql"},
            "http://proxy/graphql",
        ),
    ],
    ids=["us by default", "eu region", "proxy url wins"],
)
def test_region_and_proxy_choose_the_nerdgraph_url(data, expected):
    assert read_account(data, "argo-rollouts/newrelic").nerdgraph_url == expected


@pytest.mark.parametrize(
    ("spec", "secrets", "message"),
    [
        ({}, {}, 'cannot read Secret argo-rollouts/newrelic: secrets "newrelic" not found'),
        ({}, {("argo-rollouts", "newrelic"): {"account-id": "1"}}, "needs the keys personal-api-key and account-id"),
        ({}, {("argo-rollouts", "newrelic"): {"personal-api-key": "k", "account-id": "one"}}, "not a number"),
        (
            {},
            {("argo-rollouts", "newrelic"): {"personal-api-key": "k", "account-id": "1", "region": "mars"}},
            "unknown region 'mars'",
        ),
        ({"timeout": -1}, {("argo-rollouts", "newrelic"): profile("http://127.0.0.1:9")}, "must not be negative"),
    ],
    ids=["no secret", "no key", "account id not a number", "unknown region", "negative timeout"],
)
async def test_settings_that_cannot_be_queried_are_errors(spec, secrets, message):
    reading = await measure({"query": NRQL, **spec}, secrets)
    assert reading.phase == "Error"
    assert message in (reading.message or "")
