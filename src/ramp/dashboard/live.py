"""Live state for the dashboard: informers (list + watch) per namespace, and change notifications for streams.

A `NamespaceWatch` runs informers for the Rollouts, ReplicaSets, pods, AnalysisRuns and Experiments of one
namespace (`ramp.kube.informer.Informer`); every cache change bumps the version of its `ChangeSignal` and wakes
the waiting streams, which rebuild their JSON from the caches (`ramp.dashboard.serialize`) and send it when it
changed. Nothing polls the API server: reads of the list and of a rollout page are answered from the caches too.

`LiveState` starts a namespace's watch on first use (after one list of its Rollouts, so a forbidden namespace is
reported in words at once instead of retried silently), keeps at most `max_watches` of them (the least
recently used one, preferably one no stream follows, is stopped to make room; its streams end and the browser
reconnects), stops those nobody has used or followed for `idle_after` seconds, and stops them all on shutdown.
Used by `ramp.dashboard.api`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from ramp.dashboard import serialize
from ramp.kube.client import KubeClient
from ramp.kube.informer import EventHandler, Informer
from ramp.kube.resources import ANALYSIS_RUNS, EXPERIMENTS, PODS, REPLICA_SETS, ROLLOUTS

_SYNC_TIMEOUT = 20.0
MAX_WATCHES = 16
IDLE_AFTER = 300.0
_REAP_EVERY = 30.0


class ChangeSignal:
    """A version number that grows with every change, and a way to wait for it to grow.

    No lock is involved: each wait holds the event of the version it saw, and a change sets that event and puts
    a fresh one in its place. A waiter that is cancelled (its client went away) leaves nothing behind.
    """

    def __init__(self) -> None:
        self.version = 0
        self.closed = False
        self._event = asyncio.Event()

    def bump(self) -> None:
        self.version += 1
        event, self._event = self._event, asyncio.Event()
        event.set()

    def close(self) -> None:
        """Wake every waiter for good: the watch behind the signal has stopped."""
        self.closed = True
        self.bump()

    async def wait_for_change(self, seen: int, patience: float) -> int:
        """Wait until the version passes `seen` (or `patience` seconds go by); the version then."""
        if self.version > seen or self.closed:
            return self.version
        event = self._event
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(patience):
                await event.wait()
        return self.version


class NamespaceWatch:
    """The informers of one namespace, the change signal they bump, and the streams following it."""

    def __init__(self, client: KubeClient, namespace: str) -> None:
        self.namespace = namespace
        self.rollouts = Informer(client, ROLLOUTS, namespace=namespace)
        self.replica_sets = Informer(client, REPLICA_SETS, namespace=namespace)
        self.pods = Informer(client, PODS, namespace=namespace)
        self.analysis_runs = Informer(client, ANALYSIS_RUNS, namespace=namespace)
        self.experiments = Informer(client, EXPERIMENTS, namespace=namespace)
        self.changes = ChangeSignal()
        self.followers = 0
        self.clock: Callable[[], float] = time.monotonic
        self.last_used = self.clock()
        self._tasks: list[asyncio.Task[None]] = []
        handler = EventHandler(
            on_add=lambda _obj: self.changes.bump(),
            on_update=lambda _old, _new: self.changes.bump(),
            on_delete=lambda _obj: self.changes.bump(),
        )
        for informer in self._informers():
            informer.add_handler(handler)

    @property
    def version(self) -> int:
        return self.changes.version

    @property
    def closed(self) -> bool:
        return self.changes.closed

    def _informers(self) -> list[Informer]:
        return [self.rollouts, self.replica_sets, self.pods, self.analysis_runs, self.experiments]

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(informer.run()) for informer in self._informers()]
        await asyncio.wait_for(asyncio.gather(*(i.wait_for_sync() for i in self._informers())), _SYNC_TIMEOUT)

    async def stop(self) -> None:
        self.changes.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait_for_change(self, seen: int, patience: float) -> int:
        """Wait until the version passes `seen` (or `patience` seconds go by); the version then."""
        return await self.changes.wait_for_change(seen, patience)

    @contextlib.contextmanager
    def following(self) -> Iterator[None]:
        """Count a stream as following this namespace while it runs (followed watches are never idle)."""
        self.followers += 1
        try:
            yield
        finally:
            self.followers -= 1
            self.last_used = self.clock()

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


class TooManyNamespaces(Exception):
    """Every watch slot is taken by a namespace still starting."""


class LiveState:
    """The namespace watches of one dashboard: started on first use, at most `max_watches`, idle ones stopped."""

    def __init__(
        self,
        client: KubeClient,
        *,
        max_watches: int = MAX_WATCHES,
        idle_after: float = IDLE_AFTER,
        clock: Callable[[], float] = time.monotonic,
        make_watch: Callable[[KubeClient, str], NamespaceWatch] = NamespaceWatch,
    ) -> None:
        self.client = client
        self.max_watches = max(1, max_watches)
        self.idle_after = idle_after
        self._clock = clock
        self._make_watch = make_watch
        # Least recently used first.
        self._watches: OrderedDict[str, NamespaceWatch] = OrderedDict()
        self._starting: dict[str, asyncio.Task[NamespaceWatch]] = {}
        self._reaper: asyncio.Task[None] | None = None

    @property
    def watched(self) -> list[str]:
        """The namespaces watched now, least recently used first."""
        return list(self._watches)

    async def watch(self, namespace: str) -> NamespaceWatch:
        """The running watch of `namespace`; raises the API server's error if its Rollouts cannot be listed."""
        await self.reap_idle()
        self._ensure_reaper()
        found = self._watches.get(namespace)
        if found is not None:
            self._watches.move_to_end(namespace)
            found.last_used = self._clock()
            return found
        if namespace not in self._starting:
            evicted = self._make_room()
            self._starting[namespace] = asyncio.create_task(self._start(namespace))
            for watch in evicted:
                await watch.stop()
        try:
            watch = await asyncio.shield(self._starting[namespace])
        finally:
            task = self._starting.get(namespace)
            if task is not None and task.done():
                del self._starting[namespace]
        watch.last_used = self._clock()
        return watch

    def _make_room(self) -> list[NamespaceWatch]:
        """Take out the watches that make room for one more (the caller stops them)."""
        if len(self._starting) >= self.max_watches:
            raise TooManyNamespaces(
                f"the dashboard is already starting watches for {len(self._starting)} namespaces "
                f"(at most {self.max_watches} at once); try again in a moment"
            )
        evicted = []
        while self._watches and len(self._watches) + len(self._starting) >= self.max_watches:
            # The least recently used one nobody follows; failing that, the least recently used one.
            unfollowed = (ns for ns, w in self._watches.items() if w.followers == 0)
            evicted.append(self._watches.pop(next(unfollowed, next(iter(self._watches)))))
        return evicted

    async def _start(self, namespace: str) -> NamespaceWatch:
        await self.client.list(ROLLOUTS, namespace, limit=1)
        await self.client.list(PODS, namespace, limit=1)
        watch = self._make_watch(self.client, namespace)
        watch.clock = self._clock
        try:
            await watch.start()
        except BaseException:
            await watch.stop()
            raise
        watch.last_used = self._clock()
        self._watches[namespace] = watch
        return watch

    async def reap_idle(self) -> list[str]:
        """Stop the watches no stream follows and nobody asked for in `idle_after` seconds; their namespaces."""
        now = self._clock()
        idle = [ns for ns, w in self._watches.items() if w.followers == 0 and now - w.last_used >= self.idle_after]
        stopping = [self._watches.pop(namespace) for namespace in idle]
        for watch in stopping:
            await watch.stop()
        return idle

    def _ensure_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.create_task(self._reap_forever())

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(min(_REAP_EVERY, max(self.idle_after, 0.05)))
            await self.reap_idle()

    async def stop(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
        for watch in self._watches.values():
            await watch.stop()
        self._watches.clear()
