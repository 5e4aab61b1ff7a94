"""How the controller's parts connect: the informers of a leader term, the reconciler kinds and their queues,
and which queue each informer event concerns (an object's own, its owner's, the rollouts using a Service).

Used by `manager.runtime.Manager`, which builds a fresh set for every leader term.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ramp.analysis.reconciler import DEFAULT_CONTROLLER_NAMESPACE, AnalysisRunReconciler
from ramp.experiments.reconciler import ExperimentReconciler
from ramp.flags.reconciler import FeatureFlagReconciler
from ramp.kube.caches import Informers
from ramp.kube.client import KubeClient
from ramp.kube.events import EventRecorder
from ramp.kube.informer import EventHandler, Informer
from ramp.kube.metrics import remove_object_series
from ramp.kube.reconcile import Controller, Reconciler, Result
from ramp.kube.resources import object_key, split_key
from ramp.manager.options import ManagerOptions
from ramp.providers.bounded_http import build_provider_client
from ramp.providers.registry import build_providers
from ramp.rollout.reconciler import RolloutReconciler
from ramp.rollout.references import object_reference_key

log = logging.getLogger("ramp.manager")

Obj = dict[str, Any]

METRIC_CLEANUP_DELAY = 65.0
"""Seconds between an object's deletion and the removal of its metric series (upstream's default), so the
last values are still scraped once."""
SERVICE_INDEX = "services"
"""Rollouts informer index: `namespace/name` of each Service a Rollout points at."""
WORKLOAD_INDEX = "workloads"
"""Rollouts informer index: `Kind/namespace/name` of the workload a Rollout's workloadRef names."""
REFERENCE_INDEX = "references"
"""Rollouts informer index: the templates and Ingresses a Rollout names (`ramp.rollout.references`)."""
TEMPLATE_INDEX = "template-references"
"""Template informers' index: the templates a template includes, so a nested template reaches its Rollouts."""
MAX_NESTED_TEMPLATES = 100
"""How many including templates one template change follows (templates can include each other in cycles)."""


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
    "featureflags": ReconcilerKind("FeatureFlags", "feature_flag", lambda o: o.feature_flag_threads),
}


def build_rollout_reconciler(context: ControllerContext) -> Reconciler:
    return RolloutReconciler(context.client, context.informers, context.recorder)


def build_analysis_run_reconciler(context: ControllerContext) -> Reconciler:
    """The AnalysisRun reconciler with every supported provider, configured from the controller's environment
    (POD_NAMESPACE is the controller's namespace, as upstream), and one HTTP client shared by the providers."""
    environment = dict(os.environ)
    return AnalysisRunReconciler(
        context.client,
        context.informers,
        context.recorder,
        build_providers(environment),
        build_provider_client(),
        controller_namespace=environment.get("POD_NAMESPACE") or DEFAULT_CONTROLLER_NAMESPACE,
    )


def build_experiment_reconciler(context: ControllerContext) -> Reconciler:
    return ExperimentReconciler(context.client, context.informers, context.recorder)


class _Idle:
    """Stands in for the FeatureFlag reconciler when the cluster does not serve the FeatureFlag CRD."""

    async def reconcile(self, key: str) -> Result:
        return Result()


def build_feature_flag_reconciler(context: ControllerContext) -> Reconciler:
    flags = context.informers.feature_flags
    if flags is None:
        return _Idle()
    return FeatureFlagReconciler(context.client, context.informers, flags, context.recorder)


DEFAULT_RECONCILERS: Mapping[str, ReconcilerFactory] = {
    "rollouts": build_rollout_reconciler,
    "analysisruns": build_analysis_run_reconciler,
    "experiments": build_experiment_reconciler,
    "featureflags": build_feature_flag_reconciler,
}


