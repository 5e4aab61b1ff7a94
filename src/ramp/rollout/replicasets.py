"""A Rollout's ReplicaSets as the reconciler sees them, and the objects and patches it writes for them.

`ReplicaSetView` reads what decisions need from a raw ReplicaSet; `build_replica_set` makes the body of a new
one (`<rollout>-<hash>`, the hash label in its selector and template, a controller ownerReference, created at 0
replicas as upstream does); `scale_patch` changes its size. `ramp.rollout.reconciler` sends them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ramp.core.replicas import ReplicaSetCounts

Obj = dict[str, Any]

HASH_LABEL = "rollouts-pod-template-hash"
REVISION_ANNOTATION = "rollout.argoproj.io/revision"
DESIRED_REPLICAS_ANNOTATION = "rollout.argoproj.io/desired-replicas"
WORKLOAD_GENERATION_ANNOTATION = "rollout.argoproj.io/workload-generation"
EPHEMERAL_METADATA_ANNOTATION = "rollout.argoproj.io/ephemeral-metadata"
SCALE_DOWN_DEADLINE_ANNOTATION = "scale-down-deadline"
"""When a replaced ReplicaSet may be scaled down (blue-green, and canary with a router)."""
ROLLOUT_API_VERSION = "argoproj.io/v1alpha1"


@dataclass(frozen=True)
class ReplicaSetView:
    """One ReplicaSet of a rollout: identity, revision, sizes (spec and observed) and its pod template."""

    name: str
    pod_hash: str
    revision: int
    replicas: int
    status_replicas: int
    ready: int
    available: int
    created: str
    raw: Mapping[str, Any]

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> ReplicaSetView:
        meta = raw.get("metadata") or {}
        spec = raw.get("spec") or {}
        status = raw.get("status") or {}
        annotations = meta.get("annotations") or {}
        try:
            revision = int(annotations.get(REVISION_ANNOTATION, "0"))
        except ValueError:
            revision = 0
        return cls(
            name=str(meta.get("name", "")),
            pod_hash=str((meta.get("labels") or {}).get(HASH_LABEL, "")),
            revision=revision,
            replicas=int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1),
            status_replicas=int(status.get("replicas") or 0),
            ready=int(status.get("readyReplicas") or 0),
            available=int(status.get("availableReplicas") or 0),
            created=str(meta.get("creationTimestamp") or ""),
            raw=raw,
        )

    @property
    def template(self) -> Mapping[str, Any]:
        return (self.raw.get("spec") or {}).get("template") or {}

    @property
    def ephemeral_metadata(self) -> dict[str, dict[str, str]]:
        """The labels and annotations the controller injected into the pods (blue-green active/preview
        metadata), as recorded in the ephemeral-metadata annotation; {} when none."""
        text = ((self.raw.get("metadata") or {}).get("annotations") or {}).get(EPHEMERAL_METADATA_ANNOTATION)
        if not text:
            return {}
        try:
            parsed = json.loads(str(text))
        except ValueError:
            return {}
        if not isinstance(parsed, dict):
            return {}
        return {
            str(key): {str(k): str(v) for k, v in value.items()}
            for key, value in parsed.items()
            if key in ("labels", "annotations") and isinstance(value, dict) and value
        }

    @property
    def counts(self) -> ReplicaSetCounts:
        return ReplicaSetCounts(name=self.name, replicas=self.replicas, available=self.available)

    @property
    def is_fully_available(self) -> bool:
        """Every desired pod exists and is available, as the ReplicaSet controller last reported."""
        observed = (self.raw.get("status") or {}).get("observedGeneration")
        generation = (self.raw.get("metadata") or {}).get("generation")
        current = observed is None or generation is None or observed >= generation
        return current and self.status_replicas == self.replicas and self.available == self.replicas


def build_replica_set(
    rollout: Mapping[str, Any],
    template: Mapping[str, Any],
    selector: Mapping[str, Any],
    pod_hash: str,
    revision: int,
    min_ready_seconds: int,
    workload_generation: int | None = None,
) -> Obj:
    """The body of a new ReplicaSet for `template` (created at 0 replicas; scaling comes after)."""
    meta = rollout["metadata"]
    pod_template = copy.deepcopy(dict(template))
    pod_meta = pod_template.setdefault("metadata", {})
    labels = dict(pod_meta.get("labels") or {})
    labels[HASH_LABEL] = pod_hash
    pod_meta["labels"] = labels
    rs_selector = copy.deepcopy(dict(selector))
    rs_selector["matchLabels"] = {**(rs_selector.get("matchLabels") or {}), HASH_LABEL: pod_hash}
    annotations = {REVISION_ANNOTATION: str(revision), DESIRED_REPLICAS_ANNOTATION: str(_replicas(rollout))}
    if workload_generation is not None:
        annotations[WORKLOAD_GENERATION_ANNOTATION] = str(workload_generation)
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta['name']}-{pod_hash}",
            "namespace": meta.get("namespace"),
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [owner_reference(rollout)],
        },
        "spec": {
            "replicas": 0,
            "minReadySeconds": min_ready_seconds,
            "selector": rs_selector,
            "template": pod_template,
        },
    }


def owner_reference(rollout: Mapping[str, Any]) -> Obj:
    meta = rollout["metadata"]
    return {
        "apiVersion": ROLLOUT_API_VERSION,
        "kind": "Rollout",
        "name": meta["name"],
        "uid": meta.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def scale_patch(replicas: int, desired_total: int, min_ready_seconds: int | None = None) -> Obj:
    """Merge patch setting a ReplicaSet's size (and the rollout size it was set for, as upstream annotates)."""
    patch: Obj = {
        "metadata": {"annotations": {DESIRED_REPLICAS_ANNOTATION: str(desired_total)}},
        "spec": {"replicas": replicas},
    }
    if min_ready_seconds is not None:
        patch["spec"]["minReadySeconds"] = min_ready_seconds
    return patch


def is_owned_by(rs: Mapping[str, Any], rollout: Mapping[str, Any]) -> bool:
    uid = (rollout.get("metadata") or {}).get("uid")
    return any(
        ref.get("controller") and ref.get("uid") == uid
        for ref in (rs.get("metadata") or {}).get("ownerReferences") or []
    )


def next_revision(sets: Sequence[ReplicaSetView]) -> int:
    return max((rs.revision for rs in sets), default=0) + 1


def _replicas(rollout: Mapping[str, Any]) -> int:
    replicas = (rollout.get("spec") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)
