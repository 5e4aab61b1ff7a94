"""The LeaderElector's state machine over an in-memory Lease store and a fake clock (no API server): when a
term starts, how long it lasts, and that it ends by the renew deadline after the last successful request
was *sent*, however slowly the answers come back."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ramp.kube.errors import ApiError
from ramp.kube.leaderelection import LeaderElector

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


class FakeClock:
    """Monotonic seconds that move only when the elector sleeps or the store says a call took time."""

    def __init__(self) -> None:
        self.now = 0.0
        self._actions: list[tuple[float, Callable[[], None]]] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return T0 + timedelta(seconds=self.now)

    def at(self, when: float, action: Callable[[], None]) -> None:
        """Run `action` once the clock reaches `when`."""
        self._actions.append((when, action))

    def advance(self, seconds: float) -> None:
        self.now += seconds
        due = [a for a in self._actions if a[0] <= self.now]
        self._actions = [a for a in self._actions if a[0] > self.now]
        for _, action in due:
            action()

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)


class MemoryLeaseStore:
    """One Lease in memory, with the API server's compare-and-swap on resourceVersion.

    `latency` is how long each call takes (on the fake clock); while `down`, calls fail to connect.
    """

    namespace = "ops"
    name = "lock"

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.lease: dict[str, Any] | None = None
        self.latency = 0.0
        self.down = False
        self.writes = 0

    async def get(self) -> dict[str, Any]:
        self._call()
        if self.lease is None:
            raise ApiError(404, "NotFound", 'leases.coordination.k8s.io "lock" not found')
        return copy.deepcopy(self.lease)

    async def create(self, lease: dict[str, Any]) -> dict[str, Any]:
        self._call()
        if self.lease is not None:
            raise ApiError(409, "AlreadyExists", "exists")
        return self._store(lease)

    async def update(self, lease: dict[str, Any]) -> dict[str, Any]:
        self._call()
        assert self.lease is not None
        if lease["metadata"].get("resourceVersion") != self.lease["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", "the object has been modified")
        return self._store(lease)

    def take_over(self, identity: str) -> None:
        """Another contender writes itself in as holder."""
        assert self.lease is not None
        self._store({**self.lease, "spec": {**self.lease["spec"], "holderIdentity": identity}})

    def holder(self) -> str:
        return (self.lease or {}).get("spec", {}).get("holderIdentity", "")

    def _call(self) -> None:
        if self.down:
            raise httpx.ConnectError("connection refused")
        self.clock.advance(self.latency)

    def _store(self, lease: dict[str, Any]) -> dict[str, Any]:
        self.writes += 1
        version = int((self.lease or {}).get("metadata", {}).get("resourceVersion", "0")) + 1
        self.lease = copy.deepcopy({**lease, "metadata": {**lease["metadata"], "resourceVersion": str(version)}})
        return copy.deepcopy(self.lease)


def _elector(clock: FakeClock, store: MemoryLeaseStore, identity: str = "me") -> LeaderElector:
    return LeaderElector(store, identity=identity, clock=clock.wall, monotonic=clock.monotonic, sleep=clock.sleep)


async def _run_until(clock: FakeClock, task: asyncio.Task[None], limit: float) -> None:
    """Let `task` run until it ends or the fake clock passes `limit`."""
    passed = asyncio.Event()
    clock.at(limit, passed.set)
    waiting = asyncio.create_task(passed.wait())
    await asyncio.wait([task, waiting], return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()


async def test_a_renewal_counts_from_when_it_was_sent_so_the_term_ends_by_send_time_plus_10s() -> None:
    clock = FakeClock()
    store = MemoryLeaseStore(clock)
    store.latency = 3.0  # every answer takes 3 s
    elector = _elector(clock, store)
    await elector.acquire()  # GET (404) sent at 0, then the create, answered at 6
    assert elector.renewed_at == 0.0
    # The renewal sent at 8 (answered at 11) is the last to succeed: the store is down from 11.5 on.
    clock.at(11.5, lambda: setattr(store, "down", True))
    holding = asyncio.create_task(elector.hold())
    await _run_until(clock, holding, limit=60)
    assert holding.done()
    assert elector.renewed_at == 8.0
    assert clock.now == pytest.approx(18.0), "lost at send time + 10 s, not answer time (11) + 10 s"
    assert not elector.is_leader


async def test_an_acquire_answered_after_the_renew_deadline_is_not_a_term() -> None:
    clock = FakeClock()
    store = MemoryLeaseStore(clock)
    store.latency = 11.0
    clock.at(11.0, lambda: setattr(store, "latency", 0.0))  # the API server recovers
    elector = _elector(clock, store)
    await elector.acquire()
    # The first write (sent at 0) landed at 11, too late to act on; the term starts at the renewal after it.
    assert store.writes == 2
    assert elector.renewed_at == pytest.approx(11.0)
    assert elector.is_leader


async def test_a_lease_taken_by_another_ends_the_term_at_the_next_renewal() -> None:
    clock = FakeClock()
    store = MemoryLeaseStore(clock)
    elector = _elector(clock, store)
    await elector.acquire()
    clock.at(3.0, lambda: store.take_over("other"))
    holding = asyncio.create_task(elector.hold())
    await _run_until(clock, holding, limit=60)
    assert holding.done()
    assert clock.now == pytest.approx(4.0), "renewals at 2 (ours) and 4 (taken): no waiting for a deadline"
    assert store.holder() == "other", "the loser does not write over the new holder"
    assert not elector.is_leader


async def test_renewals_keep_the_lease_while_the_store_answers_and_survive_a_short_outage() -> None:
    clock = FakeClock()
    store = MemoryLeaseStore(clock)
    elector = _elector(clock, store)
    await elector.acquire()
    clock.at(20.0, lambda: setattr(store, "down", True))
    clock.at(27.0, lambda: setattr(store, "down", False))  # back within the 10 s deadline
    holding = asyncio.create_task(elector.hold())
    await _run_until(clock, holding, limit=60)
    assert not holding.done()
    holding.cancel()
    with pytest.raises(asyncio.CancelledError):
        await holding
    assert elector.is_leader
    assert elector.renewed_at is not None
    assert elector.renewed_at >= 58.0
    assert store.holder() == "me"


async def test_a_standby_waits_while_the_holder_renews_and_takes_over_once_it_stops() -> None:
    clock = FakeClock()
    store = MemoryLeaseStore(clock)
    leader = _elector(clock, store, "leader")
    await leader.acquire()
    holding = asyncio.create_task(leader.hold())
    standby = _elector(clock, store, "standby")
    waiting = asyncio.create_task(standby.acquire())
    clock.at(30.0, holding.cancel)  # the leader dies without releasing
    await _run_until(clock, waiting, limit=120)
    assert waiting.done()
    assert store.holder() == "standby"
    # Expiry counts from when the standby last saw the record change: the leader's last renewal, at most one
    # jittered retry period (2 s x 1.2) before it died at 30.
    assert 30.0 - 2 * 1.2 + 15 <= clock.now <= 30.0 + 15 + 2 * 1.2


async def test_one_shot_acquire_takes_a_free_lease_and_others_see_it_held_until_it_goes_unrenewed() -> None:
    clock = FakeClock()
    store = MemoryLeaseStore(clock)
    mine, other = _elector(clock, store, "me"), _elector(clock, store, "other")
    assert await mine.try_acquire()
    assert mine.is_leader and mine.holder() == "me"
    other.observe(store.lease)
    assert other.holder() == "me"
    assert not await other.try_acquire()  # a live lease is not taken
    clock.advance(10)
    other.observe(store.lease)  # unchanged: the clock runs from when it was first seen
    assert other.holder() == "me" and other.expires_in() == 5.0
    clock.advance(5)
    assert other.holder() is None and other.expires_in() is None
    assert await other.try_acquire()
    assert store.holder() == "other"


async def test_an_absent_lease_reads_as_free() -> None:
    clock = FakeClock()
    elector = _elector(clock, MemoryLeaseStore(clock))
    elector.observe(None)
    assert elector.holder() is None


async def test_release_after_a_renewal_whose_answer_was_lost_still_hands_the_lease_back() -> None:
    clock = FakeClock()
    store = MemoryLeaseStore(clock)
    elector = _elector(clock, store)
    assert await elector.try_acquire()
    # A renewal written on the server whose answer never reached us (its task was cancelled in flight).
    assert store.lease is not None
    store._store({**store.lease, "spec": {**store.lease["spec"], "renewTime": "2025-01-01T00:00:02.000000Z"}})
    await elector.release()
    assert store.holder() == ""
