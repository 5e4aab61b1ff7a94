"""The reconciler contract and the workers that drive it from a work queue.

A `Reconciler` gets a key (`namespace/name`) and returns a `Result`; it reads the informer caches, decides,
and writes. `Controller` owns one `kube.workqueue.WorkQueue` and N workers: each takes a key, awaits
`reconcile`, and then forgets the key's backoff (success), schedules `Result.requeue_after`, or retries with
backoff (exception). Only the API server and the network are worth retrying (`is_transient`): a reconciler
turns every other exception raised while reading or deciding on an object's own spec into that object's
InvalidSpec/Error condition (`describe_spec_error` words it), once, instead of a retry loop.
Durations and failures go to `<kind>_reconcile` and `<kind>_reconcile_error`
(`kube.metrics`). `ramp.manager` builds one Controller per reconciler kind; the reconcilers themselves live
in `ramp.rollout`, `ramp.analysis` and `ramp.experiments`, which import this module for the contract only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import httpx

from ramp.kube.errors import ApiError
from ramp.kube.metrics import ReconcileMetrics, reconcile_metrics
from ramp.kube.ratelimit import ControllerRateLimiter
from ramp.kube.resources import split_key
from ramp.kube.workqueue import WorkQueue

log = logging.getLogger(__name__)


SPEC_ERROR_CODES = frozenset({400, 422})
"""API answers that refuse what the object's spec asked to write (BadRequest, Invalid): retrying cannot help."""
MAX_SPEC_ERROR_LENGTH = 1000
"""A condition message quoting a huge input is cut here: the field and the start of the value say enough."""


def is_transient(error: BaseException) -> bool:
    """True when trying again unchanged may succeed: an API error other than a refused body (5xx, 429, conflict,
    forbidden, not found), a network failure or a timeout. False for anything raised while reading or deciding
    on the object itself: that is a spec problem for its condition, not for backoff."""
    if isinstance(error, ApiError):
        return error.code not in SPEC_ERROR_CODES
    return isinstance(error, httpx.TransportError | OSError | TimeoutError)


def describe_spec_error(error: BaseException) -> str:
    """A one-line message for an exception raised by a bad spec: its text and type, starting with the field
    where the parser named it (else with "spec"), cut to `MAX_SPEC_ERROR_LENGTH` characters."""
    text = " ".join(str(error).split()) if str(error) else ""
    if text.startswith("spec"):
        message = f"{text} ({type(error).__name__})"  # the parser named the field
    else:
        message = f"spec: cannot be processed: {text or 'no detail'} ({type(error).__name__}); fix the value"
    if len(message) > MAX_SPEC_ERROR_LENGTH:
        message = message[: MAX_SPEC_ERROR_LENGTH - 3] + "..."
    return message


@dataclass(frozen=True)
class Result:
    """What a reconcile asks for next: nothing (`Result()`), or another look in `requeue_after` seconds."""

    requeue_after: float | None = None

    @classmethod
    def after(cls, seconds: float) -> Result:
        return cls(requeue_after=seconds)


class Reconciler(Protocol):
    """Brings one object's world towards its spec. Idempotent; raise to be retried with backoff."""

    async def reconcile(self, key: str) -> Result: ...


