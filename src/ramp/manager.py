"""The controller process: health and metrics endpoints, the Lease, informers, work queues and reconcilers.

`Manager.run` is `ramp controller` after flag parsing (`ramp.cli.controller`). Order, as upstream:
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

Reconcilers plug in by kind through `ReconcilerFactory` (see `DEFAULT_RECONCILERS`): until the real ones
land, the Rollout kind only records `RolloutAddedToInformer` once per rollout.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from ramp import __version__
from ramp.kube.client import KubeClient
from ramp.kube.endpoints import healthz_routes, metrics_routes, start_http_server
from ramp.kube.events import EventRecorder
from ramp.kube.informer import EventHandler, Informer
from ramp.kube.leaderelection import KubeLeaseStore, LeaderElector
from ramp.kube.lease import DEFAULT_LEASE_NAMESPACE, lease_name
from ramp.kube.metrics import remove_object_series
from ramp.kube.reconcile import Controller, Reconciler, Result
from ramp.kube.resources import (
    ANALYSIS_RUNS,
    ANALYSIS_TEMPLATES,
    CLUSTER_ANALYSIS_TEMPLATES,
    EXPERIMENTS,
    REPLICA_SETS,
    ROLLOUTS,
    SERVICES,
    Resource,
    object_key,
    split_key,
)
from ramp.kube.selectors import instance_id_selector, rollout_replica_sets_selector

log = logging.getLogger(__name__)

Obj = dict[str, Any]
_T = TypeVar("_T")

_EVENT_FLUSH_TIMEOUT = 5.0
# Abandoning a term waits for every task, however long; say so this often while one holds it up.
_ABANDON_WARN_AFTER = 5.0
# Without leader election a failed term restarts after this pause, so a bug cannot spin the loop.
_TERM_RESTART_DELAY = 1.0
METRIC_CLEANUP_DELAY = 65.0
"""Seconds between an object's deletion and the removal of its metric series (upstream's default), so the
last values are still scraped once."""
SERVICE_INDEX = "services"
"""Rollouts informer index: `namespace/name` of each Service a Rollout points at."""


def default_identity() -> str:
    """`<hostname>_<uuid>`, the holder identity upstream writes into the Lease."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


@dataclass(frozen=True)
class ManagerOptions:
    """What `ramp controller`'s flags decide."""

    namespace: str | None = None
    """Watch only this namespace (namespaced mode); None watches all."""
    instance_id: str | None = None
    leader_elect: bool = True
    lease_namespace: str = DEFAULT_LEASE_NAMESPACE
    identity: str = field(default_factory=default_identity)
    bind_address: str = "0.0.0.0"  # probes and scrapers reach a pod on its IP, as upstream
    healthz_port: int = 8080
    metrics_port: int = 8090
    rollout_threads: int = 10
    analysis_threads: int = 30
    experiment_threads: int = 10
    rollout_resync: float = 900.0
    """Seconds between re-deliveries of every cached object to its informer's handlers (all informers)."""
    shutdown_timeout: float = 20.0
    """Longest wait for in-flight reconciles on graceful shutdown."""
    exit_on_lost_lease: bool = False
    """On losing the Lease (or a failed term), exit 1 (upstream's way, for a supervisor to restart us)
    instead of standing by."""


@dataclass(frozen=True)
class Informers:
    """The caches reconcilers read. `cluster_analysis_templates` is None in namespaced mode (as upstream)."""

    rollouts: Informer
    analysis_runs: Informer
    analysis_templates: Informer
    cluster_analysis_templates: Informer | None
    experiments: Informer
    replica_sets: Informer
    services: Informer

    def all(self) -> list[Informer]:
        found = [
            self.rollouts,
            self.analysis_runs,
            self.analysis_templates,
            self.cluster_analysis_templates,
            self.experiments,
            self.replica_sets,
            self.services,
        ]
        return [i for i in found if i is not None]


@dataclass(frozen=True)
class ControllerContext:
    """Everything a reconciler factory may use."""

    client: KubeClient
    informers: Informers
    recorder: EventRecorder
    options: ManagerOptions


ReconcilerFactory = Callable[[ControllerContext], Reconciler]


@dataclass(frozen=True)
class ReconcilerKind:
    """How one reconciler kind is run: its queue (upstream's queue name) and metrics prefix."""

    queue_name: str
    metrics_prefix: str
    threads: Callable[[ManagerOptions], int]


