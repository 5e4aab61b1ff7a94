"""The controller process: health and metrics endpoints, the Lease, informers, work queues and reconcilers.

`Manager.run` is `ramp controller` after flag parsing (`ramp.cli.controller`). Order, as upstream:
0. start the event-loop monitor (`manager.loop_monitor`: loop lag and hold on /metrics, a warning past 50 ms);
1. serve `/healthz` and `/metrics` (a standby is live and scrapeable);
2. acquire the Lease (`kube.leaderelection`), unless leader election is off;
3. start the informers (Rollouts, AnalysisRuns, AnalysisTemplates, ClusterAnalysisTemplates, Experiments,
   ReplicaSets, Services; one namespace in namespaced mode; argoproj.io kinds filtered by `--instance-id`)
   and wait until all have listed;
4. start N workers per reconciler kind, fed by informer events routed to keyed work queues;
5. on SIGTERM/SIGINT (the `stop` event): stop watches, drain workers for a bounded time (cut short if the
   Lease is lost meanwhile), flush events, release the Lease, exit 0. Ramp releases the Lease on graceful
   shutdown where upstream does not (`ReleaseOnCancel: false`), so a SIGTERM'd leader hands over within a
   standby's next retry (~2 s) instead of when the lease expires (~15 s).
On losing the Lease (taken, or not renewed within the deadline, e.g. while the API server restarts) all
leader work stops at once, as upstream, and no new term starts until every task of the old one has ended.
Upstream then exits for its supervisor to restart it; by default Ramp instead drops its caches and queues
and waits for the Lease again in-process (the same clean state without a restart, and a `ramp controller`
run by hand survives an API server outage). `exit_on_lost_lease` restores upstream's exit with code 1.
An informer task that ends by itself (it retries every error, so only a bug gets there) ends the term the
same way, handing the Lease back first (see `_end_term_if_informer_failed`).

Sharded (`--shards N`, N > 1; see docs/sharding.md): no leader Lease; every replica runs a single endless
term with cluster-wide informers, and `manager.sharding.ShardCoordinator` decides which shards it holds,
through one Lease per shard. Workers take only the keys of held shards (`kube.reconcile.Controller`'s
`shard_of`/`holds`); a gained shard's objects are enqueued, a lost one's reconciles are cancelled.

Reconcilers plug in by kind through `ReconcilerFactory` (see `DEFAULT_RECONCILERS`): until the real ones
land, the Rollout kind only records `RolloutAddedToInformer` once per rollout.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import gc
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

from ramp import __version__
from ramp.analysis import metrics as analysis_metrics
from ramp.buildinfo import build_info
from ramp.core.sharding import shard_for, shard_key
from ramp.experiments import metrics as experiment_metrics
from ramp.kube.caches import Informers
from ramp.kube.client import KubeClient
from ramp.kube.endpoints import healthz_routes, metrics_routes, start_http_server
from ramp.kube.events import EventRecorder
from ramp.kube.informer import Informer
from ramp.kube.leaderelection import KubeLeaseStore, LeaderElector
from ramp.kube.lease import lease_name
from ramp.kube.reconcile import Controller
from ramp.kube.resources import (
    ANALYSIS_RUNS,
    ANALYSIS_TEMPLATES,
    CLUSTER_ANALYSIS_TEMPLATES,
    DEPLOYMENTS,
    EXPERIMENTS,
    FEATURE_FLAGS,
    INGRESSES,
    POD_TEMPLATES,
    REPLICA_SETS,
    ROLLOUTS,
    SERVICES,
    Resource,
    object_key,
)
from ramp.kube.selectors import instance_id_selector, rollout_replica_sets_selector, workload_replica_sets_selector
from ramp.manager.loop_monitor import CallbackTimer, monitor_loop, watch_gc_pauses
from ramp.manager.notifying import Notifications, build_notifications
from ramp.manager.options import ManagerOptions
from ramp.manager.routing_watch import find_served_routing_resources, is_served
from ramp.manager.sharding import ShardCoordinator
from ramp.manager.wiring import (
    DEFAULT_RECONCILERS,
    RECONCILER_KINDS,
    REFERENCE_INDEX,
    SERVICE_INDEX,
    TEMPLATE_INDEX,
    WORKLOAD_INDEX,
    ControllerContext,
    ReconcilerFactory,
    rollout_service_keys,
    rollout_workload_keys,
    route_events,
)
from ramp.notifications.engine import Engine
from ramp.rollout import metrics as rollout_metrics
from ramp.rollout.references import rollout_reference_keys, template_reference_keys

log = logging.getLogger("ramp.manager")

GC_YOUNG_THRESHOLD = 20_000  # allocations between young collections (Python's default: 700)
_T = TypeVar("_T")

_EVENT_FLUSH_TIMEOUT = 5.0
_NOTIFY_FLUSH_TIMEOUT = 5.0
"""Seconds a graceful shutdown waits for notifications being sent (the rest stay pending on their objects)."""
# Abandoning a term waits for every task, however long; say so this often while one holds it up.
_ABANDON_WARN_AFTER = 5.0
# Without leader election a failed term restarts after this pause, so a bug cannot spin the loop.
_TERM_RESTART_DELAY = 1.0


class TermEnd(enum.Enum):
    """Why a leader term ended."""

    STOP = "stop"  # SIGTERM/SIGINT: drain and hand over
    LOST = "lost"  # the Lease was lost: stop at once
    FAILED = "failed"  # an informer ended unexpectedly: stop at once, hand the Lease back


class Manager:
    """Runs the controller until stopped; see the module docstring for the order of things."""

    def __init__(
        self,
        options: ManagerOptions,
        client: KubeClient,
        reconcilers: Mapping[str, ReconcilerFactory] = DEFAULT_RECONCILERS,
        notifications: Engine | None = None,
    ) -> None:
        unknown = set(reconcilers) - set(RECONCILER_KINDS)
        if unknown:
            raise ValueError(f"unknown reconciler kinds {sorted(unknown)}; known: {sorted(RECONCILER_KINDS)}")
        if options.shards < 1:
            raise ValueError(f"shards must be at least 1, got {options.shards}")
        if options.shards > 1 and not options.leader_elect:
            raise ValueError("sharding takes one Lease per shard: it needs leader election (drop --leader-elect=false)")
        self.options = options
        self.client = client
        self.reconcilers = reconcilers
        # Events spend a budget of their own, as large as the one release writes share (docs/performance.md):
        # an event written never delays a scale or status write, and one that waits delays nothing.
        self.recorder = EventRecorder(client.with_own_limiter(*client.budget))
        # Notifications (upstream's notifications ConfigMap and subscriptions): a listener on the recorder.
        self.notifications: Notifications | None = (
            build_notifications(
                client,
                self.recorder,
                notifications,
                controller_namespace=options.notifications_namespace,
                self_service=options.self_service_notifications,
                watched_namespace=options.namespace,
            )
            if notifications is not None
            else None
        )
        self.elector = (
            LeaderElector(
                # No client-side limit for the Lease: a renewal every 2 s needs no pacing, and one that
                # queued behind a burst of reconcile requests could miss its deadline and cost the Lease.
                KubeLeaseStore(client.with_own_limiter(), options.lease_namespace, lease_name(options.instance_id)),
                identity=options.identity,
                lease_duration=options.lease_duration,
                renew_deadline=options.renew_deadline,
                retry_period=options.retry_period,
            )
            if options.leader_elect and options.shards == 1
            else None
        )
        self.coordinator: ShardCoordinator | None = None
        self.informers: Informers | None = None
        self.controllers: dict[str, Controller] = {}
        rollout_metrics.COLLECTOR.source = lambda: self.informers.rollouts if self.informers else None
        analysis_metrics.COLLECTOR.source = lambda: self.informers
        experiment_metrics.COLLECTOR.source = lambda: self.informers.experiments if self.informers else None
        self._tasks: list[asyncio.Task[None]] = []
        self._background: list[asyncio.Task[None]] = []

    async def run(self, stop: asyncio.Event) -> int:
        """Run until `stop` is set (returns 0) or, with `exit_on_lost_lease`, until the Lease is lost (1)."""
        opts = self.options
        log.info(
            "controller starting",
            extra={
                "version": __version__,
                "commit": build_info().commit,
                "namespace": opts.namespace or "(all)",
                "instance_id": opts.instance_id or "",
                "identity": opts.identity,
                "server": self.client.config.server,
            },
        )
        # Everything imported and built so far lives as long as the process: out of the collector's way, so a
        # full collection walks only what the caches hold (each one pauses the event loop for its length).
        gc.freeze()
        # Fewer young collections (each also counts towards a full one): a list of thousands of objects allocates
        # millions of containers, and every full collection then walks all of them, pausing the loop 200-300 ms
        # at 5,000 Rollouts. Nearly all of them are acyclic JSON, freed by reference counting anyway.
        gc.set_threshold(GC_YOUNG_THRESHOLD, 10, 10)
        stop_gc_watch = watch_gc_pauses()
        callbacks = CallbackTimer()
        callbacks.install()
        monitor = asyncio.create_task(monitor_loop(), name="loop-monitor")
        servers = await self._serve()
        recorder = asyncio.create_task(self.recorder.run(), name="events")
        if self.notifications is not None:
            self._background.append(asyncio.create_task(self.notifications.run(), name="notifications"))
        stopped = asyncio.create_task(stop.wait(), name="stop")
        lost: asyncio.Task[None] | None = None
        try:
            if opts.shards > 1:
                log.info("sharded: reconciling only the shards this replica holds", extra={"shards": opts.shards})
            elif self.elector is None:
                log.info("leader election disabled; running as the only controller")
            while True:
                if self.elector is not None:
                    if not await _first(self.elector.acquire(), stopped):
                        return 0
                    lost = asyncio.create_task(self.elector.hold(), name="lease")
                ended = await self._lead(stopped, lost)
                if ended is TermEnd.STOP:
                    await self._shut_down(lost)
                    return 0
                # Stop all leader work at once (another replica may be in charge), and wait until it has.
                await self._abandon(ended)
                await self._leave_shards()
                if lost is not None:
                    # After a failed term we still hold the Lease: stop renewing, then hand it back so a
                    # healthy replica may take over (after a lost Lease, release is a no-op).
                    await _cancel(lost)
                    lost = None
                if self.elector is not None:
                    await self.elector.release()
                if opts.exit_on_lost_lease:
                    return 1
                if self.elector is None and not await _first(asyncio.sleep(_TERM_RESTART_DELAY), stopped):
                    return 0
                log.info("standing by: waiting to hold the lease again")
        finally:
            for task in (*self._tasks, *self._background, recorder, stopped, monitor, *([lost] if lost else [])):
                task.cancel()
            for task in (*self._tasks, *self._background, recorder, stopped, monitor, *([lost] if lost else [])):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if self.notifications is not None:
                await self.notifications.aclose()
            for server in servers:
                server.close()
            stop_gc_watch()
            callbacks.uninstall()
            log.info("controller stopped")

    async def _lead(self, stopped: asyncio.Task[Literal[True]], lost: asyncio.Task[None] | None) -> TermEnd:
        """Start fresh informers, then workers once they have synced; return when the term ends, and why."""
        served = await find_served_routing_resources(self.client, self.options.namespace)
        flags = await is_served(self.client, FEATURE_FLAGS, self.options.namespace)
        self.informers = self._build_term(served, feature_flags=flags)
        failed = asyncio.Event()
        self._tasks = []
        for informer in self.informers.all():
            task = asyncio.create_task(informer.run(), name=f"informer-{informer.resource.plural}")
            task.add_done_callback(functools.partial(_end_term_if_informer_failed, failed))
            self._tasks.append(task)
        failing = asyncio.create_task(failed.wait(), name="informer-failed")
        synced = asyncio.create_task(self._wait_for_sync(self.informers), name="sync")
        ending: list[asyncio.Task[Literal[True]] | asyncio.Task[None]] = [stopped, failing]
        if lost is not None:
            ending.append(lost)
        try:
            await asyncio.wait([synced, *ending], return_when=asyncio.FIRST_COMPLETED)
            if synced.done():
                # The first lists are in the caches now and mostly stay: out of the collector's way too (an
                # object they hold that is replaced later is freed by its reference count, being acyclic JSON).
                gc.freeze()
                for controller in self.controllers.values():
                    controller.start()
                log.info("workers started", extra={name: c.workers for name, c in self.controllers.items()})
                if self.notifications is not None:
                    await self.notifications.resume(
                        self.informers, owns=self._owns if self.options.shards > 1 else None
                    )
                if self.options.shards > 1:
                    self._start_sharding(self.informers)
                await asyncio.wait(ending, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await _cancel(synced)
            await _cancel(failing)
        if stopped.done():
            return TermEnd.STOP
        if lost is not None and lost.done():
            return TermEnd.LOST
        return TermEnd.FAILED

    async def _serve(self) -> list[asyncio.Server]:
        opts = self.options
        host = opts.bind_address
        if opts.healthz_port == opts.metrics_port:
            plan = [(opts.healthz_port, {**healthz_routes(), **metrics_routes()})]
        else:
            plan = [(opts.healthz_port, healthz_routes()), (opts.metrics_port, metrics_routes())]
        servers = []
        for port, routes in plan:
            try:
                servers.append(await start_http_server(host, port, routes))
            except OSError as err:
                for server in servers:
                    server.close()
                raise OSError(err.errno, f"cannot listen on {host}:{port} ({err.strerror}); pick another port") from err
        log.info(
            "serving health and metrics",
            extra={
                "healthz": f"{host}:{opts.healthz_port}/healthz",
                "metrics": f"{host}:{opts.metrics_port}/metrics",
            },
        )
        return servers

    def _build_term(self, routing: Sequence[Resource] = (), *, feature_flags: bool = False) -> Informers:
        """Fresh informers, controllers (reconcilers made by their factories) and the event routes between them."""
        opts = self.options
        ns = opts.namespace
        owned = instance_id_selector(opts.instance_id)

        def informer(resource: Resource, selector: str | None = None) -> Informer:
            # Every informer resyncs, as upstream's informer factories all do; handlers that have nothing to
            # do for an unchanged object (ReplicaSet and Service routing below) ignore the re-delivery.
            return Informer(
                self.client, resource, namespace=ns, label_selector=selector, resync_period=opts.rollout_resync
            )

        informers = Informers(
            rollouts=informer(ROLLOUTS, owned),
            analysis_runs=informer(ANALYSIS_RUNS, owned),
            analysis_templates=informer(ANALYSIS_TEMPLATES, owned),
            cluster_analysis_templates=None if ns else informer(CLUSTER_ANALYSIS_TEMPLATES, owned),
            experiments=informer(EXPERIMENTS, owned),
            replica_sets=informer(REPLICA_SETS, rollout_replica_sets_selector()),
            services=informer(SERVICES),
            deployments=informer(DEPLOYMENTS),
            ingresses=informer(INGRESSES),
            routing=tuple(informer(resource) for resource in routing),
            workload_replica_sets=informer(REPLICA_SETS, workload_replica_sets_selector()),
            pod_templates=informer(POD_TEMPLATES),
            feature_flags=informer(FEATURE_FLAGS, owned) if feature_flags else None,
        )
        informers.rollouts.add_index(SERVICE_INDEX, rollout_service_keys)
        informers.rollouts.add_index(WORKLOAD_INDEX, rollout_workload_keys)
        informers.rollouts.add_index(REFERENCE_INDEX, rollout_reference_keys)
        for templates in (informers.analysis_templates, informers.cluster_analysis_templates):
            if templates is not None:
                templates.add_index(TEMPLATE_INDEX, template_reference_keys)
        context = ControllerContext(self.client, informers, self.recorder, opts)
        for kind, factory in self.reconcilers.items():
            spec = RECONCILER_KINDS[kind]
            sharded = opts.shards > 1
            self.controllers[kind] = Controller(
                spec.queue_name,
                factory(context),
                workers=spec.threads(opts),
                metrics_prefix=spec.metrics_prefix,
                shard_of=self._shard_of(kind, informers) if sharded else None,
                holds=self._holds if sharded else None,
            )
        self._route_events(informers)
        return informers

    def _route_events(self, informers: Informers) -> None:
        route_events(informers, self.controllers)

    async def _wait_for_sync(self, informers: Informers) -> None:
        await asyncio.gather(*(i.wait_for_sync() for i in informers.all()))
        kinds = ",".join(i.resource.kind for i in informers.all())
        log.info("informers synced", extra={"kinds": kinds, "objects": sum(len(i) for i in informers.all())})

    async def _shut_down(self, lost: asyncio.Task[None] | None) -> None:
        log.info("shutting down", extra={"drain_timeout": self.options.shutdown_timeout})
        for task in self._tasks:
            task.cancel()
        drain = asyncio.ensure_future(
            asyncio.gather(*(c.stop(self.options.shutdown_timeout) for c in self.controllers.values()))
        )
        if lost is not None:
            racing: list[asyncio.Future[list[bool]] | asyncio.Task[None]] = [drain, lost]
            await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
            if not drain.done():
                # The Lease ran out mid-drain (e.g. the API server went away): a standby may already lead,
                # so in-flight reconciles must end now, not when the drain timeout is up.
                log.error("lease lost while draining: cancelling in-flight reconciles")
                for controller in self.controllers.values():
                    controller.cancel()
        drained = await drain
        if not all(drained):
            log.warning("workers did not finish in time; cancelled")
        if self.notifications is not None and not await self.notifications.notifier.drain(_NOTIFY_FLUSH_TIMEOUT):
            log.warning("notifications still being sent at shutdown: left pending for the next leader")
        await self.recorder.close(_EVENT_FLUSH_TIMEOUT)
        if lost is not None:
            # Stop renewing before handing the Lease back, so the two writes cannot race.
            await _cancel(lost)
        await self._leave_shards()
        if self.elector is not None:
            await self.elector.release()

    def _start_sharding(self, informers: Informers) -> None:
        """Start balancing shards (workers already run, and refuse every key until a shard is held)."""

        def gained(shard: int) -> None:
            for kind, controller in self.controllers.items():
                for obj in _reconciled_informer(informers, kind).list():
                    if _object_shard(kind, obj, self.options.shards) == shard:
                        controller.queue.add(object_key(obj))

        async def dropped(shard: int) -> None:
            cancelled = await asyncio.gather(*(c.cancel_shard(shard) for c in self.controllers.values()))
            if any(cancelled):
                log.info(
                    "in-flight reconciles of a dropped shard cancelled", extra={"shard": shard, "count": sum(cancelled)}
                )

        self.coordinator = ShardCoordinator(
            self.client.with_own_limiter(), self.options, gained=gained, dropped=dropped
        )
        self._tasks.append(asyncio.create_task(self.coordinator.run(), name="shards"))

    async def _leave_shards(self) -> None:
        """Hand every shard Lease back (after the workers have stopped)."""
        if self.coordinator is not None:
            coordinator, self.coordinator = self.coordinator, None
            await coordinator.close()

    def _shard_of(self, kind: str, informers: Informers) -> Callable[[str], int]:
        """A queue key's shard, for the reconciler `kind` (children are looked up for their owner's key)."""
        shards = self.options.shards
        informer = _reconciled_informer(informers, kind)

        def shard_of(key: str) -> int:
            obj = informer.get(key) if kind != "rollouts" else None
            return _object_shard(kind, obj, shards) if obj is not None else shard_for(key, shards)

        return shard_of

    def _owns(self, rollout: Mapping[str, Any]) -> bool:
        """This replica holds the shard of `rollout` now (notifications' state path, with --shards)."""
        meta = rollout.get("metadata") or {}
        return self._holds(shard_for(f"{meta.get('namespace')}/{meta.get('name')}", self.options.shards))

    def _holds(self, shard: int) -> bool:
        return self.coordinator is not None and self.coordinator.holds(shard)

    async def _abandon(self, ended: TermEnd) -> None:
        """Cancel workers and informers without draining, and wait until every one has ended: the next term
        starts from fresh caches, and must never run alongside a straggler of this one."""
        reason = "lease lost" if ended is TermEnd.LOST else "informer failed"
        log.error(f"{reason}: stopping all work at once")
        if self.notifications is not None:
            self.notifications.end_term()
        for controller in self.controllers.values():
            controller.cancel()
        for task in self._tasks:
            task.cancel()
        pending = {*(t for c in self.controllers.values() for t in c.tasks), *self._tasks}
        waited = 0.0
        while pending:
            _, pending = await asyncio.wait(pending, timeout=_ABANDON_WARN_AFTER)
            if pending:
                waited += _ABANDON_WARN_AFTER
                log.warning(
                    "old term still winding down; the next one waits for it",
                    extra={"tasks": ",".join(sorted(t.get_name() for t in pending)), "waited": waited},
                )
                for task in pending:
                    task.cancel()  # again, in case one swallowed the first cancellation
        self._tasks = []
        self.controllers = {}


_KINDS = {
    "rollouts": "Rollout",
    "analysisruns": "AnalysisRun",
    "experiments": "Experiment",
    "featureflags": "FeatureFlag",
}


def _reconciled_informer(informers: Informers, kind: str) -> Informer:
    found = {
        "rollouts": informers.rollouts,
        "analysisruns": informers.analysis_runs,
        "featureflags": informers.feature_flags,
    }.get(kind, informers.experiments)
    return found if found is not None else informers.experiments


def _object_shard(kind: str, obj: dict[str, Any], shards: int) -> int:
    return shard_for(shard_key(_KINDS[kind], obj), shards)


def _end_term_if_informer_failed(failed: asyncio.Event, task: asyncio.Task[None]) -> None:
    """Done-callback of an informer task: only the manager cancels one, so any other ending is a failure.

    It ends the leader term (stop at once, hand the Lease back, start again from fresh caches) rather than
    failing /healthz: that recovers in seconds with or without a kubelet watching (a `ramp controller` run
    by hand has none), and a standby can take over at once instead of after the probe's failure threshold
    plus the lease expiry, while this process keeps serving a truthful /healthz and /metrics.
    """
    if task.cancelled():
        return
    log.error(
        "informer stopped unexpectedly; ending the leader term",
        exc_info=task.exception(),
        extra={"task": task.get_name()},
    )
    failed.set()


async def _first(work: Awaitable[None], stopped: asyncio.Task[Literal[True]]) -> bool:
    """Await `work` unless `stopped` finishes first; True if `work` completed."""
    task = asyncio.ensure_future(work)
    await asyncio.wait([task, stopped], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()
        return True
    await _cancel(task)
    return False


async def _cancel(task: asyncio.Future[_T]) -> None:
    """Cancel `task` and wait for it to end (its own exception, if it had one, is not raised here)."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
