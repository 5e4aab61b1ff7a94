"""Per-metric classification: direction, tolerance, effect sizes, critical metrics, missing data and NaNs."""

from __future__ import annotations

import math

import pytest

from ramp.providers.judge.classify import (
    Classification,
    Direction,
    MetricCriteria,
    NanStrategy,
    classify_metric,
)

HIGH = [11.0, 12.0, 13.0, 14.0, 15.0, 12.0, 13.0, 14.0]
LOW = [1.0, 2.0, 3.0, 4.0, 5.0, 2.0, 3.0, 4.0]
# Latencies on a half-second grid: the canary is about 1 s slower, the interval about [0.5, 1] (see R tests).
LATENCY_CANARY = [2.5, 3.0, 3.5, 3.0, 2.5, 4.0, 3.5, 3.0, 5.5, 3.0, 3.5, 4.0, 3.0, 2.5, 3.5,
                  4.5, 3.0, 3.5, 3.0, 4.0, 3.5, 3.0, 2.5, 3.5, 6.0, 3.0, 3.5, 4.0, 3.0, 3.5]  # fmt: skip
LATENCY_BASELINE = [2.0, 2.5, 2.5, 3.0, 2.0, 2.5, 3.0, 2.5, 2.0, 4.5, 2.5, 3.0, 2.5, 2.0, 2.5,
                    3.0, 2.5, 2.5, 2.0, 3.5, 2.5, 3.0, 2.0, 2.5, 2.5, 3.0, 2.5, 2.0, 5.0, 2.5]  # fmt: skip
NAN = math.nan


@pytest.mark.parametrize(
    ("canary", "baseline", "criteria", "expected"),
    [
        pytest.param(HIGH, LOW, MetricCriteria(), Classification.HIGH, id="a-higher-canary-is-high"),
        pytest.param(LOW, HIGH, MetricCriteria(), Classification.LOW, id="a-lower-canary-is-low"),
        pytest.param(
            HIGH, LOW, MetricCriteria(direction=Direction.DECREASE), Classification.PASS,
            id="a-rise-passes-when-only-falls-matter",
        ),
        pytest.param(
            LOW, HIGH, MetricCriteria(direction=Direction.INCREASE), Classification.PASS,
            id="a-fall-passes-when-only-rises-matter",
        ),
        pytest.param(
            HIGH, LOW, MetricCriteria(direction=Direction.INCREASE), Classification.HIGH,
            id="a-rise-is-high-when-rises-matter",
        ),
        pytest.param(
            LOW, HIGH, MetricCriteria(direction=Direction.DECREASE), Classification.LOW,
            id="a-fall-is-low-when-falls-matter",
        ),
        pytest.param(
            HIGH, LOW, MetricCriteria(allowed_increase=5.0), Classification.PASS,
            id="a-rise-smaller-than-the-allowed-increase-passes",
        ),
        pytest.param(
            LOW, HIGH, MetricCriteria(allowed_decrease=0.1), Classification.PASS,
            id="a-fall-smaller-than-the-allowed-decrease-passes",
        ),
        pytest.param(
            LATENCY_CANARY, LATENCY_BASELINE, MetricCriteria(), Classification.HIGH,
            id="interval-beyond-a-quarter-of-the-estimate-is-high",
        ),
        pytest.param(
            LATENCY_CANARY, LATENCY_BASELINE, MetricCriteria(tolerance=0.6), Classification.PASS,
            id="interval-within-a-wider-tolerance-passes",
        ),
        pytest.param(
            [1.0, 2.0, 3.0], [2.0, 3.0, 4.0], MetricCriteria(), Classification.PASS,
            id="overlapping-samples-pass",
        ),
        pytest.param(
            [1.0, 2.0, 3.0], [4.0, 5.0, 6.0], MetricCriteria(), Classification.LOW,
            id="samples-that-do-not-overlap-differ-even-when-small",
        ),
        pytest.param(
            [3.0, 1.0, 2.0], [1.0, 2.0, 3.0], MetricCriteria(), Classification.PASS,
            id="identical-samples-pass",
        ),
        pytest.param([4.0, 4.0], [4.0, 4.0, 4.0], MetricCriteria(), Classification.PASS, id="one-value-everywhere"),
        pytest.param(
            [5.0] * 10, [3.0] * 10, MetricCriteria(), Classification.HIGH,
            id="two-constant-sides-are-compared-with-noise",
        ),
        pytest.param(
            [1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0], [0.0] * 8, MetricCriteria(), Classification.HIGH,
            id="errors-where-the-baseline-has-none-are-high-though-the-ratio-is-undefined",
        ),
        pytest.param(
            [7.0], [5.0], MetricCriteria(), Classification.NODATA,
            id="one-value-a-side-is-too-little-to-compare",
        ),
    ],
)  # fmt: skip
def test_classification(canary, baseline, criteria, expected):
    assert classify_metric(canary, baseline, criteria).classification is expected


