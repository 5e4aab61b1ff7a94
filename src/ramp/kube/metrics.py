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

import bisect
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Generic, Protocol, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from ramp import __version__
from ramp.kube.exposition import LabelWriter, go_float, header, lines

NAMED_REQUEST_KINDS = frozenset({"rollouts", "analysisruns", "experiments"})
"""Kinds (plural) whose requests carry the object's name in `controller_clientset_k8s_request_total`."""

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


_V = TypeVar("_V")


class _PerLabels(Collector, Generic[_V]):
    """Series kept as plain values in one dict keyed by their label values.

    prometheus_client's labelled metrics make an object per series (a lock and a value object per sample: about
    650 bytes a counter, 2 KB a histogram of five buckets); the per-object series here (each Rollout's reconcile
    histogram, events and requests) would cost several KB per Rollout, tens of MB at 20,000 Rollouts.
    """

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
        self._values: dict[tuple[str, ...], _V] = {}
        self._lock = threading.Lock()
        if registry is not None:
            registry.register(self)

    def _check(self, labelvalues: tuple[str, ...]) -> None:
        if len(labelvalues) != len(self._labelnames):
            raise ValueError(f"{self._name} takes labels {self._labelnames}, got {labelvalues}")

    def remove(self, *labelvalues: str) -> None:
        """Drop one series (no-op if it does not exist)."""
        with self._lock:
            self._values.pop(labelvalues, None)

    def remove_by_labels(self, labels: Mapping[str, str]) -> None:
        """Drop every series whose labels include all of `labels`."""
        wanted = [(self._labelnames.index(name), value) for name, value in labels.items()]
        with self._lock:
            for labelvalues in [lv for lv in self._values if all(lv[i] == value for i, value in wanted)]:
                del self._values[labelvalues]

    def _items(self) -> list[tuple[dict[str, str], _V]]:
        return [(dict(zip(self._labelnames, labelvalues, strict=True)), value) for labelvalues, value in self._copy()]

    def _copy(self) -> list[tuple[tuple[str, ...], _V]]:
        with self._lock:
            return list(self._values.items())


class _Counted(_PerLabels[float]):
    def inc(self, *labelvalues: str, amount: float = 1.0) -> None:
        self._check(labelvalues)
        with self._lock:
            self._values[labelvalues] = self._values.get(labelvalues, 0.0) + amount

    def value(self, *labelvalues: str) -> float:
        return self._values.get(labelvalues, 0.0)


class PlainCounter(_Counted):
    """A labelled counter exposed under exactly its given name (no `_total` suffix added)."""

    def exposition(self) -> Iterator[str]:
        yield header(self._name, self._documentation, "untyped")
        labels = LabelWriter(self._labelnames)
        yield from lines(self._name, ((labels(values), value) for values, value in self._copy()))

    def collect(self) -> Iterator[Metric]:
        # "unknown" (untyped) keeps the TYPE line and the samples under one name; a "counter" family
        # would announce `<name>_total` and leave the samples orphaned.
        metric = Metric(self._name, self._documentation, "unknown")
        for labels, value in self._items():
            metric.samples.append(Sample(self._name, labels, value))
        yield metric


class LeanCounter(_Counted):
    """A labelled counter exposed as prometheus_client's `Counter` is (`<name>_total`), without `_created`
    samples (upstream's Go counters have none)."""

    def exposition(self) -> Iterator[str]:
        total = f"{self._name}_total"
        yield header(total, self._documentation, "counter")
        labels = LabelWriter(self._labelnames)
        yield from lines(total, ((labels(values), value) for values, value in self._copy()))

    def collect(self) -> Iterator[Metric]:
        metric = Metric(self._name, self._documentation, "counter")
        total = f"{self._name}_total"
        for labels, value in self._items():
            metric.samples.append(Sample(total, labels, value))
        yield metric


class LeanHistogram(_PerLabels[list[float]]):
    """A labelled histogram exposed as prometheus_client's `Histogram` is (`_bucket` with `le`, `_count`, `_sum`),
    without `_created`. Each series is one list: the observations per bucket (the last one +Inf), then the sum."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        buckets: Sequence[float],
        registry: CollectorRegistry | None = REGISTRY,
    ) -> None:
        self._bounds = tuple(sorted(buckets))
        self._bound_labels = [*(go_float(b) for b in self._bounds), "+Inf"]
        super().__init__(name, documentation, labelnames, registry)

    def observe(self, value: float, *labelvalues: str) -> None:
        self._check(labelvalues)
        with self._lock:
            series = self._values.get(labelvalues)
            if series is None:
                series = self._values[labelvalues] = [0.0] * (len(self._bounds) + 2)
            series[bisect.bisect_left(self._bounds, value)] += 1
            series[-1] += value

    def count(self, *labelvalues: str) -> float:
        series = self._values.get(labelvalues)
        return 0.0 if series is None else sum(series[:-1])

    def _copy(self) -> list[tuple[tuple[str, ...], list[float]]]:
        with self._lock:
            return [(labelvalues, [*series]) for labelvalues, series in self._values.items()]

    def exposition(self) -> Iterator[str]:
        yield header(self._name, self._documentation, "histogram")
        plain, with_bound = LabelWriter(self._labelnames), LabelWriter(self._labelnames, "le")
        bucket, count, total = f"{self._name}_bucket", f"{self._name}_count", f"{self._name}_sum"
        for values, series in self._copy():
            prepared = plain.prepare(values)
            cumulative = 0.0
            for bound, observed in zip(self._bound_labels, series, strict=False):
                cumulative += observed
                yield f"{bucket}{with_bound.write(prepared, bound)} {go_float(cumulative)}\n"
            text = plain.write(prepared)
            yield f"{count}{text} {go_float(cumulative)}\n{total}{text} {go_float(series[-1])}\n"

    def collect(self) -> Iterator[Metric]:
        metric = Metric(self._name, self._documentation, "histogram")
        for labels, series in self._items():
            cumulative = 0.0
            for bound, observed in zip(self._bound_labels, series, strict=False):
                cumulative += observed
                metric.samples.append(Sample(f"{self._name}_bucket", {**labels, "le": bound}, cumulative))
            metric.samples.append(Sample(f"{self._name}_count", labels, cumulative))
            metric.samples.append(Sample(f"{self._name}_sum", labels, series[-1]))
        yield metric


K8S_REQUESTS = LeanCounter(
    "controller_clientset_k8s_request",
    "Number of kubernetes requests executed during application reconciliation.",
    ["kind", "namespace", "name", "verb", "status_code"],
)

# Upstream's labels: the object the event is about, then the event's type and reason.
EVENTS = LeanCounter("rollout_events", "Count of rollout events", ["namespace", "name", "type", "reason"])


@dataclass(frozen=True)
class ReconcileMetrics:
    """Duration histogram and error counter of a reconciler kind (`rollout`, `analysis_run`, `experiment`)."""

    duration: LeanHistogram
    errors: PlainCounter


# Upstream's buckets for rollout_reconcile (seconds).
_RECONCILE_BUCKETS = (0.01, 0.15, 0.25, 0.5, 1.0)


@cache
def reconcile_metrics(prefix: str) -> ReconcileMetrics:
    """`<prefix>_reconcile` and `<prefix>_reconcile_error` (labels namespace, name); made once per prefix."""
    kind = prefix.replace("_", " ")
    return ReconcileMetrics(
        duration=LeanHistogram(
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
