"""A keyed work queue for reconcilers, with client-go's workqueue semantics on asyncio.

- A key added many times before a worker takes it is processed once (the dirty set).
- A key is handled by one worker at a time: added again while being processed, it is queued once more
  when the worker calls `done` (the processing set).
- `add_after(key, seconds)` schedules a precise delayed add on the event loop's clock; of several pending
  delays for one key the earliest wins.
- `add_rate_limited` retries with `kube.ratelimit.ControllerRateLimiter`'s delay; `forget` resets it.

Informer handlers (`ramp.manager`) add keys; `kube.reconcile` workers take them with `get` and release
them with `done`. Depth, adds, retries and timing go to the `workqueue_*` metrics labelled by queue name;
the in-flight work gauges read `processing_durations` when scraped (`kube.metrics.InFlightCollector`).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from ramp.kube.metrics import (
    WORKQUEUE_ADDS,
    WORKQUEUE_DEPTH,
    WORKQUEUE_IN_FLIGHT,
    WORKQUEUE_QUEUE_DURATION,
    WORKQUEUE_RETRIES,
    WORKQUEUE_WORK_DURATION,
)
from ramp.kube.ratelimit import ControllerRateLimiter


class WorkQueue:
    """Keys waiting for a worker. Create and use it inside one running event loop."""

    def __init__(
        self,
        name: str,
        rate_limiter: ControllerRateLimiter | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`clock` times the metrics (queue, work and in-flight durations); delays use the loop's clock."""
        self.name = name
        self.rate_limiter = rate_limiter or ControllerRateLimiter()
        self._clock = clock
        self._queue: deque[str] = deque()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._getters: deque[asyncio.Future[None]] = deque()
        self._waiting: dict[str, tuple[float, asyncio.TimerHandle]] = {}
        self._added_at: dict[str, float] = {}
        self._started_at: dict[str, float] = {}
        self._shutting_down = False
        self._depth = WORKQUEUE_DEPTH.labels(name)
        self._adds = WORKQUEUE_ADDS.labels(name)
        self._retries = WORKQUEUE_RETRIES.labels(name)
        self._queue_duration = WORKQUEUE_QUEUE_DURATION.labels(name)
        self._work_duration = WORKQUEUE_WORK_DURATION.labels(name)
        WORKQUEUE_IN_FLIGHT.track(self)

    def __len__(self) -> int:
        """Keys ready for a worker (not counting those being processed or waiting on a delay)."""
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def is_processing(self, key: str) -> bool:
        return key in self._processing

    def is_waiting(self, key: str) -> bool:
        """True while a delayed add of `key` is pending."""
        return key in self._waiting

    def waiting_until(self, key: str) -> float | None:
        """When (on the event loop's clock) the pending delayed add of `key` fires; None if there is none."""
        pending = self._waiting.get(key)
        return pending[0] if pending is not None else None

    def processing_durations(self) -> list[float]:
        """Seconds each key now held by a worker has been processed so far."""
        now = self._clock()
        return [now - started for started in self._started_at.values()]

    def add(self, key: str) -> None:
        """Queue `key` unless it is already queued; if a worker holds it, it is queued again on `done`."""
        if self._shutting_down or key in self._dirty:
            return
        self._adds.inc()
        self._dirty.add(key)
        self._added_at.setdefault(key, self._clock())
        if key in self._processing:
            return
        self._queue.append(key)
        self._depth.set(len(self._queue))
        self._wake_one()

    def add_after(self, key: str, delay: float) -> None:
        """Add `key` after `delay` seconds; a pending earlier add wins over a later one."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        when = loop.time() + delay
        pending = self._waiting.get(key)
        if pending is not None:
            if pending[0] <= when:
                return
            pending[1].cancel()
        self._waiting[key] = (when, loop.call_at(when, self._fire, key))

    def add_rate_limited(self, key: str) -> None:
        """Retry `key` after its backoff (one more failure counted)."""
        self._retries.inc()
        self.add_after(key, self.rate_limiter.when(key))

    def forget(self, key: str) -> None:
        """`key` succeeded: reset its backoff. Does not remove a pending add."""
        self.rate_limiter.forget(key)

    def num_requeues(self, key: str) -> int:
        return self.rate_limiter.num_requeues(key)

    async def get(self) -> str | None:
        """The next key to process (now marked processing), or None once the queue is shut down."""
        while not self._queue and not self._shutting_down:
            waiter = asyncio.get_running_loop().create_future()
            self._getters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                # A wake-up meant for this worker must not be lost with it.
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()
                raise
            finally:
                if waiter in self._getters:
                    self._getters.remove(waiter)
        if self._shutting_down:
            return None
        key = self._queue.popleft()
        self._depth.set(len(self._queue))
        self._processing.add(key)
        self._dirty.discard(key)
        now = self._clock()
        added = self._added_at.pop(key, None)
        if added is not None:
            self._queue_duration.observe(now - added)
        self._started_at[key] = now
        return key

    def done(self, key: str) -> None:
        """A worker finished `key`; if it was added meanwhile, queue it again."""
        self._processing.discard(key)
        started = self._started_at.pop(key, None)
        if started is not None:
            self._work_duration.observe(self._clock() - started)
        if key in self._dirty and not self._shutting_down:
            self._queue.append(key)
            self._depth.set(len(self._queue))
            self._wake_one()

    def shut_down(self) -> None:
        """Stop handing out keys: `get` returns None from now on; pending delayed adds are dropped."""
        self._shutting_down = True
        for _, handle in self._waiting.values():
            handle.cancel()
        self._waiting.clear()
        self._queue.clear()
        self._dirty.clear()
        self._depth.set(0)
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    def _fire(self, key: str) -> None:
        self._waiting.pop(key, None)
        self.add(key)

    def _wake_one(self) -> None:
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
