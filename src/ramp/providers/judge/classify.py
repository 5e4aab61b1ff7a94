"""Per-metric classification of the canary judge: is the canary's metric higher, lower or no different?

`classify_metric` takes the canary and baseline samples of one metric and its `MetricCriteria` (direction,
tolerance, confidence, effect-size limits, critical, mustHaveData, nanStrategy) and returns a
`MetricClassification`: Pass, High, Low, Nodata or NodataFailure, with the Hodges-Lehmann estimate, its
confidence interval and the effect size that led there. The method is Kayenta's (Netflix's automated canary
analysis) as written in the shared reference: a shift only counts when the whole confidence interval lies
beyond `tolerance`·|estimate| on the side the direction watches, and the mean ratio reaches the allowed
effect size.

Pure (randomness comes from the generator passed in, seeded the same by default so a judgement can be
repeated). Uses `ramp.providers.judge.statistics`; used by `ramp.providers.judge.score` (the labels) and
`ramp.providers.judge.provider`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from ramp.providers.judge.statistics import (
    TiedSamplesError,
    calculate_mean_ratio,
    estimate_shift,
    perturb_constant,
)

if TYPE_CHECKING:
    import numpy as np

DEFAULT_TOLERANCE = 0.25
DEFAULT_CONFIDENCE = 0.98
NOISE_SEED = 0
"""Seed of the noise added to constant samples when the caller passes no generator: same data, same verdict."""


class Classification(StrEnum):
    """What the judge concluded about one metric."""

    PASS = "Pass"
    HIGH = "High"
    LOW = "Low"
    NODATA = "Nodata"
    NODATA_FAILURE = "NodataFailure"
    """No data for a metric that must have data: counts against its group's score."""


class Direction(StrEnum):
    """Which way a change is a problem: a rise (latency), a fall (throughput), or both."""

    INCREASE = "increase"
    DECREASE = "decrease"
    EITHER = "either"


class NanStrategy(StrEnum):
    """What to do with NaN samples (Prometheus answers NaN for 0/0): drop them, or count them as 0."""

    REMOVE = "remove"
    REPLACE = "replace"


@dataclass(frozen=True)
class MetricCriteria:
    """How one metric is judged. Effect sizes are mean ratios canary/baseline (1.0: any change counts)."""

    direction: Direction = Direction.EITHER
    tolerance: float = DEFAULT_TOLERANCE
    confidence: float = DEFAULT_CONFIDENCE
    allowed_increase: float = 1.0
    allowed_decrease: float = 1.0
    critical_increase: float = 1.0
    critical_decrease: float = 1.0
    critical: bool = False
    must_have_data: bool = False
    nan_strategy: NanStrategy = NanStrategy.REMOVE


@dataclass(frozen=True)
class MetricClassification:
    """The verdict on one metric; the statistics are None when the test did not run (no data, identical)."""

    classification: Classification
    critical_failure: bool = False
    """True when this metric alone fails the whole judgement (a critical metric High/Low beyond its critical
    effect size, or without data)."""
    reason: str = ""
    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    effect_size: float | None = None
    canary_count: int = 0
    baseline_count: int = 0

    @property
    def is_failing(self) -> bool:
        """High, Low or NodataFailure: counts against the metric's groups."""
        return self.classification in (Classification.HIGH, Classification.LOW, Classification.NODATA_FAILURE)