RECONCILER_KINDS: Mapping[str, ReconcilerKind] = {
    "rollouts": ReconcilerKind("Rollouts", "rollout", lambda o: o.rollout_threads),
    "analysisruns": ReconcilerKind("AnalysisRuns", "analysis_run", lambda o: o.analysis_threads),
    "experiments": ReconcilerKind("Experiments", "experiment", lambda o: o.experiment_threads),
}


class RolloutAddedReconciler:
    """Stand-in Rollout reconciler: records `RolloutAddedToInformer` once per rollout (by uid) and logs."""

    def __init__(self, context: ControllerContext) -> None:
        self._rollouts = context.informers.rollouts
        self._recorder = context.recorder
        self._announced: dict[str, str] = {}

    async def reconcile(self, key: str) -> Result:
        rollout = self._rollouts.get(key)
        if rollout is None:
            self._announced.pop(key, None)
            log.info("rollout deleted", extra={"rollout": key})
            return Result()
        uid = str(rollout["metadata"].get("uid", ""))
        if self._announced.get(key) != uid:
            self._announced[key] = uid
            self._recorder.normal(rollout, "RolloutAddedToInformer", f"Rollout resource added to informer: {key}")
        log.debug("rollout reconciled", extra={"rollout": key})
        return Result()


DEFAULT_RECONCILERS: Mapping[str, ReconcilerFactory] = {"rollouts": RolloutAddedReconciler}


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
    ) -> None:
        unknown = set(reconcilers) - set(RECONCILER_KINDS)
        if unknown:
            raise ValueError(f"unknown reconciler kinds {sorted(unknown)}; known: {sorted(RECONCILER_KINDS)}")
        self.options = options
        self.client = client
        self.reconcilers = reconcilers
        self.recorder = EventRecorder(client)
        self.elector = (
            LeaderElector(
                # No client-side limit for the Lease: a renewal every 2 s needs no pacing, and one that
                # queued behind a burst of reconcile requests could miss its deadline and cost the Lease.
                KubeLeaseStore(client.with_own_limiter(), options.lease_namespace, lease_name(options.instance_id)),
                identity=options.identity,
            )
            if options.leader_elect
            else None
        )
        self.informers: Informers | None = None
        self.controllers: dict[str, Controller] = {}
        self._tasks: list[asyncio.Task[None]] = []

    async def run(self, stop: asyncio.Event) -> int:
        """Run until `stop` is set (returns 0) or, with `exit_on_lost_lease`, until the Lease is lost (1)."""
        opts = self.options
        log.info(
            "controller starting",
            extra={
                "version": __version__,
                "namespace": opts.namespace or "(all)",
                "instance_id": opts.instance_id or "",
                "identity": opts.identity,
                "server": self.client.config.server,
            },
        )
        servers = await self._serve()
        recorder = asyncio.create_task(self.recorder.run(), name="events")
        stopped = asyncio.create_task(stop.wait(), name="stop")
        lost: asyncio.Task[None] | None = None
        try:
            if self.elector is None:
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
            for task in (*self._tasks, recorder, stopped, *([lost] if lost else [])):
                task.cancel()
            for task in (*self._tasks, recorder, stopped, *([lost] if lost else [])):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            for server in servers:
                server.close()
            log.info("controller stopped")

    async def _lead(self, stopped: asyncio.Task[Literal[True]], lost: asyncio.Task[None] | None) -> TermEnd:
        """Start fresh informers, then workers once they have synced; return when the term ends, and why."""
        self.informers = self._build_term()
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
                for controller in self.controllers.values():
                    controller.start()
                log.info("workers started", extra={name: c.workers for name, c in self.controllers.items()})
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

    def _build_term(self) -> Informers:
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
        )
        informers.rollouts.add_index(SERVICE_INDEX, rollout_service_keys)
        context = ControllerContext(self.client, informers, self.recorder, opts)
        for kind, factory in self.reconcilers.items():
            spec = RECONCILER_KINDS[kind]
            self.controllers[kind] = Controller(
                spec.queue_name,
                factory(context),
                workers=spec.threads(opts),
                metrics_prefix=spec.metrics_prefix,
            )
        self._route_events(informers)
        return informers

    def _route_events(self, informers: Informers) -> None:
        """Informer changes → keys on work queues: an object's own queue, and its owner's (as upstream)."""
        queues = {kind: c.queue for kind, c in self.controllers.items()}
        owner_queues = {"Rollout": queues.get("rollouts"), "Experiment": queues.get("experiments")}

        def enqueue_self(kind: str) -> EventHandler:
            queue = queues.get(kind)
            if queue is None:
                return EventHandler()
            return EventHandler(
                on_add=lambda o: queue.add(object_key(o)),
                on_update=lambda _, o: queue.add(object_key(o)),
                on_delete=lambda o: queue.add(object_key(o)),
            )

        def enqueue_owner(obj: Obj) -> None:
            owner = controller_owner(obj)
            queue = owner_queues.get(owner[0]) if owner else None
            if owner and queue is not None:
                queue.add(owner[1])

        def enqueue_owner_on_change(old: Obj, new: Obj) -> None:
            # A resync re-delivers unchanged objects; only real changes concern the owner.
            if old is not new:
                enqueue_owner(new)

        owners = EventHandler(on_add=enqueue_owner, on_update=enqueue_owner_on_change, on_delete=enqueue_owner)
        informers.rollouts.add_handler(enqueue_self("rollouts"))
        informers.analysis_runs.add_handler(enqueue_self("analysisruns"))
        informers.analysis_runs.add_handler(owners)
        informers.experiments.add_handler(enqueue_self("experiments"))
        informers.experiments.add_handler(owners)
        informers.replica_sets.add_handler(owners)
        for kind, kind_informer in (
            ("rollouts", informers.rollouts),
            ("analysisruns", informers.analysis_runs),
            ("experiments", informers.experiments),
        ):
            kind_informer.add_handler(_forget_series_on_delete(RECONCILER_KINDS[kind].metrics_prefix, kind_informer))
        rollouts_queue = queues.get("rollouts")
        if rollouts_queue is not None:

            def enqueue_referencing_rollouts(service: Obj) -> None:
                for rollout in informers.rollouts.by_index(SERVICE_INDEX, object_key(service)):
                    rollouts_queue.add(object_key(rollout))

            informers.services.add_handler(
                EventHandler(
                    on_add=enqueue_referencing_rollouts,
                    on_update=lambda old, new: None if old is new else enqueue_referencing_rollouts(new),
                    on_delete=enqueue_referencing_rollouts,
                )
            )

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
        await self.recorder.close(_EVENT_FLUSH_TIMEOUT)
        if lost is not None:
            # Stop renewing before handing the Lease back, so the two writes cannot race.
            await _cancel(lost)
        if self.elector is not None:
            await self.elector.release()

    async def _abandon(self, ended: TermEnd) -> None:
        """Cancel workers and informers without draining, and wait until every one has ended: the next term
        starts from fresh caches, and must never run alongside a straggler of this one."""
        reason = "lease lost" if ended is TermEnd.LOST else "informer failed"
        log.error(f"{reason}: stopping all work at once")
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


