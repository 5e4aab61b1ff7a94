"""The objects a Rollout's spec names, as keys, so that a change to any of them reconciles the Rollout again.

A user's `kubectl apply -f` of one file may create a Rollout before the AnalysisTemplate, Service or Ingress it
names; the Rollout is then InvalidSpec until the object appears, and must not wait for a resync to notice.
`ramp.manager.wiring` indexes the Rollouts informer by `rollout_reference_keys` and, when an informer sees one of
these objects change, puts the Rollouts indexed under its `reference_key` on the queue: one dictionary lookup per
event, whatever the number of Rollouts.

Keys are `<Kind>:<namespace>/<name>` (`<Kind>:<name>` for cluster-scoped kinds). Services and the workloadRef
have indexes of their own in `ramp.manager.wiring`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

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


def rollout_reference_keys(rollout: Mapping[str, Any]) -> set[str]:
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
    return keys


def template_reference_keys(template: Mapping[str, Any]) -> set[str]:
    """Keys of the templates a template includes (`spec.templates`). A cluster template's plain references
    name a template in the namespace of whichever Rollout uses it; they are indexed without a namespace, so
    creating such a template reconciles its Rollouts on their next resync, not at once."""
    namespace = str(_mapping(template.get("metadata")).get("namespace") or "")
    refs = _items(_mapping(template.get("spec")).get("templates"))
    return {key for ref in refs if (key := template_key(_mapping(ref), namespace)) is not None}
