"""`spec.workloadRef`: a Rollout that takes its pod template from an existing Deployment, ReplicaSet or
PodTemplate, and scales a Deployment down.

`resolve` gives the template and selector in effect: the Rollout's own, or the workload's from the informer cache
(upstream's workload reference kinds: apps Deployment and ReplicaSet, `spec.template` and `spec.selector`; core
PodTemplate, `template`, which has no selector, so the Rollout must give one). `scale_down` follows upstream's
documented `scaleDown` modes, which apply to a Deployment only: `never` leaves it alone; `onsuccess` scales it to
0 once the Rollout is fully promoted and available; `progressively` scales it down as the Rollout's new pods
become available, so the two together never run short. A scaleDown other than `never` on another kind is refused.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ramp.api import Rollout
from ramp.kube.caches import Informers
from ramp.kube.client import KubeClient
from ramp.kube.events import EventRecorder
from ramp.kube.informer import Informer
from ramp.kube.resources import DEPLOYMENTS
from ramp.rollout.snapshot import Snapshot

Obj = dict[str, Any]
SCALE_DOWN_MODES = ("never", "onsuccess", "progressively")


@dataclass(frozen=True)
class WorkloadKind:
    """Where a kind of workload keeps its pod template and selector, and the apiVersion it is read as."""

    api_version: str
    template_path: tuple[str, ...]
    selector_path: tuple[str, ...] | None
    scalable: bool
    """scaleDown applies (a Deployment)."""


WORKLOAD_KINDS: Mapping[str, WorkloadKind] = {
    "Deployment": WorkloadKind("apps/v1", ("spec", "template"), ("spec", "selector"), scalable=True),
    "ReplicaSet": WorkloadKind("apps/v1", ("spec", "template"), ("spec", "selector"), scalable=False),
    "PodTemplate": WorkloadKind("v1", ("template",), None, scalable=False),
}


@dataclass(frozen=True)
class Workload:
    """The pod template and selector a Rollout runs, and where they came from."""

    template: Mapping[str, Any] | None
    selector: Mapping[str, Any] = field(default_factory=dict)
    deployment: Mapping[str, Any] | None = None
    """The referenced Deployment (the only kind scaleDown applies to)."""
    generation: int | None = None
    problem: str | None = None


def informer_for(kind: str, informers: Informers) -> Informer | None:
    """The cache that holds workloads of `kind`."""
    return {
        "Deployment": informers.deployments,
        "ReplicaSet": informers.workload_replica_sets,
        "PodTemplate": informers.pod_templates,
    }.get(kind)


def check_reference(rollout: Rollout) -> str | None:
    """What is wrong with `spec.workloadRef` on its own (kind, apiVersion, scaleDown, selector), or None."""
    ref = rollout.spec.workload_ref
    if ref is None:
        return None
    kinds = ", ".join(f"{info.api_version} {kind}" for kind, info in WORKLOAD_KINDS.items())
    info = WORKLOAD_KINDS.get(ref.kind or "")
    if info is None:
        return f"spec.workloadRef.kind: must be one of {kinds}, got {ref.kind!r}"
    group = (ref.api_version or info.api_version).rpartition("/")[0]
    if group != info.api_version.rpartition("/")[0]:
        return f"spec.workloadRef.apiVersion: {ref.kind} is {info.api_version}, got {ref.api_version!r}"
    if not ref.name:
        return "spec.workloadRef.name: required: the name of the workload"
    if ref.scale_down is not None and ref.scale_down not in SCALE_DOWN_MODES:
        return f"spec.workloadRef.scaleDown: must be one of {', '.join(SCALE_DOWN_MODES)}, got {ref.scale_down!r}"
    if ref.scale_down not in (None, "never") and not info.scalable:
        return f"spec.workloadRef.scaleDown: applies to a Deployment only; remove it for kind {ref.kind}"
    if info.selector_path is None and rollout.spec.selector is None:
        return f"spec.selector: required with a workloadRef to a {ref.kind} (it has no selector); add one"
    return None


def resolve(raw: Mapping[str, Any], rollout: Rollout, informers: Informers) -> Workload:
    """The template and selector in effect, the workload read from its informer cache."""
    ref = rollout.spec.workload_ref
    if ref is None or check_reference(rollout) is not None:
        return read_workload(raw, rollout, None)
    cache = informer_for(str(ref.kind), informers)
    namespace = raw["metadata"]["namespace"]
    return read_workload(raw, rollout, cache.get(f"{namespace}/{ref.name}") if cache is not None else None)


def read_workload(raw: Mapping[str, Any], rollout: Rollout, found: Mapping[str, Any] | None) -> Workload:
    """The template and selector in effect: the Rollout's own, or those of the workload `found` (None: not
    found) that its workloadRef names; a problem naming the field when the reference cannot be used."""
    spec = raw.get("spec") or {}
    own_selector = spec.get("selector") or {}
    ref = rollout.spec.workload_ref
    if ref is None:
        return Workload(template=spec.get("template"), selector=own_selector)
    problem = check_reference(rollout)
    if problem is not None:
        return Workload(None, problem=problem)
    kind = str(ref.kind)
    info = WORKLOAD_KINDS[kind]
    namespace = raw["metadata"]["namespace"]
    if found is None:
        return Workload(
            None,
            problem=f"spec.workloadRef.name: {kind} {ref.name!r} not found in namespace {namespace}; create it "
            "or fix the name",
        )
    template = _at(found, info.template_path)
    if not isinstance(template, Mapping) or not template:
        return Workload(None, problem=f"spec.workloadRef.name: {kind} {ref.name!r} has no pod template")
    workload_selector = _at(found, info.selector_path) if info.selector_path else None
    return Workload(
        template=copy.deepcopy(dict(template)),
        selector=own_selector or (workload_selector if isinstance(workload_selector, Mapping) else {}),
        deployment=found if info.scalable else None,
        generation=(found.get("metadata") or {}).get("generation"),
    )


def _at(obj: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = obj
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


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
