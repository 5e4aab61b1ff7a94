"""The judge's statistics: Hodges-Lehmann shift and interval as R's wilcox.test gives them, and the effect size.

Reference values come from R 4.2.2 (Debian bookworm's r-base-core), computed with
`wilcox.test(x, y, conf.int=TRUE, exact=FALSE, correct=TRUE, conf.level=c)` and printed with 17 significant
digits. R finds each interval end with uniroot (Brent, tol 1e-4) and Ramp with scipy's brentq at the same
tolerance; the statistic is a step function, so both stop within 1e-4 of the same jump, and the values are
compared to that tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ramp.providers.judge.statistics import (
    TiedSamplesError,
    calculate_mean_ratio,
    calculate_rank_statistic,
    estimate_shift,
    perturb_constant,
)

TOLERANCE = 1e-4

R_REFERENCES = [
    pytest.param(
        [11, 12, 13, 14, 15], [1, 2, 3, 4, 5], 0.95, (10.0, 7.0000297031437029, 12.999970296856297),
        id="a-clear-shift-of-ten",
    ),
    pytest.param(
        [1, 2, 2, 3, 3, 3, 4], [1, 1, 2, 2, 2, 3], 0.98, (0.9999951743184734, -0.99999518740046256, 2.0000536430935965),
        id="small-samples-with-many-ties",
    ),
    pytest.param(
        [1, 2, 3], [4, 5, 6], 0.98, (-3.0, -5.0, -1.0),
        id="three-points-a-side-never-reach-the-quantile-so-the-interval-is-the-whole-range",
    ),
    pytest.param(
        [2.5, 3.0, 3.5, 3.0, 2.5, 4.0, 3.5, 3.0, 5.5, 3.0, 3.5, 4.0, 3.0, 2.5, 3.5,
         4.5, 3.0, 3.5, 3.0, 4.0, 3.5, 3.0, 2.5, 3.5, 6.0, 3.0, 3.5, 4.0, 3.0, 3.5],
        [2.0, 2.5, 2.5, 3.0, 2.0, 2.5, 3.0, 2.5, 2.0, 4.5, 2.5, 3.0, 2.5, 2.0, 2.5,
         3.0, 2.5, 2.5, 2.0, 3.5, 2.5, 3.0, 2.0, 2.5, 2.5, 3.0, 2.5, 2.0, 5.0, 2.5],
        0.98, (0.99993532854082567, 0.49996740174600812, 1.0000500589099008),
        id="latencies-on-a-half-second-grid",
    ),
    pytest.param(
        [0.91, 0.88, 0.93, 0.90, 0.87, 0.92, 0.89, 0.90, 0.94, 0.86, 0.91, 0.90],
        [1.02, 0.99, 1.05, 1.00, 0.98, 1.03, 1.01, 0.97, 1.04, 1.00, 1.02, 0.99],
        0.98, (-0.10994858058836719, -0.13005052018968785, -0.080039497906308182),
        id="a-fall-in-success-rate",
    ),
    pytest.param(
        [5.2, 4.8, 6.1, 5.5, 4.9, 5.0, 5.3],
        [5.1, 4.7, 5.9, 5.2, 5.0, 4.6, 5.4, 5.1, 4.9, 5.0, 5.3, 4.8, 5.2, 5.1],
        0.98, (0.10003199064963463, -0.29993328675335923, 0.60006170798888958),
        id="unequal-sizes-no-clear-shift",
    ),
    pytest.param(
        [1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1], 0.98, (0.0, -3.9999894011901116, 3.9999894011901116),
        id="identical-samples-in-another-order",
    ),
    pytest.param(
        [5, 5, 5, 5, 5, 5, 5, 5], [1, 2, 3, 4, 5, 2, 3, 4], 0.98, (2.0, 0.99993459654501404, 3.0000654034549856),
        id="a-constant-canary-against-a-varying-baseline",
    ),
    pytest.param(
        [0, 0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 0.98,
        (2.3184744649194886e-05, -1.955190181898123e-05, 2.8620817083959514e-05),
        id="mostly-zeros-ties-everywhere",
    ),
    pytest.param(
        [2.1, 2.4, 1.9, 2.8, 2.2, 2.6, 2.0, 2.3], [1.8, 2.0, 1.7, 2.1, 1.9, 2.2, 1.6, 2.0], 0.80,
        (0.3624089399573911, 0.19998906670569438, 0.5999587843636095),
        id="a-lower-confidence-narrows-the-interval",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("canary", "baseline", "confidence", "expected"), R_REFERENCES)
def test_shift_and_interval_match_r_wilcox_test(canary, baseline, confidence, expected):
    shift = estimate_shift(canary, baseline, confidence)
    assert (shift.estimate, shift.ci_low, shift.ci_high) == pytest.approx(expected, abs=TOLERANCE)


def test_a_clear_shift_worked_by_hand():
    """x = 11..15, y = 1..5: the 25 differences x_i - y_j are 6..14, so their median (the estimate) is 10.

    sigma = sqrt(5*5/12 * 11) = 4.787 (no ties). Just above a shift of 7, 22 differences exceed it:
    dz = 22 - 12.5 = 9.5 and (9.5 - 0.5)/4.787 = 1.88 < 1.96; at 7 itself the two tied differences count
    half: dz = 10.5 and (10.5 - 0.5)/4.787 = 2.09 > 1.96. So the 95% interval starts at 7 and, by symmetry,
    ends at 13.
    """
    shift = estimate_shift([11, 12, 13, 14, 15], [1, 2, 3, 4, 5], 0.95)
    assert shift.estimate == pytest.approx(10, abs=TOLERANCE)
    assert shift.ci_low == pytest.approx(7, abs=TOLERANCE)
    assert shift.ci_high == pytest.approx(13, abs=TOLERANCE)
    statistic = calculate_rank_statistic(
        np.array([11.0, 12, 13, 14, 15]), np.array([1.0, 2, 3, 4, 5]), 7.0 + 1e-9, corrected=True
    )
    assert statistic == pytest.approx(9.0 / math.sqrt(25 / 12 * 11))


def test_ties_shrink_sigma_as_r_corrects_for_them():
    """x = [1, 1], y = [1, 2]: ranks 2, 2, 2, 4; dz = 4 - 3 - 2 = -1; one tie group of 3 gives
    sigma = sqrt(4/12 * (5 - 24/12)) = 1; corrected (-1 + 0.5)/1 = -0.5."""
    statistic = calculate_rank_statistic(np.array([1.0, 1.0]), np.array([1.0, 2.0]), 0.0, corrected=True)
    assert statistic == pytest.approx(-0.5)
    assert calculate_rank_statistic(np.array([1.0, 1.0]), np.array([1.0, 2.0]), 0.0, corrected=False) == -1.0


@pytest.mark.parametrize(
    ("canary", "baseline"),
    [
        pytest.param([5, 5, 5], [3, 3, 3], id="two-constant-sides"),
        pytest.param([7.0], [5.0], id="one-value-a-side"),
        pytest.param([4, 4], [4, 4, 4], id="one-value-everywhere"),
    ],
)
def test_samples_that_tie_everywhere_cannot_be_ranked(canary, baseline):
    with pytest.raises(TiedSamplesError):
        estimate_shift(canary, baseline, 0.98)


def test_noise_lets_two_constant_sides_be_compared():
    rng = np.random.default_rng(0)
    canary = perturb_constant([5.0] * 10, rng)
    baseline = perturb_constant([3.0] * 10, rng)
    shift = estimate_shift(canary, baseline, 0.98)
    assert shift.estimate == pytest.approx(2.0, abs=1e-3)
    assert shift.ci_low > 1.99
    assert shift.ci_high < 2.01


@pytest.mark.parametrize(
    ("values", "spread_at_most"),
    [
        pytest.param([100.0] * 50, 100 * 1e-5 * 6, id="noise-scaled-to-the-value"),
        pytest.param([-100.0] * 50, 100 * 1e-5 * 6, id="negative-values-scale-by-their-size"),
        pytest.param([0.0] * 5, 0.0, id="zero-stays-zero"),
    ],
)
def test_constant_samples_get_noise_relative_to_their_value(values, spread_at_most):
    perturbed = perturb_constant(values, np.random.default_rng(1))
    assert len(perturbed) == len(values)
    assert max(abs(a - b) for a, b in zip(perturbed, values, strict=True)) <= spread_at_most
    if spread_at_most:
        assert len(set(perturbed)) == len(values)


@pytest.mark.parametrize(
    ("canary", "baseline"),
    [
        pytest.param([], [1.0, 2.0], id="no-canary"),
        pytest.param([1.0, 2.0], [], id="no-baseline"),
    ],
)
def test_an_empty_side_is_refused(canary, baseline):
    with pytest.raises(ValueError, match="at least one value"):
        estimate_shift(canary, baseline, 0.98)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.2])
def test_a_confidence_outside_zero_and_one_is_refused(confidence):
    with pytest.raises(ValueError, match="confidence"):
        estimate_shift([1, 2, 3], [2, 3, 4], confidence)


@pytest.mark.parametrize(
    ("canary", "baseline", "expected"),
    [
        pytest.param([2.0, 4.0], [1.0, 2.0], 2.0, id="twice-as-high"),
        pytest.param([1.0, 1.0], [2.0, 2.0], 0.5, id="half"),
        pytest.param([0.0, 0.0], [2.0, 2.0], math.nan, id="canary-mean-zero"),
        pytest.param([1.0, 3.0], [-1.0, 1.0], math.nan, id="baseline-mean-zero"),
    ],
)
def test_effect_size_is_the_ratio_of_means(canary, baseline, expected):
    ratio = calculate_mean_ratio(canary, baseline)
    if math.isnan(expected):
        assert math.isnan(ratio)
    else:
        assert ratio == pytest.approx(expected)
