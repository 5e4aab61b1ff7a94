"""Istio, subset-level: one host (the root Service) whose DestinationRule `app-rule` has subsets `stable` and
`canary`; the VirtualService `app-vsvc` splits between the subsets, and Ramp labels the subsets with the pod
hashes. The readers report the canary subset as the canary Service and the stable subset as the stable one."""

from __future__ import annotations

from typing import Any

from tests.e2e.harness import Cluster
from tests.e2e.routers.istio_host import (
    VIRTUAL_SERVICE,
    WEIGHTED_ROUTE,
    header_route_target,
    http_routes,
    mirror_route_target,
    weights_of,
)
from tests.e2e.traffic_cases import Names, RouterCase

DESTINATION_RULE = "app-rule"
CANARY_SUBSET = "canary"
STABLE_SUBSET = "stable"


def objects(names: Names) -> str:
    return f"""
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: {DESTINATION_RULE}
  namespace: {names.namespace}
spec:
  host: {names.root_service}
  trafficPolicy:
    loadBalancer:
      simple: ROUND_ROBIN
  subsets:
  - name: {CANARY_SUBSET}
    labels:
      app: {names.rollout}
  - name: {STABLE_SUBSET}
    labels:
      app: {names.rollout}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: {VIRTUAL_SERVICE}
  namespace: {names.namespace}
spec:
  hosts:
  - {names.root_service}
  http:
  - name: {WEIGHTED_ROUTE}
    route:
    - destination:
        host: {names.root_service}
        subset: {STABLE_SUBSET}
      weight: 100
    - destination:
        host: {names.root_service}
        subset: {CANARY_SUBSET}
      weight: 0
"""


def traffic_routing(names: Names) -> dict[str, Any]:
    return {
        "istio": {
            "virtualService": {"name": VIRTUAL_SERVICE, "routes": [WEIGHTED_ROUTE]},
            "destinationRule": {
                "name": DESTINATION_RULE,
                "canarySubsetName": CANARY_SUBSET,
                "stableSubsetName": STABLE_SUBSET,
            },
        }
    }


def service_of(destination: dict[str, Any], names: Names) -> str:
    """The Service a subset stands for (canary subset → canary Service, stable subset → stable Service)."""
    subset = destination.get("subset")
    if subset == CANARY_SUBSET:
        return names.canary_service
    if subset == STABLE_SUBSET:
        return names.stable_service
    return str(destination.get("host", "")).split(".", 1)[0]


def read_weights(cluster: Cluster, names: Names) -> dict[str, int]:
    route = next(r for r in http_routes(cluster, names) if r.get("name") == WEIGHTED_ROUTE)
    return weights_of(route, names, service_of)


def read_header_route(cluster: Cluster, names: Names) -> str | None:
    return header_route_target(http_routes(cluster, names), names, service_of)


def read_mirror_route(cluster: Cluster, names: Names) -> tuple[str, int] | None:
    return mirror_route_target(http_routes(cluster, names), names, service_of)


def read_subset_hashes(cluster: Cluster, names: Names) -> dict[str, str | None]:
    """The pod hash each subset of the DestinationRule selects."""
    found = cluster.get("destinationrules.networking.istio.io", DESTINATION_RULE, names.namespace)
    return {
        str(s["name"]): (s.get("labels") or {}).get("rollouts-pod-template-hash")
        for s in found.get("spec", {}).get("subsets") or []
    }


CASE = RouterCase(
    id="istio_subset",
    crds=("istio.yaml",),
    objects=objects,
    traffic_routing=traffic_routing,
    read_weights=read_weights,
    read_header_route=read_header_route,
    read_mirror_route=read_mirror_route,
)
