"""The statistics of the canary judge: the Hodges-Lehmann shift of canary against baseline, and the effect size.

`estimate_shift` gives the Hodges-Lehmann estimate of the location shift canary - baseline and its confidence
interval the way R's `wilcox.test(x, y, conf.int=TRUE, exact=FALSE, correct=TRUE)` computes them (the normal
approximation with tie and continuity corrections; Brent's method with tolerance 1e-4 to find where the
standardised rank-sum statistic crosses each normal quantile). `calculate_mean_ratio` is the effect size
(mean canary / mean baseline) and `perturb_constant` the tiny Gaussian noise that lets two constant samples be
compared at all (Kayenta's remedy for an all-tied rank test).

Pure: numbers in, numbers out; randomness only from the generator the caller passes. Used by
`ramp.providers.judge.classify`. numpy and scipy are imported on first use, not with the module: they are
~85 MiB of the controller's memory, and only a judge analysis needs them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Values = npt.NDArray[np.float64]

ROOT_TOLERANCE = 1e-4
"""R's `tol.root` default: how close Brent's method gets to the jump where the statistic crosses a quantile."""

NOISE_SCALE = 1e-5
"""Standard deviation of the noise added to a constant sample, relative to its value (Kayenta's figure)."""


class TiedSamplesError(ValueError):
    """Every observation is tied wherever the shift is tried: the rank test has no spread to work with."""


@dataclass(frozen=True)
class ShiftEstimate:
    """The shift canary - baseline: Hodges-Lehmann estimate and confidence interval [ci_low, ci_high]."""

    estimate: float
    ci_low: float
    ci_high: float


def estimate_shift(canary: Sequence[float], baseline: Sequence[float], confidence: float) -> ShiftEstimate:
    """Hodges-Lehmann estimate and confidence interval of canary - baseline, as R's wilcox.test computes them.

    Both samples must be non-empty and finite. The interval ends are where the corrected statistic crosses
    ±z (z = |Φ⁻¹((1 - confidence)/2)|), or the end of the range of possible shifts
    [min canary - max baseline, max canary - min baseline] when it never crosses there. As in R, the estimate
    is where the statistic without continuity correction crosses 0.

    Example: canary [11, 12, 13, 14, 15], baseline [1, 2, 3, 4, 5] at confidence 0.95 gives
    estimate 10 and interval [7, 13] (to within 1e-4), as R does.

    Raises TiedSamplesError when all observations tie (a single value on each side), ValueError for empty
    samples or a confidence outside (0, 1).
    """
    import numpy as np
    from scipy.stats import norm  # type: ignore[import-untyped]  # scipy ships no type hints

    x = np.asarray(canary, dtype=np.float64)
    y = np.asarray(baseline, dtype=np.float64)
    if x.size == 0 or y.size == 0:
        raise ValueError("both samples need at least one value")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    shift_min = float(x.min() - y.max())
    shift_max = float(x.max() - y.min())
    if shift_min == shift_max:
        # Only when each side holds one distinct value: every shift in the (single-point) range ties them all.
        raise TiedSamplesError("cannot compute a confidence interval when all observations are tied")
    quantile = abs(float(norm.ppf((1 - confidence) / 2)))
    ci_low = _find_crossing(x, y, shift_min, shift_max, quantile, corrected=True)
    ci_high = _find_crossing(x, y, shift_min, shift_max, -quantile, corrected=True)
    estimate = _find_crossing(x, y, shift_min, shift_max, 0.0, corrected=False)
    return ShiftEstimate(estimate=estimate, ci_low=ci_low, ci_high=ci_high)


def calculate_rank_statistic(canary: Values, baseline: Values, shift: float, *, corrected: bool = True) -> float:
    """The standardised Wilcoxon rank-sum statistic of (canary - shift) against baseline.

    dz = Σ ranks of the canary - nx(nx+1)/2 - nx·ny/2 with average ranks for ties; the continuity correction
    moves dz half a unit towards 0; sigma = sqrt(nx·ny/12 · ((nx+ny+1) - Σ(t³-t)/((nx+ny)(nx+ny-1)))) over the
    tie groups t. Decreases (in steps) as the shift grows.
    """
    import numpy as np
    from scipy.stats import rankdata

    nx, ny = float(canary.size), float(baseline.size)
    ranks = rankdata(np.concatenate((canary - shift, baseline)), method="average")
    dz = float(ranks[: canary.size].sum()) - nx * (nx + 1) / 2 - nx * ny / 2
    _, tie_sizes = np.unique(ranks, return_counts=True)
    tie_term = float(np.sum(tie_sizes.astype(np.float64) ** 3 - tie_sizes))
    sigma = math.sqrt(nx * ny / 12 * ((nx + ny + 1) - tie_term / ((nx + ny) * (nx + ny - 1))))
    if sigma == 0:
        raise TiedSamplesError("cannot compute a confidence interval when all observations are tied")
    correction = 0.5 * float(np.sign(dz)) if corrected else 0.0
    return (dz - correction) / sigma


def _find_crossing(x: Values, y: Values, low: float, high: float, quantile: float, *, corrected: bool) -> float:
    """The shift where the statistic crosses `quantile`, or the range end where it cannot (R's `root`)."""
    at_low = calculate_rank_statistic(x, y, low, corrected=corrected) - quantile
    if at_low <= 0:
        return low
    at_high = calculate_rank_statistic(x, y, high, corrected=corrected) - quantile
    if at_high >= 0:
        return high

    def distance(shift: float) -> float:
        return calculate_rank_statistic(x, y, shift, corrected=corrected) - quantile

    from scipy.optimize import brentq  # type: ignore[import-untyped]

    return float(brentq(distance, low, high, xtol=ROOT_TOLERANCE))


def calculate_mean_ratio(canary: Sequence[float], baseline: Sequence[float]) -> float:
    """Effect size: mean(canary) / mean(baseline); NaN when either mean is 0 (no meaningful ratio)."""
    import numpy as np

    canary_mean = float(np.mean(np.asarray(canary, dtype=np.float64)))
    baseline_mean = float(np.mean(np.asarray(baseline, dtype=np.float64)))
    if canary_mean == 0 or baseline_mean == 0:
        return math.nan
    return canary_mean / baseline_mean


def perturb_constant(values: Sequence[float], rng: np.random.Generator) -> list[float]:
    """A constant sample plus Gaussian noise of sigma = |value|·1e-5 (a zero sample stays as it is)."""
    import numpy as np

    array = np.asarray(values, dtype=np.float64)
    scale = abs(float(array[0])) * NOISE_SCALE if array.size else 0.0
    if scale == 0:
        return [float(value) for value in array]
    return [float(value) for value in array + rng.normal(0.0, scale, array.size)]
