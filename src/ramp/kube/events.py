"""Kubernetes Events about the objects Ramp manages (what `kubectl describe rollout` shows), off the write path.

`EventRecorder.record` never blocks and never awaits: it counts `rollout_events_total{namespace,name,type,reason}`
(upstream's labels: the object the event is about), logs the event, passes it through the correlator
(`kube.correlator`: aggregation of similar events, deduplication, the per-object spam filter, as client-go's
EventCorrelator) and queues what is left. `run()` writes queued events as core/v1 Events with source component
`rollouts-controller` (upstream's): a new Event, or a patch of the count, lastTimestamp and message of the
Event already written for a repeat.

Events are the sink of their own budget: the recorder's client is built with a rate limiter of its own
(`KubeClient.with_own_limiter`, by `ramp.manager.runtime`), so an event never takes a token a release write
(a scale, a status, a router update) waits for; see docs/performance.md. Writes run on a few lanes, each
object always on the same lane, so one object's Events are written in the order they were recorded while a
slow write about one object does not hold up the others. Each Event's name is fixed when it is recorded
(`<object>.<nanoseconds, hex>`, as client-go names them), so names sort in the order events happened.
When the queues are full (API server slow or down) events are dropped with a warning rather than holding memory.

Listeners (`add_listener`) see every event recorded, before the correlator aggregates or drops repeats: that
is how `ramp.notifications` turns a RolloutAborted into a Slack message. A listener must not block (it runs
on the reconcile's path); one that raises is logged and the event is recorded all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from ramp.kube.client import KubeClient
from ramp.kube.correlator import EventCorrelator, EventKey, ObjectKey, Written
from ramp.kube.errors import ApiError
from ramp.kube.metrics import EVENTS as EVENTS_METRIC
from ramp.kube.resources import EVENTS

log = logging.getLogger(__name__)

COMPONENT = "rollouts-controller"
NORMAL = "Normal"
WARNING = "Warning"

# client-go's broadcaster buffers 1000 events.
_QUEUE_SIZE = 1000
LANES = 4
"""Concurrent event writers; each object's events go through one of them, in order."""
DROP_REPORT_INTERVAL = 10.0
"""Seconds between two warnings about dropped events (each says how many)."""


@dataclass(frozen=True)
class _Pending:
    involved: dict[str, Any]
    event_type: str
    reason: str
    key: EventKey
    message: str
    name: str
    at: datetime


EventListener = Callable[[Mapping[str, Any], str, str, str], None]
"""`listener(obj, event_type, reason, message)`: told of each event recorded; returns at once, never raises."""


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
        monotonic: Callable[[], float] = time.monotonic,
        correlator: EventCorrelator | None = None,
        lanes: int = LANES,
    ) -> None:
        self.client = client
        self.component = component
        self.host = host or socket.gethostname()
        self.correlator = correlator or EventCorrelator()
        self._clock = clock
        self._monotonic = monotonic
        self._lanes: list[asyncio.Queue[_Pending]] = [asyncio.Queue() for _ in range(max(1, lanes))]
        self._queued = 0
        self._dropped = 0
        self._last_drop_report = -DROP_REPORT_INTERVAL
        self._listeners: list[EventListener] = []

    def add_listener(self, listener: EventListener) -> None:
        """Call `listener(obj, event_type, reason, message)` for every event recorded from now on."""
        self._listeners.append(listener)

    def normal(self, obj: Mapping[str, Any], reason: str, message: str) -> None:
        self.record(obj, NORMAL, reason, message)

    def warning(self, obj: Mapping[str, Any], reason: str, message: str) -> None:
        self.record(obj, WARNING, reason, message)

    def record(self, obj: Mapping[str, Any], event_type: str, reason: str, message: str) -> None:
        """Count, log, correlate and queue one event about `obj` (a raw object with apiVersion, kind and metadata)."""
        involved = _reference(obj)
        namespace, name = str(involved.get("namespace", "")), str(involved.get("name", ""))
        EVENTS_METRIC.inc(namespace, name, event_type, reason)
        log.log(
            logging.WARNING if event_type == WARNING else logging.INFO,
            message,
            extra={
                "event_reason": reason,
                "namespace": namespace,
                str(involved.get("kind", "object")).lower(): name,
            },
        )
        for listener in self._listeners:
            try:
                listener(obj, event_type, reason, message)
            except Exception:
                # A listener's bug must not cost the event (nor the reconcile that recorded it).
                log.exception("event listener failed", extra={"event_reason": reason, "namespace": namespace})
        about: ObjectKey = (
            str(involved.get("apiVersion", "")),
            str(involved.get("kind", "")),
            namespace,
            name,
            str(involved.get("uid", "")),
        )
        decided = self.correlator.correlate(about, event_type, reason, message, self._monotonic())
        if decided.skip:
            log.debug("event dropped by the spam filter", extra={"event_reason": reason, "namespace": namespace})
            return
        if self._queued >= _QUEUE_SIZE:
            self._report_drop()
            return
        pending = _Pending(
            involved,
            event_type,
            reason,
            decided.key,
            decided.message,
            f"{name or 'object'}.{time.time_ns():x}",
            self._clock(),
        )
        self._queued += 1
        self._lanes[zlib.crc32("/".join(about).encode()) % len(self._lanes)].put_nowait(pending)

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
        async with asyncio.TaskGroup() as lanes:
            for queue in self._lanes:
                lanes.create_task(self._drain(queue))

    async def _drain(self, queue: asyncio.Queue[_Pending]) -> None:
        while True:
            pending = await queue.get()
            try:
                await self._write(pending)
            except (ApiError, httpx.HTTPError) as err:
                log.warning(
                    "event not written",
                    extra={"event_reason": pending.reason, "error": str(err) or type(err).__name__},
                )
            except Exception:
                # A bug must not end the lane: every later event about its objects would be lost silently.
                log.exception("event not written", extra={"event_reason": pending.reason})
            finally:
                self._queued -= 1
                queue.task_done()

    async def close(self, grace_seconds: float) -> None:
        """Wait up to `grace_seconds` for queued events to be written (call while `run()` is running)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_seconds):
                for queue in self._lanes:
                    await queue.join()

    async def _write(self, pending: _Pending) -> None:
        involved = pending.involved
        namespace = str(involved.get("namespace") or "default")
        stamp = _timestamp(pending.at)
        seen = self.correlator.repeat_of(pending.key)
        if seen is not None:
            patch = {"count": seen.count + 1, "lastTimestamp": stamp, "message": pending.message}
            try:
                await self.client.patch(EVENTS, seen.name, patch, seen.namespace, patch_type="merge")
                self.correlator.written(pending.key, Written(seen.name, seen.namespace, seen.count + 1))
                return
            except ApiError as err:
                if not err.is_not_found:
                    raise
                # The Event expired (the API server keeps them an hour): write a new one.
                self.correlator.expired(pending.key)
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": pending.name, "namespace": namespace},
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
        self.correlator.written(pending.key, Written(pending.name, namespace, 1))


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
