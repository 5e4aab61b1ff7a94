"""Ambassador (Emissary-ingress): the Mapping `app-mapping` sends `/` to the stable Service; a canary Mapping with
the same prefix and `weight: w` sends w% to the canary Service and the unweighted Mapping takes the rest, as
Ambassador reads two Mappings of one prefix. No header or mirror routes (the router supports neither)."""

from __future__ import annotations

from typing import Any

from tests.e2e.harness import Cluster
from tests.e2e.traffic_cases import Names, RouterCase

MAPPING = "app-mapping"
KIND = "mappings.getambassador.io"


def objects(names: Names) -> str:
    return f"""
apiVersion: getambassador.io/v2
kind: Mapping
metadata:
  name: {MAPPING}
  namespace: {names.namespace}
spec:
  prefix: /
  service: {names.stable_service}:{names.port}
"""


def traffic_routing(names: Names) -> dict[str, Any]:
    return {"ambassador": {"mappings": [MAPPING]}}


def service_name(service: str) -> str:
    """The Service a Mapping's `service` names: `[scheme://]name[.namespace...][:port]` → name."""
    return service.rpartition("://")[2].split(":", 1)[0].split(".", 1)[0]


def mappings(cluster: Cluster, names: Names) -> list[dict[str, Any]]:
    return cluster.list(KIND, names.namespace)


def read_weights(cluster: Cluster, names: Names, total: int = 100) -> dict[str, int]:
    canary = sum(
        int((m.get("spec") or {}).get("weight") or 0)
        for m in mappings(cluster, names)
        if service_name(str((m.get("spec") or {}).get("service") or "")) == names.canary_service
    )
    return {names.canary_service: canary, names.stable_service: total - canary}


CASE = RouterCase(
    id="ambassador",
    crds=("ambassador.yaml",),
    objects=objects,
    traffic_routing=traffic_routing,
    read_weights=read_weights,
)
