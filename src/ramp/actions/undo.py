"""`undo`: put an earlier revision's pod template back into the Rollout (or the Deployment it references).

As upstream: revisions are the `rollout.argoproj.io/revision` annotations of the ReplicaSets the Rollout
controls; `to_revision=0` means the one before the newest. When the Rollout's template already matches that
revision (the ReplicaSet's template may carry fields the API server defaulted), nothing is written;
otherwise one JSON patch replaces `/spec/template` with the ReplicaSet's template minus the
`rollouts-pod-template-hash` label. The controller then sees a new template and, when it equals the stable
one, skips the steps (a fast rollback).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ramp.actions.errors import ActionError, translate_api_errors
from ramp.actions.ownership import list_owned_replica_sets, revision_of
from ramp.kube.client import JSON, KubeClient
from ramp.kube.resources import DEPLOYMENTS, POD_TEMPLATES, REPLICA_SETS, ROLLOUTS, Resource
from ramp.rollout.antiaffinity import remove_injected_anti_affinity

POD_TEMPLATE_HASH_LABEL = "rollouts-pod-template-hash"
EPHEMERAL_METADATA_ANNOTATION = "rollout.argoproj.io/ephemeral-metadata"
_WORKLOADS: Mapping[str, tuple[Resource, str]] = {
    "Deployment": (DEPLOYMENTS, "/spec/template"),
    "ReplicaSet": (REPLICA_SETS, "/spec/template"),
    "PodTemplate": (POD_TEMPLATES, "/template"),
}
"""workloadRef kinds: where each keeps its pod template."""


@dataclass(frozen=True)
class UndoResult:
    """What `undo` did: the revision it went back to, and whether the template had to change."""

    revision: int
    changed: bool


def choose_revision(replica_sets: list[JSON], to_revision: int) -> tuple[int, JSON] | None:
    """The (revision, ReplicaSet) to go back to: `to_revision`, or the second newest when it is 0."""
    numbered = sorted(
        ((rev, rs) for rs in replica_sets if (rev := revision_of(rs)) is not None), key=lambda pair: -pair[0]
    )
    if to_revision > 0:
        return next(((rev, rs) for rev, rs in numbered if rev == to_revision), None)
    return numbered[1] if len(numbered) > 1 else None


def template_without_hash(template: Mapping[str, Any]) -> JSON:
    """A copy of a pod template without the `rollouts-pod-template-hash` label."""
    result = copy.deepcopy(dict(template))
    labels = (result.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH_LABEL, None)
    return result


def strip_injected_metadata(template: JSON, replica_set: Mapping[str, Any]) -> JSON:
    """The template without the labels and annotations the controller injected into its pods (blue-green
    active/preview metadata, recorded in the ReplicaSet's `rollout.argoproj.io/ephemeral-metadata`): they
    belong to the ReplicaSet's role, not to the version, and must not come back into the Rollout."""
    text = ((replica_set.get("metadata") or {}).get("annotations") or {}).get(EPHEMERAL_METADATA_ANNOTATION)
    try:
        injected = json.loads(str(text)) if text else {}
    except ValueError:
        injected = {}
    if not isinstance(injected, dict):
        return template
    metadata = template.get("metadata") or {}
    for field in ("labels", "annotations"):
        names = injected.get(field)
        present = metadata.get(field)
        if isinstance(names, dict) and isinstance(present, dict):
            for key, value in names.items():
                if present.get(key) == value:
                    present.pop(key)
            if not present:
                metadata.pop(field)
    return template


def is_derivative(wanted: Any, actual: Any) -> bool:
    """True when every field set in `wanted` has the same value in `actual` (fields `actual` adds are ignored).

    Like apimachinery's semantic DeepDerivative: the API server defaults fields in a ReplicaSet's template that
    the Rollout's template leaves out, and those must not count as differences.
    """
    if isinstance(wanted, Mapping):
        if not wanted:
            return True
        if not isinstance(actual, Mapping):
            return False
        return all(is_derivative(value, actual.get(key)) for key, value in wanted.items())
    if isinstance(wanted, list):
        if not wanted:
            return True
        return (
            isinstance(actual, list)
            and len(wanted) == len(actual)
            and all(is_derivative(w, a) for w, a in zip(wanted, actual, strict=True))
        )
    if wanted is None or wanted == "":
        return True
    return bool(wanted == actual)


async def undo(client: KubeClient, namespace: str, name: str, *, to_revision: int = 0) -> UndoResult:
    """Roll Rollout `name` back to `to_revision` (0: the previous revision); see the module docstring."""
    async with translate_api_errors("Rollout", namespace, name, "update"):
        rollout = await client.get(ROLLOUTS, name, namespace)
        chosen = choose_revision(await list_owned_replica_sets(client, rollout), to_revision)
        if chosen is None:
            if to_revision > 0:
                raise ActionError(
                    f'revision {to_revision} of Rollout "{name}" not found in its ReplicaSets; '
                    f"`ramp get rollout {name}` lists the revisions kept"
                )
            raise ActionError(f'Rollout "{name}" has no earlier revision to go back to')
        revision, replica_set = chosen
        template = template_without_hash((replica_set.get("spec") or {}).get("template") or {})
        template = strip_injected_metadata(template, replica_set)
        template = remove_injected_anti_affinity(template)  # antiAffinity's term belongs to the role too
        current = template_without_hash((rollout.get("spec") or {}).get("template") or {})
        if (rollout.get("spec") or {}).get("template") and is_derivative(current, template):
            return UndoResult(revision, changed=False)
        patch = [{"op": "replace", "path": "/spec/template", "value": template}]
        workload = (rollout.get("spec") or {}).get("workloadRef")
        target, target_name = ROLLOUTS, name
        if workload:
            kind = str(workload.get("kind", ""))
            if kind not in _WORKLOADS:
                raise ActionError(f'Rollout "{name}": undo of a workloadRef of kind {kind!r} is not supported')
            target, path = _WORKLOADS[kind]
            target_name = str(workload.get("name", ""))
            patch = [{"op": "replace", "path": path, "value": template}]
    async with translate_api_errors(target.kind, namespace, target_name, "patch"):
        await client.patch(target, target_name, patch, namespace, patch_type="json")
    return UndoResult(revision, changed=True)
