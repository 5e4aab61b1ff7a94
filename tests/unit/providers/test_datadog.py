"""The datadog provider against a local stand-in for Datadog's v1 and v2 query APIs (recorded responses)."""

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
from ramp.providers.datadog import DatadogProvider, describe_groups, read_timeseries_answer
from tests.unit.providers.local_server import only_request, recorded_reply, serve_recorded

NOW = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # 1700000000
QUERY = "sum:requests.error.rate{service:checkout}"


class Secrets:
    """Secrets by (namespace, name); remembers which were asked for."""

    def __init__(self, secrets: Mapping[tuple[str, str], Mapping[str, str]]) -> None:
        self.secrets = secrets
        self.asked: list[tuple[str, str]] = []

    async def __call__(self, namespace: str, name: str) -> Mapping[str, str]:
        self.asked.append((namespace, name))
        if (namespace, name) not in self.secrets:
            raise LookupError(f'secrets "{name}" not found')
        return self.secrets[(namespace, name)]


def keys(address: str) -> dict[str, str]:
    return {"address": address, "api-key": "the-api-key", "app-key": "the-app-key"}


async def measure(
    datadog: Mapping[str, Any], read_secret: Secrets, environment: Mapping[str, str] | None = None
) -> Reading:
    metric = Metric.model_validate({"name": "errors", "provider": {"datadog": dict(datadog)}})
    async with httpx.AsyncClient() as http:
        context = MeasurementContext(
            metric=metric,
            namespace="shop",
            run_name="run",
            run_uid="uid",
            now=NOW,
            http=http,
            controller_namespace="argo-rollouts",
            read_secret=read_secret,
        )
        return await DatadogProvider(environment).measure(context)


@pytest.mark.parametrize(
    ("recording", "condition", "result", "value", "passes"),
    [
        ("v1_query.json", "result < 0.01", 0.0035, "0.0035", True),
        ("v1_query_failing.json", "result < 0.01", 0.25, "0.25", False),
    ],
    ids=["a low error rate passes", "a high error rate fails"],
)
async def test_v1_measures_the_last_point_of_the_first_series(recording, condition, result, value, passes):
    with serve_recorded({"/api/v1/query": recorded_reply(f"datadog/{recording}")}) as server:
        secrets = Secrets({("argo-rollouts", "datadog"): keys(server.url)})
        reading = await measure({"query": QUERY, "interval": "5m"}, secrets)
    assert (reading.phase, reading.result, reading.value) == (EVALUATE, result, value)
    assert evaluate_condition(condition, reading.result) is passes
    request = only_request(server)
    assert request.method == "GET"
    assert request.query == {"from": "1699999700", "query": QUERY, "to": "1700000000"}
    assert request.headers["dd-api-key"] == "the-api-key"
    assert request.headers["dd-application-key"] == "the-app-key"
    assert request.headers["content-type"] == "application/json"


async def test_v1_empty_answer_is_judged_as_nil_and_shows_the_series():
    with serve_recorded({"/api/v1/query": recorded_reply("datadog/v1_query_empty.json")}) as server:
        reading = await measure({"query": QUERY}, Secrets({("argo-rollouts", "datadog"): keys(server.url)}))
    assert (reading.phase, reading.result, reading.value) == (EVALUATE, None, "[]")


@pytest.mark.parametrize(
    ("body", "value"),
    [
        ({"series": [{"pointlist": [], "metric": "m"}]}, '[{"pointlist":[]}]'),
        ({"series": [{"metric": "m"}]}, '[{"pointlist":null}]'),
        ({}, "null"),
        (
            {"series": [{"pointlist": []}, {"pointlist": [[1700000000000.0, None]]}]},
            '[{"pointlist":[]},{"pointlist":[[1700000000000,0]]}]',
        ),
    ],
    ids=["empty pointlist", "no pointlist", "no series", "later series written as Go decodes them"],
)
def test_v1_empty_answer_text_is_the_series_as_upstream_writes_them(body, value):
    reading = read_timeseries_answer(200, json.dumps(body).encode())
    assert (reading.result, reading.value) == (None, value)


def test_v1_null_last_value_reads_as_zero_as_upstream():
    reading = read_timeseries_answer(200, b'{"series": [{"pointlist": [[1, 0.5], [2, null]]}]}')
    assert (reading.result, reading.value) == (0.0, "0")


