"""Finding what a Rollout owns: label-selector text for list calls and the controller-reference test.

Used by `undo` (the ReplicaSets holding old revisions). `ramp.views.fetch` needs the same few lines; both
would move to `ramp.kube.selectors` (not this package's to change) when the owners agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ramp.kube.client import JSON, KubeClient
from ramp.kube.resources import REPLICA_SETS
from ramp.kube.selectors import format_label_selector

REVISION_ANNOTATION = "rollout.argoproj.io/revision"


def is_controlled_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    """True when `obj` names `owner` (by UID) in a controller ownerReference."""
    uid = (owner.get("metadata") or {}).get("uid")
    references = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(ref.get("controller") and ref.get("uid") == uid for ref in references)


def revision_of(obj: Mapping[str, Any]) -> int | None:
    """The `rollout.argoproj.io/revision` annotation as a number; None when absent or not a number."""
    text = ((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


async def list_owned_replica_sets(client: KubeClient, rollout: Mapping[str, Any]) -> list[JSON]:
    """The ReplicaSets the Rollout controls, found through its pod selector."""
    meta = rollout.get("metadata") or {}
    selector = format_label_selector((rollout.get("spec") or {}).get("selector"))
    listed = await client.list(REPLICA_SETS, meta.get("namespace"), label_selector=selector or None)
    return [rs for rs in listed.get("items") or [] if is_controlled_by(rs, rollout)]
