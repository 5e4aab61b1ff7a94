"""Sharded replicas (`ramp controller --shards N`): which shards this replica holds, through one Lease each.

Every replica runs one `ShardCoordinator`. Each round (every retry period, or sooner when an observed Lease is
about to expire) it
1. keeps its member Lease (`kube.lease.member_lease_name`) renewed: that is how replicas find each other;
2. lists the Leases of the lease namespace once, notes every shard Lease and member Lease it sees (expiry is
   timed from when *this* replica saw a record change, as client-go does, so clock skew does not matter);
3. asks `core.sharding.plan_shards` which shards to take and which to give back, and does it: a take is one
   compare-and-swap write on the shard's Lease (`LeaderElector.try_acquire`), after which a `hold()` task
   renews it like any leader Lease.

A held shard is lost when its renewal does not succeed within the renew deadline (`hold()` returns): it is
dropped at once — keys of it are refused at dequeue and its in-flight reconciles are cancelled — 5 s (lease
duration - renew deadline, with the defaults) before any other replica can see the Lease expire. A shard given
back to balance the load is dropped first (in-flight reconciles cancelled and ended), then released, so no
write of ours can follow its release. A gained shard's objects are all enqueued (`gained`).

`ramp.manager.runtime.Manager` owns one coordinator per term, passes the `gained` and `dropped` callbacks,
and calls `close()` after its workers stopped, which hands every Lease back.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx

from ramp.core.sharding import ShardPlan, plan_shards
from ramp.kube.client import KubeClient
from ramp.kube.errors import ApiError
from ramp.kube.leaderelection import KubeLeaseStore, LeaderElector
from ramp.kube.lease import member_lease_name, member_lease_prefix, record_from_lease, shard_lease_name
from ramp.kube.metrics import SHARDS_HELD, SHARDS_TOTAL
from ramp.kube.resources import LEASES
from ramp.manager.options import ManagerOptions

log = logging.getLogger("ramp.manager")

_MEMBER_SUFFIX = re.compile(r"[0-9a-f]{12}")
_MIN_PAUSE = 0.05
_WARN_EVERY = 60.0


class ShardCoordinator:
    """Takes, holds and gives back this replica's shards (see the module docstring)."""

    def __init__(
        self,
        client: KubeClient,
        options: ManagerOptions,
        *,
        gained: Callable[[int], None],
        dropped: Callable[[int], Awaitable[None]],
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        """`monotonic`, `clock` (the Lease records' wall clock) and `sleep` (of the renewals) are for tests."""
        self.client = client
        self.options = options
        self.shards = options.shards
        self.identity = options.identity
        self.namespace = options.lease_namespace
        self._gained = gained
        self._dropped = dropped
        self._monotonic = monotonic
        self._clock = clock
        self._sleep = sleep
        self.electors = [
            self._elector(shard_lease_name(options.instance_id, i, self.shards)) for i in range(self.shards)
        ]
        self.member = self._elector(member_lease_name(options.instance_id, self.shards, self.identity))
        self._member_prefix = member_lease_prefix(options.instance_id, self.shards)
        suffix = re.escape(f"-{options.instance_id}") if options.instance_id else ""
        self._group_lease = re.compile(rf"argo-rollouts-shard-\d+-of-(\d+){suffix}")
        self._others_seen: dict[str, tuple[Any, float]] = {}
        self._warned_at = -math.inf
        self.held: set[int] = set()
        self._holds: dict[int, asyncio.Task[None]] = {}
        self._member_hold: asyncio.Task[None] | None = None
        self._members_seen: dict[str, tuple[Any, float]] = {}
        self._free_before: set[int] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._giving_back: set[int] = set()
        self._departed: dict[str, Any] = {}
        """Identities seen to let a shard Lease expire -> their member Lease record then (None: not seen)."""
        SHARDS_TOTAL.set(self.shards)
        SHARDS_HELD.set(0)

    def _elector(self, name: str) -> LeaderElector:
        opts = self.options
        timing = (
            {"clock": self._clock, "monotonic": self._monotonic, "sleep": self._sleep}
            if self._clock is not None and self._sleep is not None
            else {}
        )
        return LeaderElector(
            KubeLeaseStore(self.client, self.namespace, name),
            identity=self.identity,
            lease_duration=opts.lease_duration,
            renew_deadline=opts.renew_deadline,
            retry_period=opts.retry_period,
            **timing,  # type: ignore[arg-type]
        )

    def holds(self, shard: int) -> bool:
        return shard in self.held

    async def run(self) -> None:
        """Balance rounds until cancelled."""
        log.info(
            "sharding", extra={"shards": self.shards, "identity": self.identity, "lease_namespace": self.namespace}
        )
        while True:
            pause = self.options.retry_period
            try:
                pause = await self.round()
            except (ApiError, httpx.HTTPError) as err:
                log.error("shard balancing failed; retrying", extra={"error": str(err) or type(err).__name__})
            await asyncio.sleep(max(pause, _MIN_PAUSE))

    async def round(self) -> float:
        """One balancing round; returns the pause before the next one."""
        if (self._member_hold is None or self._member_hold.done()) and await self.member.try_acquire():
            self._member_hold = asyncio.create_task(self.member.hold(), name="shard-member-lease")
        listed = await self.client.list(LEASES, self.namespace)
        leases = {str(item["metadata"]["name"]): item for item in listed.get("items") or []}
        members = self._live_members(leases)
        other_group = self._live_other_group(leases)
        holders: dict[int, str | None] = {}
        for index, elector in enumerate(self.electors):
            if not elector.is_leader:
                elector.observe(leases.get(elector.name))
            holders[index] = self.identity if index in self.held else elector.holder()
        free = {i for i, holder in holders.items() if holder is None}
        # Orphans: free shards nobody under the target took last round, and shards whose holder died (their
        # Lease expired rather than being released): the latter are taken at once, which keeps the takeover
        # after a crash within the lease duration plus one round.
        expired = {i for i in free if self.electors[i].is_expired()}
        # A replica that let a shard Lease expire is gone (or cut off), even while its member Lease still
        # looks live: it must not count, or the shards just taken over would be given back for it.
        # Remembered until its member Lease changes again (it is back).
        for gone in {self.electors[i].observed_holder for i in expired} - {self.identity}:
            self._departed[gone] = next((r for r, _ in self._members_seen.values() if r.holder_identity == gone), None)
        members -= set(self._departed)
        plan = plan_shards(self.shards, self.identity, members, holders, orphans=(free & self._free_before) | expired)
        self._free_before = free
        if other_group and plan.acquire:
            self._warn_other_group(other_group)
            plan = ShardPlan(release=plan.release)
        for index in plan.release:
            await self._give_back(index, reason="balancing")
        for index in plan.acquire:
            if await self.electors[index].try_acquire():
                self._take(index)
        waits = [e.expires_in() for e in self.electors]
        soonest = min((w for w in waits if w is not None), default=self.options.retry_period)
        return min(self.options.retry_period, soonest + 0.01)

    def _live_members(self, leases: dict[str, dict[str, Any]]) -> set[str]:
        """Identities whose member Lease changed within its duration, as this replica observed."""
        now = self._monotonic()
        live = {self.identity}
        seen: dict[str, tuple[Any, float]] = {}
        for name, lease in leases.items():
            if not name.startswith(self._member_prefix) or not _MEMBER_SUFFIX.fullmatch(
                name[len(self._member_prefix) :]
            ):
                continue
            record = record_from_lease(lease)
            before = self._members_seen.get(name)
            first_seen = before[1] if before is not None and before[0] == record else now
            seen[name] = (record, first_seen)
            holder = record.holder_identity
            if holder in self._departed:
                if self._departed[holder] is None:
                    self._departed[holder] = record  # first sight since it let a shard expire
                elif self._departed[holder] != record:
                    del self._departed[holder]  # renewed since it let a shard expire: it is back
            if holder and holder not in self._departed and now - first_seen < record.lease_duration_seconds:
                live.add(holder)
        self._members_seen = seen
        return live

    def _live_other_group(self, leases: dict[str, dict[str, Any]]) -> list[str]:
        """Shard Leases of this instance id under another shard count (replicas run with another --shards)
        that a live holder renews: while there are any, take nothing, or a Rollout could have a holder in
        each group. (They take nothing while ours are held either, so the group that was first carries on.)"""
        now = self._monotonic()
        seen: dict[str, tuple[Any, float]] = {}
        live = []
        for name, lease in leases.items():
            matched = self._group_lease.fullmatch(name)
            if matched is None or int(matched.group(1)) == self.shards:
                continue
            record = record_from_lease(lease)
            before = self._others_seen.get(name)
            first_seen = before[1] if before is not None and before[0] == record else now
            seen[name] = (record, first_seen)
            if record.holder_identity and now - first_seen < record.lease_duration_seconds:
                live.append(name)
        self._others_seen = seen
        return sorted(live)

    def _warn_other_group(self, names: list[str]) -> None:
        now = self._monotonic()
        if now - self._warned_at >= _WARN_EVERY:
            self._warned_at = now
            log.warning(
                "replicas with another --shards hold shards of this instance; taking none until they stop",
                extra={"leases": ",".join(names[:5]), "shards": self.shards},
            )

    def _take(self, index: int) -> None:
        self.held.add(index)
        SHARDS_HELD.set(len(self.held))
        log.info("shard acquired", extra={"shard": index, "of": self.shards, "identity": self.identity})
        self._gained(index)
        task = asyncio.create_task(self.electors[index].hold(), name=f"shard-{index}-lease")
        self._holds[index] = task
        task.add_done_callback(functools.partial(self._on_hold_ended, index))

    def _on_hold_ended(self, index: int, task: asyncio.Task[None]) -> None:
        """The renewal of a held shard failed past its deadline: drop the shard now."""
        if self._holds.get(index) is not task or index in self._giving_back:
            return  # given back on purpose
        del self._holds[index]
        self.held.discard(index)
        SHARDS_HELD.set(len(self.held))
        log.error("shard lost: stopping its reconciles", extra={"shard": index, "identity": self.identity})
        dropping = asyncio.ensure_future(self._dropped(index))
        self._background.add(dropping)
        dropping.add_done_callback(self._background.discard)

    async def _give_back(self, index: int, reason: str) -> None:
        """Drop the shard (refuse its keys, cancel and end its reconciles), then release its Lease."""
        self.held.discard(index)
        SHARDS_HELD.set(len(self.held))
        # The renewal task stays in `_holds` until it has ended, so that `close()` still finds it should this
        # be cancelled half-way (a forgotten renewal would keep the shard from everyone, reconciled by no one).
        task = self._holds.get(index)
        self._giving_back.add(index)
        try:
            await self._dropped(index)
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if self._holds.get(index) is task:
                del self._holds[index]
            self._giving_back.discard(index)
        await self.electors[index].release()
        log.info("shard released", extra={"shard": index, "reason": reason, "identity": self.identity})

    async def close(self) -> None:
        """Give back every shard and leave (called once the workers have stopped)."""
        for index in sorted(self.held | set(self._holds)):
            await self._give_back(index, reason="shutdown")
        for task in list(self._background):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._member_hold is not None:
            self._member_hold.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._member_hold
        if self.member.is_leader:
            # Released first (a replica that misses the delete still reads it as gone), then deleted.
            await self.member.release()
            with contextlib.suppress(ApiError, httpx.HTTPError, TimeoutError):
                async with asyncio.timeout(5):
                    await self.client.delete(LEASES, self.member.name, self.namespace)