async def test_v2_single_query_posts_a_scalar_request_and_measures_its_value():
    with serve_recorded({"/api/v2/query/scalar": recorded_reply("datadog/v2_scalar.json")}) as server:
        secrets = Secrets({("argo-rollouts", "datadog"): keys(server.url)})
        reading = await measure({"apiVersion": "v2", "query": QUERY, "interval": "10m"}, secrets)
    assert (reading.phase, reading.result, reading.value) == (EVALUATE, 0.0042, "0.0042")
    assert evaluate_condition("result <= 0.01", reading.result) is True
    request = only_request(server)
    assert request.method == "POST"
    assert request.headers["dd-api-key"] == "the-api-key"
    assert json.loads(request.body) == {
        "data": {
            "type": "scalar_request",
            "attributes": {
                "from": 1699999400000,
                "to": 1700000000000,
                "queries": [{"aggregator": "last", "data_source": "metrics", "name": "query", "query": QUERY}],
                "formulas": [],
            },
        }
    }


async def test_v2_queries_with_a_formula_send_every_query_with_the_aggregator():
    spec = {
        "apiVersion": "v2",
        "queries": {"a": "sum:errors{*}", "b": "sum:requests{*}"},
        "formula": "a/b",
        "aggregator": "avg",
    }
    with serve_recorded({"/api/v2/query/scalar": recorded_reply("datadog/v2_scalar.json")}) as server:
        await measure(spec, Secrets({("argo-rollouts", "datadog"): keys(server.url)}))
    attributes = json.loads(only_request(server).body)["data"]["attributes"]
    assert attributes["formulas"] == [{"formula": "a/b"}]
    assert attributes["queries"] == [
        {"aggregator": "avg", "data_source": "metrics", "name": "a", "query": "sum:errors{*}"},
        {"aggregator": "avg", "data_source": "metrics", "name": "b", "query": "sum:requests{*}"},
    ]


async def test_v2_grouped_answer_is_a_list_with_the_groups_in_metadata():
    with serve_recorded({"/api/v2/query/scalar": recorded_reply("datadog/v2_scalar_grouped.json")}) as server:
        secrets = Secrets({("argo-rollouts", "datadog"): keys(server.url)})
        reading = await measure({"apiVersion": "v2", "query": "avg:latency{*} by {region,host}"}, secrets)
    assert (reading.result, reading.value) == ([0.01, 0.2], "[0.01,0.2]")
    assert reading.metadata == {
        "groups": '[{"name":"us-east-1,host-a","value":0.01},{"name":"ap-south-1,host-c","value":0.2}]'
    }
    assert evaluate_condition("all(result, {# < 0.1})", reading.result) is False


async def test_v2_empty_answer_is_judged_as_nil():
    with serve_recorded({"/api/v2/query/scalar": recorded_reply("datadog/v2_scalar_empty.json")}) as server:
        reading = await measure(
            {"apiVersion": "v2", "query": QUERY}, Secrets({("argo-rollouts", "datadog"): keys(server.url)})
        )
    assert (reading.phase, reading.result, reading.value) == (EVALUATE, None, "[]")


def test_many_groups_keep_the_lowest_and_highest_in_metadata():
    metadata = describe_groups([(f"host-{index}", float(index)) for index in range(150)])
    names = [entry["name"] for entry in json.loads(metadata["groups"])]
    assert metadata["groups_truncated"] == "true"
    assert names == [f"host-{index}" for index in [*range(50), *range(100, 150)]]


@pytest.mark.parametrize(
    ("path", "recording", "status", "spec", "message"),
    [
        ("/api/v1/query", "forbidden.json", 403, {}, "Datadog refused the API or application key (HTTP 403)"),
        ("/api/v1/query", "forbidden.json", 500, {}, "Datadog answered HTTP 500"),
        ("/api/v1/query", "malformed_series.json", 200, {}, "not a number"),
        (
            "/api/v2/query/scalar",
            "v2_scalar_query_errors.json",
            200,
            {"apiVersion": "v2"},
            "Datadog reported errors in the query: Error parsing query",
        ),
        ("/api/v1/query", "../graphite/render.json", 200, {}, "Datadog's answer is not a JSON object"),
    ],
    ids=["forbidden", "server error", "malformed point", "query errors", "not an object"],
)
async def test_bad_answers_are_errors(path, recording, status, spec, message):
    with serve_recorded({path: recorded_reply(f"datadog/{recording}", status)}) as server:
        reading = await measure({"query": QUERY, **spec}, Secrets({("argo-rollouts", "datadog"): keys(server.url)}))
    assert reading.phase == "Error"
    assert message in (reading.message or "")


