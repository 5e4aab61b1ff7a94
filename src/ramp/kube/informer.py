"""An informer: a cache of one kind's raw objects, kept current by list-then-watch, with change callbacks.

Behaviour follows client-go's reflector as documented: list, then watch from the list's resourceVersion with
`allowWatchBookmarks=true`. The first list asks for resourceVersion 0, so the API server answers from its
watch cache instead of a quorum read of etcd (it then ignores `limit` and answers in one piece, as it does
for client-go). When the watch says the version is too old (HTTP 410, or an ERROR event with code 410) the
re-list asks for the last version seen ("not older than", again from the watch cache); only if that list is
refused as expired does the next one read consistently from etcd, in pages. When the connection drops, goes
silent past `kube.client.WATCH_IDLE_TIMEOUT`, or the server restarts, wait with capped exponential backoff and
watch again from the last version seen, so nothing is missed. Any other error is logged with its traceback
and retried the same way from a fresh list: an informer never ends on its own. Every `resync_period` the
cached objects are re-delivered as updates.

Handlers are plain synchronous callables (`EventHandler`); `ramp.manager` uses them to put keys on work
queues. Indexes (`add_index`, `by_index`) find cached objects by a derived value in O(1), like client-go's
Indexers. Cached objects are shared, not copied: treat what `get`/`list`/`by_index` return as read-only.
`metadata.managedFields` is dropped on the way in: no reconciler reads it and it is often half an object.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from ramp.kube.client import KubeClient
from ramp.kube.errors import ApiError
from ramp.kube.ratelimit import calculate_item_backoff
from ramp.kube.resources import Resource, object_key

log = logging.getLogger(__name__)

Obj = dict[str, Any]

# Between failed attempts: 800 ms doubling (client-go's reflector), capped at 10 s rather than client-go's
# 30 s: one controller's few watches are cheap to retry, and caches catch up sooner after an outage.
# Watches last 5-10 minutes, as client-go's.
_BACKOFF_BASE = 0.8
_BACKOFF_CAP = 10.0
_WATCH_TIMEOUT_RANGE = (300, 600)
_SHORT_WATCH = 1.0


IndexFunc = Callable[[Obj], Iterable[str]]
"""The index values of an object (e.g. the `namespace/name` of each Service a Rollout points at)."""


def choose_list_version(last_seen: str | None, *, last_list_expired: bool) -> str:
    """The resourceVersion a (re-)list asks for, as client-go's reflector: "0" at first (served from the
    API server's watch cache, whatever it holds); after a watch expired, the last version seen (from the
    cache, not older than what we already have); after a list at that version was refused as expired, ""
    (a consistent read from etcd).

    >>> choose_list_version(None, last_list_expired=False)
    '0'
    >>> choose_list_version("42", last_list_expired=False)
    '42'
    >>> choose_list_version("42", last_list_expired=True)
    ''
    """
    if last_list_expired:
        return ""
    return last_seen or "0"


@dataclass(frozen=True)
class EventHandler:
    """Callbacks for cache changes; each is optional. On resync, `on_update` gets the same object twice."""

    on_add: Callable[[Obj], None] | None = None
    on_update: Callable[[Obj, Obj], None] | None = None
    on_delete: Callable[[Obj], None] | None = None


class WatchExpired(Exception):
    """The watched resourceVersion is gone from the server's history: only a re-list can continue."""


