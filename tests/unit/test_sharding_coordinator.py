"""Sharded replicas balancing through Leases held in memory (the API server's compare-and-swap on
resourceVersion, no network): the first replica takes every shard, a newcomer gets its share, a replica
leaving hands everything back, and replicas of another --shards value block taking."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from ramp.kube.errors import ApiError
from ramp.kube.resources import Resource
from ramp.manager.options import ManagerOptions
from ramp.manager.sharding import ShardCoordinator


class MemoryLeases:
    """Just enough of `KubeClient` for Leases in one namespace."""

    def __init__(self) -> None:
        self.leases: dict[str, dict[str, Any]] = {}
        self.version = 0

    def with_own_limiter(self) -> MemoryLeases:
        return self

    async def get(self, resource: Resource, name: str, namespace: str | None = None) -> dict[str, Any]:
        if name not in self.leases:
            raise ApiError(404, "NotFound", f'leases "{name}" not found')
        return copy.deepcopy(self.leases[name])

    async def create(self, resource: Resource, body: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        name = body["metadata"]["name"]
        if name in self.leases:
            raise ApiError(409, "AlreadyExists", "exists")
        return self._store(body)

    async def update(self, resource: Resource, body: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        current = self.leases[body["metadata"]["name"]]
        if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", "the object has been modified")
        return self._store(body)

    async def list(self, resource: Resource, namespace: str | None = None) -> dict[str, Any]:
        return {"items": [copy.deepcopy(lease) for lease in self.leases.values()]}

    async def delete(self, resource: Resource, name: str, namespace: str | None = None) -> dict[str, Any]:
        return self.leases.pop(name)

    def holders(self, shards: int = 3) -> dict[int, str]:
        return {
            i: self.leases.get(f"argo-rollouts-shard-{i}-of-{shards}-blue", {})
            .get("spec", {})
            .get("holderIdentity", "")
            for i in range(shards)
        }

    def _store(self, body: dict[str, Any]) -> dict[str, Any]:
        self.version += 1
        stored = copy.deepcopy({**body, "metadata": {**body["metadata"], "resourceVersion": str(self.version)}})
        self.leases[body["metadata"]["name"]] = stored
        return copy.deepcopy(stored)


class Clock:
    """Wall and monotonic time that move only when told; the renewals sleep on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.moved = asyncio.Condition()

    async def sleep(self, seconds: float) -> None:
        until = self.now + seconds
        async with self.moved:
            await self.moved.wait_for(lambda: self.now >= until)

    async def advance(self, seconds: float) -> None:
        """Move in half-second steps, letting every renewal due run at each."""
        for _ in range(int(seconds * 2)):
            async with self.moved:
                self.now += 0.5
                self.moved.notify_all()
            for _ in range(20):
                await asyncio.sleep(0)

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=self.now)


class Replica:
    def __init__(self, leases: MemoryLeases, identity: str, shards: int = 3, clock: Clock | None = None) -> None:
        self.gained: list[int] = []
        self.dropped: list[int] = []

        async def dropped(shard: int) -> None:
            self.dropped.append(shard)

        options = ManagerOptions(identity=identity, instance_id="blue", shards=shards, lease_namespace="ops")
        self.coordinator = ShardCoordinator(
            leases,  # type: ignore[arg-type]
            options,
            gained=self.gained.append,
            dropped=dropped,
            **({"monotonic": clock.monotonic, "clock": clock.wall, "sleep": clock.sleep} if clock else {}),  # type: ignore[arg-type]
        )

    async def round(self) -> None:
        await self.coordinator.round()


async def test_the_first_replica_takes_every_shard_and_a_newcomer_gets_its_share_in_two_rounds() -> None:
    leases = MemoryLeases()
    a, b = Replica(leases, "a"), Replica(leases, "b")
    await a.round()
    assert a.coordinator.held == {0, 1, 2} and sorted(a.gained) == [0, 1, 2]
    assert set(leases.holders().values()) == {"a"}
    await b.round()  # b registers; every shard is held
    assert b.coordinator.held == set()
    await a.round()  # a sees b and gives back what b lacks, dropping it first
    assert len(a.coordinator.held) == 2 and len(a.dropped) == 1
    await b.round()
    assert len(b.coordinator.held) == 1 and b.gained == a.dropped
    assert sorted(leases.holders().values()) == ["a", "a", "b"]
    for _ in range(3):  # and it stays that way
        await a.round()
        await b.round()
    assert sorted(leases.holders().values()) == ["a", "a", "b"]
    await a.coordinator.close()
    await b.coordinator.close()


async def test_closing_hands_every_shard_back_and_removes_the_member_lease() -> None:
    leases = MemoryLeases()
    a, b = Replica(leases, "a"), Replica(leases, "b")
    await a.round()
    await b.round()
    await a.coordinator.close()
    assert set(leases.holders().values()) == {""} and sorted(a.dropped) == [0, 1, 2]
    assert not [name for name in leases.leases if "member" in name and name.endswith(a.coordinator.member.name[-12:])]
    await b.round()
    assert b.coordinator.held == {0, 1, 2}
    await b.coordinator.close()


async def test_replicas_of_another_shard_count_block_taking_until_they_stop() -> None:
    leases = MemoryLeases()
    old, new = Replica(leases, "old", shards=2), Replica(leases, "new", shards=3)
    await old.round()
    assert old.coordinator.held == {0, 1}
    await new.round()
    assert new.coordinator.held == set()
    await old.coordinator.close()
    await new.round()
    assert new.coordinator.held == {0, 1, 2}
    await new.coordinator.close()


async def test_a_dead_replicas_shard_is_taken_once_its_lease_runs_out_and_is_not_handed_back_to_it() -> None:
    leases, clock = MemoryLeases(), Clock()
    a, b, c = (Replica(leases, name, clock=clock) for name in "abc")
    for _ in range(3):
        for replica in (a, b, c):
            await replica.round()
    assert sorted(leases.holders().values()) == ["a", "b", "c"]
    a.dropped.clear()
    # c dies: nothing of it runs any more, nothing is released; its member Lease happened to be renewed
    # 4 s after its shard Lease, so it looks live for 4 s after the shard Lease has expired
    for task in c.coordinator._holds.values():
        task.cancel()
    await clock.advance(4)
    assert c.coordinator._member_hold is not None
    c.coordinator._member_hold.cancel()
    await clock.advance(6)  # not yet expired: nobody takes it
    for replica in (a, b):
        await replica.round()
    assert sorted(leases.holders().values()) == ["a", "b", "c"]
    await clock.advance(6)  # 16 s unchanged: expired
    await a.round()
    assert sorted(leases.holders().values()) == ["a", "a", "b"]
    for _ in range(3):  # c's member Lease still looks live for a moment: no shard goes back for it
        await a.round()
        await b.round()
    assert sorted(leases.holders().values()) == ["a", "a", "b"] and not a.dropped
    for replica in (a, b):
        await replica.coordinator.close()
