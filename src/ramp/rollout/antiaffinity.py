"""`antiAffinity` (canary and blue-green): the new ReplicaSet's pods keep off the nodes of the stable pods.

Follows upstream's documented behaviour (docs/features/anti-affinity) and the shape its controller injects: one
pod anti-affinity term on the stable ReplicaSet's `rollouts-pod-template-hash`, per node
(`kubernetes.io/hostname`), in the rollout's namespace; a weighted preference
(`preferredDuringSchedulingIgnoredDuringExecution: {weight}`) or a requirement
(`requiredDuringSchedulingIgnoredDuringExecution: {}`), added beside the template's own affinity rules. The term
is put on a new ReplicaSet's template when it is created while another ReplicaSet is stable, kept pointing at the
current stable one, and taken off once the new ReplicaSet is stable itself (so that template no longer avoids
anything). Changing a ReplicaSet's template restarts no pod: only pods created after follow it.

Pure: `ramp.rollout.reconciler` creates and patches the ReplicaSets; `remove_injected_anti_affinity` lets it
compare a ReplicaSet's template with the Rollout's.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ramp.rollout.replicasets import HASH_LABEL

Obj = dict[str, Any]
TOPOLOGY_KEY = "kubernetes.io/hostname"
PREFERRED = "preferredDuringSchedulingIgnoredDuringExecution"
REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"


def anti_affinity_of(rollout: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The strategy's antiAffinity when it names one of the two rules (canary or blueGreen), else None."""
    strategy = (rollout.get("spec") or {}).get("strategy") or {}
    for key in ("canary", "blueGreen"):
        found = (strategy.get(key) or {}).get("antiAffinity")
        if not isinstance(found, Mapping):
            continue
        if isinstance(found.get(PREFERRED), Mapping) or found.get(REQUIRED) is not None:
            return found
    return None


def inject_anti_affinity(
    template: Mapping[str, Any], anti_affinity: Mapping[str, Any], avoided_hash: str, namespace: str | None = None
) -> Obj:
    """A copy of `template` whose pods keep off the nodes of the pods of `avoided_hash`: a weighted preference
    when antiAffinity has `preferredDuringSchedulingIgnoredDuringExecution`, else a requirement."""
    injected = copy.deepcopy(dict(template))
    term: Obj = {
        "labelSelector": {"matchExpressions": [{"key": HASH_LABEL, "operator": "In", "values": [avoided_hash]}]},
        "topologyKey": TOPOLOGY_KEY,
    }
    if namespace:
        term["namespaces"] = [namespace]
    rules = injected.setdefault("spec", {}).setdefault("affinity", {}).setdefault("podAntiAffinity", {})
    preferred = anti_affinity.get(PREFERRED)
    if isinstance(preferred, Mapping):
        weighted = {"weight": int(preferred.get("weight") or 1), "podAffinityTerm": term}
        rules.setdefault(PREFERRED, []).append(weighted)
    elif anti_affinity.get(REQUIRED) is not None:
        rules.setdefault(REQUIRED, []).append(term)
    return injected


def remove_injected_anti_affinity(template: Mapping[str, Any]) -> Obj:
    """A copy of a ReplicaSet's template without the anti-affinity terms on the pod hash label (injected by
    `inject_anti_affinity`), so it can be compared with the Rollout's template."""
    cleaned = copy.deepcopy(dict(template))
    affinity = (cleaned.get("spec") or {}).get("affinity")
    if not isinstance(affinity, dict) or not isinstance(affinity.get("podAntiAffinity"), dict):
        return cleaned
    rules = affinity["podAntiAffinity"]
    for key in (PREFERRED, REQUIRED):
        kept = [term for term in rules.get(key) or [] if not _is_hash_term(term.get("podAffinityTerm") or term)]
        if kept:
            rules[key] = kept
        else:
            rules.pop(key, None)
    if not rules:
        affinity.pop("podAntiAffinity", None)
    if not affinity:
        cleaned["spec"].pop("affinity", None)
    return cleaned


def calculate_template_affinity(
    rollout: Mapping[str, Any], template: Mapping[str, Any], pod_hash: str, stable_hash: str
) -> Obj | None:
    """The `spec.affinity` the pods of the ReplicaSet `pod_hash` should have, from its `template` (with or
    without an injected term): the template's own rules, plus the term against `stable_hash` while antiAffinity
    is set and another ReplicaSet is stable. None: no affinity at all.

    >>> calculate_template_affinity({}, {"spec": {}}, "new", "old") is None
    True
    """
    own = remove_injected_anti_affinity(template)
    anti_affinity = anti_affinity_of(rollout)
    if anti_affinity is not None and stable_hash and stable_hash != pod_hash:
        namespace = (rollout.get("metadata") or {}).get("namespace")
        own = inject_anti_affinity(own, anti_affinity, stable_hash, str(namespace) if namespace else None)
    affinity = (own.get("spec") or {}).get("affinity")
    return dict(affinity) if isinstance(affinity, Mapping) else None


def template_for_new_set(rollout: Mapping[str, Any], template: Mapping[str, Any], pod_hash: str) -> Mapping[str, Any]:
    """The template a new ReplicaSet gets: the Rollout's, with the anti-affinity term when one applies."""
    stable_hash = str((rollout.get("status") or {}).get("stableRS") or "")
    affinity = calculate_template_affinity(rollout, template, pod_hash, stable_hash)
    if affinity == (template.get("spec") or {}).get("affinity"):
        return template
    shaped = copy.deepcopy(dict(template))
    shaped.setdefault("spec", {})["affinity"] = affinity
    return shaped


def affinity_patch(current: Mapping[str, Any], wanted: Mapping[str, Any] | None) -> list[Obj]:
    """JSON patch operations that make a ReplicaSet's `spec.template.spec.affinity` `wanted` ([] when it is)."""
    spec = (current.get("spec") or {}).get("template", {}).get("spec") or {}
    present = spec.get("affinity")
    if present == wanted:
        return []
    path = "/spec/template/spec/affinity"
    if wanted is None:
        return [{"op": "remove", "path": path}]
    return [{"op": "add", "path": path, "value": dict(wanted)}]


def _is_hash_term(term: Mapping[str, Any]) -> bool:
    expressions = (term.get("labelSelector") or {}).get("matchExpressions") or []
    return any(expression.get("key") == HASH_LABEL for expression in expressions)
