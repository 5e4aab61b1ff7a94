"""Gateway API, in upstream's plugin form: the HTTPRoute `app-route` has one rule with backendRefs to the stable
and canary Services. The readers apply Gateway API's rules: a rule's backendRefs share its traffic by weight; of
the rules that match a request, the most specific wins (a rule matching more headers beats one matching fewer),
so a request with `x-canary: yes` goes to the managed header rule's backend; a `RequestMirror` filter copies the
requests its rule matches to its backendRef (`percent`, 100 when absent)."""

from __future__ import annotations

from typing import Any

from tests.e2e.harness import Cluster
from tests.e2e.traffic_cases import HEADER_NAME, HEADER_VALUE, Names, RouterCase

ROUTE = "app-route"
KIND = "httproutes.gateway.networking.k8s.io"


def objects(names: Names) -> str:
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: {ROUTE}
  namespace: {names.namespace}
spec:
  parentRefs:
  - name: gw
  hostnames: [app.example.com]
  rules:
  - matches:
    - path: {{type: PathPrefix, value: /}}
    backendRefs:
    - {{name: {names.stable_service}, port: {names.port}, weight: 100}}
    - {{name: {names.canary_service}, port: {names.port}, weight: 0}}
"""


def traffic_routing(names: Names) -> dict[str, Any]:
    return {"plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": ROUTE, "namespace": names.namespace}}}


def rules(cluster: Cluster, names: Names) -> list[dict[str, Any]]:
    return list(cluster.get(KIND, ROUTE, names.namespace)["spec"].get("rules") or [])


def _headers(rule: dict[str, Any]) -> list[dict[str, Any]]:
    return [h for match in rule.get("matches") or [] for h in match.get("headers") or []]


def read_weights(cluster: Cluster, names: Names) -> dict[str, int]:
    """The shares of the rule plain requests take: no header matches, no mirror, and a split between Services."""
    for rule in rules(cluster, names):
        if _headers(rule) or rule.get("filters"):
            continue
        shares: dict[str, int] = {}
        for ref in rule.get("backendRefs") or []:
            shares[str(ref["name"])] = shares.get(str(ref["name"]), 0) + int(ref.get("weight", 1))
        return shares
    return {}


def read_header_route(cluster: Cluster, names: Names) -> str | None:
    for rule in rules(cluster, names):
        if any(h == {"type": "Exact", "name": HEADER_NAME, "value": HEADER_VALUE} for h in _headers(rule)):
            refs = rule.get("backendRefs") or []
            return str(refs[0]["name"]) if len(refs) == 1 else None
    return None


def read_mirror_route(cluster: Cluster, names: Names) -> tuple[str, int] | None:
    for rule in rules(cluster, names):
        if not any(match.get("method") == "GET" for match in rule.get("matches") or []):
            continue
        for entry in rule.get("filters") or []:
            if entry.get("type") == "RequestMirror":
                mirror = entry["requestMirror"]
                return str(mirror["backendRef"]["name"]), int(mirror.get("percent", 100))
    return None


CASE = RouterCase(
    id="gatewayapi",
    crds=("gatewayapi.yaml",),
    objects=objects,
    traffic_routing=traffic_routing,
    read_weights=read_weights,
    read_header_route=read_header_route,
    read_mirror_route=read_mirror_route,
)
