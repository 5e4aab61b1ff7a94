"""Scoring: groups, weights, muted and critical metrics, the no-data rule, thresholds and several intervals."""

from __future__ import annotations

import pytest

from ramp.providers.judge.classify import Classification
from ramp.providers.judge.score import (
    IntervalPosition,
    MetricOutcome,
    ScoreClassification,
    Thresholds,
    classify_score,
    decide_interval,
    judge_intervals,
    round_half_up,
    score_metrics,
)

P, H, L = Classification.PASS, Classification.HIGH, Classification.LOW
N, NF = Classification.NODATA, Classification.NODATA_FAILURE


def metric(name, label, *groups, critical=False, muted=False):
    return MetricOutcome(name, label, tuple(groups), critical_failure=critical, muted=muted)


@pytest.mark.parametrize(
    ("outcomes", "weights", "expected"),
    [
        pytest.param([metric("a", P), metric("b", P)], {}, 100.0, id="all-pass"),
        pytest.param([metric("a", P), metric("b", H)], {}, 50.0, id="one-of-two-high"),
        pytest.param([metric("a", P), metric("b", L), metric("c", P)], {}, 66.67, id="rounded-to-two-decimals"),
        pytest.param(
            [metric("a", P), metric("b", NF), metric("c", P), metric("d", P)], {}, 75.0,
            id="missing-required-data-counts-as-failing",
        ),
        pytest.param(
            [metric("a", P), metric("b", N), metric("c", P)], {}, 100.0,
            id="plain-nodata-is-left-out-of-the-group",
        ),
        pytest.param(
            [metric("a", P), metric("b", H, muted=True)], {}, 100.0, id="muted-metrics-do-not-count",
        ),
        pytest.param(
            [metric("a", P, "errors"), metric("b", L, "latency")], {"errors": 60, "latency": 40}, 60.0,
            id="weighted-groups",
        ),
        pytest.param(
            [metric("a", P, "errors"), metric("b", L, "latency"), metric("c", P, "saturation")], {"errors": 50},
            75.0, id="unweighted-groups-share-the-rest",
        ),
        pytest.param(
            [metric("a", P, "errors", "golden"), metric("b", H, "golden")], {}, 75.0,
            id="a-metric-counts-in-each-of-its-groups",
        ),
        pytest.param(
            [metric("a", P, "errors"), metric("b", N, "latency"), metric("c", P, "errors")], {}, 100.0,
            id="a-group-with-nothing-countable-scores-100",
        ),
        pytest.param(
            [metric("a", P), metric("b", H, critical=True), metric("c", P)], {}, 0.0,
            id="a-critical-failure-scores-zero",
        ),
        pytest.param(
            [metric("a", P), metric("b", N), metric("c", N), metric("d", P)], {}, 0.0,
            id="half-the-metrics-without-data-scores-zero",
        ),
        pytest.param(
            [metric("a", P), metric("b", N), metric("c", P)], {}, 100.0,
            id="a-third-without-data-is-fine",
        ),
        pytest.param(
            [metric("a", P), metric("b", N, muted=True)], {}, 100.0,
            id="muted-metrics-without-data-do-not-count-towards-the-nodata-rule",
        ),
        pytest.param(
            [metric("a", P), metric("b", NF), metric("c", NF)], {}, 33.33,
            id="nodata-failures-do-not-trigger-the-nodata-rule",
        ),
        pytest.param([metric("a", H, muted=True)], {}, 0.0, id="nothing-counted-scores-zero"),
    ],
)  # fmt: skip
def test_score(outcomes, weights, expected):
    assert score_metrics(outcomes, weights).value == expected


def test_group_scores_and_reasons_are_reported():
    score = score_metrics([metric("a", P, "errors"), metric("b", H, "latency", critical=True)])
    assert score.group_scores == {"errors": 100.0, "latency": 0.0}
    assert score.reason == "critical metric failed: b High"
    nodata = score_metrics([metric("a", N), metric("b", P)])
    assert nodata.reason == "1 of 2 metrics have no data"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(87.125, 87.13), (66.666666, 66.67), (0.005, 0.01), (99.994, 99.99), (100.0, 100.0)],
)
def test_scores_round_half_up(value, expected):
    assert round_half_up(value) == expected


THRESHOLDS = Thresholds(pass_=90, marginal=75)


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (100.0, ScoreClassification.PASS),
        (90.0, ScoreClassification.PASS),
        (89.99, ScoreClassification.MARGINAL),
        (75.0, ScoreClassification.MARGINAL),
        (74.99, ScoreClassification.FAIL),
        (0.0, ScoreClassification.FAIL),
    ],
)
def test_score_classification(score, expected):
    assert classify_score(score, THRESHOLDS) is expected


@pytest.mark.parametrize(
    ("score", "position", "expected"),
    [
        pytest.param(80.0, IntervalPosition.ONLY, ScoreClassification.MARGINAL, id="only-interval-can-be-marginal"),
        pytest.param(80.0, IntervalPosition.INTERIM, ScoreClassification.PASS, id="interim-above-marginal-goes-on"),
        pytest.param(75.0, IntervalPosition.INTERIM, ScoreClassification.FAIL, id="interim-at-marginal-stops"),
        pytest.param(50.0, IntervalPosition.INTERIM, ScoreClassification.FAIL, id="interim-below-marginal-stops"),
        pytest.param(90.0, IntervalPosition.FINAL, ScoreClassification.PASS, id="final-at-pass-passes"),
        pytest.param(89.0, IntervalPosition.FINAL, ScoreClassification.FAIL, id="final-below-pass-fails"),
    ],
)
def test_interval_decision(score, position, expected):
    assert decide_interval(score, THRESHOLDS, position) is expected


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        pytest.param([95.0], ScoreClassification.PASS, id="one-interval-passing"),
        pytest.param([80.0], ScoreClassification.MARGINAL, id="one-interval-marginal"),
        pytest.param([80.0, 85.0, 92.0], ScoreClassification.PASS, id="interims-above-marginal-last-passing"),
        pytest.param([80.0, 70.0, 100.0], ScoreClassification.FAIL, id="an-interim-at-or-below-marginal-stops"),
        pytest.param([100.0, 100.0, 89.0], ScoreClassification.FAIL, id="the-last-must-reach-pass"),
    ],
)
def test_several_intervals(scores, expected):
    assert judge_intervals(scores, THRESHOLDS) is expected


def test_no_interval_at_all_is_refused():
    with pytest.raises(ValueError, match="at least one"):
        judge_intervals([], THRESHOLDS)
