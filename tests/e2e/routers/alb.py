"""AWS Load Balancer Controller: the user's Ingress `app-ingress` sends app.example.com/ to the action named after
the root Service (`app-root`, port name `use-annotation`); Ramp writes that action's weighted target groups in
the annotation `alb.ingress.kubernetes.io/actions.app-root`. The readers apply the controller's rules: each
target group's Service gets its weight; a header route is a `/*` path to an action named after the route whose
`conditions.<route>` annotation lists the headers, read in path order as the load balancer's rules are. ALB
cannot mirror, so there is no mirror reader."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.harness import Cluster
from tests.e2e.traffic_cases import HEADER_NAME, HEADER_VALUE, Names, RouterCase

INGRESS = "app-ingress"
PREFIX = "alb.ingress.kubernetes.io"


def objects(names: Names) -> str:
    return f"""
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {INGRESS}
  namespace: {names.namespace}
  annotations:
    {PREFIX}/scheme: internet-facing
spec:
  ingressClassName: alb
  rules:
  - host: app.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: {names.root_service}
            port:
              name: use-annotation
"""


def traffic_routing(names: Names) -> dict[str, Any]:
    return {"alb": {"ingress": INGRESS, "servicePort": names.port, "rootService": names.root_service}}


def ingress(cluster: Cluster, names: Names) -> dict[str, Any]:
    return cluster.get("ingresses.networking.k8s.io", INGRESS, names.namespace)


def action_shares(found: dict[str, Any], action: str) -> dict[str, int]:
    """Service → weight of the forward action `action` (empty when the Ingress has no such action)."""
    raw = (found["metadata"].get("annotations") or {}).get(f"{PREFIX}/actions.{action}")
    if not raw:
        return {}
    shares: dict[str, int] = {}
    for group in json.loads(raw)["ForwardConfig"]["TargetGroups"]:
        shares[group["ServiceName"]] = shares.get(group["ServiceName"], 0) + int(group.get("Weight") or 0)
    return shares


def read_weights(cluster: Cluster, names: Names) -> dict[str, int]:
    return action_shares(ingress(cluster, names), names.root_service)


def header_route_target(found: dict[str, Any]) -> str | None:
    """Where a request with `x-canary: yes` goes if a header route takes it: the paths in order, as ALB rules."""
    annotations = found["metadata"].get("annotations") or {}
    for rule in found.get("spec", {}).get("rules") or []:
        for path in (rule.get("http") or {}).get("paths") or []:
            service = (path.get("backend") or {}).get("service") or {}
            if (service.get("port") or {}).get("name") != "use-annotation":
                continue
            action = str(service.get("name"))
            conditions = json.loads(annotations.get(f"{PREFIX}/conditions.{action}") or "[]")
            headers = [c.get("httpHeaderConfig") or {} for c in conditions if c.get("field") == "http-header"]
            if not headers:
                return None  # a path without conditions takes the request first: no header route ahead of it
            if all(h.get("httpHeaderName") == HEADER_NAME and HEADER_VALUE in h.get("values", []) for h in headers):
                shares = action_shares(found, action)
                return max(shares, key=lambda s: shares[s]) if shares else None
    return None


def read_header_route(cluster: Cluster, names: Names) -> str | None:
    return header_route_target(ingress(cluster, names))


CASE = RouterCase(
    id="alb",
    crds=(),
    objects=objects,
    traffic_routing=traffic_routing,
    read_weights=read_weights,
    read_header_route=read_header_route,
)
