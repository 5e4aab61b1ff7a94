"""Apache APISIX: the ApisixRoute `app-route` splits its rule `rule1` between the stable and canary backends by
weight; a header route is another ApisixRoute whose copy of the rule has a higher priority and header `exprs`,
read as APISIX picks among matching rules (the highest priority wins). No mirror routes (not supported)."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.harness import Cluster
from tests.e2e.traffic_cases import HEADER_NAME, HEADER_VALUE, Names, RouterCase

ROUTE = "app-route"
RULE = "rule1"
KIND = "apisixroutes.apisix.apache.org"


def objects(names: Names) -> str:
    return f"""
apiVersion: apisix.apache.org/v2
kind: ApisixRoute
metadata:
  name: {ROUTE}
  namespace: {names.namespace}
spec:
  http:
  - name: {RULE}
    match:
      hosts:
      - app.example.com
      paths:
      - /*
    backends:
    - serviceName: {names.stable_service}
      servicePort: {names.port}
      weight: 100
    - serviceName: {names.canary_service}
      servicePort: {names.port}
      weight: 0
"""


def traffic_routing(names: Names) -> dict[str, Any]:
    return {"apisix": {"route": {"name": ROUTE, "rules": [RULE]}}}


def all_rules(cluster: Cluster, names: Names) -> list[dict[str, Any]]:
    """Every HTTP rule of every ApisixRoute in the namespace (APISIX merges them into one route table)."""
    return [
        rule for route in cluster.list(KIND, names.namespace) for rule in (route.get("spec") or {}).get("http") or []
    ]


def backend_weights(rule: dict[str, Any]) -> dict[str, int]:
    shares: dict[str, int] = {}
    for backend in rule.get("backends") or []:
        # APISIX gives a backend without a weight the default of 100.
        shares[str(backend["serviceName"])] = shares.get(str(backend["serviceName"]), 0) + int(
            backend.get("weight", 100)
        )
    return shares


def read_weights(cluster: Cluster, names: Names) -> dict[str, int]:
    route = cluster.get(KIND, ROUTE, names.namespace)
    rule = next(r for r in route["spec"]["http"] if r.get("name") == RULE)
    return backend_weights(rule)


def _expr_holds(expr: dict[str, Any], headers: dict[str, str]) -> bool:
    subject = expr.get("subject") or {}
    if subject.get("scope") != "Header":
        return False
    value = headers.get(str(subject.get("name", "")).lower())
    if value is None:
        return False
    if expr.get("op") == "Equal":
        return value == expr.get("value")
    if expr.get("op") == "RegexMatch":
        return re.search(str(expr.get("value")), value) is not None
    return False


def _has_header_expr(rule: dict[str, Any]) -> bool:
    exprs = (rule.get("match") or {}).get("exprs") or []
    return any((e.get("subject") or {}).get("scope") == "Header" for e in exprs)


def read_header_route(cluster: Cluster, names: Names) -> str | None:
    """Where APISIX sends a request to the weighted rule's host and path carrying `x-canary: yes`: the matching rule
    of highest priority, when that is a header rule (its heaviest backend); None when the weighted rule wins."""
    headers = {HEADER_NAME: HEADER_VALUE}
    matching = [
        rule
        for rule in all_rules(cluster, names)
        if all(_expr_holds(e, headers) for e in (rule.get("match") or {}).get("exprs") or [])
    ]
    if not matching:
        return None
    top = max(matching, key=lambda r: (int(r.get("priority") or 0), _has_header_expr(r)))
    if not _has_header_expr(top):
        return None
    weights = backend_weights(top)
    return max(weights, key=lambda service: weights[service]) if weights else None


CASE = RouterCase(
    id="apisix",
    crds=("apisix.yaml",),
    objects=objects,
    traffic_routing=traffic_routing,
    read_weights=read_weights,
    read_header_route=read_header_route,
)
