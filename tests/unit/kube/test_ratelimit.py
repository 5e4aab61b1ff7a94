"""Backoff and token-bucket arithmetic (pure: time is passed in)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ramp.kube.ratelimit import ControllerRateLimiter, ItemBackoff, TokenBucket, calculate_item_backoff


@pytest.mark.parametrize(
    ("failures", "delay"),
    [(0, 0.005), (1, 0.010), (2, 0.020), (10, 5.12), (17, 655.36), (18, 1000.0), (100, 1000.0)],
)
def test_item_backoff_doubles_from_5ms_and_is_capped_at_1000s(failures: int, delay: float) -> None:
    assert calculate_item_backoff(failures) == pytest.approx(delay)


@given(st.integers(min_value=0, max_value=10_000))
def test_item_backoff_never_exceeds_the_cap_and_never_shrinks(failures: int) -> None:
    delay = calculate_item_backoff(failures, base=0.005, cap=1000.0)
    assert 0.005 <= delay <= 1000.0
    assert calculate_item_backoff(failures + 1) >= delay


def test_each_key_backs_off_on_its_own_and_forget_resets_it() -> None:
    items = ItemBackoff()
    assert [items.when("a") for _ in range(3)] == pytest.approx([0.005, 0.01, 0.02])
    assert items.when("b") == pytest.approx(0.005)
    items.forget("a")
    assert items.failures("a") == 0
    assert items.when("a") == pytest.approx(0.005)


def test_token_bucket_allows_a_burst_then_paces_at_the_rate() -> None:
    bucket = TokenBucket(rate=10.0, burst=3)
    assert [bucket.reserve(now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    # The fourth and fifth tokens are lent from the future, 0.1 s apart.
    assert bucket.reserve(now=0.0) == pytest.approx(0.1)
    assert bucket.reserve(now=0.0) == pytest.approx(0.2)


def test_token_bucket_refills_over_time_up_to_the_burst() -> None:
    bucket = TokenBucket(rate=10.0, burst=2)
    bucket.reserve(0.0)
    bucket.reserve(0.0)
    assert bucket.reserve(100.0) == 0.0  # refilled, but only to 2
    assert bucket.reserve(100.0) == 0.0
    assert bucket.reserve(100.0) == pytest.approx(0.1)


def test_controller_rate_limiter_takes_the_larger_of_key_backoff_and_overall_bucket() -> None:
    limiter = ControllerRateLimiter(qps=1.0, burst=1, clock=lambda: 0.0)
    assert limiter.when("a") == pytest.approx(0.005)  # the bucket had a token; the key's backoff wins
    assert limiter.when("b") == pytest.approx(1.0)  # the bucket is empty: its wait wins
    assert limiter.num_requeues("a") == 1
    limiter.forget("a")
    assert limiter.num_requeues("a") == 0


def test_token_bucket_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="rate > 0"):
        TokenBucket(rate=0, burst=1)
