"""`spec.restartAt`: replace every pod created before that time, a few at a time.

Upstream's documented behaviour: once the time has come and every ReplicaSet with pods is fully available, pods
older than `restartAt` are evicted (the Eviction API, so PodDisruptionBudgets hold), at most
max(maxUnavailable, 1) unavailable at once; when none is left, `status.restartedAt` records the restart. Pods are
listed only while a restart is pending: nothing is cached for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from ramp.api import format_timestamp
from ramp.core.replicas import SurgeLimits
from ramp.kube.client import KubeClient
from ramp.kube.errors import ApiError
from ramp.kube.events import EventRecorder
from ramp.kube.resources import PODS
from ramp.rollout.replicasets import HASH_LABEL
from ramp.rollout.snapshot import Snapshot

log = logging.getLogger("ramp.rollout")
RECHECK_SECONDS = 2.0


@dataclass(frozen=True)
class RestartState:
    restarted_at: str | None = None
    requeue_after: float | None = None


def pending_restart(snapshot: Snapshot) -> datetime | None:
    """The restartAt time not yet carried out, if any."""
    restart_at = snapshot.rollout.spec.restart_at
    if restart_at is None:
        return None
    restarted = snapshot.status.get("restartedAt")
    if restarted and datetime.fromisoformat(str(restarted)) >= restart_at:
        return None
    return restart_at


async def reconcile_restart(
    client: KubeClient, recorder: EventRecorder, snapshot: Snapshot, limits: SurgeLimits
) -> RestartState:
    restart_at = pending_restart(snapshot)
    if restart_at is None:
        return RestartState()
    if restart_at > snapshot.now:
        return RestartState(requeue_after=(restart_at - snapshot.now).total_seconds())
    active = [rs for rs in snapshot.sets if rs.replicas > 0]
    if not all(rs.is_fully_available for rs in active):
        return RestartState(requeue_after=RECHECK_SECONDS)
    namespace = str(snapshot.raw["metadata"]["namespace"])
    hashes = sorted({rs.pod_hash for rs in active if rs.pod_hash})
    if not hashes:
        return RestartState(restarted_at=format_timestamp(restart_at))
    listed = await client.list(PODS, namespace, label_selector=f"{HASH_LABEL} in ({','.join(hashes)})")
    names = {rs.name for rs in active}
    pods = [
        pod
        for pod in listed.get("items") or []
        if any(ref.get("name") in names for ref in pod["metadata"].get("ownerReferences") or [])
    ]
    old = sorted(
        (
            pod
            for pod in pods
            if not pod["metadata"].get("deletionTimestamp")
            and datetime.fromisoformat(pod["metadata"]["creationTimestamp"]) < restart_at
        ),
        key=lambda pod: str(pod["metadata"]["creationTimestamp"]),
    )
    if not old:
        recorder.normal(
            snapshot.raw,
            "RolloutRestarted",
            f"Rollout restarted: every pod created after {format_timestamp(restart_at)}",
        )
        return RestartState(restarted_at=format_timestamp(restart_at))
    # Count from the pods just listed, not the ReplicaSets' cached status, which lags behind evictions.
    ready = sum(1 for pod in pods if not pod["metadata"].get("deletionTimestamp") and is_pod_ready(pod))
    unavailable = max(sum(rs.replicas for rs in active) - ready, 0)
    budget = max(limits.max_unavailable, 1) - unavailable
    for pod in old[: max(budget, 0)]:
        name = pod["metadata"]["name"]
        eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": namespace}}
        try:
            await client.create(PODS, eviction, namespace, name=name, subresource="eviction")
        except ApiError as err:
            if err.code == 429:  # a PodDisruptionBudget says not now
                log.info("eviction refused; retrying", extra={"pod": name})
                break
            if not err.is_not_found:
                raise
        recorder.normal(
            snapshot.raw, "RestartingPod", f"Restarting pod {name}: created before {format_timestamp(restart_at)}"
        )
    return RestartState(requeue_after=RECHECK_SECONDS)


def is_pod_ready(pod: dict[str, object]) -> bool:
    status = pod.get("status")
    conditions = status.get("conditions") if isinstance(status, dict) else None
    return any(isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True" for c in conditions or [])
