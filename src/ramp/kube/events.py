"""Kubernetes Events about the objects Ramp manages (what `kubectl describe rollout` shows).

`EventRecorder.record` never blocks a reconcile: it counts `rollout_events_total{namespace,name,type,reason}`
(upstream's labels: the object the event is about), logs the
event and queues it; `run()` writes queued events as core/v1 Events with source component
`rollouts-controller` (upstream's). A repeat of an event already written (same object, type, reason and
message) patches the existing Event's count and lastTimestamp instead of creating another, as client-go's
correlator does; the memory of written events is a bounded LRU, so aggregation stays cheap. When the
queue is full (API server slow or down) events are dropped with a warning rather than holding memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from ramp.kube.client import KubeClient
from ramp.kube.errors import ApiError
from ramp.kube.metrics import EVENTS as EVENTS_METRIC
from ramp.kube.resources import EVENTS

log = logging.getLogger(__name__)

COMPONENT = "rollouts-controller"
NORMAL = "Normal"
WARNING = "Warning"

# client-go's broadcaster buffers 1000 events and its correlator remembers 4096.
_QUEUE_SIZE = 1000
DROP_REPORT_INTERVAL = 10.0
"""Seconds between two warnings about dropped events (each says how many)."""
_CACHE_SIZE = 4096


@dataclass(frozen=True)
class _Pending:
    involved: dict[str, Any]
    event_type: str
    reason: str
    message: str
    at: datetime


@dataclass
class _Written:
    name: str
    namespace: str
    count: int


def _utcnow() -> datetime:
    return datetime.now(UTC)


class EventRecorder:
    """Records Events for raw objects; start `run()` as a task, and `close()` to flush on shutdown."""

    def __init__(
        self,
        client: KubeClient,
        *,
        component: str = COMPONENT,
        host: str | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.client = client
        self.component = component
        self.host = host or socket.gethostname()
        self._clock = clock
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue(maxsize=_QUEUE_SIZE)
        self._written: OrderedDict[tuple[str, ...], _Written] = OrderedDict()
        self._dropped = 0
        self._last_drop_report = -DROP_REPORT_INTERVAL

    def normal(self, obj: Mapping[str, Any], reason: str, message: str) -> None:
        self.record(obj, NORMAL, reason, message)

    def warning(self, obj: Mapping[str, Any], reason: str, message: str) -> None:
        self.record(obj, WARNING, reason, message)

    def record(self, obj: Mapping[str, Any], event_type: str, reason: str, message: str) -> None:
        """Count, log and queue one event about `obj` (a raw object with apiVersion, kind and metadata)."""
        involved = _reference(obj)
        EVENTS_METRIC.labels(
            str(involved.get("namespace", "")), str(involved.get("name", "")), event_type, reason
        ).inc()
        log.log(
            logging.WARNING if event_type == WARNING else logging.INFO,
            message,
            extra={
                "event_reason": reason,
                "namespace": involved.get("namespace", ""),
                str(involved.get("kind", "object")).lower(): involved.get("name", ""),
            },
        )
        try:
            self._queue.put_nowait(_Pending(involved, event_type, reason, message, self._clock()))
        except asyncio.QueueFull:
            self._report_drop()

    def _report_drop(self) -> None:
        # One warning per interval with the count, not one per event: a burst drops thousands.
        self._dropped += 1
        now = time.monotonic()
        if now - self._last_drop_report >= DROP_REPORT_INTERVAL:
            log.warning(
                "events dropped: too many waiting to be written",
                extra={"dropped": self._dropped, "queue_size": _QUEUE_SIZE},
            )
            self._dropped = 0
            self._last_drop_report = now

    async def run(self) -> None:
        """Write queued events until cancelled."""
        while True:
            pending = await self._queue.get()
            try:
                await self._write(pending)
            except (ApiError, httpx.HTTPError) as err:
                log.warning(
                    "event not written",
                    extra={"event_reason": pending.reason, "error": str(err) or type(err).__name__},
                )
            finally:
                self._queue.task_done()

    async def close(self, grace_seconds: float) -> None:
        """Wait up to `grace_seconds` for queued events to be written (call while `run()` is running)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_seconds):
                await self._queue.join()

    async def _write(self, pending: _Pending) -> None:
        involved = pending.involved
        namespace = str(involved.get("namespace") or "default")
        key = (
            namespace,
            str(involved.get("kind", "")),
            str(involved.get("name", "")),
            str(involved.get("uid", "")),
            pending.event_type,
            pending.reason,
            pending.message,
        )
        stamp = _timestamp(pending.at)
        seen = self._written.get(key)
        if seen is not None:
            self._written.move_to_end(key)
            patch = {"count": seen.count + 1, "lastTimestamp": stamp}
            try:
                await self.client.patch(EVENTS, seen.name, patch, seen.namespace, patch_type="merge")
                seen.count += 1
                return
            except ApiError as err:
                if not err.is_not_found:
                    raise
                # The Event expired (the API server keeps them an hour): write a new one.
                del self._written[key]
        name = f"{involved.get('name', 'object')}.{time.time_ns():x}"
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": involved,
            "reason": pending.reason,
            "message": pending.message,
            "type": pending.event_type,
            "source": {"component": self.component, "host": self.host},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        }
        await self.client.create(EVENTS, body, namespace)
        self._written[key] = _Written(name, namespace, 1)
        if len(self._written) > _CACHE_SIZE:
            self._written.popitem(last=False)


def _reference(obj: Mapping[str, Any]) -> dict[str, Any]:
    """An ObjectReference to `obj` (the Event's involvedObject)."""
    meta = obj.get("metadata") or {}
    ref = {
        "apiVersion": obj.get("apiVersion", ""),
        "kind": obj.get("kind", ""),
        "name": meta.get("name", ""),
        "namespace": meta.get("namespace", ""),
        "uid": meta.get("uid", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    return {k: v for k, v in ref.items() if v}


def _timestamp(when: datetime) -> str:
    """metav1.Time's wire form: RFC 3339 to the second, UTC."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
