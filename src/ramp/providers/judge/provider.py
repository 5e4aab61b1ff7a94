"""The statistical canary judge as a metric provider: `provider: {plugin: {"ramp/judge": {...}}}`.

For each metric of its config, `JudgeProvider` runs the canary and the baseline range query over the same
window on Prometheus (`ramp.providers.prometheus_api`), classifies the metric (`classify`), scores the
judgement (`score`) and returns the phase it decided: Successful, Inconclusive or Failed. The metric's own
successCondition/failureCondition play no part (the reading is never EVALUATE). When the metric measures
several times (count > 1, or an interval with no count), each measurement is one interval of the analysis:
an interim score at or below marginal fails, and the last must reach pass. Which measurement this is comes from
the run's `status.metricResults[].count` (completed measurements, errors excluded, as upstream counts them).

The reading's `value` is the score ("87.5"); `metadata` holds `metrics` (per-metric classification, estimate,
interval and effect size as compact JSON) and `groupScores`. A bad config, a window that cannot be computed or
a query that fails gives an Error reading that says which.

Works with `ramp.providers.base` (the contract) and `ramp.providers.judge.config`; registered under the key
"plugin/ramp/judge" by the provider registry.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ramp.api.analysis import Metric
from ramp.api.analysis_status import AnalysisPhase
from ramp.api.validation import ManifestError
from ramp.providers.base import MeasurementContext, Reading, SingleShotProvider
from ramp.providers.judge.classify import Classification, MetricClassification, classify_metric
from ramp.providers.judge.config import (
    PLUGIN_NAME,
    JudgeConfig,
    JudgeMetric,
    QueryWindow,
    parse_judge_config,
    resolve_window,
)
from ramp.providers.judge.score import (
    IntervalPosition,
    MetricOutcome,
    Score,
    ScoreClassification,
    Thresholds,
    decide_interval,
    score_metrics,
)
from ramp.providers.prometheus_api import PrometheusEndpoint, PrometheusError, Series, query_range

QUERY_CONCURRENCY = 8
"""Range queries in flight at once for one judgement: enough to be quick, few enough to spare Prometheus."""

_PHASES = {
    ScoreClassification.PASS: AnalysisPhase.SUCCESSFUL,
    ScoreClassification.MARGINAL: AnalysisPhase.INCONCLUSIVE,
    ScoreClassification.FAIL: AnalysisPhase.FAILED,
}


class JudgeProvider(SingleShotProvider):
    """Compares canary and baseline metrics statistically and scores the canary (Kayenta's method)."""

    key: ClassVar[str] = f"plugin/{PLUGIN_NAME}"

    async def measure(self, context: MeasurementContext) -> Reading:
        plugin = context.metric.provider.plugin or {}
        try:
            config = parse_judge_config(plugin.get(PLUGIN_NAME))
        except ManifestError as problem:
            return Reading.error(problem.summary())
        try:
            interval = context.metric.interval
            windows = [resolve_window(config, metric, context.now, interval) for metric in config.metrics]
        except ValueError as problem:
            return Reading.error(str(problem))
        samples = await fetch_all_samples(context, config, windows)
        if isinstance(samples, str):
            return Reading.error(samples)
        classifications = {
            metric.name: classify_metric(canary, baseline, metric.criteria)
            for metric, (canary, baseline) in zip(config.metrics, samples, strict=True)
        }
        score = score_metrics(outcomes_of(config.metrics, classifications), config.group_weights)
        thresholds = config.score_thresholds.thresholds
        position = locate_interval(context.metric, context.run)
        verdict = decide_interval(score.value, thresholds, position)
        return Reading(
            _PHASES[verdict],
            result=score.value,
            value=repr(score.value),
            message=describe_judgement(score, verdict, position, thresholds, config.metrics, classifications),
            metadata=describe_metadata(score, config.metrics, classifications),
        )


async def fetch_all_samples(
    context: MeasurementContext, config: JudgeConfig, windows: Sequence[QueryWindow]
) -> list[tuple[list[float], list[float]]] | str:
    """Canary and baseline values of every metric, or the first query failure in words."""
    backend = config.prometheus
    endpoint = PrometheusEndpoint(
        address=backend.address,
        headers=backend.header_map,
        timeout_seconds=backend.timeout,
        insecure=backend.insecure,
    )
    slots = asyncio.Semaphore(QUERY_CONCURRENCY)

    async def fetch(metric: JudgeMetric, side: str, query: str, window: QueryWindow) -> list[float] | str:
        async with slots:
            try:
                series = await query_range(context.http, endpoint, query, window.start, window.end, window.step_seconds)
            except PrometheusError as problem:
                return f"metric {metric.name}: {side} query failed: {problem}"
        return pool_values(series)

    jobs = []
    for metric, window in zip(config.metrics, windows, strict=True):
        jobs.append(fetch(metric, "canary", metric.canary_query, window))
        jobs.append(fetch(metric, "baseline", metric.baseline_query, window))
    answers = await asyncio.gather(*jobs)
    pairs: list[tuple[list[float], list[float]]] = []
    for canary, baseline in zip(answers[::2], answers[1::2], strict=True):
        if isinstance(canary, str):
            return canary
        if isinstance(baseline, str):
            return baseline
        pairs.append((canary, baseline))
    return pairs


def pool_values(series: Sequence[Series]) -> list[float]:
    """Every sample value of every series a query returned, as one sample (timestamps do not matter)."""
    return [value for one in series for _, value in one.samples]


def outcomes_of(
    metrics: Sequence[JudgeMetric], classifications: Mapping[str, MetricClassification]
) -> list[MetricOutcome]:
    """What the scorer needs of each metric."""
    return [
        MetricOutcome(
            name=metric.name,
            classification=classifications[metric.name].classification,
            groups=metric.effective_groups,
            critical_failure=classifications[metric.name].critical_failure,
            muted=metric.muted,
        )
        for metric in metrics
    ]


def locate_interval(metric: Metric, run: Mapping[str, Any]) -> IntervalPosition:
    """Whether this measurement is the analysis' only interval, an interim one, or the last.

    A metric measured once is the only interval; one measured without a count never reaches a last interval.
    Otherwise the measurement after `count - 1` completed ones is the last.
    """
    try:
        count = metric.effective_count
    except ValueError:
        return IntervalPosition.ONLY  # an unresolved count: judge the measurement on its own
    if count == 1:
        return IntervalPosition.ONLY
    if count is None:
        return IntervalPosition.INTERIM
    return IntervalPosition.FINAL if count_measurements(run, metric.name) + 1 >= count else IntervalPosition.INTERIM


def count_measurements(run: Mapping[str, Any], metric_name: str) -> int:
    """Completed measurements of a metric so far, from the AnalysisRun's status (0 when none)."""
    status = run.get("status")
    results = status.get("metricResults") if isinstance(status, Mapping) else None
    for result in results if isinstance(results, list) else []:
        if isinstance(result, Mapping) and result.get("name") == metric_name:
            count = result.get("count")
            return count if isinstance(count, int) and not isinstance(count, bool) else 0
    return 0


def describe_judgement(
    score: Score,
    verdict: ScoreClassification,
    position: IntervalPosition,
    thresholds: Thresholds,
    metrics: Sequence[JudgeMetric],
    classifications: Mapping[str, MetricClassification],
) -> str:
    """One line for the measurement's message, such as "score 50.0 < pass 90: error-rate High"."""
    text = repr(score.value)
    if position is IntervalPosition.INTERIM:
        comparison = (
            f"interim score {text} <= marginal {thresholds.marginal:g}: stopping"
            if verdict is ScoreClassification.FAIL
            else f"interim score {text} > marginal {thresholds.marginal:g}: carrying on"
        )
    else:
        label = "final score" if position is IntervalPosition.FINAL else "score"
        if score.value >= thresholds.pass_:
            comparison = f"{label} {text} >= pass {thresholds.pass_:g}"
        elif verdict is ScoreClassification.MARGINAL:
            comparison = f"{label} {text} < pass {thresholds.pass_:g}, >= marginal {thresholds.marginal:g}"
        else:
            comparison = f"{label} {text} < pass {thresholds.pass_:g}"
    notable = [
        f"{metric.name} {classifications[metric.name].classification}"
        for metric in metrics
        if not metric.muted
        and classifications[metric.name].classification is not Classification.PASS
        and not classifications[metric.name].critical_failure  # the score's reason already names these
    ]
    details = [part for part in (score.reason, ", ".join(notable)) if part]
    return comparison + (": " + "; ".join(details) if details else "")


def describe_metadata(
    score: Score, metrics: Sequence[JudgeMetric], classifications: Mapping[str, MetricClassification]
) -> dict[str, str]:
    """The measurement's metadata: per-metric results and group scores, each as compact JSON."""
    results: dict[str, dict[str, Any]] = {}
    for metric in metrics:
        verdict = classifications[metric.name]
        entry: dict[str, Any] = {"classification": str(verdict.classification)}
        for key, number in (
            ("estimate", verdict.estimate),
            ("ciLow", verdict.ci_low),
            ("ciHigh", verdict.ci_high),
            ("effectSize", verdict.effect_size),
        ):
            if number is not None:
                entry[key] = _json_number(number)
        entry["canarySamples"] = verdict.canary_count
        entry["baselineSamples"] = verdict.baseline_count
        if verdict.reason:
            entry["reason"] = verdict.reason
        if verdict.critical_failure:
            entry["critical"] = True
        if metric.muted:
            entry["muted"] = True
        results[metric.name] = entry
    groups = {group: _json_number(value) for group, value in score.group_scores.items()}
    return {"metrics": _compact_json(results), "groupScores": _compact_json(groups)}


def _json_number(number: float) -> float | None:
    # JSON has no NaN or infinity; six significant digits keep the status short and are plenty to read.
    return float(f"{number:.6g}") if math.isfinite(number) else None


def _compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)
