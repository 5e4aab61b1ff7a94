"""The objects a Rollout's spec names, as keys, so that a change to any of them reconciles the Rollout again.

A user's `kubectl apply -f` of one file may create a Rollout before the AnalysisTemplate, Service or Ingress it
names; the Rollout is then InvalidSpec until the object appears, and must not wait for a resync to notice.
`ramp.manager.wiring` indexes the Rollouts informer by `rollout_reference_keys` and, when an informer sees one of
these objects change, puts the Rollouts indexed under its `reference_key` on the queue: one dictionary lookup per
event, whatever the number of Rollouts.

Keys are `<Kind>:<namespace>/<name>` (`<Kind>:<name>` for cluster-scoped kinds). Services and the workloadRef
have indexes of their own in `ramp.manager.wiring`. Routing objects of custom kinds (VirtualService,
DestinationRule, HTTPRoute, GRPCRoute, TraefikService, Mapping, ApisixRoute) are keyed too; the manager watches
those kinds the cluster serves (`ramp.manager.routing_watch`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from ramp.traffic.istio import split_reference

ANALYSIS_TEMPLATE = "AnalysisTemplate"
CLUSTER_ANALYSIS_TEMPLATE = "ClusterAnalysisTemplate"
INGRESS = "Ingress"


def reference_key(kind: str, namespace: str | None, name: str) -> str:
    """The index key of one object.

    >>> reference_key("AnalysisTemplate", "shop", "success-rate")
    'AnalysisTemplate:shop/success-rate'
    >>> reference_key("ClusterAnalysisTemplate", None, "error-rate")
    'ClusterAnalysisTemplate:error-rate'
    """
    return f"{kind}:{namespace}/{name}" if namespace else f"{kind}:{name}"


def object_reference_key(kind: str, obj: Mapping[str, Any]) -> str:
    """The index key of an object of `kind` as an informer delivers it (list items may lack their `kind`)."""
    meta = obj.get("metadata") or {}
    return reference_key(kind, meta.get("namespace"), str(meta.get("name") or ""))


def template_key(ref: Mapping[str, Any], namespace: str) -> str | None:
    """The key of a `{templateName, clusterScope}` reference, None when it names nothing."""
    name = ref.get("templateName")
    if not isinstance(name, str) or not name:
        return None
    if ref.get("clusterScope"):
        return reference_key(CLUSTER_ANALYSIS_TEMPLATE, None, name)
    return reference_key(ANALYSIS_TEMPLATE, namespace, name)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _template_refs(strategy: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    canary = _mapping(strategy.get("canary"))
    blue_green = _mapping(strategy.get("blueGreen"))
    analyses = [canary.get("analysis"), blue_green.get("prePromotionAnalysis"), blue_green.get("postPromotionAnalysis")]
    for raw_step in _items(canary.get("steps")):
        step = _mapping(raw_step)
        analyses.append(step.get("analysis"))
        yield from (_mapping(a) for a in _items(_mapping(step.get("experiment")).get("analyses")))
    for analysis in analyses:
        yield from (_mapping(t) for t in _items(_mapping(analysis).get("templates")))


def _ingress_names(strategy: Mapping[str, Any]) -> Iterator[Any]:
    routing = _mapping(_mapping(strategy.get("canary")).get("trafficRouting"))
    nginx = _mapping(routing.get("nginx"))
    alb = _mapping(routing.get("alb"))
    yield nginx.get("stableIngress")
    yield from _items(nginx.get("stableIngresses"))
    yield alb.get("ingress")
    yield from _items(alb.get("ingresses"))


GATEWAY_PLUGIN = "argoproj-labs/gatewayAPI"


def _istio_keys(istio: Mapping[str, Any], namespace: str) -> Iterator[str]:
    services = [istio.get("virtualService"), *_items(istio.get("virtualServices"))]
    for service in services:
        name = _mapping(service).get("name")
        if isinstance(name, str) and name:
            where, found = split_reference(name, namespace)  # "name" or upstream's "name.namespace", as the router
            yield reference_key("VirtualService", where, found)
    rule = _mapping(istio.get("destinationRule")).get("name")
    if isinstance(rule, str) and rule:
        yield reference_key("DestinationRule", namespace, rule)


def _gateway_keys(settings: Mapping[str, Any], namespace: str) -> Iterator[str]:
    route_namespace = settings.get("namespace") if isinstance(settings.get("namespace"), str) else None
    where = route_namespace or namespace
    for kind, single, several in (("HTTPRoute", "httpRoute", "httpRoutes"), ("GRPCRoute", "grpcRoute", "grpcRoutes")):
        names = [settings.get(single), *(_mapping(r).get("name") for r in _items(settings.get(several)))]
        yield from (reference_key(kind, where, n) for n in names if isinstance(n, str) and n)


def _routing_object_keys(routing: Mapping[str, Any], namespace: str) -> Iterator[str]:
    yield from _istio_keys(_mapping(routing.get("istio")), namespace)
    yield from _gateway_keys(_mapping(routing.get("gatewayAPI")), namespace)
    yield from _gateway_keys(_mapping(_mapping(routing.get("plugins")).get(GATEWAY_PLUGIN)), namespace)
    traefik = _mapping(routing.get("traefik")).get("weightedTraefikServiceName")
    if isinstance(traefik, str) and traefik:
        yield reference_key("TraefikService", namespace, traefik)
    for mapping in _items(_mapping(routing.get("ambassador")).get("mappings")):
        if isinstance(mapping, str) and mapping:
            yield reference_key("Mapping", namespace, mapping)
    apisix = _mapping(_mapping(routing.get("apisix")).get("route")).get("name")
    if isinstance(apisix, str) and apisix:
        yield reference_key("ApisixRoute", namespace, apisix)


_SPEC_MEMO_SIZE = 4096
_by_spec: dict[tuple[str, str], frozenset[str]] = {}


def rollout_reference_keys(rollout: Mapping[str, Any]) -> set[str]:
    """`reference_keys_of` once per generation of a Rollout (the index is worked out on every event of it, and the
    keys come from its spec alone, whose every change bumps the generation)."""
    meta = _mapping(rollout.get("metadata"))
    key = (str(meta.get("uid") or ""), str(meta.get("generation") or ""))
    if not all(key):
        return reference_keys_of(rollout)
    found = _by_spec.get(key)
    if found is None:
        found = frozenset(reference_keys_of(rollout))
        _by_spec[key] = found
        if len(_by_spec) > _SPEC_MEMO_SIZE:
            del _by_spec[next(iter(_by_spec))]
    return set(found)


def reference_keys_of(rollout: Mapping[str, Any]) -> set[str]:
    """Keys of the templates (step, background, experiment, pre/post-promotion) and Ingresses a Rollout names.

    >>> sorted(rollout_reference_keys({
    ...     "metadata": {"namespace": "shop"},
    ...     "spec": {"strategy": {"canary": {
    ...         "steps": [{"analysis": {"templates": [{"templateName": "rate"}]}}],
    ...         "trafficRouting": {"nginx": {"stableIngress": "web"}},
    ...     }}},
    ... }))
    ['AnalysisTemplate:shop/rate', 'Ingress:shop/web']
    """
    namespace = str(_mapping(rollout.get("metadata")).get("namespace") or "")
    strategy = _mapping(_mapping(rollout.get("spec")).get("strategy"))
    keys = {key for ref in _template_refs(strategy) if (key := template_key(ref, namespace)) is not None}
    keys.update(reference_key(INGRESS, namespace, n) for n in _ingress_names(strategy) if isinstance(n, str) and n)
    routing = _mapping(_mapping(strategy.get("canary")).get("trafficRouting"))
    keys.update(_routing_object_keys(routing, namespace))
    return keys


def template_reference_keys(template: Mapping[str, Any]) -> set[str]:
    """Keys of the templates a template includes (`spec.templates`). A cluster template's plain references
    name a template in the namespace of whichever Rollout uses it; they are indexed without a namespace, so
    creating such a template reconciles its Rollouts on their next resync, not at once."""
    namespace = str(_mapping(template.get("metadata")).get("namespace") or "")
    refs = _items(_mapping(template.get("spec")).get("templates"))
    return {key for ref in refs if (key := template_key(_mapping(ref), namespace)) is not None}
