"""How long to wait: per-key exponential backoff for retries, and a token bucket for client-side pacing.

The arithmetic is pure (time is passed in) so it is tested without asyncio. `kube.workqueue` asks a
`ControllerRateLimiter` when a failed key may be retried; `kube.client` awaits a `ClientRateLimiter`
(`--qps`/`--burst`) before each request; `kube.informer` uses `calculate_item_backoff` between reconnects.

Retry defaults follow upstream Argo Rollouts' `DefaultArgoRolloutsRateLimiter`: per key only, 1 ms doubling
up to 10 s, with no bucket shared by all keys (client-go's default adds one of 10 per second and caps at
1000 s; upstream chose to retry a failing rollout within 10 s instead).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_BASE_DELAY = 0.001
DEFAULT_MAX_DELAY = 10.0


def calculate_item_backoff(failures: int, base: float = DEFAULT_BASE_DELAY, cap: float = DEFAULT_MAX_DELAY) -> float:
    """Delay before retry number `failures + 1`: `base * 2**failures`, never above `cap`.

    >>> [calculate_item_backoff(n) for n in (0, 1, 2)]
    [0.001, 0.002, 0.004]
    >>> calculate_item_backoff(14)
    10.0
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
    A caller that gives up before its turn hands the token back with `cancel`.
    """

    rate: float
    burst: int
    tokens: float = field(init=False)
    updated_at: float | None = field(default=None, init=False)
    last_event: float | None = field(default=None, init=False)
    """When the latest reservation may act; tokens lent after a cancelled one must not be given back."""

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError(f"token bucket needs rate > 0 and burst >= 1, got rate={self.rate} burst={self.burst}")
        self.tokens = float(self.burst)

    def reserve(self, now: float) -> float:
        """Take one token at time `now` (seconds, any monotonic origin); return the wait until it is ours."""
        self._advance(now)
        self.tokens -= 1.0
        wait = 0.0 if self.tokens >= 0 else -self.tokens / self.rate
        self.last_event = now + wait
        return wait

    def try_take(self, now: float) -> bool:
        """Take one token at time `now` if one is in the bucket (never lends into the future): a caller
        that may drop its action, such as an event over its object's spam budget, asks this instead."""
        self._advance(now)
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True

    def cancel(self, act_at: float, now: float) -> None:
        """Give back the token of a reservation due at `act_at` whose holder will not act (x/time/rate's
        `CancelAt`). Only the part not already lent on to later reservations returns: those callers are
        waiting out delays computed with this token gone, and must not be joined by a new caller early.
        """
        if act_at < now or self.last_event is None:
            return  # its time has come: the token was used, or is lost
        restore = 1.0 - (self.last_event - act_at) * self.rate
        if restore <= 0:
            return
        self._advance(now)
        self.tokens = min(float(self.burst), self.tokens + restore)
        if act_at == self.last_event:
            previous = act_at - 1.0 / self.rate
            if previous >= now:
                self.last_event = previous

    def _advance(self, now: float) -> None:
        if self.updated_at is not None and now > self.updated_at:
            self.tokens = min(float(self.burst), self.tokens + (now - self.updated_at) * self.rate)
        if self.updated_at is None or now > self.updated_at:
            self.updated_at = now


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
    """Retry delay of a key: its own exponential backoff, 1 ms doubling to 10 s (upstream's queue limiter).

    There is deliberately no bucket shared by all keys: upstream has none, and with one a burst of
    failures on some rollouts would hold back the first retry of an unrelated one.
    """

    def __init__(self, *, base: float = DEFAULT_BASE_DELAY, cap: float = DEFAULT_MAX_DELAY) -> None:
        self.items = ItemBackoff(base, cap)

    def when(self, key: str) -> float:
        return self.items.when(key)

    def forget(self, key: str) -> None:
        self.items.forget(key)

    def num_requeues(self, key: str) -> int:
        return self.items.failures(key)


class ClientRateLimiter:
    """Client-side request pacing (`--qps`, `--burst`); a qps of 0 or less turns it off."""

    def __init__(self, qps: float, burst: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.qps = qps
        self.burst = burst
        self._bucket = TokenBucket(qps, max(burst, 1)) if qps > 0 else None
        self._clock = clock

    async def acquire(self) -> None:
        if self._bucket is None:
            return
        now = self._clock()
        delay = self._bucket.reserve(now)
        if delay <= 0:
            return
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            # A caller cancelled while waiting (a stopped informer, an abandoned reconcile) sends nothing:
            # its turn goes to the next caller instead of leaving a gap in the pacing.
            self._bucket.cancel(now + delay, self._clock())
            raise