class Controller:
    """One work queue and `workers` concurrent workers calling one reconciler."""

    def __init__(
        self,
        name: str,
        reconciler: Reconciler,
        *,
        workers: int,
        metrics_prefix: str,
        rate_limiter: ControllerRateLimiter | None = None,
        shard_of: Callable[[str], int] | None = None,
        holds: Callable[[int], bool] | None = None,
    ) -> None:
        """Sharded controllers (`ramp.manager.sharding`) pass `shard_of` (a key's shard) and `holds` (whether
        this replica holds a shard now): a key of a shard not held is dropped when a worker takes it, and each
        admitted reconcile runs as its own task, so that `cancel_shard` can stop the reconciles of a shard this
        replica gives up or loses."""
        if (shard_of is None) != (holds is None):
            raise ValueError(f"{name}: pass both shard_of and holds, or neither")
        if workers < 1:
            raise ValueError(f"{name}: workers must be at least 1, got {workers}")
        self.name = name
        self.reconciler = reconciler
        self.workers = workers
        self.queue = WorkQueue(name, rate_limiter)
        self._metrics: ReconcileMetrics = reconcile_metrics(metrics_prefix)
        self._tasks: list[asyncio.Task[None]] = []
        self.shard_of = shard_of
        self.holds = holds
        self._running: dict[str, tuple[asyncio.Task[Result], int]] = {}

    @property
    def tasks(self) -> list[asyncio.Task[None]]:
        """The worker tasks (empty before `start`)."""
        return list(self._tasks)

    def start(self) -> None:
        """Start the workers on the running loop."""
        self._tasks = [asyncio.create_task(self._work(), name=f"{self.name}-worker-{i}") for i in range(self.workers)]

    async def stop(self, grace_seconds: float) -> bool:
        """Stop taking keys; let in-flight reconciles finish for up to `grace_seconds`, then cancel them.

        Returns True if every worker finished on its own.
        """
        self.queue.shut_down()
        if not self._tasks:
            return True
        _, pending = await asyncio.wait(self._tasks, timeout=grace_seconds)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return not pending

    def cancel(self) -> None:
        """Stop at once, abandoning in-flight reconciles (used when leadership is lost)."""
        self.queue.shut_down()
        for task in self._tasks:
            task.cancel()

    async def cancel_shard(self, shard: int) -> int:
        """Cancel the in-flight reconciles of `shard` (as admitted), and wait until they have ended; returns how
        many there were. Their keys are not retried here: the replica that takes the shard enqueues them."""
        doomed = [task for task, of in self._running.values() if of == shard]
        for task in doomed:
            task.cancel()
        if doomed:
            await asyncio.wait(doomed)
        return len(doomed)

    async def _work(self) -> None:
        while (key := await self.queue.get()) is not None:
            try:
                await self.process(key)
            finally:
                self.queue.done(key)
            # `get` does not wait while keys are queued, and a reconcile that needs no I/O (a finished run, an
            # object already in the state it wants) never waits either: without this turn one worker could go
            # through a whole burst of keys while the loop serves nothing else (issue 13).
            await asyncio.sleep(0)

    async def process(self, key: str) -> None:
        """Reconcile one key and decide its next visit (exposed for tests)."""
        shard = None
        if self.shard_of is not None and self.holds is not None:
            shard = self.shard_of(key)
            if not self.holds(shard):
                self.queue.forget(key)
                return
        namespace, name = split_key(key)
        started = time.monotonic()
        wall_started = time.time()
        try:
            result = await self._reconcile(key, shard)
        except asyncio.CancelledError:
            raise
        except _Dropped:
            log.info("reconcile cancelled: its shard is no longer ours", extra={"controller": self.name, "key": key})
            return
        except Exception as err:
            self._metrics.errors.inc(namespace or "", name)
            log.error(
                "reconcile failed; retrying with backoff",
                exc_info=err,
                extra={"controller": self.name, "key": key, "retries": self.queue.num_requeues(key)},
            )
            self.queue.add_rate_limited(key)
            return
        finally:
            self._metrics.duration.observe(time.monotonic() - started, namespace or "", name)
            if log.isEnabledFor(logging.DEBUG):
                # Start and end on the wall clock: replicas' logs can then be compared for overlaps.
                log.debug(
                    "reconciled",
                    extra={"controller": self.name, "key": key, "started": wall_started, "ended": time.time()},
                )
        self.queue.forget(key)
        if result.requeue_after is not None:
            self.queue.add_after(key, result.requeue_after)

    async def _reconcile(self, key: str, shard: int | None) -> Result:
        """The reconcile itself; when sharded, in a task of its own that `cancel_shard` may cancel."""
        if shard is None:
            return await self.reconciler.reconcile(key)
        task = asyncio.create_task(self.reconciler.reconcile(key), name=f"{self.name}-reconcile-{key}")
        self._running[key] = (task, shard)
        try:
            await asyncio.wait([task])
        except asyncio.CancelledError:
            task.cancel()  # the worker itself is being cancelled: its reconcile goes with it, and ends first
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([task])
            raise
        finally:
            if self._running.get(key, (None, 0))[0] is task:
                del self._running[key]
        if task.cancelled():
            raise _Dropped(key)
        return task.result()


class _Dropped(Exception):
    """A reconcile cancelled by `Controller.cancel_shard` (its shard was given up or lost)."""
