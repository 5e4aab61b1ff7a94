"""Experiment metrics with upstream's names and labels, computed from the informer cache when scraped.

`experiment_info{namespace,name,phase}` (1 per experiment, with its phase) and the deprecated
`experiment_phase{namespace,name,phase}` (1 for the current phase, 0 for the others: Pending, Error,
Successful, Running, Inconclusive, as upstream, which has no Failed series here). `experiment_reconcile` and
`experiment_reconcile_error` come from the reconcile loop (`ramp.kube.metrics.reconcile_metrics`).
`ramp.manager` points `COLLECTOR.source` at the current term's experiments informer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ramp.kube.informer import Informer

EXPERIMENT_PHASES = ("Pending", "Error", "Successful", "Running", "Inconclusive")


class ExperimentCollector(Collector):
    """Computes the experiment series from `source()`, the current term's experiments informer (if any)."""

    def __init__(self) -> None:
        self.source: Callable[[], Informer | None] = lambda: None

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "experiment_info", "Information about Experiment.", labels=["namespace", "name", "phase"]
        )
        phases = GaugeMetricFamily(
            "experiment_phase",
            "Information on the state of the experiment (DEPRECATED - use experiment_info)",
            labels=["namespace", "name", "phase"],
        )
        informer = self.source()
        for experiment in informer.list() if informer is not None else []:
            meta = experiment.get("metadata") or {}
            key = [str(meta.get("namespace", "")), str(meta.get("name", ""))]
            phase = str((experiment.get("status") or {}).get("phase") or "")
            info.add_metric([*key, phase], 1)
            for candidate in EXPERIMENT_PHASES:
                is_current = candidate == phase or (candidate == "Pending" and phase == "")
                phases.add_metric([*key, candidate], 1 if is_current else 0)
        yield info
        yield phases


COLLECTOR = ExperimentCollector()
"""The one collector on the default registry; the manager points its `source` at its informer."""
REGISTRY.register(COLLECTOR)
