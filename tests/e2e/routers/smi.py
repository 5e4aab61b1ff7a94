"""SMI: Ramp creates the TrafficSplit `app-split` for the root Service `app-root`; a mesh reads `spec.backends`
as each Service's share of the root Service's traffic (no header or mirror routes in SMI)."""

from __future__ import annotations

from typing import Any

from tests.e2e.harness import Cluster
from tests.e2e.traffic_cases import Names, RouterCase

SPLIT = "app-split"


def objects(names: Names) -> str:
    return ""  # Ramp creates the TrafficSplit


def traffic_routing(names: Names) -> dict[str, Any]:
    return {"smi": {"rootService": names.root_service, "trafficSplitName": SPLIT}}


def read_weights(cluster: Cluster, names: Names) -> dict[str, int]:
    found = cluster.kubectl("get", "trafficsplits.split.smi-spec.io", "-n", names.namespace, "-o", "name")
    if SPLIT not in found:
        return {}
    split = cluster.get("trafficsplits.split.smi-spec.io", SPLIT, names.namespace)
    if split["spec"].get("service") != names.root_service:
        return {}
    shares: dict[str, int] = {}
    for backend in split["spec"].get("backends") or []:
        shares[str(backend["service"])] = shares.get(str(backend["service"]), 0) + int(backend["weight"])
    return shares


CASE = RouterCase(
    id="smi",
    crds=("smi.yaml",),
    objects=objects,
    traffic_routing=traffic_routing,
    read_weights=read_weights,
)
