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

from ramp.kube.informer import Informer

PHASES = ("Healthy", "Progressing", "Paused", "Degraded")
ROUTER_ORDER = ("nginx", "istio", "smi", "alb", "ambassador", "traefik", "apisix", "appMesh", "plugins")


class RolloutCollector(Collector):
    """Computes the rollout series from `source()`, the rollouts informer of the current term (if any)."""

    def __init__(self) -> None:
        self.source: Callable[[], Informer | None] = lambda: None

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily(
            "rollout_info",
            "Information about rollout.",
            labels=["namespace", "name", "strategy", "traffic_router", "phase"],
        )
        phase_metric = GaugeMetricFamily(
            "rollout_phase",
            "Information on the state of the rollout (DEPRECATED - use rollout_info)",
            labels=["namespace", "name", "strategy", "phase"],
        )
        replicas = {
            kind: GaugeMetricFamily(
                f"rollout_info_replicas_{kind}",
                f"The number of {kind} replicas per rollout.",
                labels=["namespace", "name"],
            )
            for kind in ("available", "unavailable", "desired", "updated")
        }
        informer = self.source()
        for rollout in informer.list() if informer is not None else []:
            meta = rollout.get("metadata") or {}
            namespace, name = str(meta.get("namespace", "")), str(meta.get("name", ""))
            spec = rollout.get("spec") or {}
            status = rollout.get("status") or {}
            strategy, router = describe_strategy(spec)
            phase = str(status.get("phase") or "Progressing")
            info.add_metric([namespace, name, strategy, router, phase], 1)
            for candidate in PHASES:
                phase_metric.add_metric([namespace, name, strategy, candidate], 1 if candidate == phase else 0)
            desired = 1 if spec.get("replicas") is None else int(spec["replicas"])
            available = int(status.get("availableReplicas") or 0)
            replicas["available"].add_metric([namespace, name], available)
            replicas["unavailable"].add_metric([namespace, name], max(int(status.get("replicas") or 0) - available, 0))
            replicas["desired"].add_metric([namespace, name], desired)
            replicas["updated"].add_metric([namespace, name], int(status.get("updatedReplicas") or 0))
        yield info
        yield phase_metric
        yield from replicas.values()


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