@pytest.mark.parametrize(
    ("canary", "baseline", "criteria", "expected", "critical_failure"),
    [
        pytest.param([], LOW, MetricCriteria(), Classification.NODATA, False, id="no-canary-data"),
        pytest.param(HIGH, [], MetricCriteria(), Classification.NODATA, False, id="no-baseline-data"),
        pytest.param(
            [], LOW, MetricCriteria(must_have_data=True), Classification.NODATA_FAILURE, False,
            id="missing-data-a-metric-must-have-fails-in-its-group",
        ),
        pytest.param(
            [], LOW, MetricCriteria(critical=True), Classification.NODATA, True,
            id="missing-data-of-a-critical-metric-fails-the-judgement",
        ),
        pytest.param(
            [], LOW, MetricCriteria(critical=True, must_have_data=True), Classification.NODATA, True,
            id="critical-wins-over-must-have-data",
        ),
        pytest.param(
            [NAN, NAN], LOW, MetricCriteria(), Classification.NODATA, False, id="only-nans-are-no-data",
        ),
        pytest.param(
            [NAN, math.inf, -math.inf], [0.0, 0.0, 0.0], MetricCriteria(nan_strategy=NanStrategy.REPLACE),
            Classification.PASS, False, id="replaced-nans-and-infinities-count-as-zero",
        ),
        pytest.param(
            HIGH, LOW, MetricCriteria(critical=True), Classification.HIGH, True,
            id="a-critical-metric-that-is-high-fails-the-judgement",
        ),
        pytest.param(
            LOW, HIGH, MetricCriteria(critical=True), Classification.LOW, True,
            id="a-critical-metric-that-is-low-fails-the-judgement",
        ),
        pytest.param(
            HIGH, LOW, MetricCriteria(critical=True, critical_increase=10.0), Classification.HIGH, False,
            id="high-below-the-critical-increase-only-counts-in-its-group",
        ),
        pytest.param(
            LOW, HIGH, MetricCriteria(critical=True, critical_decrease=0.1), Classification.LOW, False,
            id="low-above-the-critical-decrease-only-counts-in-its-group",
        ),
        pytest.param(
            [1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0], [0.0] * 8, MetricCriteria(critical=True, critical_increase=50.0),
            Classification.HIGH, True, id="an-undefined-ratio-counts-as-beyond-the-critical-increase",
        ),
        pytest.param(
            [1.0, 2.0, 3.0], [2.0, 3.0, 4.0], MetricCriteria(critical=True), Classification.PASS, False,
            id="a-critical-metric-that-passes-is-fine",
        ),
    ],
)  # fmt: skip
def test_missing_data_and_critical_metrics(canary, baseline, criteria, expected, critical_failure):
    result = classify_metric(canary, baseline, criteria)
    assert (result.classification, result.critical_failure) == (expected, critical_failure)


def test_nans_are_removed_before_comparing():
    with_nans = classify_metric([*HIGH, NAN, NAN], [NAN, *LOW], MetricCriteria())
    without = classify_metric(HIGH, LOW, MetricCriteria())
    assert with_nans == without
    assert (with_nans.canary_count, with_nans.baseline_count) == (len(HIGH), len(LOW))


def test_a_high_metric_reports_its_statistics():
    result = classify_metric(HIGH, LOW, MetricCriteria())
    assert result.estimate == pytest.approx(10.0, abs=1e-4)
    assert result.ci_low is not None and result.ci_high is not None
    assert 0.25 * 10 < result.ci_low < result.estimate < result.ci_high
    assert result.effect_size == pytest.approx(sum(HIGH) / sum(LOW))
    assert result.is_failing


def test_a_verdict_without_a_test_has_no_statistics():
    result = classify_metric([], LOW, MetricCriteria())
    assert (result.estimate, result.ci_low, result.ci_high, result.effect_size) == (None, None, None, None)
    assert result.reason == "no canary data"


def test_the_same_data_gets_the_same_verdict_despite_the_noise():
    first = classify_metric([5.0] * 10, [5.001] * 10, MetricCriteria())
    second = classify_metric([5.0] * 10, [5.001] * 10, MetricCriteria())
    assert first == second
