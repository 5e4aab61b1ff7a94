"""The Prometheus metrics of the controller runtime, with upstream Argo Rollouts' names and labels.

Registered once, on prometheus_client's default registry (which also carries the process metrics), and
served by `kube.endpoints` at `/metrics`. Writers: `kube.client` (requests), `kube.workqueue` (queues),
`kube.reconcile` (reconcile durations and errors), `kube.events` (events), `kube.leaderelection`,
`ramp.manager.sharding` (shards held).
The in-flight work gauges are computed when scraped (`InFlightCollector`), from the live queues.
`remove_object_series` drops a deleted object's series, as upstream's `MetricsServer.Remove`, so that
memory does not grow with every rollout ever created.

`argo_rollouts_controller_info{version}` is always 1 and carries Ramp's version (`v<version>`), as upstream's
gauge carries its own, so dashboards that count running controllers by it keep working.

Cardinality of `controller_clientset_k8s_request_total`: Ramp keeps upstream's five labels (kind, namespace,
name, verb, status_code) so upstream's dashboards and alerts keep working, but fills `name` only for the kinds
whose series are dropped when the object goes (`NAMED_REQUEST_KINDS`: Rollouts, AnalysisRuns, Experiments;
`remove_object_series`, 65 s after the delete). Every other request (lists, watches, events, and ReplicaSets,
Pods, Jobs, Services, Leases... by name) counts under name `N/A`. Upstream labels those with their own names
too, so its series grow with every ReplicaSet revision and every measurement Job ever made and never shrink;
here the series are bounded by the argoproj objects that exist (a few verbs x status codes each).

Go's client does not add `_total` to a counter's name; prometheus_client does. Where upstream's name has
no `_total` (`rollout_reconcile_error`), `PlainCounter` exposes the exact upstream name.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from ramp import __version__

NAMED_REQUEST_KINDS = frozenset({"rollouts", "analysisruns", "experiments"})
"""Kinds (plural) whose requests carry the object's name in `controller_clientset_k8s_request_total`."""

K8S_REQUESTS = Counter(
    "controller_clientset_k8s_request",
    "Number of kubernetes requests executed during application reconciliation.",
    ["kind", "namespace", "name", "verb", "status_code"],
)

WORKQUEUE_DEPTH = Gauge("workqueue_depth", "Current depth of workqueue", ["name"])
WORKQUEUE_ADDS = Counter("workqueue_adds", "Total number of adds handled by workqueue", ["name"])
WORKQUEUE_RETRIES = Counter("workqueue_retries", "Total number of retries handled by workqueue", ["name"])
# client-go's buckets: 10 ns to 10 s by factors of ten.
_WORKQUEUE_BUCKETS = tuple(1e-8 * 10**i for i in range(10))
WORKQUEUE_QUEUE_DURATION = Histogram(
    "workqueue_queue_duration_seconds",
    "How long in seconds an item stays in workqueue before being requested.",
    ["name"],
    buckets=_WORKQUEUE_BUCKETS,
)
WORKQUEUE_WORK_DURATION = Histogram(
    "workqueue_work_duration_seconds",
    "How long in seconds processing an item from workqueue takes.",
    ["name"],
    buckets=_WORKQUEUE_BUCKETS,
)

# Upstream's labels: the object the event is about, then the event's type and reason.
EVENTS = Counter("rollout_events", "Count of rollout events", ["namespace", "name", "type", "reason"])

CONTROLLER_INFO = Gauge("argo_rollouts_controller_info", "Running Argo-rollouts version", ["version"])
CONTROLLER_INFO.labels(f"v{__version__}").set(1)

LEADER = Gauge(
    "leader_election_master_status",
    "1 while this process holds the named lease, 0 otherwise.",
    ["name"],
)

SHARDS_HELD = Gauge(
    "controller_shards_held",
    "Shards whose Lease this replica holds (ramp controller --shards), and so reconciles.",
)
SHARDS_TOTAL = Gauge("controller_shards", "Shards the Rollouts are split into (ramp controller --shards).")


