"""Ephemeral pod metadata: the labels and annotations a Rollout's strategy puts on the pods of each role, and
takes off again when the role changes, without restarting a pod.

Follows upstream's documented behaviour (canary `canaryMetadata` / `stableMetadata`, blue-green
`previewMetadata` / `activeMetadata`): the metadata is put on the ReplicaSet's pod template (so new pods get it)
and on its running pods; a ReplicaSet that no longer has a role carries none. `plan_ephemeral_metadata` decides
which ReplicaSet should carry what; `ramp.rollout.reconciler` writes it, recording what it injected in the
ReplicaSet's `rollout.argoproj.io/ephemeral-metadata` annotation so template matching ignores it.
Pure: no I/O. Used by `ramp.rollout.canary` and `ramp.rollout.bluegreen`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ramp.rollout.replicasets import ReplicaSetView

Metadata = dict[str, dict[str, str]]
"""{"labels": {...}, "annotations": {...}}, each present only when not empty."""


def shape_metadata(value: Mapping[str, Any] | None) -> Metadata:
    """The labels and annotations of a strategy's metadata field, as strings; {} when none."""
    if not value:
        return {}
    return {
        key: {str(k): str(v) for k, v in part.items()}
        for key, part in value.items()
        if key in ("labels", "annotations") and isinstance(part, Mapping) and part
    }


def plan_ephemeral_metadata(
    sets: Sequence[ReplicaSetView], wanted_for: Callable[[ReplicaSetView], Mapping[str, Any] | None]
) -> dict[str, Metadata]:
    """ReplicaSet name → the metadata its pods should carry, for every ReplicaSet whose pods carry (or should
    carry) some; a ReplicaSet that carries none and should carry none is left out (nothing to write).

    >>> plan_ephemeral_metadata([], lambda rs: None)
    {}
    """
    planned: dict[str, Metadata] = {}
    for rs in sets:
        wanted = shape_metadata(wanted_for(rs))
        if wanted or rs.ephemeral_metadata:
            planned[rs.name] = wanted
    return planned


def canary_roles(
    new_name: str,
    new_hash: str,
    stable_hash: str,
    canary_metadata: Mapping[str, Any] | None,
    stable_metadata: Mapping[str, Any] | None,
) -> Callable[[ReplicaSetView], Mapping[str, Any] | None]:
    """Which metadata a canary Rollout's ReplicaSet carries: once fully promoted (or before the first promotion)
    the new ReplicaSet is the stable one and gets stableMetadata; during an update it gets canaryMetadata and the
    stable ReplicaSet stableMetadata; the others none (as upstream's reconcileEphemeralMetadata)."""
    fully_promoted = not stable_hash or stable_hash == new_hash

    def wanted_for(rs: ReplicaSetView) -> Mapping[str, Any] | None:
        if rs.name == new_name:
            return stable_metadata if fully_promoted else canary_metadata
        if not fully_promoted and rs.pod_hash == stable_hash:
            return stable_metadata
        return None

    return wanted_for
