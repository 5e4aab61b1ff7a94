"""The statistical canary judge (`ramp/judge`) against a real Prometheus (Debian's package), no cluster.

The server's history (built by promtool before it starts) holds ten minutes of an error ratio and a p99 latency
at 15 s steps, ending when the module is imported: one baseline, an "equal" canary drawn from the same
distribution (the same wave at another phase, so the rank test really runs) and a "worse" canary whose error
ratio is five times higher. The judge measures at the current time over the last five minutes, so each side
gives it 21 samples, and its verdicts must be the ones docs/judge.md promises.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ramp.api.analysis import Metric
from ramp.api.analysis_status import AnalysisPhase
from ramp.providers.base import MeasurementContext, Reading
from ramp.providers.judge.provider import JudgeProvider
from tests.backends.prometheus import PrometheusServer, format_openmetrics, start_prometheus

STEP_SECONDS = 15
HISTORY_STEPS = 40  # ten minutes: the judge's five-minute window lies well inside it
HISTORY_END = int(datetime.now(UTC).timestamp()) - 120  # judged later than it ends, as a slow run would
SAMPLES_PER_SIDE = 21  # a 5m window at 15s, both ends included

BASELINE_ERRORS = 0.01
BASELINE_LATENCY = 0.2
WORSE_FACTOR = 5.0


def wave(base: float, spread: float, frequency: float, phase: float) -> list[tuple[float, float]]:
    """(unix seconds, value) every 15 s over the history: base x (1 + spread x sin), deterministic noise."""
    start = HISTORY_END - HISTORY_STEPS * STEP_SECONDS
    return [
        (start + k * STEP_SECONDS, base * (1 + spread * math.sin(frequency * k + phase)))
        for k in range(HISTORY_STEPS + 1)
    ]


def build_history() -> str:
    series: dict[str, list[tuple[dict[str, str], float, float]]] = {"http_error_ratio": [], "http_latency_p99": []}
    sides = {
        # labels: (error ratio factor, phase); the phases differ so canary and baseline values never coincide
        (("version", "baseline"),): (1.0, 0.0),
        (("version", "canary"), ("scenario", "equal")): (1.0, 2.0),
        (("version", "canary"), ("scenario", "worse")): (WORSE_FACTOR, 2.0),
    }
    for labels, (factor, phase) in sides.items():
        for moment, value in wave(BASELINE_ERRORS * factor, 0.1, 0.9, phase):
            series["http_error_ratio"].append((dict(labels), moment, value))
        for moment, value in wave(BASELINE_LATENCY, 0.05, 1.1, phase + 1.0):
            series["http_latency_p99"].append((dict(labels), moment, value))
    return format_openmetrics(series)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    server = start_prometheus(tmp_path_factory.mktemp("prometheus"), build_history())
    yield server
    server.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def compare(name: str, metric: str, scenario: str, group: str, **settings: Any) -> dict[str, Any]:
    """A judge metric comparing one canary scenario with the baseline; `settings` adds judge fields."""
    return {
        "name": name,
        "groups": [group],
        "direction": "increase",
        "canaryQuery": f'{metric}{{version="canary", scenario="{scenario}"}}',
        "baselineQuery": f'{metric}{{version="baseline"}}',
        **settings,
    }


def judge_template(prometheus: PrometheusServer, scenario: str, *extra: dict[str, Any]) -> dict[str, Any]:
    """The metric of an AnalysisTemplate, as docs/judge.md writes one: errors weigh 60, latency 40."""
    return {
        "name": "judge",
        "provider": {
            "plugin": {
                "ramp/judge": {
                    "prometheus": {"address": prometheus.url, "timeout": 20},
                    "lookback": "5m",
                    "step": "15s",
                    "scoreThresholds": {"pass": 90, "marginal": 75},
                    "groupWeights": {"errors": 60, "latency": 40},
                    "metrics": [
                        compare("error-rate", "http_error_ratio", scenario, "errors"),
                        compare("p99-latency", "http_latency_p99", scenario, "latency"),
                        *extra,
                    ],
                }
            }
        },
    }


async def judge(
    http: httpx.AsyncClient, template: dict[str, Any], run: dict[str, Any] | None = None, **fields: Any
) -> Reading:
    metric = Metric.model_validate({**template, **fields})
    context = MeasurementContext(
        metric=metric,
        namespace="default",
        run_name="run",
        run_uid="uid",
        # Judged at the end of the recorded history, not at the wall clock: the module may be imported minutes
        # before its tests run, and Prometheus would fill the gap by repeating the last samples.
        now=datetime.fromtimestamp(HISTORY_END, UTC),
        http=http,
        run=run or {},
    )
    return await JudgeProvider().measure(context)


def classifications(reading: Reading) -> dict[str, str]:
    return {name: entry["classification"] for name, entry in json.loads(reading.metadata["metrics"]).items()}


async def test_a_canary_like_its_baseline_passes(http: httpx.AsyncClient, prometheus: PrometheusServer) -> None:
    reading = await judge(http, judge_template(prometheus, "equal"))

    assert (reading.phase, reading.value, reading.message) == (
        AnalysisPhase.SUCCESSFUL,
        "100.0",
        "score 100.0 >= pass 90",
    )
    assert reading.result >= 90
    metrics = json.loads(reading.metadata["metrics"])
    assert classifications(reading) == {"error-rate": "Pass", "p99-latency": "Pass"}
    for entry in metrics.values():
        # The rank test ran on the real samples: an interval that straddles no shift, a mean ratio near 1.
        assert (entry["canarySamples"], entry["baselineSamples"]) == (SAMPLES_PER_SIDE, SAMPLES_PER_SIDE)
        assert entry["ciLow"] <= 0 <= entry["ciHigh"]
        assert entry["effectSize"] == pytest.approx(1.0, abs=0.05)
    assert json.loads(reading.metadata["groupScores"]) == {"errors": 100.0, "latency": 100.0}


async def test_a_canary_with_five_times_the_errors_fails(http: httpx.AsyncClient, prometheus: PrometheusServer) -> None:
    reading = await judge(http, judge_template(prometheus, "worse"))

    # errors (60%) score 0, latency (40%) 100: 40, below marginal 75.
    assert (reading.phase, reading.value) == (AnalysisPhase.FAILED, "40.0")
    assert reading.message == "score 40.0 < pass 90: error-rate High"
    assert classifications(reading) == {"error-rate": "High", "p99-latency": "Pass"}
    errors = json.loads(reading.metadata["metrics"])["error-rate"]
    assert errors["reason"] == "canary is higher"
    assert 0 < errors["ciLow"] <= errors["estimate"] <= errors["ciHigh"]
    assert errors["estimate"] == pytest.approx(BASELINE_ERRORS * (WORSE_FACTOR - 1), rel=0.2)
    assert errors["effectSize"] == pytest.approx(WORSE_FACTOR, rel=0.1)
    assert json.loads(reading.metadata["groupScores"]) == {"errors": 0.0, "latency": 100.0}


# The canary of "retired" has no series at all: its query answers an empty matrix.
def missing_canary(**settings: Any) -> dict[str, Any]:
    return {
        "name": "retired-errors",
        "groups": ["errors"],
        "canaryQuery": 'http_error_ratio{version="canary", scenario="retired"}',
        "baselineQuery": 'http_error_ratio{version="baseline"}',
        **settings,
    }


@pytest.mark.parametrize(
    ("settings", "phase", "value", "message", "classification", "group_scores"),
    [
        pytest.param(
            {},
            AnalysisPhase.SUCCESSFUL,
            "100.0",
            "score 100.0 >= pass 90: retired-errors Nodata",
            "Nodata",
            {"errors": 100.0, "latency": 100.0},
            id="nodata_is_left_out_of_the_score",
        ),
        pytest.param(
            {"mustHaveData": True},
            AnalysisPhase.FAILED,
            "70.0",
            "score 70.0 < pass 90: retired-errors NodataFailure",
            "NodataFailure",
            {"errors": 50.0, "latency": 100.0},
            id="must_have_data_counts_nodata_as_a_failure_of_its_group",
        ),
        pytest.param(
            {"critical": True},
            AnalysisPhase.FAILED,
            "0.0",
            "score 0.0 < pass 90: critical metric failed: retired-errors Nodata",
            "Nodata",
            {"errors": 100.0, "latency": 100.0},
            id="a_critical_metric_without_data_fails_the_judgement",
        ),
    ],
)
async def test_a_side_without_data(
    http: httpx.AsyncClient,
    prometheus: PrometheusServer,
    settings: dict[str, Any],
    phase: str,
    value: str,
    message: str,
    classification: str,
    group_scores: dict[str, float],
) -> None:
    reading = await judge(http, judge_template(prometheus, "equal", missing_canary(**settings)))

    assert (reading.phase, reading.value, reading.message) == (phase, value, message)
    assert classifications(reading) == {"error-rate": "Pass", "p99-latency": "Pass", "retired-errors": classification}
    retired = json.loads(reading.metadata["metrics"])["retired-errors"]
    # No test ran, so no statistics are reported; the counts show which side was empty.
    assert not {"estimate", "ciLow", "ciHigh", "effectSize"} & set(retired)
    assert (retired["canarySamples"], retired["baselineSamples"]) == (0, SAMPLES_PER_SIDE)
    assert retired["reason"].startswith("no canary data")
    assert json.loads(reading.metadata["groupScores"]) == group_scores


def run_with(completed: int) -> dict[str, Any]:
    return {"status": {"metricResults": [{"name": "judge", "count": completed}]}}


@pytest.mark.parametrize(
    ("scenario", "completed", "phase", "message"),
    [
        pytest.param(
            "worse",
            0,
            AnalysisPhase.FAILED,
            "interim score 40.0 <= marginal 75: stopping: error-rate High",
            id="an_interim_interval_at_or_below_marginal_stops_the_analysis",
        ),
        pytest.param(
            "equal",
            1,
            AnalysisPhase.SUCCESSFUL,
            "interim score 100.0 > marginal 75: carrying on",
            id="a_good_interim_interval_carries_on",
        ),
        pytest.param(
            "equal",
            2,
            AnalysisPhase.SUCCESSFUL,
            "final score 100.0 >= pass 90",
            id="the_last_interval_passes_at_or_above_pass",
        ),
    ],
)
async def test_a_metric_measured_three_times_judges_each_interval(
    http: httpx.AsyncClient, prometheus: PrometheusServer, scenario: str, completed: int, phase: str, message: str
) -> None:
    template = judge_template(prometheus, scenario)
    reading = await judge(http, template, run_with(completed), interval="5m", count=3)

    assert (reading.phase, reading.message) == (phase, message)
