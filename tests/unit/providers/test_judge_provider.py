"""The judge as a metric provider: Prometheus range queries (served by httpx.MockTransport in the documented
`/api/v1/query_range` format), the phase it decides, its value, message and metadata, and its errors."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
import yaml

from ramp.api.analysis import Metric, parse_analysis_template
from ramp.api.providers import configured_providers
from ramp.api.validation import ManifestError, unknown_fields
from ramp.providers.base import MeasurementContext, measure_safely
from ramp.providers.judge import JudgeProvider, parse_judge_config

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
ADDRESS = "http://prometheus.test:9090"

STEADY = [1.0, 1.2, 0.9, 1.1, 1.0, 1.3, 0.8, 1.0, 1.1, 0.9, 1.2, 1.0]
RAISED = [5.0, 5.2, 4.9, 5.1, 5.0, 5.3, 4.8, 5.0, 5.1, 4.9, 5.2, 5.0]


class Prometheus:
    """Answers range queries with recorded series per query text; records what it was asked."""

    def __init__(self, answers: dict[str, list[list[float]]], fail: dict[str, httpx.Response] | None = None):
        self.answers = answers
        self.fail = fail or {}
        self.requests: list[dict[str, str]] = []
        self.headers: list[httpx.Headers] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/query_range"
        form = {key: values[0] for key, values in parse_qs(request.content.decode()).items()}
        self.requests.append(form)
        self.headers.append(request.headers)
        if form["query"] in self.fail:
            return self.fail[form["query"]]
        start, step = float(form["start"]), float(form["step"])
        result = [
            {
                "metric": {"instance": f"pod-{index}"},
                "values": [[start + step * position, _text(value)] for position, value in enumerate(values)],
            }
            for index, values in enumerate(self.answers.get(form["query"], []))
        ]
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix", "result": result}})


def _text(value: float) -> str:
    return "NaN" if math.isnan(value) else repr(value)


def judge_metric(config: dict, **metric_fields) -> Metric:
    return Metric.model_validate(
        {"name": "canary-judgement", "provider": {"plugin": {"ramp/judge": config}}, **metric_fields}
    )


def judge_config(*metrics: dict, **fields) -> dict:
    return {"prometheus": {"address": ADDRESS}, "metrics": list(metrics), **fields}


def query(name: str, **fields) -> dict:
    return {"name": name, "canaryQuery": f"{name}-canary", "baselineQuery": f"{name}-baseline", **fields}


async def measure(metric: Metric, prometheus: Prometheus, run: dict | None = None):
    async with httpx.AsyncClient(transport=httpx.MockTransport(prometheus)) as http:
        context = MeasurementContext(
            metric=metric, namespace="shop", run_name="web-1", run_uid="uid-1", now=NOW, http=http, run=run or {}
        )
        return await measure_safely(JudgeProvider(), context)


def test_the_judge_is_keyed_by_its_plugin_name():
    metric = judge_metric(judge_config(query("errors")))
    assert configured_providers(metric.provider) == [JudgeProvider.key] == ["plugin/ramp/judge"]


async def test_a_canary_like_its_baseline_is_successful():
    prometheus = Prometheus({
        "errors-canary": [STEADY], "errors-baseline": [STEADY[::-1]],
        "latency-canary": [STEADY], "latency-baseline": [[value + 0.01 for value in STEADY]],
    })  # fmt: skip
    reading = await measure(judge_metric(judge_config(query("errors"), query("latency"))), prometheus)
    assert reading.phase == "Successful"
    assert reading.value == "100.0"
    assert reading.message == "score 100.0 >= pass 95"
    metrics = json.loads(reading.metadata["metrics"])
    assert metrics["errors"]["classification"] == "Pass"
    assert metrics["latency"]["classification"] == "Pass"
    assert json.loads(reading.metadata["groupScores"]) == {"default": 100.0}


async def test_a_canary_with_more_errors_fails_and_says_which_metric():
    prometheus = Prometheus({
        "error-rate-canary": [RAISED], "error-rate-baseline": [STEADY],
        "latency-canary": [STEADY], "latency-baseline": [STEADY],
    })  # fmt: skip
    config = judge_config(query("error-rate"), query("latency"), scoreThresholds={"pass": 90, "marginal": 75})
    reading = await measure(judge_metric(config), prometheus)
    assert reading.phase == "Failed"
    assert reading.value == "50.0"
    assert reading.message == "score 50.0 < pass 90: error-rate High"
    details = json.loads(reading.metadata["metrics"])["error-rate"]
    assert details["classification"] == "High"
    assert details["ciLow"] > 0.25 * details["estimate"] > 0
    assert details["ciHigh"] >= details["estimate"]
    assert details["effectSize"] == pytest.approx(sum(RAISED) / sum(STEADY), rel=1e-5)
    assert (details["canarySamples"], details["baselineSamples"]) == (12, 12)


async def test_a_score_between_the_thresholds_is_inconclusive():
    answers = {f"m{index}-{side}": [STEADY] for index in range(4) for side in ("canary", "baseline")}
    answers["m3-canary"] = [RAISED]
    config = judge_config(*(query(f"m{index}") for index in range(4)), scoreThresholds={"pass": 90, "marginal": 70})
    reading = await measure(judge_metric(config), Prometheus(answers))
    assert (reading.phase, reading.value) == ("Inconclusive", "75.0")
    assert reading.message == "score 75.0 < pass 90, >= marginal 70: m3 High"


async def test_a_critical_metric_fails_the_judgement_alone():
    prometheus = Prometheus({
        "errors-canary": [RAISED], "errors-baseline": [STEADY],
        **{f"ok{index}-{side}": [STEADY] for index in range(3) for side in ("canary", "baseline")},
    })  # fmt: skip
    config = judge_config(query("errors", critical=True), *(query(f"ok{index}") for index in range(3)))
    reading = await measure(judge_metric(config), prometheus)
    assert (reading.phase, reading.value) == ("Failed", "0.0")
    assert reading.message == "score 0.0 < pass 95: critical metric failed: errors High"
    assert json.loads(reading.metadata["metrics"])["errors"]["critical"] is True


async def test_metrics_without_data_fail_the_judgement():
    reading = await measure(judge_metric(judge_config(query("errors"), query("latency"))), Prometheus({}))
    assert (reading.phase, reading.value) == ("Failed", "0.0")
    assert reading.message == "score 0.0 < pass 95: 2 of 2 metrics have no data; errors Nodata, latency Nodata"
    assert json.loads(reading.metadata["metrics"])["errors"] == {
        "classification": "Nodata",
        "canarySamples": 0,
        "baselineSamples": 0,
        "reason": "no canary data",
    }


async def test_every_series_a_query_returns_is_pooled_and_nans_dropped():
    prometheus = Prometheus({"errors-canary": [STEADY[:6], [*STEADY[6:], float("nan")]], "errors-baseline": [STEADY]})
    reading = await measure(judge_metric(judge_config(query("errors"))), prometheus)
    details = json.loads(reading.metadata["metrics"])["errors"]
    assert (details["classification"], details["canarySamples"]) == ("Pass", 12)


async def test_both_sides_are_queried_over_the_same_window_ending_now():
    prometheus = Prometheus({})
    config = judge_config(query("errors"), lookback="10m", step="30s")
    await measure(judge_metric(config), prometheus)
    windows = {(form["start"], form["end"], form["step"]) for form in prometheus.requests}
    start = NOW - timedelta(minutes=10)
    assert windows == {(str(int(start.timestamp())), str(int(NOW.timestamp())), "30")}
    assert sorted(form["query"] for form in prometheus.requests) == ["errors-baseline", "errors-canary"]


@pytest.mark.parametrize(
    ("config_fields", "metric_fields", "metric_settings", "expected"),
    [
        pytest.param({}, {}, {}, (NOW - timedelta(minutes=5), NOW, 15.0), id="default-five-minutes-every-15s"),
        pytest.param(
            {}, {"interval": "2m", "count": 3}, {}, (NOW - timedelta(minutes=2), NOW, 15.0),
            id="the-metric-interval-when-no-lookback",
        ),
        pytest.param(
            {"start": "2024-05-01T10:00:00Z", "end": "2024-05-01T11:00:00Z", "step": "1m"}, {}, {},
            (datetime(2024, 5, 1, 10, tzinfo=UTC), datetime(2024, 5, 1, 11, tzinfo=UTC), 60.0),
            id="a-fixed-window",
        ),
        pytest.param(
            {"lookback": "1h"}, {}, {"lookback": "90s", "step": "5s"}, (NOW - timedelta(seconds=90), NOW, 5.0),
            id="a-metric-window-replaces-the-judges",
        ),
    ],
)  # fmt: skip
async def test_query_window(config_fields, metric_fields, metric_settings, expected):
    prometheus = Prometheus({})
    config = judge_config(query("errors", **metric_settings), **config_fields)
    await measure(judge_metric(config, **metric_fields), prometheus)
    start, end, step = expected
    assert {(float(form["start"]), float(form["end"]), float(form["step"])) for form in prometheus.requests} == {
        (start.timestamp(), end.timestamp(), step)
    }


async def test_headers_are_sent_with_every_query():
    prometheus = Prometheus({})
    config = judge_config(query("errors"))
    config["prometheus"]["headers"] = [{"key": "Authorization", "value": "Bearer t0ken"}]
    await measure(judge_metric(config), prometheus)
    assert [headers["authorization"] for headers in prometheus.headers] == ["Bearer t0ken", "Bearer t0ken"]


@pytest.mark.parametrize(
    ("count", "taken", "scores_phase"),
    [
        pytest.param(3, 0, "Successful", id="interim-above-marginal-carries-on"),
        pytest.param(3, 2, "Failed", id="final-below-pass-fails"),
        pytest.param(None, 7, "Successful", id="no-count-is-always-interim"),
    ],
)
async def test_several_intervals(count, taken, scores_phase):
    answers = {f"m{index}-{side}": [STEADY] for index in range(5) for side in ("canary", "baseline")}
    answers["m4-canary"] = [RAISED]  # 80.0: between marginal 75 and pass 90
    config = judge_config(*(query(f"m{index}") for index in range(5)), scoreThresholds={"pass": 90, "marginal": 75})
    fields = {"interval": "5m", **({"count": count} if count else {})}
    run = {"status": {"metricResults": [{"name": "canary-judgement", "count": taken}]}}
    reading = await measure(judge_metric(config, **fields), Prometheus(answers), run)
    assert (reading.phase, reading.value) == (scores_phase, "80.0")
    expected_message = {
        "Successful": "interim score 80.0 > marginal 75: carrying on: m4 High",
        "Failed": "final score 80.0 < pass 90: m4 High",
    }
    assert reading.message == expected_message[scores_phase]


async def test_an_interim_score_at_marginal_stops_the_analysis():
    answers = {f"m{index}-{side}": [STEADY] for index in range(4) for side in ("canary", "baseline")}
    answers["m3-canary"] = [RAISED]
    config = judge_config(*(query(f"m{index}") for index in range(4)), scoreThresholds={"pass": 90, "marginal": 75})
    reading = await measure(judge_metric(config, interval="5m", count=4), Prometheus(answers))
    assert (reading.phase, reading.message) == ("Failed", "interim score 75.0 <= marginal 75: stopping: m3 High")


async def test_a_bad_config_is_an_error_naming_the_field():
    config = judge_config(query("errors", tolerance="wide", mustHavedata=True))
    reading = await measure(judge_metric(config), Prometheus({}))
    assert reading.phase == "Error"
    assert reading.message == (
        'provider.plugin["ramp/judge"] is invalid: metrics[0].tolerance: must be a number, got "wide"; '
        "metrics[0].mustHavedata: is not a setting of the judge (misspelt?)"
    )


async def test_a_failing_query_is_an_error_naming_the_metric_and_side():
    failure = httpx.Response(
        400, json={"status": "error", "errorType": "bad_data", "error": 'parse error at char 5: unexpected "}"'}
    )
    prometheus = Prometheus({"errors-canary": [STEADY]}, fail={"errors-baseline": failure})
    reading = await measure(judge_metric(judge_config(query("errors"))), prometheus)
    assert reading.phase == "Error"
    assert reading.message == 'metric errors: baseline query failed: bad_data: parse error at char 5: unexpected "}"'


async def test_an_unreachable_prometheus_is_an_error():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        context = MeasurementContext(
            metric=judge_metric(judge_config(query("errors"))),
            namespace="shop", run_name="web-1", run_uid="uid-1", now=NOW, http=http,
        )  # fmt: skip
        reading = await measure_safely(JudgeProvider(), context)
    assert reading.phase == "Error"
    assert reading.message == (
        f"metric errors: canary query failed: cannot reach Prometheus at {ADDRESS}: connection refused"
    )


async def test_a_window_that_ends_before_it_starts_is_an_error():
    config = judge_config(query("errors"), start="2024-05-01T13:00:00Z")
    reading = await measure(judge_metric(config), Prometheus({}))
    assert reading.phase == "Error"
    assert "window of metric errors starts at 2024-05-01T13:00:00+00:00, after its end" in reading.message


def test_config_defaults_follow_kayenta():
    config = parse_judge_config(judge_config(query("errors")))
    [metric] = config.metrics
    assert (metric.tolerance, metric.confidence, metric.direction, metric.nan_strategy) == (
        0.25, 0.98, "either", "remove",
    )  # fmt: skip
    assert (config.score_thresholds.pass_, config.score_thresholds.marginal) == (95, 75)
    assert metric.effective_groups == ("default",)


def test_config_takes_numbers_and_booleans_substituted_as_text():
    config = parse_judge_config(judge_config(query("errors", tolerance="0.4", critical="true")))
    assert (config.metrics[0].tolerance, config.metrics[0].critical) == (0.4, True)


def test_config_takes_headers_as_a_mapping_too():
    config = judge_config(query("errors"))
    config["prometheus"]["headers"] = {"X-Scope-OrgID": "team-a"}
    assert parse_judge_config(config).prometheus.header_map == {"X-Scope-OrgID": "team-a"}


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        pytest.param({"metrics": [query("e")]}, "prometheus: is required", id="no-backend"),
        pytest.param(judge_config(), "metrics: list should have at least 1 item", id="no-metric"),
        pytest.param(
            judge_config(query("e", canaryQuery="")), "metrics[0].canaryQuery: string should have at least 1",
            id="empty-query",
        ),
        pytest.param(
            judge_config(query("e"), lookback="5m", start="2024-05-01T10:00:00Z"),
            "start: set either lookback or start, not both", id="lookback-and-start",
        ),
        pytest.param(
            judge_config(query("e", start="2024-05-01T10:00:00Z", end="2024-05-01T09:00:00Z")),
            "metrics[0].end: must be later than start", id="end-before-start",
        ),
        pytest.param(judge_config(query("e", step="0s")), "metrics[0].step: must be longer than 0", id="zero-step"),
        pytest.param(
            judge_config(query("e", direction="up")), "metrics[0].direction: must be one of 'increase', 'decrease'",
            id="unknown-direction",
        ),
        pytest.param(
            judge_config(query("e", confidence=1.5)), "metrics[0].confidence: input should be less than 1",
            id="confidence-above-one",
        ),
        pytest.param(
            judge_config(query("e", effectSize={"allowedIncrease": 0.8})),
            "metrics[0].effectSize.allowedIncrease: input should be greater than or equal to 1",
            id="an-allowed-increase-below-one",
        ),
        pytest.param(
            judge_config(query("e"), query("e")), 'metrics[1].name: "e" names another metric too', id="duplicate-names",
        ),
        pytest.param(
            judge_config(query("e", muted=True)), "metrics: at least one metric must not be muted", id="all-muted",
        ),
        pytest.param(
            judge_config(query("e", groups=["errors"]), groupWeights={"latency": 50}),
            'groupWeights["latency"]: no metric is in this group (groups: errors)', id="weight-of-an-unknown-group",
        ),
        pytest.param(
            judge_config(query("e", groups=["a"]), query("f", groups=["b"]), groupWeights={"a": 70, "b": 20}),
            "groupWeights: give every group a weight, so must add up to 100, not 90", id="weights-short-of-100",
        ),
        pytest.param(
            judge_config(query("e", groups=["a"]), query("f", groups=["b"]), groupWeights={"a": 70}, ),
            None, id="an-unweighted-group-takes-the-rest",
        ),
        pytest.param(
            judge_config(query("e"), scoreThresholds={"pass": 60, "marginal": 80}),
            "scoreThresholds.marginal: must not be above pass (60)", id="marginal-above-pass",
        ),
    ],
)  # fmt: skip
def test_config_problems_name_the_field(config, problem):
    if problem is None:
        parse_judge_config(config)
        return
    with pytest.raises(ManifestError) as raised:
        parse_judge_config(config)
    assert problem in raised.value.summary()


def test_the_documented_template_is_a_valid_template_and_judge_config():
    text = (Path(__file__).parents[3] / "docs" / "judge.md").read_text()
    blocks = [block.split("```", 1)[0] for block in text.split("```yaml\n")[1:]]
    template = parse_analysis_template(yaml.safe_load(next(b for b in blocks if "kind: AnalysisTemplate" in b)))
    assert unknown_fields(template) == []
    [metric] = template.spec.metrics or []
    assert configured_providers(metric.provider) == ["plugin/ramp/judge"]
    config = parse_judge_config((metric.provider.plugin or {})["ramp/judge"])
    assert [item.name for item in config.metrics] == ["error-rate", "p99-latency", "cpu"]
