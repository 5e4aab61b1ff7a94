"""The Services a blue-green Rollout drives: reading which pod hash each one selects, and switching it.

`ramp.rollout.bluegreen` decides which hash the active and preview Services should select; this module reads
their current selectors from the Services informer and writes the switch as one merge patch of `spec.selector`
(`rollouts-pod-template-hash: <hash>`) plus the `argo-rollouts.argoproj.io/managed-by-rollouts` annotation, as
upstream marks the Services it owns. Each write is observed back into the cache so the next reconcile decides
from it. `ramp.rollout.reconciler` calls `switch_selector`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ramp.kube.caches import Informers
from ramp.kube.client import KubeClient
from ramp.kube.resources import SERVICES
from ramp.rollout.replicasets import HASH_LABEL

MANAGED_BY_ANNOTATION = "argo-rollouts.argoproj.io/managed-by-rollouts"


def selected_hash(service: Mapping[str, Any] | None) -> str:
    """The pod template hash a Service selects ("" when it selects none: a first deploy)."""
    if service is None:
        return ""
    selector = (service.get("spec") or {}).get("selector") or {}
    return str(selector.get(HASH_LABEL) or "")


def managing_rollout(service: Mapping[str, Any]) -> str | None:
    """The Rollout that marked the Service as its own, if any."""
    annotations = (service.get("metadata") or {}).get("annotations") or {}
    found = annotations.get(MANAGED_BY_ANNOTATION)
    return str(found) if found else None


def find_service(informers: Informers, namespace: str, name: str | None) -> Mapping[str, Any] | None:
    if not name:
        return None
    return informers.services.get(f"{namespace}/{name}")


def selector_patch(rollout_name: str, pod_hash: str) -> dict[str, Any]:
    """The merge patch pointing a Service at the pods of `pod_hash`, marked as managed by the Rollout."""
    return {
        "metadata": {"annotations": {MANAGED_BY_ANNOTATION: rollout_name}},
        "spec": {"selector": {HASH_LABEL: pod_hash}},
    }


async def switch_selector(
    client: KubeClient, informers: Informers, service: Mapping[str, Any], rollout_name: str, pod_hash: str
) -> bool:
    """Point `service` at `pod_hash` unless it already selects it; True when it was written."""
    if selected_hash(service) == pod_hash and managing_rollout(service) == rollout_name:
        return False
    meta = service["metadata"]
    updated = await client.patch(SERVICES, str(meta["name"]), selector_patch(rollout_name, pod_hash), meta["namespace"])
    informers.services.observe(updated)
    return True
