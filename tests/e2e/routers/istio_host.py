"""Istio, host-level: the VirtualService `app-vsvc` splits its route `primary` between the stable and canary
Services' hosts; header and mirror routes are managed HTTP routes before it (read as Envoy would pick them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.e2e.harness import Cluster
from tests.e2e.traffic_cases import HEADER_NAME, HEADER_VALUE, Names, RouterCase

VIRTUAL_SERVICE = "app-vsvc"
WEIGHTED_ROUTE = "primary"
ServiceOf = Callable[[dict[str, Any], Names], str]
"""Which Service a route destination stands for."""


def objects(names: Names) -> str:
    return f"""
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: {VIRTUAL_SERVICE}
  namespace: {names.namespace}
spec:
  hosts:
  - app.example.com
  http:
  - name: {WEIGHTED_ROUTE}
    retries:
      attempts: 3
    route:
    - destination:
        host: {names.stable_service}
      weight: 100
    - destination:
        host: {names.canary_service}
      weight: 0
"""


def traffic_routing(names: Names) -> dict[str, Any]:
    return {"istio": {"virtualService": {"name": VIRTUAL_SERVICE, "routes": [WEIGHTED_ROUTE]}}}


def http_routes(cluster: Cluster, names: Names) -> list[dict[str, Any]]:
    found = cluster.get("virtualservices.networking.istio.io", VIRTUAL_SERVICE, names.namespace)
    return list(found.get("spec", {}).get("http") or [])


def service_of(destination: dict[str, Any], names: Names) -> str:
    """The Service a destination sends to: the host's first label (short name or FQDN)."""
    return str(destination.get("host", "")).split(".", 1)[0]


def weights_of(route: dict[str, Any], names: Names, service: ServiceOf = service_of) -> dict[str, int]:
    shares: dict[str, int] = {}
    for entry in route.get("route") or []:
        key = service(entry.get("destination") or {}, names)
        shares[key] = shares.get(key, 0) + int(entry.get("weight") or 0)
    return shares


def read_weights(cluster: Cluster, names: Names) -> dict[str, int]:
    route = next(r for r in http_routes(cluster, names) if r.get("name") == WEIGHTED_ROUTE)
    return weights_of(route, names)


def header_route_target(routes: list[dict[str, Any]], names: Names, service: ServiceOf = service_of) -> str | None:
    """The destination of the first route matching on `x-canary: yes` (its largest weight), if any."""
    for route in routes:
        for match in route.get("match") or []:
            if (match.get("headers") or {}).get(HEADER_NAME) == {"exact": HEADER_VALUE}:
                entries = route.get("route") or []
                if not entries:
                    return None
                top = max(entries, key=lambda e: int(e.get("weight") or 0))
                return str(service(top.get("destination") or {}, names))
    return None


def mirror_route_target(
    routes: list[dict[str, Any]], names: Names, service: ServiceOf = service_of
) -> tuple[str, int] | None:
    """(Service, percentage) GET requests are copied to by a route with a mirror, if any."""
    for route in routes:
        if route.get("mirror") is None:
            continue
        if any((m.get("method") or {}).get("exact") == "GET" for m in route.get("match") or []):
            percentage = (route.get("mirrorPercentage") or {}).get("value", 100)
            return str(service(route["mirror"], names)), int(percentage)
    return None


def read_header_route(cluster: Cluster, names: Names) -> str | None:
    return header_route_target(http_routes(cluster, names), names)


def read_mirror_route(cluster: Cluster, names: Names) -> tuple[str, int] | None:
    return mirror_route_target(http_routes(cluster, names), names)


CASE = RouterCase(
    id="istio_host",
    crds=("istio.yaml",),
    objects=objects,
    traffic_routing=traffic_routing,
    read_weights=read_weights,
    read_header_route=read_header_route,
    read_mirror_route=read_mirror_route,
)
