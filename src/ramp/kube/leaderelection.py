"""Leader election on a Lease: wait for it, hold it by renewing, hand it back on graceful shutdown.

The decisions are `kube.lease.decide_lease` (whose Lease it is) and `kube.lease.decide_term` (whether we
may still act); this module does the reads and writes through a `LeaseStore` (`KubeLeaseStore` in
production) with optimistic concurrency (every write carries the resourceVersion it was decided on, so of
two contenders exactly one wins). Timings follow upstream: lease 15 s, renew deadline 10 s, retry 2 s. The
renew deadline counts from when the last successful request was sent: `hold()` returns (the term is over)
no later than that instant plus 10 s, and no attempt is allowed to run past it.

Two refinements over client-go, both to hand over faster without risking two leaders:
- a waiting standby sleeps until the observed expiry instant rather than up to a whole (jittered) retry
  period past it, and its retry jitter is 0-20 % instead of 0-120 %; so after the leader is SIGKILLed a
  standby takes over within about lease duration + one retry period (~17 s), not up to ~20 s;
- the leader renews with the Lease it last wrote (one request, no GET) and only reads when that fails,
  as newer client-go versions also do; after a failed renewal it retries every half second, so a short API
  server restart does not cost the lease.

`ramp.manager` calls `acquire()` before starting informers and workers, runs `hold()` alongside them (it
returns when the lease is lost: the manager then stops all leader work) and `release()` last. The store's
client has its own rate limiter (`KubeClient.with_own_limiter`): renewals never wait behind reconciles.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from ramp.kube.client import KubeClient
from ramp.kube.errors import ApiError
from ramp.kube.lease import (
    LeaseAction,
    LeaseDecision,
    LeaseRecord,
    Outcome,
    decide_lease,
    decide_term,
    lease_spec,
    record_from_lease,
    release_record,
)
from ramp.kube.metrics import LEADER
from ramp.kube.resources import LEASES

log = logging.getLogger(__name__)

# Repeating the same failure every retry period would flood the log; say it again at most this often.
_REPEAT_ERROR_AFTER = 30.0
_RELEASE_TIMEOUT = 5.0


@dataclass(frozen=True)
class _Attempt:
    held: bool
    decision: LeaseDecision | None = None

    @property
    def outcome(self) -> Outcome:
        if self.held:
            return Outcome.HELD
        if self.decision is not None and self.decision.action is LeaseAction.WAIT:
            return Outcome.TAKEN
        return Outcome.FAILED


def _utcnow() -> datetime:
    return datetime.now(UTC)


class LeaseStore(Protocol):
    """Where the one Lease lives. Methods raise `ApiError` (404 absent, 409 conflict) or `httpx.HTTPError`."""

    @property
    def namespace(self) -> str: ...

    @property
    def name(self) -> str: ...

    async def get(self) -> dict[str, Any]: ...

    async def create(self, lease: dict[str, Any]) -> dict[str, Any]: ...

    async def update(self, lease: dict[str, Any]) -> dict[str, Any]:
        """PUT the Lease; its `metadata.resourceVersion` makes this a compare-and-swap."""
        ...


@dataclass(frozen=True)
class KubeLeaseStore:
    """The Lease on the API server."""

    client: KubeClient
    namespace: str
    name: str

    async def get(self) -> dict[str, Any]:
        return await self.client.get(LEASES, self.name, self.namespace)

    async def create(self, lease: dict[str, Any]) -> dict[str, Any]:
        return await self.client.create(LEASES, lease, self.namespace)

    async def update(self, lease: dict[str, Any]) -> dict[str, Any]:
        return await self.client.update(LEASES, lease, self.namespace)


class LeaderElector:
    """Competes for one Lease under one identity."""

    def __init__(
        self,
        store: LeaseStore,
        *,
        identity: str,
        lease_duration: int = 15,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        clock: Callable[[], datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """`clock` stamps the Lease record; `monotonic` and `sleep` time the term (tests pass fake ones)."""
        if not lease_duration > renew_deadline > retry_period * 1.2:
            raise ValueError("leader election needs lease duration > renew deadline > 1.2 * retry period")
        self.store = store
        self.namespace = store.namespace
        self.name = store.name
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._renewed_at: float | None = None
        self._lease: dict[str, Any] | None = None
        self._observed: LeaseRecord | None = None
        self._observed_at: datetime | None = None
        self._is_leader = False
        self._last_error: tuple[str, float] = ("", 0.0)

    @property
    def lease_ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def is_leader(self) -> bool:
        return self._is_leader

    @property
    def renewed_at(self) -> float | None:
        """Monotonic send time of the last successful acquire or renew request (None before the first)."""
        return self._renewed_at

    async def acquire(self) -> None:
        """Return once this process holds the Lease (retrying for as long as it takes)."""
        announced = False
        while True:
            attempt, leading = await self._attempt()
            if leading:
                log.info("leader acquired", extra={"lease": self.lease_ref, "identity": self.identity})
                return
            if attempt.held:
                # Written, but the answer came after the renew deadline had already run out: acting now
                # could overlap a standby that saw our write early. The next attempt renews at once.
                log.warning("lease acquired too late to use; renewing", extra={"lease": self.lease_ref})
                continue
            if not announced and self._observed is not None:
                announced = True
                log.info(
                    "waiting for lease",
                    extra={
                        "lease": self.lease_ref,
                        "holder": self._observed.holder_identity,
                        "identity": self.identity,
                    },
                )
            delay = self.retry_period * (1 + random.random() * 0.2)
            if attempt.decision is not None and attempt.decision.action is LeaseAction.WAIT:
                # Wake at the observed expiry (plus a hair) instead of polling past it.
                delay = min(delay, attempt.decision.expires_in + 0.01)
            await self._sleep(delay)

    async def try_acquire(self) -> bool:
        """One attempt to take (or renew) the Lease; True if this process now holds it and may act.

        Used by sharding (`ramp.manager.sharding`), which decides itself when to try for which Lease."""
        _, leading = await self._attempt()
        if leading:
            log.info("lease acquired", extra={"lease": self.lease_ref, "identity": self.identity})
        return leading

    async def _attempt(self) -> tuple[_Attempt, bool]:
        """One try for the Lease, and whether this process now leads: `decide_term` says whether the write came
        back in time to act on."""
        started = self._monotonic()
        attempt = await self._try_acquire_or_renew()
        term = decide_term(
            attempt.outcome,
            renewed_at=None,
            request_started=started,
            now=self._monotonic(),
            renew_deadline=self.renew_deadline,
        )
        if term.leading:
            self._renewed_at = term.renewed_at
            self._is_leader = True
            LEADER.labels(self.name).set(1)
        return attempt, term.leading

    def observe(self, lease: dict[str, Any] | None) -> None:
        """Take note of the Lease as listed (None: it does not exist), so expiry is timed from when it was seen."""
        if lease is None:
            if not self._is_leader:
                self._lease = self._observed = self._observed_at = None
            return
        self._remember(lease, self._clock())

    def holder(self) -> str | None:
        """Who holds the Lease as last observed: an identity, or None when it is absent, released or expired
        (by our own observation: unchanged for its whole duration since we first saw it)."""
        if self._is_leader:
            return self.identity
        if self._observed is None or not self._observed.holder_identity:
            return None
        now = self._clock()
        decision = decide_lease(
            self._observed,
            identity=self.identity,
            now=now,
            observed_at=self._observed_at,
            lease_duration=self.lease_duration,
        )
        # RENEW here means our identity is on a Lease we do not hold (a write whose answer came too late):
        # ours to take again, so free.
        return self._observed.holder_identity if decision.action is LeaseAction.WAIT else None

    @property
    def observed_holder(self) -> str:
        """The holder identity on the Lease as last observed ("" when none or unknown), expired or not."""
        return self._observed.holder_identity if self._observed is not None else ""

    def is_expired(self) -> bool:
        """True when the observed Lease names a holder (other than us) that let it run out: a dead holder, as
        opposed to a Lease released on purpose or never created."""
        return (
            not self._is_leader
            and self._observed is not None
            and bool(self._observed.holder_identity)
            and self._observed.holder_identity != self.identity
            and self.holder() is None
        )

    def expires_in(self) -> float | None:
        """Seconds until the observed holder's Lease runs out (None when free, ours, or unknown)."""
        if self._is_leader or self._observed is None or not self._observed.holder_identity:
            return None
        decision = decide_lease(
            self._observed,
            identity=self.identity,
            now=self._clock(),
            observed_at=self._observed_at,
            lease_duration=self.lease_duration,
        )
        return decision.expires_in if decision.action is LeaseAction.WAIT else None

    async def hold(self) -> None:
        """Renew every retry period; return when the Lease is lost: taken, or not renewed in time.

        Returns no later than the renew deadline after the send time of the last successful request.
        """
        renewed_at = self._renewed_at
        if renewed_at is None:
            raise RuntimeError("hold() needs the Lease: call acquire() first")
        failing = False
        while True:
            # After a failed renewal, try again sooner: when the API server comes back from a restart the
            # lease is renewed within half a second, instead of up to a whole period later (when the
            # renew deadline may already have passed). Never sleep past the deadline: the loss must be
            # noticed at it, not up to a period later.
            deadline = renewed_at + self.renew_deadline
            pause = self.retry_period / 4 if failing else self.retry_period
            await self._sleep(max(min(pause, deadline - self._monotonic()), 0.0))
            started = self._monotonic()
            outcome = Outcome.FAILED
            if deadline > started:
                try:
                    # Cut the attempt at the deadline: an answer after it could not extend the term anyway.
                    async with asyncio.timeout(deadline - started):
                        outcome = (await self._try_acquire_or_renew()).outcome
                except TimeoutError:
                    outcome = Outcome.FAILED
            term = decide_term(
                outcome,
                renewed_at=renewed_at,
                request_started=started,
                now=self._monotonic(),
                renew_deadline=self.renew_deadline,
            )
            failing = outcome is not Outcome.HELD
            if term.leading and term.renewed_at is not None:
                renewed_at = self._renewed_at = term.renewed_at
                continue
            self._is_leader = False
            LEADER.labels(self.name).set(0)
            holder = self._observed.holder_identity if self._observed else ""
            log.error(
                "leader lost",
                extra={"lease": self.lease_ref, "identity": self.identity, "holder": holder},
            )
            return

    async def release(self) -> None:
        """Hand the Lease back (empty holder) so a standby takes over at its next try; no-op unless leader."""
        if not self._is_leader or self._lease is None or self._observed is None:
            return
        self._is_leader = False
        LEADER.labels(self.name).set(0)
        try:
            async with asyncio.timeout(_RELEASE_TIMEOUT):
                try:
                    await self._write(release_record(self._observed, self._clock()))
                except ApiError as err:
                    if not err.is_conflict:
                        raise
                    # A renewal cancelled in flight (hold() is cancelled before release) may have been
                    # written without us seeing its answer: read the Lease, and release it if still ours.
                    self._remember(await self.store.get(), self._clock())
                    if self._observed is None or self._observed.holder_identity != self.identity:
                        return
                    await self._write(release_record(self._observed, self._clock()))
        except (ApiError, httpx.HTTPError, TimeoutError) as err:
            log.warning(
                "lease release failed",
                extra={"lease": self.lease_ref, "error": str(err) or type(err).__name__},
            )
            return
        log.info("leader released", extra={"lease": self.lease_ref, "identity": self.identity})

    async def _try_acquire_or_renew(self) -> _Attempt:
        now = self._clock()
        if self._is_leader and self._lease is not None and self._observed is not None:
            decision = decide_lease(
                self._observed,
                identity=self.identity,
                now=now,
                observed_at=now,
                lease_duration=self.lease_duration,
            )
            if decision.record is not None:
                try:
                    await self._write(decision.record)
                    return _Attempt(held=True, decision=decision)
                except (ApiError, httpx.HTTPError) as err:
                    log.debug("optimistic lease renewal failed; re-reading", extra={"error": str(err)})
        try:
            return await self._read_and_decide(now)
        except ApiError as err:
            self._log_error(_explain(err, self.namespace))
        except httpx.HTTPError as err:
            self._log_error(f"cannot reach the API server: {type(err).__name__}: {err}")
        return _Attempt(held=False)

    async def _read_and_decide(self, now: datetime) -> _Attempt:
        try:
            lease = await self.store.get()
        except ApiError as err:
            if not err.is_not_found:
                raise
            decision = decide_lease(
                None, identity=self.identity, now=now, observed_at=None, lease_duration=self.lease_duration
            )
            assert decision.record is not None
            body = {
                "apiVersion": LEASES.api_version,
                "kind": LEASES.kind,
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": lease_spec(decision.record),
            }
            try:
                self._remember(await self.store.create(body), now)
            except ApiError as create_err:
                if create_err.is_already_exists:
                    return _Attempt(held=False)  # another contender created it first
                raise
            return _Attempt(held=True, decision=decision)

        self._remember(lease, now)
        decision = decide_lease(
            self._observed,
            identity=self.identity,
            now=now,
            observed_at=self._observed_at,
            lease_duration=self.lease_duration,
        )
        if decision.record is None:
            return _Attempt(held=False, decision=decision)
        try:
            await self._write(decision.record)
        except ApiError as err:
            if err.is_conflict:
                return _Attempt(held=False)  # someone wrote between our read and write
            raise
        return _Attempt(held=True, decision=decision)

    async def _write(self, record: LeaseRecord) -> None:
        """PUT `record` onto the last Lease seen (its resourceVersion makes this a compare-and-swap)."""
        assert self._lease is not None
        meta = {k: v for k, v in (self._lease.get("metadata") or {}).items() if k != "managedFields"}
        body = {**self._lease, "metadata": meta, "spec": lease_spec(record)}
        self._remember(await self.store.update(body), self._clock())

    def _remember(self, lease: dict[str, Any], seen_at: datetime) -> None:
        """Keep the latest Lease; restart the expiry clock only when its record changed (client-go's rule)."""
        record = record_from_lease(lease)
        if record != self._observed:
            self._observed = record
            self._observed_at = seen_at
        self._lease = lease

    def _log_error(self, message: str) -> None:
        last, at = self._last_error
        now = self._monotonic()
        if message != last or now - at >= _REPEAT_ERROR_AFTER:
            self._last_error = (message, now)
            log.error("leader election failed", extra={"lease": self.lease_ref, "error": message})


def _explain(err: ApiError, namespace: str) -> str:
    if err.is_not_found and "namespace" in err.message:
        return (
            f"lease namespace {namespace!r} does not exist; create it (kubectl create namespace {namespace}) "
            "or set POD_NAMESPACE"
        )
    if err.code == 403:
        return f"not allowed to read or write leases in namespace {namespace!r}: {err.message}"
    return str(err)
