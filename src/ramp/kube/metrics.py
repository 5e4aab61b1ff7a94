"""The Prometheus metrics of the controller runtime, with upstream Argo Rollouts' names and labels.

Registered once, on prometheus_client's default registry (which also carries the process metrics), and
served by `kube.endpoints` at `/metrics`. Writers: `kube.client` (requests), `kube.workqueue` (queues),
`kube.reconcile` (reconcile durations and errors), `kube.events` (events), `kube.leaderelection`.

Go's client does not add `_total` to a counter's name; prometheus_client does. Where upstream's name has
no `_total` (`rollout_reconcile_error`), `PlainCounter` exposes the exact upstream name.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

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

EVENTS = Counter("rollout_events", "Count of events emitted by the controller", ["type", "reason"])

LEADER = Gauge(
    "leader_election_master_status",
    "1 while this process holds the named lease, 0 otherwise.",
    ["name"],
)


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
