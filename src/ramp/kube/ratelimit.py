"""How long to wait: per-key exponential backoff, a token bucket, and the two combined for retries.

The arithmetic is pure (time is passed in) so it is tested without asyncio. `kube.workqueue` asks a
`ControllerRateLimiter` when a failed key may be retried; `kube.client` awaits a `ClientRateLimiter`
(`--qps`/`--burst`) before each request; `kube.informer` uses `calculate_item_backoff` between reconnects.

Defaults follow client-go's documented `DefaultControllerRateLimiter`: per key 5 ms doubling up to 1000 s,
and over all keys a bucket of 10 per second with a burst of 100; the larger of the two delays wins.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_BASE_DELAY = 0.005
DEFAULT_MAX_DELAY = 1000.0
DEFAULT_RETRY_QPS = 10.0
DEFAULT_RETRY_BURST = 100


def calculate_item_backoff(failures: int, base: float = DEFAULT_BASE_DELAY, cap: float = DEFAULT_MAX_DELAY) -> float:
    """Delay before retry number `failures + 1`: `base * 2**failures`, never above `cap`.

    >>> [calculate_item_backoff(n) for n in (0, 1, 2)]
    [0.005, 0.01, 0.02]
    >>> calculate_item_backoff(40)
    1000.0
    """
    # Past 2**62 the float is still finite but meaningless; the cap has long been reached.
    if failures > 62:
        return cap
    return min(math.ldexp(base, failures), cap)


@dataclass
class TokenBucket:
    """A token bucket that lends into the future, like golang.org/x/time/rate's `Reserve`.

    `reserve(now)` always takes a token and returns how long the caller must wait for it (0 when one was
    in the bucket). Callers that wait the returned delay are paced at `rate` per second after `burst`.
    """

    rate: float
    burst: int
    tokens: float = field(init=False)
    updated_at: float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(f"token bucket needs rate > 0 and burst >= 1, got rate={self.rate} burst={self.burst}")
        self.tokens = float(self.burst)

    def reserve(self, now: float) -> float:
        """Take one token at time `now` (seconds, any monotonic origin); return the wait until it is ours."""
        if self.updated_at is not None and now > self.updated_at:
            self.tokens = min(float(self.burst), self.tokens + (now - self.updated_at) * self.rate)
        if self.updated_at is None or now > self.updated_at:
            self.updated_at = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class ItemBackoff:
    """Per-key failure counts and their exponential delays (client-go's ItemExponentialFailureRateLimiter)."""

    def __init__(self, base: float = DEFAULT_BASE_DELAY, cap: float = DEFAULT_MAX_DELAY) -> None:
        self.base = base
        self.cap = cap
        self._failures: dict[str, int] = {}

    def when(self, key: str) -> float:
        """Record one more failure of `key` and return the delay before its retry."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        return calculate_item_backoff(failures, self.base, self.cap)

    def forget(self, key: str) -> None:
        """`key` succeeded: its next failure starts again at the base delay."""
        self._failures.pop(key, None)

    def failures(self, key: str) -> int:
        return self._failures.get(key, 0)


class ControllerRateLimiter:
    """Retry delay of a key: the larger of its own backoff and the overall bucket's wait."""

    def __init__(
        self,
        *,
        base: float = DEFAULT_BASE_DELAY,
        cap: float = DEFAULT_MAX_DELAY,
        qps: float = DEFAULT_RETRY_QPS,
        burst: int = DEFAULT_RETRY_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.items = ItemBackoff(base, cap)
        self.bucket = TokenBucket(qps, burst)
        self._clock = clock

    def when(self, key: str) -> float:
        return max(self.items.when(key), self.bucket.reserve(self._clock()))

    def forget(self, key: str) -> None:
        self.items.forget(key)

    def num_requeues(self, key: str) -> int:
        return self.items.failures(key)


class ClientRateLimiter:
    """Client-side request pacing (`--qps`, `--burst`); a qps of 0 or less turns it off."""

    def __init__(self, qps: float, burst: int) -> None:
        self._bucket = TokenBucket(qps, max(burst, 1)) if qps > 0 else None

    async def acquire(self) -> None:
        if self._bucket is None:
            return
        delay = self._bucket.reserve(time.monotonic())
        if delay > 0:
            await asyncio.sleep(delay)
