"""`spec.workloadRef`: a Rollout that takes its pod template from an existing Deployment, and scales it down.

`resolve` gives the template and selector in effect (the Rollout's own, or the Deployment's from the informer
cache). `scale_down` follows upstream's documented `scaleDown` modes: `never` leaves the Deployment alone;
`onsuccess` scales it to 0 once the Rollout is fully promoted and available; `progressively` scales it down as
the Rollout's new pods become available, so the two together never run short.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ramp.api import Rollout
from ramp.kube.client import KubeClient
from ramp.kube.events import EventRecorder
from ramp.kube.informer import Informer
from ramp.kube.resources import DEPLOYMENTS
from ramp.rollout.snapshot import Snapshot

Obj = dict[str, Any]
SCALE_DOWN_MODES = ("never", "onsuccess", "progressively")


@dataclass(frozen=True)
class Workload:
    """The pod template and selector a Rollout runs, and where they came from."""

    template: Mapping[str, Any] | None
    selector: Mapping[str, Any] = field(default_factory=dict)
    deployment: Mapping[str, Any] | None = None
    generation: int | None = None
    problem: str | None = None


def resolve(raw: Mapping[str, Any], rollout: Rollout, deployments: Informer) -> Workload:
    spec = raw.get("spec") or {}
    own_selector = spec.get("selector") or {}
    ref = rollout.spec.workload_ref
    if ref is None:
        return Workload(template=spec.get("template"), selector=own_selector)
    if ref.kind != "Deployment" or (ref.api_version or "apps/v1") != "apps/v1":
        return Workload(None, problem="spec.workloadRef: only apiVersion apps/v1, kind Deployment is supported")
    if ref.scale_down is not None and ref.scale_down not in SCALE_DOWN_MODES:
        return Workload(
            None,
            problem=f"spec.workloadRef.scaleDown: must be one of {', '.join(SCALE_DOWN_MODES)}, got {ref.scale_down!r}",
        )
    namespace = raw["metadata"]["namespace"]
    deployment = deployments.get(f"{namespace}/{ref.name}")
    if deployment is None:
        return Workload(
            None,
            problem=f"spec.workloadRef.name: Deployment {ref.name!r} not found in namespace {namespace}; create it "
            "or fix the name",
        )
    dep_spec = deployment.get("spec") or {}
    return Workload(
        template=copy.deepcopy(dep_spec.get("template") or {}),
        selector=own_selector or dep_spec.get("selector") or {},
        deployment=deployment,
        generation=(deployment.get("metadata") or {}).get("generation"),
    )


def calculate_deployment_replicas(mode: str, current: int, snapshot: Snapshot, status: Mapping[str, Any]) -> int:
    """The Deployment's size for `mode` (never larger than it is now)."""
    new = snapshot.new
    if mode == "onsuccess":
        promoted = status.get("stableRS") == new.pod_hash
        return 0 if promoted and new.available >= snapshot.replicas else current
    if mode == "progressively":
        return min(current, max(snapshot.replicas - new.available, 0))
    return current


async def scale_down(
    client: KubeClient,
    recorder: EventRecorder,
    raw: Mapping[str, Any],
    snapshot: Snapshot,
    found: Workload,
    status: Mapping[str, Any],
) -> float | None:
    ref = snapshot.rollout.spec.workload_ref
    deployment = found.deployment
    if ref is None or deployment is None:
        return None
    mode = ref.scale_down or "never"
    current = int((deployment.get("spec") or {}).get("replicas", 1))
    wanted = calculate_deployment_replicas(mode, current, snapshot, status)
    if wanted == current:
        return None
    name = deployment["metadata"]["name"]
    await client.patch(DEPLOYMENTS, name, {"spec": {"replicas": wanted}}, deployment["metadata"]["namespace"])
    recorder.normal(raw, "ScalingDeployment", f"Scaled down Deployment {name} from {current} to {wanted} ({mode})")
    return None
