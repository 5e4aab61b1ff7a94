"""Label selectors that decide which objects this controller instance watches.

Upstream's `--instance-id` contract: with an id, watch only objects labelled
`argo-rollouts.argoproj.io/controller-instance-id=<id>`; without one, only objects that lack the label, so
two controllers (one with, one without an id) never act on the same Rollout. `ramp.manager` applies the
selector to the argoproj.io informers (Rollouts, AnalysisRuns, templates, Experiments), as upstream does.

ReplicaSets are selected by `rollouts-pod-template-hash` alone (upstream since v1.10): only ReplicaSets a
Rollout made carry it, so the cache skips every Deployment's ReplicaSets. Upstream does not apply the
instance id to them (it lives on the Rollout, not on its ReplicaSets); neither does Ramp: a ReplicaSet
event only puts its owning Rollout's key on the queue, and the Rollout reconciler acts only on Rollouts in
its cache, which the instance id has already filtered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

INSTANCE_ID_LABEL = "argo-rollouts.argoproj.io/controller-instance-id"
ROLLOUT_POD_TEMPLATE_HASH_LABEL = "rollouts-pod-template-hash"


def instance_id_selector(instance_id: str | None) -> str:
    """The label selector for `--instance-id`; an empty id counts as none.

    >>> instance_id_selector("blue")
    'argo-rollouts.argoproj.io/controller-instance-id=blue'
    >>> instance_id_selector(None)
    '!argo-rollouts.argoproj.io/controller-instance-id'
    """
    if instance_id:
        return f"{INSTANCE_ID_LABEL}={instance_id}"
    return f"!{INSTANCE_ID_LABEL}"


def inherited_instance_id(parent: Mapping[str, Any]) -> dict[str, str]:
    """The instance-id label a child object takes from the object it is made for (empty when the parent has none).

    Every object Ramp creates on behalf of a labelled parent carries the parent's id, as upstream does for the
    AnalysisRuns and Experiments of a Rollout: without it, a controller started with `--instance-id` would not
    see its own children.

    >>> inherited_instance_id({"metadata": {"labels": {INSTANCE_ID_LABEL: "blue"}}})
    {'argo-rollouts.argoproj.io/controller-instance-id': 'blue'}
    >>> inherited_instance_id({"metadata": {}})
    {}
    """
    value = ((parent.get("metadata") or {}).get("labels") or {}).get(INSTANCE_ID_LABEL)
    return {INSTANCE_ID_LABEL: str(value)} if value else {}


def rollout_replica_sets_selector() -> str:
    """The ReplicaSets worth caching: those with the pod-template-hash label Rollouts put on theirs.

    >>> rollout_replica_sets_selector()
    'rollouts-pod-template-hash'
    """
    return ROLLOUT_POD_TEMPLATE_HASH_LABEL


def workload_replica_sets_selector() -> str:
    """The ReplicaSets a Rollout's `workloadRef` may name: made by neither a Rollout nor a Deployment (their
    ReplicaSets carry `rollouts-pod-template-hash` or `pod-template-hash`), so the cache stays small.

    >>> workload_replica_sets_selector()
    '!rollouts-pod-template-hash,!pod-template-hash'
    """
    return f"!{ROLLOUT_POD_TEMPLATE_HASH_LABEL},!pod-template-hash"


def format_label_selector(selector: Mapping[str, Any] | None) -> str:
    """A label selector as text (`app=web,tier in (a,b)`), as `metav1.FormatLabelSelector` writes it."""
    selector = selector or {}
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for term in selector.get("matchExpressions") or []:
        key, operator, values = term.get("key"), term.get("operator"), term.get("values") or []
        if operator == "In":
            parts.append(f"{key} in ({','.join(sorted(values))})")
        elif operator == "NotIn":
            parts.append(f"{key} notin ({','.join(sorted(values))})")
        elif operator == "Exists":
            parts.append(str(key))
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)