def route_events(informers: Informers, controllers: Mapping[str, Controller]) -> None:
    """Informer changes → keys on work queues: an object's own queue, and its owner's (as upstream)."""
    queues = {kind: c.queue for kind, c in controllers.items()}
    owner_queues = {
        "Rollout": queues.get("rollouts"),
        "Experiment": queues.get("experiments"),
        "FeatureFlag": queues.get("featureflags"),
    }

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
    if informers.feature_flags is not None:
        informers.feature_flags.add_handler(enqueue_self("featureflags"))
    for kind, kind_informer in (
        ("rollouts", informers.rollouts),
        ("analysisruns", informers.analysis_runs),
        ("experiments", informers.experiments),
        *((("featureflags", informers.feature_flags),) if informers.feature_flags is not None else ()),
    ):
        kind_informer.add_handler(forget_series_on_delete(RECONCILER_KINDS[kind].metrics_prefix, kind_informer))
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

        def enqueue_workload_rollouts(kind: str) -> EventHandler:
            def enqueue(workload: Obj) -> None:
                for rollout in informers.rollouts.by_index(WORKLOAD_INDEX, f"{kind}/{object_key(workload)}"):
                    rollouts_queue.add(object_key(rollout))

            return EventHandler(
                on_add=enqueue,
                on_update=lambda old, new: None if old is new else enqueue(new),
                on_delete=enqueue,
            )

        for kind, workload_informer in (
            ("Deployment", informers.deployments),
            ("ReplicaSet", informers.workload_replica_sets),
            ("PodTemplate", informers.pod_templates),
        ):
            if workload_informer is not None:
                workload_informer.add_handler(enqueue_workload_rollouts(kind))
        route_references(informers, rollouts_queue.add)


def route_references(informers: Informers, enqueue: Callable[[str], None]) -> None:
    """A template, Ingress or watched routing object that appears, changes or goes → the Rollouts that name it,
    directly or through the templates that include it (`ramp.rollout.references`)."""
    template_informers = [
        i for i in (informers.analysis_templates, informers.cluster_analysis_templates) if i is not None
    ]

    def including_templates(key: str) -> set[str]:
        """`key` and the keys of every template that includes it, however deeply."""
        found, frontier = {key}, [key]
        while frontier and len(found) < MAX_NESTED_TEMPLATES:
            current = frontier.pop()
            for informer in template_informers:
                for template in informer.by_index(TEMPLATE_INDEX, current):
                    including = object_reference_key(informer.resource.kind, template)
                    if including not in found:
                        found.add(including)
                        frontier.append(including)
        return found

    def handler(kind: str, nested: bool) -> EventHandler:
        def changed(obj: Obj) -> None:
            key = object_reference_key(kind, obj)
            for reference in including_templates(key) if nested else {key}:
                for rollout in informers.rollouts.by_index(REFERENCE_INDEX, reference):
                    enqueue(object_key(rollout))

        return EventHandler(
            on_add=changed,
            on_update=lambda old, new: None if old is new else changed(new),
            on_delete=changed,
        )

    for informer in template_informers:
        informer.add_handler(handler(informer.resource.kind, nested=True))
    for watched in (informers.ingresses, *informers.routing):
        if watched is not None:
            watched.add_handler(handler(watched.resource.kind, nested=False))


def forget_series_on_delete(prefix: str, informer: Informer) -> EventHandler:
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
    """Names of the Services a Rollout's strategy points at (canary/stable, ping/pong, active/preview, and the
    root Service SMI and ALB route through)."""
    strategy = (rollout.get("spec") or {}).get("strategy") or {}
    canary = strategy.get("canary") or {}
    blue_green = strategy.get("blueGreen") or {}
    ping_pong = canary.get("pingPong") or {}
    routing = canary.get("trafficRouting") or {}
    names = (
        canary.get("canaryService"),
        canary.get("stableService"),
        ping_pong.get("pingService"),
        ping_pong.get("pongService"),
        blue_green.get("activeService"),
        blue_green.get("previewService"),
        *(
            (routing.get(router) or {}).get("rootService")
            for router in ("smi", "alb")
            if isinstance(routing, dict) and isinstance(routing.get(router), dict)
        ),
    )
    return {n for n in names if n}


def rollout_workload_keys(rollout: Obj) -> set[str]:
    """`Kind/namespace/name` of the Deployment, ReplicaSet or PodTemplate a Rollout's workloadRef names (the
    rollouts informer's workload index)."""
    ref = (rollout.get("spec") or {}).get("workloadRef") or {}
    if ref.get("kind") not in ("Deployment", "ReplicaSet", "PodTemplate") or not ref.get("name"):
        return set()
    return {f"{ref['kind']}/{(rollout.get('metadata') or {}).get('namespace') or ''}/{ref['name']}"}
