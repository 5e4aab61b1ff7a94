"""Backoff and token-bucket arithmetic (pure: time is passed in), and the client limiter's cancellation."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ramp.kube.ratelimit import (
    ClientRateLimiter,
    ControllerRateLimiter,
    ItemBackoff,
    TokenBucket,
    calculate_item_backoff,
)


@pytest.mark.parametrize(
    ("failures", "delay"),
    [(0, 0.001), (1, 0.002), (2, 0.004), (9, 0.512), (13, 8.192), (14, 10.0), (100, 10.0)],
)
def test_item_backoff_doubles_from_1ms_and_is_capped_at_10s_as_upstream(failures: int, delay: float) -> None:
    assert calculate_item_backoff(failures) == pytest.approx(delay)


@given(st.integers(min_value=0, max_value=10_000))
def test_item_backoff_never_exceeds_the_cap_and_never_shrinks(failures: int) -> None:
    delay = calculate_item_backoff(failures)
    assert 0.001 <= delay <= 10.0
    assert calculate_item_backoff(failures + 1) >= delay


def test_each_key_backs_off_on_its_own_and_forget_resets_it() -> None:
    items = ItemBackoff()
    assert [items.when("a") for _ in range(3)] == pytest.approx([0.001, 0.002, 0.004])
    assert items.when("b") == pytest.approx(0.001)
    items.forget("a")
    assert items.failures("a") == 0
    assert items.when("a") == pytest.approx(0.001)


def test_controller_rate_limiter_has_no_bucket_shared_by_all_keys() -> None:
    limiter = ControllerRateLimiter()
    for n in range(500):  # a storm of failing keys...
        limiter.when(f"key-{n}")
    assert limiter.when("unrelated") == pytest.approx(0.001)  # ...does not hold back another key's first retry
    assert limiter.num_requeues("unrelated") == 1
    limiter.forget("unrelated")
    assert limiter.num_requeues("unrelated") == 0


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


def test_a_cancelled_last_reservation_gives_its_token_to_the_next_caller() -> None:
    bucket = TokenBucket(rate=1.0, burst=1)
    assert bucket.reserve(0.0) == 0.0
    assert bucket.reserve(0.0) == pytest.approx(1.0)  # this caller gives up before its turn
    bucket.cancel(act_at=1.0, now=0.0)
    assert bucket.reserve(0.0) == pytest.approx(1.0)  # not 2.0: it takes the abandoned turn


def test_a_cancelled_reservation_is_not_given_back_twice_over_to_later_ones() -> None:
    bucket = TokenBucket(rate=1.0, burst=1)
    bucket.reserve(0.0)
    assert bucket.reserve(0.0) == pytest.approx(1.0)  # cancelled below
    assert bucket.reserve(0.0) == pytest.approx(2.0)  # keeps waiting: it acts at 2.0
    bucket.cancel(act_at=1.0, now=0.0)
    # The token lent on to the caller at 2.0 is not restored: a new caller must not act alongside it.
    assert bucket.reserve(0.0) == pytest.approx(3.0)


def test_a_reservation_whose_time_has_passed_keeps_its_token() -> None:
    bucket = TokenBucket(rate=1.0, burst=1)
    bucket.reserve(0.0)
    bucket.reserve(0.0)  # due at 1.0
    bucket.cancel(act_at=1.0, now=1.5)
    assert bucket.reserve(1.5) == pytest.approx(0.5)


async def test_a_cancelled_waiter_of_the_client_limiter_hands_its_turn_on() -> None:
    limiter = ClientRateLimiter(1.0, 1, clock=lambda: 0.0)
    await limiter.acquire()  # the burst
    waiter = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)  # it now sleeps for its turn at t=1
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    bucket = limiter._bucket
    assert bucket is not None
    assert bucket.reserve(0.0) == pytest.approx(1.0)


def test_token_bucket_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="rate > 0"):
        TokenBucket(rate=0, burst=1)
