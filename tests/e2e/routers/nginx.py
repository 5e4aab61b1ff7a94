"""ingress-nginx: the user's Ingress `app-ingress` sends app.example.com/ to the stable Service; Ramp keeps the
canary Ingress `app-app-ingress-canary` beside it. The readers apply ingress-nginx's canary rules: the canary
Ingress (annotation `canary: "true"`, backend the canary Service) takes `canary-weight` of `canary-weight-total`
(100 unless set), the stable Ingress the rest; a request matching `canary-by-header` and its value goes to the
canary whatever the weight. ingress-nginx cannot mirror, so there is no mirror reader."""

from __future__ import annotations

from typing import Any

from tests.e2e.harness import Cluster
from tests.e2e.traffic_cases import HEADER_NAME, HEADER_VALUE, Names, RouterCase

INGRESS = "app-ingress"
PREFIX = "nginx.ingress.kubernetes.io"


def objects(names: Names) -> str:
    return f"""
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {INGRESS}
  namespace: {names.namespace}
spec:
  ingressClassName: nginx
  rules:
  - host: app.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: {names.stable_service}
            port:
              number: {names.port}
"""


def traffic_routing(names: Names) -> dict[str, Any]:
    return {"nginx": {"stableIngress": INGRESS}}


def canary_ingresses(cluster: Cluster, names: Names) -> list[dict[str, Any]]:
    """Ingresses ingress-nginx treats as canaries of the canary Service."""
    found = []
    for ingress in cluster.list("ingresses.networking.k8s.io", names.namespace):
        annotations = ingress["metadata"].get("annotations") or {}
        backends = {
            ((path.get("backend") or {}).get("service") or {}).get("name")
            for rule in ingress.get("spec", {}).get("rules") or []
            for path in (rule.get("http") or {}).get("paths") or []
        }
        if annotations.get(f"{PREFIX}/canary") == "true" and names.canary_service in backends:
            found.append(ingress)
    return found


def read_weights(cluster: Cluster, names: Names) -> dict[str, int]:
    canaries = canary_ingresses(cluster, names)
    if not canaries:
        return {names.canary_service: 0, names.stable_service: 100}
    annotations = canaries[0]["metadata"]["annotations"]
    total = int(annotations.get(f"{PREFIX}/canary-weight-total", "100"))
    weight = min(int(annotations.get(f"{PREFIX}/canary-weight", "0")), total)
    return {names.canary_service: weight, names.stable_service: total - weight}


def read_header_route(cluster: Cluster, names: Names) -> str | None:
    for ingress in canary_ingresses(cluster, names):
        annotations = ingress["metadata"]["annotations"]
        if (
            annotations.get(f"{PREFIX}/canary-by-header") == HEADER_NAME
            and annotations.get(f"{PREFIX}/canary-by-header-value") == HEADER_VALUE
        ):
            return names.canary_service
    return None


CASE = RouterCase(
    id="nginx",
    crds=(),
    objects=objects,
    traffic_routing=traffic_routing,
    read_weights=read_weights,
    read_header_route=read_header_route,
)