def _forget_series_on_delete(prefix: str, informer: Informer) -> EventHandler:
    """On delete, drop the object's metric series after `METRIC_CLEANUP_DELAY`, unless it is back by then."""

    def forget(key: str) -> None:
        if informer.get(key) is not None:
            return  # re-created under the same name: its series are live again
        namespace, name = split_key(key)
        remove_object_series(prefix, informer.resource.plural, namespace or "", name)

    def on_delete(obj: Obj) -> None:
        asyncio.get_running_loop().call_later(METRIC_CLEANUP_DELAY, forget, object_key(obj))

    return EventHandler(on_delete=on_delete)


def controller_owner(obj: Obj) -> tuple[str, str] | None:
    """The (kind, `namespace/name` key) of the object's controlling owner, if it has one."""
    meta = obj.get("metadata") or {}
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("kind", "")), f"{meta.get('namespace')}/{ref.get('name')}"
    return None


def rollout_service_keys(rollout: Obj) -> set[str]:
    """`namespace/name` keys of the Services a Rollout points at (the rollouts informer's service index)."""
    namespace = (rollout.get("metadata") or {}).get("namespace") or ""
    return {f"{namespace}/{name}" for name in referenced_services(rollout)}


def referenced_services(rollout: Obj) -> set[str]:
    """Names of the Services a Rollout's strategy points at (canary/stable, active/preview)."""
    strategy = (rollout.get("spec") or {}).get("strategy") or {}
    canary = strategy.get("canary") or {}
    blue_green = strategy.get("blueGreen") or {}
    names = (
        canary.get("canaryService"),
        canary.get("stableService"),
        blue_green.get("activeService"),
        blue_green.get("previewService"),
    )
    return {n for n in names if n}


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