class PlainCounter(Collector):
    """A labelled counter exposed under exactly its given name (no `_total` suffix added)."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        registry: CollectorRegistry | None = REGISTRY,
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._labelnames = tuple(labelnames)
        self._values: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()
        if registry is not None:
            registry.register(self)

    def inc(self, *labelvalues: str, amount: float = 1.0) -> None:
        if len(labelvalues) != len(self._labelnames):
            raise ValueError(f"{self._name} takes labels {self._labelnames}, got {labelvalues}")
        with self._lock:
            self._values[labelvalues] = self._values.get(labelvalues, 0.0) + amount

    def value(self, *labelvalues: str) -> float:
        return self._values.get(labelvalues, 0.0)

    def remove(self, *labelvalues: str) -> None:
        """Drop one series (no-op if it does not exist)."""
        with self._lock:
            self._values.pop(labelvalues, None)

    def collect(self) -> Iterator[Metric]:
        # "unknown" (untyped) keeps the TYPE line and the samples under one name; a "counter" family
        # would announce `<name>_total` and leave the samples orphaned.
        metric = Metric(self._name, self._documentation, "unknown")
        with self._lock:
            items = list(self._values.items())
        for labelvalues, value in items:
            metric.samples.append(Sample(self._name, dict(zip(self._labelnames, labelvalues, strict=True)), value))
        yield metric


@dataclass(frozen=True)
class ReconcileMetrics:
    """Duration histogram and error counter of a reconciler kind (`rollout`, `analysis_run`, `experiment`)."""

    duration: Histogram
    errors: PlainCounter


# Upstream's buckets for rollout_reconcile (seconds).
_RECONCILE_BUCKETS = (0.01, 0.15, 0.25, 0.5, 1.0)


@cache
def reconcile_metrics(prefix: str) -> ReconcileMetrics:
    """`<prefix>_reconcile` and `<prefix>_reconcile_error` (labels namespace, name); made once per prefix."""
    kind = prefix.replace("_", " ")
    return ReconcileMetrics(
        duration=Histogram(
            f"{prefix}_reconcile",
            f"{kind.capitalize()} reconciliation performance.",
            ["namespace", "name"],
            buckets=_RECONCILE_BUCKETS,
        ),
        errors=PlainCounter(f"{prefix}_reconcile_error", f"Error occurring during the {kind}", ["namespace", "name"]),
    )


class InFlight(Protocol):
    """A work queue as the in-flight gauges see it (`kube.workqueue.WorkQueue`)."""

    @property
    def name(self) -> str: ...

    def processing_durations(self) -> list[float]:
        """Seconds each key now being processed has been at it."""
        ...


class InFlightCollector(Collector):
    """client-go's `workqueue_unfinished_work_seconds` (sum of in-flight work time, which shows stuck
    workers before they finish) and `workqueue_longest_running_processor_seconds` (the longest of them),
    per queue name, computed at scrape time: no timer, and no cost between scrapes.

    Queues are held weakly: the queues of an ended leader term drop out once they are garbage.
    """

    def __init__(self, registry: CollectorRegistry | None = REGISTRY) -> None:
        self._queues: weakref.WeakSet[InFlight] = weakref.WeakSet()
        if registry is not None:
            registry.register(self)

    def track(self, queue: InFlight) -> None:
        self._queues.add(queue)

    def collect(self) -> Iterator[Metric]:
        unfinished = Metric(
            "workqueue_unfinished_work_seconds",
            "How many seconds of work has done that is in progress and hasn't been observed by "
            "work_duration. Large values indicate stuck threads.",
            "gauge",
        )
        longest = Metric(
            "workqueue_longest_running_processor_seconds",
            "How many seconds has the longest running processor for workqueue been running.",
            "gauge",
        )
        by_name: dict[str, list[float]] = {}
        for queue in list(self._queues):
            by_name.setdefault(queue.name, []).extend(queue.processing_durations())
        for name, durations in sorted(by_name.items()):
            unfinished.add_sample(unfinished.name, {"name": name}, sum(durations))
            longest.add_sample(longest.name, {"name": name}, max(durations, default=0.0))
        yield unfinished
        yield longest


WORKQUEUE_IN_FLIGHT = InFlightCollector()


def remove_object_series(prefix: str, plural: str, namespace: str, name: str) -> None:
    """Forget every series about one deleted object: its `<prefix>_reconcile` and `<prefix>_reconcile_error`,
    its `rollout_events_total` and the API requests made on it by name (kind `plural`).

    Upstream removes events only for Rollouts; the series of an AnalysisRun or Experiment would otherwise
    stay forever too. The events metric has no kind label, so a same-named Rollout in that namespace sees
    its event counters reset, which Prometheus' rate() handles as a counter reset.
    """
    metrics = reconcile_metrics(prefix)
    metrics.duration.remove(namespace, name)
    metrics.errors.remove(namespace, name)
    EVENTS.remove_by_labels({"namespace": namespace, "name": name})
    K8S_REQUESTS.remove_by_labels({"kind": plural, "namespace": namespace, "name": name})