def classify_metric(
    canary: Sequence[float],
    baseline: Sequence[float],
    criteria: MetricCriteria = MetricCriteria(),
    rng: np.random.Generator | None = None,
) -> MetricClassification:
    """Classify one metric from its canary and baseline samples.

    1. NaN (and ±Inf, which no rank or mean can use) are removed, or replaced by 0 with nanStrategy=replace.
    2. An empty side: Nodata (NodataFailure when mustHaveData; a critical metric fails the judgement).
    3. The same values on both sides, or one value everywhere: Pass. When each side is constant, both get
       noise of sigma = value·1e-5 so the rank test can run.
    4. High when the direction watches increases, the interval's low end is above tolerance·|estimate| and the
       mean ratio (if defined) is at least allowedIncrease; Low symmetrically; otherwise Pass.
    5. A critical metric fails the judgement when High with a ratio ≥ criticalIncrease, or Low with a ratio
       ≤ criticalDecrease (an undefined ratio counts as beyond both).

    Examples (defaults: either direction, tolerance 0.25, confidence 0.98):
    canary [11..15], baseline [1..5] is High (shift 10, interval [6, 14] all above 2.5, ratio 4.33);
    canary [1, 2, 3], baseline [2, 3, 4] is Pass: its interval [-3, 1] includes 0.
    """
    x = clean_samples(canary, criteria.nan_strategy)
    y = clean_samples(baseline, criteria.nan_strategy)
    counts = _Counts(len(x), len(y))
    if not x or not y:
        side = "canary" if not x else "baseline"
        return _classify_missing(f"no {side} data", criteria, counts)
    if sorted(x) == sorted(y):
        return counts.classify(Classification.PASS, "canary and baseline data are identical")
    if len(set(x) | set(y)) == 1:
        return counts.classify(Classification.PASS, "every value is the same")
    if len(set(x)) == 1 and len(set(y)) == 1:
        import numpy as np  # on first use: only a judge analysis needs numpy (see `statistics`)

        generator = rng if rng is not None else np.random.default_rng(NOISE_SEED)
        x, y = perturb_constant(x, generator), perturb_constant(y, generator)
    try:
        shift = estimate_shift(x, y, criteria.confidence)
    except TiedSamplesError:
        return _classify_missing("too little data to compare (one value on each side)", criteria, counts)
    effect = calculate_mean_ratio(x, y)
    label, critical = _compare(shift.estimate, shift.ci_low, shift.ci_high, effect, criteria)
    reasons = {Classification.HIGH: "canary is higher", Classification.LOW: "canary is lower"}
    reason = reasons.get(label, "") + (" (critical)" if critical else "")
    return MetricClassification(
        label,
        critical_failure=critical,
        reason=reason,
        estimate=shift.estimate,
        ci_low=shift.ci_low,
        ci_high=shift.ci_high,
        effect_size=effect,
        canary_count=counts.canary,
        baseline_count=counts.baseline,
    )


def _compare(
    estimate: float, ci_low: float, ci_high: float, effect: float, criteria: MetricCriteria
) -> tuple[Classification, bool]:
    """High, Low or Pass, and whether a critical metric fails the judgement with it."""
    bound = criteria.tolerance * abs(estimate)
    # A ratio that cannot be computed (a mean of 0) does not hold back a shift the rank test is sure of.
    undefined = math.isnan(effect)
    watches_increase = criteria.direction in (Direction.INCREASE, Direction.EITHER)
    watches_decrease = criteria.direction in (Direction.DECREASE, Direction.EITHER)
    if watches_increase and ci_low > bound and (undefined or effect >= criteria.allowed_increase):
        return Classification.HIGH, criteria.critical and (undefined or effect >= criteria.critical_increase)
    if watches_decrease and ci_high < -bound and (undefined or effect <= criteria.allowed_decrease):
        return Classification.LOW, criteria.critical and (undefined or effect <= criteria.critical_decrease)
    return Classification.PASS, False


def clean_samples(values: Sequence[float], strategy: NanStrategy) -> list[float]:
    """The finite samples: NaN and ±Inf dropped, or (replace) counted as 0."""
    if strategy is NanStrategy.REPLACE:
        return [float(value) if math.isfinite(value) else 0.0 for value in values]
    return [float(value) for value in values if math.isfinite(value)]


@dataclass(frozen=True)
class _Counts:
    canary: int
    baseline: int

    def classify(self, label: Classification, reason: str, *, critical: bool = False) -> MetricClassification:
        """A verdict reached without the rank test (no statistics to report)."""
        return MetricClassification(
            label, critical_failure=critical, reason=reason, canary_count=self.canary, baseline_count=self.baseline
        )


def _classify_missing(reason: str, criteria: MetricCriteria, counts: _Counts) -> MetricClassification:
    if criteria.critical:
        return counts.classify(Classification.NODATA, f"{reason} (critical)", critical=True)
    if criteria.must_have_data:
        return counts.classify(Classification.NODATA_FAILURE, reason)
    return counts.classify(Classification.NODATA, reason)
