"""Scoring of the canary judge: from per-metric classifications to one score, and from scores to a verdict.

`score_metrics` follows Kayenta's weighted-sum scorer: muted metrics are left out; a critical failure, or
Nodata for half the metrics or more, scores 0; otherwise each group scores the share of its countable metrics
(Pass, High, Low, NodataFailure) that passed, a group with none scoring 100, and the total is the weighted sum
of the group scores (groups without a weight share what the weights leave of 100), rounded half up to two
decimals. `classify_score` turns a score into Pass (>= pass), Marginal (>= marginal) or Fail.
`decide_interval` and `judge_intervals` apply the rule for an analysis of several intervals: any interim score
at or below marginal stops it as failed, and the last score must reach pass.

Pure. Uses the labels of `ramp.providers.judge.classify`; used by `ramp.providers.judge.provider`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from ramp.providers.judge.classify import Classification

DEFAULT_GROUP = "default"
"""The group of a metric that names none."""

NODATA_LIMIT_PERCENT = 50.0
"""Share of (unmuted) metrics without data at which the judgement fails outright."""


class ScoreClassification(StrEnum):
    """The verdict on a score."""

    PASS = "Pass"
    MARGINAL = "Marginal"
    FAIL = "Fail"


class IntervalPosition(StrEnum):
    """Where a judgement sits in the analysis: its only interval, one before the last, or the last."""

    ONLY = "only"
    INTERIM = "interim"
    FINAL = "final"


@dataclass(frozen=True)
class Thresholds:
    """Score thresholds, 0-100: at or above `pass_` the canary passes, at or above `marginal` it is marginal."""

    pass_: float = 95.0
    marginal: float = 75.0


@dataclass(frozen=True)
class MetricOutcome:
    """One metric's classification as the scorer sees it."""

    name: str
    classification: Classification
    groups: tuple[str, ...] = ()
    critical_failure: bool = False
    muted: bool = False

    @property
    def effective_groups(self) -> tuple[str, ...]:
        """The metric's groups; the default group when it names none."""
        return self.groups or (DEFAULT_GROUP,)


@dataclass(frozen=True)
class Score:
    """A judgement's score, each group's score, and why it is 0 when a rule overrode the groups."""

    value: float
    group_scores: Mapping[str, float] = field(default_factory=dict)
    reason: str = ""


def score_metrics(outcomes: Iterable[MetricOutcome], group_weights: Mapping[str, float] | None = None) -> Score:
    """The score (0-100) of one judgement.

    Examples: metrics a: Pass, b: High in one group -> 50.0. Groups "errors" (weight 60) with a: Pass and
    "latency" (unweighted) with b: Low -> 60.0. A critical metric b: High -> 0.0 whatever the others.
    """
    counted = [outcome for outcome in outcomes if not outcome.muted]
    weights = dict(group_weights or {})
    group_scores = calculate_group_scores(counted)
    critical = [outcome for outcome in counted if outcome.critical_failure]
    if critical:
        names = ", ".join(f"{outcome.name} {outcome.classification}" for outcome in critical)
        return Score(0.0, group_scores, f"critical metric failed: {names}")
    nodata = sum(1 for outcome in counted if outcome.classification is Classification.NODATA)
    if counted and nodata * 100 / len(counted) >= NODATA_LIMIT_PERCENT:
        return Score(0.0, group_scores, f"{nodata} of {len(counted)} metrics have no data")
    return Score(combine_group_scores(group_scores, weights), group_scores)


def calculate_group_scores(outcomes: Sequence[MetricOutcome]) -> dict[str, float]:
    """Each group's share of passing metrics among its countable ones, in percent (100 when none counts)."""
    members: dict[str, list[Classification]] = {}
    for outcome in outcomes:
        for group in outcome.effective_groups:
            members.setdefault(group, []).append(outcome.classification)
    countable = {Classification.PASS, Classification.HIGH, Classification.LOW, Classification.NODATA_FAILURE}
    scores: dict[str, float] = {}
    for group, labels in members.items():
        total = sum(1 for label in labels if label in countable)
        passed = sum(1 for label in labels if label is Classification.PASS)
        scores[group] = passed * 100 / total if total else 100.0
    return scores


def combine_group_scores(group_scores: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """Σ score·weight/100, groups without a weight sharing 100 - Σ weights equally; two decimals, half up."""
    unweighted = [group for group in group_scores if group not in weights]
    share = (100 - sum(weights.values())) / len(unweighted) if unweighted else 0.0
    total = sum(score * weights.get(group, share) / 100 for group, score in group_scores.items())
    return round_half_up(total)


def round_half_up(value: float, places: int = 2) -> float:
    """Round as Kayenta does (decimal half up on the shortest text of the number): 87.125 -> 87.13."""
    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def classify_score(score: float, thresholds: Thresholds) -> ScoreClassification:
    """Pass at or above the pass threshold, Marginal at or above the marginal one, else Fail."""
    if score >= thresholds.pass_:
        return ScoreClassification.PASS
    if score >= thresholds.marginal:
        return ScoreClassification.MARGINAL
    return ScoreClassification.FAIL


def decide_interval(score: float, thresholds: Thresholds, position: IntervalPosition) -> ScoreClassification:
    """The verdict on one interval's score, given where it sits in the analysis.

    - only interval: `classify_score`.
    - interim: Fail (stop) at or below marginal; otherwise Pass, meaning "carry on".
    - final: Pass at or above pass; otherwise Fail.
    """
    if position is IntervalPosition.INTERIM:
        return ScoreClassification.FAIL if score <= thresholds.marginal else ScoreClassification.PASS
    if position is IntervalPosition.FINAL:
        return ScoreClassification.PASS if score >= thresholds.pass_ else ScoreClassification.FAIL
    return classify_score(score, thresholds)


def judge_intervals(scores: Sequence[float], thresholds: Thresholds) -> ScoreClassification:
    """The verdict on a whole analysis of several intervals, from its scores in time order.

    One score: `classify_score`. Several: the first interim score at or below marginal fails it (the later
    ones were never taken); otherwise the last decides, passing only at or above pass.
    Raises ValueError for no score at all.
    """
    if not scores:
        raise ValueError("an analysis needs at least one interval's score")
    if len(scores) == 1:
        return classify_score(scores[0], thresholds)
    for score in scores[:-1]:
        if decide_interval(score, thresholds, IntervalPosition.INTERIM) is ScoreClassification.FAIL:
            return ScoreClassification.FAIL
    return decide_interval(scores[-1], thresholds, IntervalPosition.FINAL)
