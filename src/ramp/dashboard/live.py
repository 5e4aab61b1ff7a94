"""Live state for the dashboard: informers (list + watch) per namespace, and change notifications for streams.

A `NamespaceWatch` runs informers for the Rollouts, ReplicaSets, pods, AnalysisRuns and Experiments of one
namespace (`ramp.kube.informer.Informer`); every cache change bumps a version and wakes the waiting streams,
which rebuild their JSON from the caches (`ramp.dashboard.serialize`) and send it when it changed. Nothing
polls the API server: reads of the list and of a rollout page are answered from the caches too.
`LiveState` starts a namespace's watch on first use (after one list of its Rollouts, so a forbidden namespace is
reported in words at once instead of retried silently) and stops them all on shutdown. Used by
`ramp.dashboard.api`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from ramp.dashboard import serialize
from ramp.kube.client import KubeClient
from ramp.kube.informer import EventHandler, Informer
from ramp.kube.resources import ANALYSIS_RUNS, EXPERIMENTS, PODS, REPLICA_SETS, ROLLOUTS

_SYNC_TIMEOUT = 20.0


class NamespaceWatch:
    """The informers of one namespace and a version number that grows with every change they see."""

    def __init__(self, client: KubeClient, namespace: str) -> None:
        self.namespace = namespace
        self.rollouts = Informer(client, ROLLOUTS, namespace=namespace)
        self.replica_sets = Informer(client, REPLICA_SETS, namespace=namespace)
        self.pods = Informer(client, PODS, namespace=namespace)
        self.analysis_runs = Informer(client, ANALYSIS_RUNS, namespace=namespace)
        self.experiments = Informer(client, EXPERIMENTS, namespace=namespace)
        self.version = 0
        self._changed = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []
        handler = EventHandler(
            on_add=lambda _obj: self._bump(),
            on_update=lambda _old, _new: self._bump(),
            on_delete=lambda _obj: self._bump(),
        )
        for informer in self._informers():
            informer.add_handler(handler)

    def _informers(self) -> list[Informer]:
        return [self.rollouts, self.replica_sets, self.pods, self.analysis_runs, self.experiments]

    def _bump(self) -> None:
        self.version += 1
        # Handlers are synchronous; waking the waiters needs the lock, so it is taken in a task of its own.
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(informer.run()) for informer in self._informers()]
        await asyncio.wait_for(asyncio.gather(*(i.wait_for_sync() for i in self._informers())), _SYNC_TIMEOUT)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait_for_change(self, seen: int, patience: float) -> int:
        """Wait until the version passes `seen` (or `patience` seconds go by); the version then."""
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait_for(lambda: self.version > seen), patience)
        return self.version

    def list_items(self) -> list[dict[str, Any]]:
        """The list rows of the namespace's Rollouts, sorted by name."""
        replica_sets = self.replica_sets.list(self.namespace)
        rows = [serialize.serialize_list_item(r, replica_sets) for r in self.rollouts.list(self.namespace)]
        return sorted(rows, key=lambda row: str(row["name"]))

    def rollout_detail(self, name: str) -> dict[str, Any] | None:
        """The rollout page's JSON from the caches; None when the Rollout is not there."""
        rollout = self.rollouts.get(f"{self.namespace}/{name}")
        if rollout is None:
            return None
        ns = self.namespace
        return serialize.serialize_rollout(
            rollout,
            self.replica_sets.list(ns),
            self.pods.list(ns),
            self.analysis_runs.list(ns),
            self.experiments.list(ns),
        )


class LiveState:
    """The namespace watches of one dashboard, started on first use."""

    def __init__(self, client: KubeClient) -> None:
        self.client = client
        self._watches: dict[str, NamespaceWatch] = {}
        self._starting: dict[str, asyncio.Task[NamespaceWatch]] = {}

    async def watch(self, namespace: str) -> NamespaceWatch:
        """The running watch of `namespace`; raises the API server's error if its Rollouts cannot be listed."""
        if namespace in self._watches:
            return self._watches[namespace]
        if namespace not in self._starting:
            self._starting[namespace] = asyncio.create_task(self._start(namespace))
        try:
            return await asyncio.shield(self._starting[namespace])
        finally:
            task = self._starting.get(namespace)
            if task is not None and task.done():
                del self._starting[namespace]

    async def _start(self, namespace: str) -> NamespaceWatch:
        await self.client.list(ROLLOUTS, namespace, limit=1)
        await self.client.list(PODS, namespace, limit=1)
        watch = NamespaceWatch(self.client, namespace)
        try:
            await watch.start()
        except BaseException:
            await watch.stop()
            raise
        self._watches[namespace] = watch
        return watch

    async def stop(self) -> None:
        for watch in self._watches.values():
            await watch.stop()
        self._watches.clear()