async def test_unreachable_datadog_is_an_error():
    secrets = Secrets({("argo-rollouts", "datadog"): keys("http://127.0.0.1:9")})
    reading = await measure({"query": QUERY}, secrets)
    assert reading.phase == "Error"
    assert "cannot reach Datadog at http://127.0.0.1:9/api/v1/query" in (reading.message or "")


@pytest.mark.parametrize(
    ("secret_ref", "environment", "secrets", "asked", "api_key"),
    [
        (
            None,
            {"DD_API_KEY": "env-api", "DD_APP_KEY": "env-app", "DD_ADDRESS": "{url}"},
            {("argo-rollouts", "datadog"): "secret-api"},
            [],
            "env-api",
        ),
        (
            None,
            {"DD_API_KEY": "env-api", "DD_APP_KEY": "env-app"},
            {("argo-rollouts", "datadog"): "secret-api"},
            [("argo-rollouts", "datadog")],
            "secret-api",
        ),
        (
            {"name": "team-keys"},
            {"DD_API_KEY": "env-api", "DD_APP_KEY": "env-app", "DD_ADDRESS": "{url}"},
            {("argo-rollouts", "team-keys"): "team-api"},
            [("argo-rollouts", "team-keys")],
            "team-api",
        ),
        (
            {"name": "team-keys", "namespaced": True},
            {},
            {("shop", "team-keys"): "shop-api"},
            [("shop", "team-keys")],
            "shop-api",
        ),
    ],
    ids=[
        "variables come before the default secret",
        "variables need all three to count",
        "a named secret is read in the controller's namespace",
        "a namespaced secret is read in the run's namespace",
    ],
)
async def test_credentials_are_found_where_upstream_looks(secret_ref, environment, secrets, asked, api_key):
    with serve_recorded({"/api/v1/query": recorded_reply("datadog/v1_query.json")}) as server:
        stored = Secrets({key: {**keys(server.url), "api-key": value} for key, value in secrets.items()})
        spec: dict[str, Any] = {"query": QUERY}
        if secret_ref:
            spec["secretRef"] = secret_ref
        variables = {name: value.replace("{url}", server.url) for name, value in environment.items()}
        reading = await measure(spec, stored, variables)
    assert reading.phase == EVALUATE, reading.message
    assert stored.asked == asked
    assert only_request(server).headers["dd-api-key"] == api_key


@pytest.mark.parametrize(
    ("spec", "secrets", "message"),
    [
        ({"secretRef": {"namespaced": True}}, {}, "secretRef.name is required when secretRef.namespaced is true"),
        ({}, {}, 'Secret argo-rollouts/datadog (cannot read it: secrets "datadog" not found)'),
        ({}, {("argo-rollouts", "datadog"): {"api-key": "only-one"}}, "it needs the keys api-key and app-key"),
        ({"queries": {"a": "x"}}, None, "has both query and queries"),
        ({"query": None, "queries": {"a": "x"}}, None, "apiVersion v1 only supports query"),
        ({"aggregator": "avg"}, None, "aggregator is not supported with apiVersion v1"),
        ({"apiVersion": "v2", "query": None, "queries": {"a": "x", "b": "y"}}, None, "add a formula"),
        ({"interval": "5 minutes"}, None, "provider.datadog.interval '5 minutes' is not a duration"),
        ({"requestTimeout": "0s"}, None, "requestTimeout must be a positive duration"),
    ],
    ids=[
        "namespaced without name",
        "no secret",
        "secret without app key",
        "query and queries",
        "v1 with queries",
        "v1 with aggregator",
        "queries without formula",
        "bad interval",
        "zero timeout",
    ],
)
async def test_settings_that_cannot_be_queried_are_errors_naming_the_fix(spec, secrets, message):
    stored = Secrets(secrets if secrets is not None else {("argo-rollouts", "datadog"): keys("http://127.0.0.1:9")})
    reading = await measure({"query": QUERY, **spec}, stored)
    assert reading.phase == "Error"
    assert message in (reading.message or "")
