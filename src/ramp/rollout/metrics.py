"""Rollout metrics with upstream's names, computed from the informer cache when Prometheus scrapes.

`rollout_info{namespace,name,strategy,traffic_router,phase}` (always 1), `rollout_info_replicas_available`,
`_unavailable`, `_desired`, `_updated` and the older `rollout_phase{namespace,name,strategy,phase}` (1 for the
current phase, 0 for the others). Reading the cache at scrape time (as upstream's collector does) means no
series outlives its Rollout and a reconcile does no metrics bookkeeping. `ramp.manager` registers one
`RolloutCollector` with a function returning the current term's rollouts informer (None between terms).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ramp.kube.exposition import LabelWriter, header, lines
from ramp.kube.informer import Informer

PHASES = ("Healthy", "Progressing", "Paused", "Degraded")
ROUTER_ORDER = ("nginx", "istio", "smi", "alb", "ambassador", "traefik", "apisix", "appMesh", "plugins")


_INFO = ("rollout_info", "Information about rollout.", ["namespace", "name", "strategy", "traffic_router", "phase"])
_PHASE = (
    "rollout_phase",
    "Information on the state of the rollout (DEPRECATED - use rollout_info)",
    ["namespace", "name", "strategy", "phase"],
)
_REPLICA_KINDS = ("available", "unavailable", "desired", "updated")


class _Row:
    """One Rollout's values for every family."""

    __slots__ = ("name", "namespace", "phase", "replicas", "router", "strategy")

    def __init__(self, rollout: Mapping[str, Any]) -> None:
        meta = rollout.get("metadata") or {}
        self.namespace, self.name = str(meta.get("namespace", "")), str(meta.get("name", ""))
        spec = rollout.get("spec") or {}
        status = rollout.get("status") or {}
        self.strategy, self.router = describe_strategy(spec)
        self.phase = str(status.get("phase") or "Progressing")
        available = int(status.get("availableReplicas") or 0)
        self.replicas = {
            "available": available,
            "unavailable": max(int(status.get("replicas") or 0) - available, 0),
            "desired": 1 if spec.get("replicas") is None else int(spec["replicas"]),
            "updated": int(status.get("updatedReplicas") or 0),
        }


class RolloutCollector(Collector):
    """Computes the rollout series from `source()`, the rollouts informer of the current term (if any)."""

    def __init__(self) -> None:
        self.source: Callable[[], Informer | None] = lambda: None

    def _rows(self) -> list[_Row]:
        informer = self.source()
        return [_Row(rollout) for rollout in (informer.list() if informer is not None else [])]

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(_INFO[0], _INFO[1], labels=_INFO[2])
        phase_metric = GaugeMetricFamily(_PHASE[0], _PHASE[1], labels=_PHASE[2])
        replicas = {
            kind: GaugeMetricFamily(*_replicas_family(kind)[:2], labels=["namespace", "name"])
            for kind in _REPLICA_KINDS
        }
        for row in self._rows():
            info.add_metric([row.namespace, row.name, row.strategy, row.router, row.phase], 1)
            for candidate in PHASES:
                phase_metric.add_metric([row.namespace, row.name, row.strategy, candidate], int(candidate == row.phase))
            for kind in _REPLICA_KINDS:
                replicas[kind].add_metric([row.namespace, row.name], row.replicas[kind])
        yield info
        yield phase_metric
        yield from replicas.values()

    def exposition(self) -> Iterator[str]:
        """The same families as `collect`, written as text directly (`kube.exposition`)."""
        rows = self._rows()
        yield header(_INFO[0], _INFO[1], "gauge")
        info = LabelWriter(_INFO[2])
        for row in rows:
            yield f"{_INFO[0]}{info((row.namespace, row.name, row.strategy, row.router, row.phase))} 1.0\n"
        yield header(_PHASE[0], _PHASE[1], "gauge")
        phase = LabelWriter(_PHASE[2])
        for row in rows:
            for candidate in PHASES:
                value = "1.0" if candidate == row.phase else "0.0"
                yield f"{_PHASE[0]}{phase((row.namespace, row.name, row.strategy, candidate))} {value}\n"
        by_object = LabelWriter(["namespace", "name"])
        labels = [by_object((row.namespace, row.name)) for row in rows]
        for kind in _REPLICA_KINDS:
            name, documentation = _replicas_family(kind)
            yield header(name, documentation, "gauge")
            yield from lines(name, ((text, row.replicas[kind]) for text, row in zip(labels, rows, strict=True)))


def _replicas_family(kind: str) -> tuple[str, str]:
    return f"rollout_info_replicas_{kind}", f"The number of {kind} replicas per rollout."


def describe_strategy(spec: Mapping[str, Any]) -> tuple[str, str]:
    """(strategy, traffic_router) labels: "blueGreen" or "canary", and the router(s) in use (comma-separated)."""
    strategy = spec.get("strategy") or {}
    if strategy.get("blueGreen") is not None:
        return "blueGreen", ""
    routing = (strategy.get("canary") or {}).get("trafficRouting") or {}
    routers = [key for key in ROUTER_ORDER if routing.get(key)]
    return "canary", ",".join(routers)


COLLECTOR = RolloutCollector()
"""The one collector on the default registry; the manager points its `source` at its informer."""
REGISTRY.register(COLLECTOR)