class Informer:
    """List-then-watch cache of one resource (optionally one namespace and a label selector).

    Run `await informer.run()` as a task; cancel the task to stop it.
    """

    def __init__(
        self,
        client: KubeClient,
        resource: Resource,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        resync_period: float = 0.0,
        page_size: int = 500,
    ) -> None:
        self.client = client
        self.resource = resource
        self.namespace = namespace if resource.namespaced else None
        self.label_selector = label_selector
        self.resync_period = resync_period
        self.page_size = page_size
        self._handlers: list[EventHandler] = []
        self._cache: dict[str, Obj] = {}
        self._by_namespace: dict[str, dict[str, Obj]] = {}
        self._indexes: dict[str, tuple[IndexFunc, dict[str, set[str]]]] = {}
        self._resource_version: str | None = None
        self._needs_list = True
        self._list_expired = False
        self._synced = asyncio.Event()
        self._failures = 0

    # Reading the cache.

    def get(self, key: str) -> Obj | None:
        """The cached object for `namespace/name` (or `name` when cluster-scoped)."""
        return self._cache.get(key)

    def by_index(self, index: str, value: str) -> list[Obj]:
        """Cached objects whose `index` function gave `value`."""
        _, values = self._indexes[index]
        return [self._cache[key] for key in values.get(value, ())]

    def list(self, namespace: str | None = None) -> list[Obj]:
        """Cached objects, all or one namespace's."""
        if namespace is None:
            return [*self._cache.values()]
        return [*self._by_namespace.get(namespace, {}).values()]

    def keys(self) -> Iterator[str]:
        return iter([*self._cache])

    def __len__(self) -> int:
        return len(self._cache)

    @property
    def resource_version(self) -> str | None:
        """The last resourceVersion seen (from a list, an event or a bookmark); None before the first list."""
        return self._resource_version

    @property
    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_for_sync(self) -> None:
        """Return once the first list has been loaded into the cache and delivered to the handlers."""
        await self._synced.wait()

    def add_handler(self, handler: EventHandler) -> None:
        """Register callbacks; add them before `run()` so the initial list reaches them too."""
        self._handlers.append(handler)

    def add_index(self, name: str, index: IndexFunc) -> None:
        """Maintain an index of cached objects by `index(obj)`'s values; add it before `run()`."""
        if name in self._indexes:
            raise ValueError(f"{self.resource.plural} informer already has an index named {name!r}")
        values: dict[str, set[str]] = {}
        self._indexes[name] = (index, values)
        for key, obj in self._cache.items():
            for value in index(obj):
                values.setdefault(value, set()).add(key)

    # Running.

    async def run(self) -> None:
        """List and watch until cancelled; every error is logged and retried, never raised."""
        resync = asyncio.create_task(self._resync_forever()) if self.resync_period > 0 else None
        try:
            while True:
                try:
                    if self._needs_list:
                        await self._relist()
                    await self._watch()
                except WatchExpired:
                    # First expiry re-lists at once, as client-go does; repeated ones back off below.
                    self._needs_list = True
                    self._failures += 1
                    log.info("watch expired; re-listing", extra={"resource": self.resource.plural})
                    if self._failures > 1:
                        await asyncio.sleep(self._backoff(self._failures - 1))
                except (httpx.HTTPError, ApiError, ValueError) as err:
                    self._failures += 1
                    delay = self._backoff(self._failures)
                    if isinstance(err, ApiError) and err.retry_after is not None:
                        # The server said when (e.g. 429 while its watch cache initializes after a restart).
                        delay = min(delay, err.retry_after)
                    log.warning(
                        "watch failed; retrying",
                        extra={
                            "resource": self.resource.plural,
                            "error": _describe(err),
                            "retry_in": round(delay, 2),
                        },
                    )
                    await asyncio.sleep(delay)
                except Exception:
                    # A bug (ours or a surprising answer) must not end the informer while the process keeps
                    # the Lease: the caches would go stale without a sign. The cache may be half-updated,
                    # so start again from a fresh list.
                    self._failures += 1
                    self._needs_list = True
                    delay = self._backoff(self._failures)
                    log.exception(
                        "informer failed unexpectedly; re-listing",
                        extra={"resource": self.resource.plural, "retry_in": round(delay, 2)},
                    )
                    await asyncio.sleep(delay)
        finally:
            if resync is not None:
                resync.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await resync

    async def _relist(self) -> None:
        version = choose_list_version(self._resource_version, last_list_expired=self._list_expired)
        # Only a consistent read ("") is worth paging: the watch cache answers "0" in one piece anyway, and
        # paging at a set version would turn "not older than" into an exact read from etcd.
        page_size: int | None = self.page_size if version == "" else None
        items: list[Obj] = []
        continue_token: str | None = None
        while True:
            try:
                page = await self.client.list(
                    self.resource,
                    self.namespace,
                    label_selector=self.label_selector,
                    limit=page_size,
                    continue_token=continue_token,
                    resource_version=None if continue_token else version,
                )
            except ApiError as err:
                if not err.is_gone:
                    raise
                if continue_token:
                    # The continue token expired mid-list: start over, unpaginated (as client-go's pager does).
                    items, continue_token, page_size = [], None, None
                    continue
                # The version we asked for is older than the server keeps: read consistently next time.
                self._list_expired = True
                raise WatchExpired(str(err)) from err
            items.extend(page.get("items") or [])
            meta = page.get("metadata") or {}
            continue_token = meta.get("continue") or None
            if continue_token is None:
                self._replace(items, str(meta.get("resourceVersion", "")))
                return

    async def _watch(self) -> None:
        events = self.client.watch(
            self.resource,
            self.namespace,
            resource_version=self._resource_version,
            label_selector=self.label_selector,
            timeout_seconds=random.randint(*_WATCH_TIMEOUT_RANGE),
            allow_bookmarks=True,
        )
        started, seen = time.monotonic(), 0
        try:
            async with contextlib.aclosing(events):
                async for event in events:
                    seen += 1
                    self._apply(event)
                    # Events that arrive together are read from one buffer without the stream ever waiting:
                    # give the loop a turn after each, so a burst of objects (a namespace applying hundreds)
                    # cannot hold it for the time of decoding them all.
                    await asyncio.sleep(0)
        except ApiError as err:
            if err.is_gone:
                raise WatchExpired(str(err)) from err
            raise
        except httpx.ReadTimeout:
            # Not even a bookmark for WATCH_IDLE_TIMEOUT: the connection is dead. Nothing was lost (we resume
            # from the last version seen), so watch again at once rather than back off as after a failure.
            log.info("watch silent too long; reconnecting", extra={"resource": self.resource.plural})
            return
        if seen == 0 and time.monotonic() - started < _SHORT_WATCH:
            # A server ending watches at once would otherwise be hammered in a tight loop (client-go's rule).
            raise ValueError("very short watch: the server closed it at once without events")

    def _replace(self, items: Sequence[Obj], resource_version: str) -> None:
        """Install a fresh list; deliver adds, updates (changed resourceVersion only) and deletes."""
        old = self._cache
        self._cache = {}
        self._by_namespace = {}
        for _, values in self._indexes.values():
            values.clear()
        fresh = []
        for item in items:
            obj = self._prepare(item)
            key = object_key(obj)
            self._store(key, obj)
            fresh.append((key, obj))
        self._resource_version = resource_version
        self._needs_list = False
        self._list_expired = False
        self._failures = 0
        for key, obj in fresh:
            previous = old.get(key)
            if previous is None:
                self._notify_add(obj)
            elif _resource_version(previous) != _resource_version(obj):
                self._notify_update(previous, obj)
        for key, gone in old.items():
            if key not in self._cache:
                self._notify_delete(gone)
        if not self._synced.is_set():
            log.debug("informer synced", extra={"resource": self.resource.plural, "objects": len(self._cache)})
            self._synced.set()

    def observe(self, obj: Obj) -> None:
        """Put an object this process just wrote into the cache, ahead of its watch event, unless the cache
        already holds a newer version. Handlers are not called (the watch event will reach them).

        Upstream's controllers do the same after each write, so the next reconcile never decides from the
        version it has just replaced (a stale status could undo a step it has just taken).
        """
        obj = self._prepare(obj)
        key = object_key(obj)
        current = self._cache.get(key)
        if current is not None and not _is_newer(obj, current):
            return
        self._store(key, obj)

    def forget(self, key: str) -> None:
        """Drop an object this process just deleted, ahead of its watch event."""
        self._remove(key)

    def _apply(self, event: Obj) -> None:
        kind = event.get("type")
        obj = event.get("object")
        if not isinstance(obj, dict):
            raise ValueError(f"watch event without an object: {str(event)[:200]}")
        if kind == "ERROR":
            error = ApiError.from_status(obj)
            if error.is_gone:
                raise WatchExpired(str(error))
            raise error
        resource_version = _resource_version(obj)
        if kind == "BOOKMARK":
            self._resource_version = resource_version or self._resource_version
            return
        obj = self._prepare(obj)
        key = object_key(obj)
        if kind in ("ADDED", "MODIFIED"):
            previous = self._cache.get(key)
            if previous is not None and _is_newer(previous, obj):
                # An older version than one this process wrote and `observe`d: the cache stays ahead.
                self._resource_version = resource_version or self._resource_version
                return
            self._store(key, obj)
            if previous is None:
                self._notify_add(obj)
            else:
                self._notify_update(previous, obj)
        elif kind == "DELETED":
            gone = self._remove(key)
            self._notify_delete(gone or obj)
        self._resource_version = resource_version or self._resource_version
        self._failures = 0

    def _prepare(self, obj: Obj) -> Obj:
        # List items of built-in kinds come without apiVersion/kind; events and owner checks need them.
        obj.setdefault("apiVersion", self.resource.api_version)
        obj.setdefault("kind", self.resource.kind)
        meta = obj.get("metadata")
        if isinstance(meta, dict):
            meta.pop("managedFields", None)
        return obj

    def _store(self, key: str, obj: Obj) -> None:
        previous = self._cache.get(key)
        if previous is not None:
            self._unindex(key, previous)
        self._cache[key] = obj
        namespace = (obj.get("metadata") or {}).get("namespace") or ""
        self._by_namespace.setdefault(namespace, {})[key] = obj
        for index, values in self._indexes.values():
            for value in index(obj):
                values.setdefault(value, set()).add(key)

    def _remove(self, key: str) -> Obj | None:
        obj = self._cache.pop(key, None)
        if obj is not None:
            self._unindex(key, obj)
            namespace = (obj.get("metadata") or {}).get("namespace") or ""
            bucket = self._by_namespace.get(namespace, {})
            bucket.pop(key, None)
            if not bucket:
                self._by_namespace.pop(namespace, None)
        return obj

    def _unindex(self, key: str, obj: Obj) -> None:
        for index, values in self._indexes.values():
            for value in index(obj):
                keys = values.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del values[value]

    async def _resync_forever(self) -> None:
        while True:
            await asyncio.sleep(self.resync_period)
            if self.has_synced:
                for obj in [*self._cache.values()]:
                    self._notify_update(obj, obj)

    def _backoff(self, failures: int) -> float:
        # Jitter spreads the reconnects of many informers after an API server restart.
        return calculate_item_backoff(failures - 1, _BACKOFF_BASE, _BACKOFF_CAP) * (1 + random.random() * 0.5)

    def _notify_add(self, obj: Obj) -> None:
        for handler in self._handlers:
            if handler.on_add is not None:
                self._call(handler.on_add, obj)

    def _notify_update(self, old: Obj, new: Obj) -> None:
        for handler in self._handlers:
            if handler.on_update is not None:
                self._call(handler.on_update, old, new)

    def _notify_delete(self, obj: Obj) -> None:
        for handler in self._handlers:
            if handler.on_delete is not None:
                self._call(handler.on_delete, obj)

    def _call(self, callback: Callable[..., None], *args: Obj) -> None:
        # One broken handler must not stop the cache from following the server.
        try:
            callback(*args)
        except Exception:
            log.exception("informer handler failed", extra={"resource": self.resource.plural})


def _resource_version(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion", ""))


def _describe(err: Exception) -> str:
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _is_newer(candidate: Obj, current: Obj) -> bool:
    """Whether `candidate` is a later version than `current`. resourceVersions are opaque to clients, but the
    API server (etcd) issues increasing integers; anything else counts as newer so the write is seen."""
    new, old = _resource_version(candidate), _resource_version(current)
    if new.isdigit() and old.isdigit():
        return int(new) > int(old)
    return True
