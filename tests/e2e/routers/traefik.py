"""Traefik: the TraefikService `app-traefik` splits requests between the stable and canary Services by the weights
of its weighted services, read as Traefik's weighted round robin does (relative weights). No header or mirror
routes (the router supports neither)."""

from __future__ import annotations

from typing import Any

from tests.e2e.harness import Cluster
from tests.e2e.traffic_cases import Names, RouterCase

TRAEFIK_SERVICE = "app-traefik"
KIND = "traefikservices.traefik.io"


def objects(names: Names) -> str:
    return f"""
apiVersion: traefik.io/v1alpha1
kind: TraefikService
metadata:
  name: {TRAEFIK_SERVICE}
  namespace: {names.namespace}
spec:
  weighted:
    services:
    - name: {names.stable_service}
      port: {names.port}
      weight: 100
    - name: {names.canary_service}
      port: {names.port}
      weight: 0
"""


def traffic_routing(names: Names) -> dict[str, Any]:
    return {"traefik": {"weightedTraefikServiceName": TRAEFIK_SERVICE}}


def weighted_services(cluster: Cluster, names: Names) -> list[dict[str, Any]]:
    found = cluster.get(KIND, TRAEFIK_SERVICE, names.namespace)
    return list(((found.get("spec") or {}).get("weighted") or {}).get("services") or [])


def read_weights(cluster: Cluster, names: Names) -> dict[str, int]:
    shares: dict[str, int] = {}
    for entry in weighted_services(cluster, names):
        # Traefik gives an entry without a weight the default of 1.
        shares[str(entry["name"])] = shares.get(str(entry["name"]), 0) + int(entry.get("weight", 1))
    return shares


CASE = RouterCase(
    id="traefik",
    crds=("traefik.yaml",),
    objects=objects,
    traffic_routing=traffic_routing,
    read_weights=read_weights,
)
