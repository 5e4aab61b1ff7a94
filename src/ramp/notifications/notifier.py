"""From an event to messages: the controller side of notifications, as upstream's `sendNotifications`
(utils/record/record.go), made restart-safe with the bookkeeping of `ramp.notifications.bookkeeping`.

`Notifier.listen` is an `EventRecorder` listener: for an event about a Rollout or an AnalysisRun it only queues
the event (the reconcile that recorded it never waits). The intake task then, per event:
1. trigger = `trigger_for_reason(reason)` (RolloutAborted -> on-rollout-aborted);
2. destinations: the object's `notifications.argoproj.io/subscribe.*` annotations, defaultTriggers and the global
   `subscriptions` (by labels) of each configuration serving the namespace (`watch.ConfigBook`);
3. the trigger's conditions (`run_trigger`): one message per destination for each condition without a `when`
   (upstream's `emptyCondition`), rendered from the condition's templates (a `when` is the state path's);
4. bookkeeping: deliveries whose key the object's ledger already has are not queued again; the new ones are
   written to the object as pending, then queued on `delivery.DeliveryQueue` (own workers, retries, timeout).
When a delivery ends, the ledger records it as sent, or, when it failed for good, drops it and records a
Warning event `NotificationFailed` on the object naming the trigger and the service (never a secret): the
rollout itself goes on as if nothing happened.

`Notifier.observe` is the state path (upstream's notifications-engine controller): on each change of a Rollout,
each subscribed condition with a `when` (a custom trigger) is evaluated; it sends when it comes to hold, with
upstream's key in the notified annotation, and may send again once it stopped holding (never, with oncePer).

At the start of each leader term, `resume` re-queues what the objects' annotations still hold as pending (a
controller that stopped between an event and its send), so nothing promised is dropped.

Works with `kube.events` (listener, Warning events), `kube.client` (annotation patches), `notifications.watch`
(configurations and services), `notifications.engine` (triggers, subscriptions, rendering).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from ramp.kube.client import KubeClient
from ramp.kube.errors import ApiError
from ramp.kube.events import EventRecorder
from ramp.kube.resources import ANALYSIS_RUNS, ROLLOUTS, Resource
from ramp.notifications.bookkeeping import (
    PENDING_ANNOTATION,
    Ledger,
    PendingDelivery,
    delivery_key,
    ledger_annotations,
    occurrence_of,
    read_ledger,
    state_key,
)
from ramp.notifications.delivery import Delivery, DeliveryQueue, RetryPolicy
from ramp.notifications.engine import ConditionResultLike, Engine, has_when
from ramp.notifications.services.base import Notification, SendError
from ramp.notifications.watch import ConfigBook, LoadedConfig

log = logging.getLogger(__name__)

NOTIFICATION_FAILED = "NotificationFailed"
"""Reason of the Warning event recorded on an object when a message about it could not be delivered."""
SUBSCRIPTION_INVALID = "NotificationSubscriptionInvalid"
"""Reason of the Warning event naming a subscription annotation no configuration serving the object can honour."""
OWN_REASONS = frozenset({NOTIFICATION_FAILED, SUBSCRIPTION_INVALID, "NotificationConfigInvalid"})
"""Events the notifier records itself: never a trigger (a failing service must not feed on its own failures)."""
KINDS: Mapping[str, Resource] = {"Rollout": ROLLOUTS, "AnalysisRun": ANALYSIS_RUNS}
"""The kinds whose events notify, as upstream (the objects Argo Rollouts' recorder sends for)."""

Obj = Mapping[str, Any]
ObjectKey = tuple[str, str, str]
"""(kind, namespace, name)"""


@dataclass(frozen=True)
class _Event:
    obj: Obj
    event_type: str
    reason: str
    message: str


@dataclass(frozen=True)
class _Changed:
    """A Rollout changed: evaluate its triggers' `when` conditions (the state path)."""

    key: ObjectKey


class Lookup:
    """The leader term's caches: the freshest copy of an object, and a namespace's AnalysisRuns."""

    def __init__(
        self,
        get: Callable[[str, str, str], Obj | None],
        analysis_runs: Callable[[str], Sequence[Obj]],
    ) -> None:
        self.get = get
        self.analysis_runs = analysis_runs


NO_CACHES = Lookup(lambda kind, namespace, name: None, lambda namespace: [])


def object_key(obj: Obj) -> ObjectKey:
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind", "")), str(meta.get("namespace", "")), str(meta.get("name", "")))


def is_notifying(obj: Obj, reason: str) -> bool:
    """Events of Rollouts and AnalysisRuns notify, except the notifier's own."""
    return (
        obj.get("kind") in KINDS
        and str(obj.get("apiVersion", "")).startswith("argoproj.io/")
        and reason not in OWN_REASONS
    )


class Notifier:
    """See the module docstring. `listen` is the recorder listener; run `run()` as a task."""

    def __init__(
        self,
        client: KubeClient,
        recorder: EventRecorder,
        book: ConfigBook,
        engine: Engine,
        *,
        workers: int = 4,
        policy: RetryPolicy | None = None,
        max_waiting: int = 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.recorder = recorder
        self.book = book
        self.engine = engine
        self.queue = DeliveryQueue(self._done, workers=workers, policy=policy or RetryPolicy())
        self._intake: asyncio.Queue[_Event | _Changed] = asyncio.Queue(max_waiting)
        self._changed: set[ObjectKey] = set()
        self._clock = clock
        self._lookup = NO_CACHES
        self._ledgers: dict[ObjectKey, Ledger] = {}
        self._locks: dict[ObjectKey, asyncio.Lock] = {}
        self._ledger_uids: dict[ObjectKey, str] = {}
        self._reported: set[tuple[str, str, str]] = set()
        self._inflight: set[tuple[ObjectKey, str]] = set()
        """Deliveries queued or being sent by this process: a pending key not here was left by another."""

    # -- the listener (on the reconcile's path: never waits) ------------------------------------------------

    def listen(self, obj: Obj, event_type: str, reason: str, message: str) -> None:
        if not is_notifying(obj, reason):
            return
        try:
            self._intake.put_nowait(_Event(obj, event_type, reason, message))
        except asyncio.QueueFull:
            log.warning("notification dropped: too many events waiting", extra={"event_reason": reason})

    def observe(self, obj: Obj) -> None:
        """A Rollout was added or changed (an informer handler: never waits). Its triggers' `when` conditions are
        evaluated soon, once however many changes come in meanwhile."""
        key = object_key(obj)
        if key in self._changed or not self.book.for_namespace(key[1]):
            return
        try:
            self._intake.put_nowait(_Changed(key))
        except asyncio.QueueFull:
            return  # the next change or resync brings it back
        self._changed.add(key)

    # -- running ----------------------------------------------------------------------------------------------

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._take_events(), name="notification-intake")
            group.create_task(self.queue.run(), name="notification-senders")

    async def resume(self, lookup: Lookup, objects: Iterable[Obj]) -> int:
        """Start of a leader term: use its caches, forget the last term's ledgers (another leader may have
        written since) and queue the deliveries `objects` still hold as pending. Returns how many."""
        self._lookup = lookup
        self._ledgers.clear()
        resumed = 0
        for obj in objects:
            annotations = (obj.get("metadata") or {}).get("annotations") or {}
            if PENDING_ANNOTATION not in annotations or obj.get("kind") not in KINDS:
                continue
            key = object_key(obj)
            async with self._lock(key):
                ledger = self._ledger_of(key, obj)
                for delivery_id, promised in ledger.pending.items():
                    if await self._requeue(obj, delivery_id, promised):
                        resumed += 1
        if resumed:
            log.info("notifications resumed after a restart", extra={"deliveries": resumed})
        return resumed

    async def drain(self, grace_seconds: float) -> bool:
        """Shutdown: wait up to `grace_seconds` for queued events and sends (what is left stays pending on the
        objects, for the next leader). True if everything finished."""
        deadline = time.monotonic() + grace_seconds
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_seconds):
                await self._intake.join()
        return await self.queue.join(max(0.0, deadline - time.monotonic()))

    def end_term(self) -> None:
        """The leader term ended at once (Lease lost): queue no more; what was promised stays pending on the
        objects for whoever leads next."""
        self._lookup = NO_CACHES
        self._ledgers.clear()
        self._changed.clear()
        self._inflight.clear()
        while not self._intake.empty():
            self._intake.get_nowait()
            self._intake.task_done()
        self.queue.discard()

    # -- events to deliveries -------------------------------------------------------------------------------

    async def _take_events(self) -> None:
        while True:
            item = await self._intake.get()
            try:
                if isinstance(item, _Changed):
                    self._changed.discard(item.key)
                    await self._evaluate(item.key)
                else:
                    await self._handle(item)
            except Exception:
                log.exception("notifications failed", extra={"item": repr(item)[:200]})
            finally:
                self._intake.task_done()

    async def _handle(self, event: _Event) -> None:
        kind, namespace, name = object_key(event.obj)
        configs = self.book.for_namespace(namespace)
        if not configs:
            return
        meta = event.obj.get("metadata") or {}
        annotations = {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}
        labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
        self._report_subscriptions(event.obj, configs, annotations)
        trigger = self.engine.trigger_for_reason(event.reason)
        planned: list[tuple[str, PendingDelivery, LoadedConfig, Sequence[str]]] = []
        for loaded in configs:
            destinations = self.engine.destinations(loaded.config, annotations, labels).get(trigger) or ()
            if not destinations:
                continue
            results = await self._run_trigger(loaded, trigger, event.obj)
            for result in results:
                if has_when(result):
                    continue  # the state path's (`_evaluate`)
                occurrence = occurrence_of(event.obj, event.reason, event.message, result.once_per)
                for destination in sorted(destinations, key=lambda d: (d.service, d.recipient)):
                    key = delivery_key(
                        occurrence=occurrence,
                        trigger=trigger,
                        condition=result.key,
                        service=destination.service,
                        recipient=destination.recipient,
                        config_namespace=loaded.namespace if loaded.self_service else None,
                    )
                    promised = PendingDelivery(
                        trigger=trigger,
                        condition=result.key,
                        service=destination.service,
                        recipient=destination.recipient,
                        reason=event.reason,
                        event_type=event.event_type,
                        config_namespace=loaded.namespace,
                        since=int(self._clock()),
                    )
                    planned.append((key, promised, loaded, tuple(result.templates)))
        if not planned:
            return
        about = (kind, namespace, name)
        async with self._lock(about):
            ledger = self._ledger_of(about, event.obj)
            fresh = [p for p in planned if not ledger.knows(p[0])]
            if not fresh:
                log.info(
                    "notification already sent", extra={"namespace": namespace, "object": name, "trigger": trigger}
                )
                return
            await self._write(about, ledger.with_pending({p[0]: p[1] for p in fresh}))
        for delivery_id, promised, loaded, templates in fresh:
            self._enqueue(event.obj, delivery_id, promised, loaded, templates)

    async def _evaluate(self, about: ObjectKey) -> None:
        """The state path, as upstream's notifications-engine controller: each subscribed condition with a `when`
        sends once when it comes to hold (once per value of `oncePer`, ever), and may send again after it stopped
        holding. Keys are upstream's, in `notified.notifications.argoproj.io`."""
        kind, namespace, name = about
        obj = self._lookup.get(kind, namespace, name)
        configs = self.book.for_namespace(namespace)
        if obj is None or not configs:
            return
        meta = obj.get("metadata") or {}
        annotations = {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}
        labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
        promised: dict[str, tuple[PendingDelivery, LoadedConfig, Sequence[str]]] = {}
        lapsed: set[str] = set()
        for loaded in configs:
            for trigger, destinations in self.engine.destinations(loaded.config, annotations, labels).items():
                for result in await self._run_trigger(loaded, trigger, obj):
                    if not has_when(result):
                        continue  # the event path's
                    for destination in destinations:
                        key = state_key(
                            once_per=result.once_per if result.triggered else None,
                            trigger=trigger,
                            condition=result.key,
                            service=destination.service,
                            recipient=destination.recipient,
                            config_namespace=loaded.namespace if loaded.self_service else None,
                        )
                        if not result.triggered:
                            lapsed.add(key)
                            continue
                        delivery = PendingDelivery(
                            trigger=trigger,
                            condition=result.key,
                            service=destination.service,
                            recipient=destination.recipient,
                            reason=trigger,
                            event_type="Normal",
                            config_namespace=loaded.namespace,
                            since=int(self._clock()),
                        )
                        promised[key] = (delivery, loaded, tuple(result.templates))
        async with self._lock(about):
            ledger = self._ledger_of(about, obj)
            # Promised by a controller that stopped before sending (or by another shard's holder): send now.
            for key, left in ledger.pending.items():
                if (about, key) not in self._inflight:
                    await self._requeue(obj, key, left)
            ledger = self._ledger_of(about, obj)
            fresh = {k: v for k, v in promised.items() if not ledger.knows(k)}
            forgotten = {k for k in lapsed if k in ledger.notified}
            if not fresh and not forgotten:
                return
            await self._write(
                about, ledger.without_notified(forgotten).with_pending({k: v[0] for k, v in fresh.items()})
            )
        for key, (delivery, loaded, templates) in fresh.items():
            self._enqueue(obj, key, delivery, loaded, templates)

    def _report_subscriptions(self, obj: Obj, configs: Sequence[LoadedConfig], annotations: Mapping[str, str]) -> None:
        """A Warning event for each subscription annotation that no configuration serving the object can honour,
        once per object and problem (this process's lifetime)."""
        if not any(key.startswith("notifications.argoproj.io/subscri") for key in annotations):
            return
        found = [set(self.engine.subscription_problems(loaded.config, annotations)) for loaded in configs]
        everywhere = set.intersection(*found) if found else set()
        uid = str((obj.get("metadata") or {}).get("uid") or object_key(obj))
        for annotation, why in sorted(everywhere):
            if (uid, annotation, why) in self._reported:
                continue
            self._reported.add((uid, annotation, why))
            self.recorder.warning(obj, SUBSCRIPTION_INVALID, f"{annotation}: {why}")

    async def _run_trigger(self, loaded: LoadedConfig, trigger: str, obj: Obj) -> Sequence[ConditionResultLike]:
        # Conditions are user expressions (bounded by their budget): evaluated on a worker thread, so a costly one
        # never holds the loop every namespace shares. The variables are gathered here, from the loop's caches.
        variables = self._variables(obj)
        try:
            return await asyncio.to_thread(self.engine.run_trigger, loaded.config, trigger, variables)
        except Exception as err:  # upstream logs "trigger is not configured" and goes on; so do we
            log.info(
                "trigger not run",
                extra={"trigger": trigger, "config_namespace": loaded.namespace, "error": str(err)},
            )
            return ()

    def _variables(self, obj: Obj) -> dict[str, Any]:
        kind, namespace, _ = object_key(obj)
        runs = self._lookup.analysis_runs(namespace) if kind == "Rollout" else []
        return self.engine.variables(obj, kind=kind, analysis_runs=runs, now=datetime.fromtimestamp(self._clock(), UTC))

    def _enqueue(
        self, obj: Obj, delivery_id: str, promised: PendingDelivery, loaded: LoadedConfig, templates: Sequence[str]
    ) -> None:
        service = loaded.services.get(promised.service)
        delivery = Delivery(
            key=delivery_id,
            about=obj,
            trigger=promised.trigger,
            service_name=promised.service,
            service=service if service is not None else _Missing(promised.service, loaded.namespace),
            recipient=promised.recipient,
            reason=promised.reason,
            event_type=promised.event_type,
            render=lambda: self._render(obj, loaded, templates, promised),  # a coroutine, awaited by the sender
        )
        self._inflight.add((object_key(obj), delivery_id))
        if not self.queue.enqueue(delivery):
            self._inflight.discard((object_key(obj), delivery_id))
            log.warning("notification not queued: too many waiting", extra={"trigger": promised.trigger})

    async def _render(
        self, obj: Obj, loaded: LoadedConfig, templates: Sequence[str], promised: PendingDelivery
    ) -> Notification:
        # The freshest copy: the status the reconcile wrote with the event is usually in the cache by now.
        kind, namespace, name = object_key(obj)
        current = self._lookup.get(kind, namespace, name) or obj
        variables = self._variables(current)
        # Templates are user input (bounded by their step budget): rendered on a worker thread, off the loop.
        return await asyncio.to_thread(
            functools.partial(
                self.engine.render,
                loaded.config,
                templates,
                variables,
                service_type=loaded.service_types.get(promised.service),
                service=promised.service,
                recipient=promised.recipient,
            )
        )

    async def _requeue(self, obj: Obj, delivery_id: str, promised: PendingDelivery) -> bool:
        loaded = self.book.get(promised.config_namespace)
        templates: Sequence[str] = ()
        if loaded is not None:
            for result in await self._run_trigger(loaded, promised.trigger, obj):
                if result.key == promised.condition:
                    templates = tuple(result.templates)
        if loaded is None or not templates:
            key = object_key(obj)
            await self._write(key, self._ledger_of(key, obj).with_given_up(delivery_id))
            self.recorder.warning(
                obj,
                NOTIFICATION_FAILED,
                f"notification {promised.trigger} to {promised.service} dropped after a restart: its trigger "
                "condition is no longer in the notifications configuration",
            )
            return False
        self._enqueue(obj, delivery_id, promised, loaded, templates)
        return True

    # -- outcomes ---------------------------------------------------------------------------------------------

    async def _done(self, delivery: Delivery, error: Exception | None) -> None:
        key = object_key(delivery.about)
        try:
            await self._record(key, delivery, error)
        finally:
            self._inflight.discard((key, delivery.key))

    async def _record(self, key: ObjectKey, delivery: Delivery, error: Exception | None) -> None:
        async with self._lock(key):
            ledger = self._ledger_of(key, delivery.about)
            if error is None:
                await self._write(key, ledger.with_sent(delivery.key, int(self._clock())))
                log.info(
                    "notification sent",
                    extra={
                        "namespace": key[1],
                        "object": key[2],
                        "trigger": delivery.trigger,
                        "service": delivery.service_name,
                    },
                )
                return
            await self._write(key, ledger.with_given_up(delivery.key))
        self.recorder.warning(
            delivery.about,
            NOTIFICATION_FAILED,
            f"notification {delivery.trigger} to {delivery.service_name} failed: {error}",
        )

    # -- the ledger on the object -----------------------------------------------------------------------------

    def _lock(self, key: ObjectKey) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    def _ledger_of(self, key: ObjectKey, obj: Obj) -> Ledger:
        """The object's ledger: read from it once, then kept here (this process is its only writer while it
        leads). A new object of the same name (deleted and created again) starts from its own annotations."""
        current = self._lookup.get(*key) or obj
        uid = str((current.get("metadata") or {}).get("uid") or "")
        if key not in self._ledgers or self._ledger_uids.get(key) != uid:
            self._ledgers[key] = read_ledger((current.get("metadata") or {}).get("annotations"))
            self._ledger_uids[key] = uid
        return self._ledgers[key]

    async def _write(self, key: ObjectKey, ledger: Ledger) -> None:
        """Keep `ledger` as the object's and write it to its annotations. A write that fails is logged and the
        send goes ahead: a message late for the bookkeeping beats a message never sent."""
        self._ledgers[key] = ledger
        kind, namespace, name = key
        patch = {"metadata": {"annotations": ledger_annotations(ledger)}}
        try:
            await self.client.patch(KINDS[kind], name, patch, namespace, patch_type="merge")
        except ApiError as err:
            if err.is_not_found:
                self._ledgers.pop(key, None)
                return
            log.warning(
                "notification bookkeeping not written",
                extra={"namespace": namespace, "object": name, "error": str(err)},
            )
        except httpx.HTTPError as err:
            log.warning(
                "notification bookkeeping not written",
                extra={"namespace": namespace, "object": name, "error": str(err) or type(err).__name__},
            )


class _Missing:
    """Stands in for a service a subscription names but the configuration does not have: every send fails."""

    def __init__(self, name: str, config_namespace: str) -> None:
        self.name = name
        self.config_namespace = config_namespace

    async def send(self, notification: Notification, recipient: str) -> None:
        raise SendError(
            f"no service {self.name!r} in the notifications ConfigMap of namespace {self.config_namespace!r}; "
            f"add service.<type>.{self.name} or fix the subscription"
        )
