"""`set_image`: change container images in a Rollout's pod template (or in the Deployment, ReplicaSet or
PodTemplate it references).

As upstream's `set image`: the container name may be `*` for every container; init and ephemeral containers
count too; a name that matches no container is an error and nothing is written. The write is a full update
carrying the resourceVersion read, so a concurrent change is never overwritten: on a conflict the object is
read again and the change applied again (upstream tries 5 times).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ramp.actions.errors import ActionError, translate_api_errors
from ramp.kube.client import JSON, KubeClient
from ramp.kube.errors import ApiError
from ramp.kube.resources import DEPLOYMENTS, POD_TEMPLATES, REPLICA_SETS, ROLLOUTS, Resource

MAX_ATTEMPTS = 5
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_WORKLOADS: Mapping[str, Resource] = {
    "Deployment": DEPLOYMENTS,
    "ReplicaSet": REPLICA_SETS,
    "PodTemplate": POD_TEMPLATES,
}
"""workloadRef kinds whose pod template set_image changes instead of the Rollout's."""


@dataclass(frozen=True)
class ImageUpdate:
    """The object `set_image` updated: its kind (Rollout, or Deployment through workloadRef) and name."""

    kind: str
    name: str


def with_images(obj: Mapping[str, Any], images: Mapping[str, str]) -> JSON:
    """A copy of a Rollout or workload with `images` ({container or "*": image}) set in its pod template
    (`spec.template`, or `template` for a PodTemplate).

    Raises ActionError naming the first container that matches nothing.
    """
    updated = copy.deepcopy(dict(obj))
    holder = updated if updated.get("kind") == "PodTemplate" else (updated.get("spec") or {})
    pod_spec = (holder.get("template") or {}).get("spec") or {}
    found: set[str] = set()
    for field in _CONTAINER_LISTS:
        for container in pod_spec.get(field) or []:
            container_name = container.get("name")
            for wanted, image in images.items():
                if wanted in ("*", container_name):
                    container["image"] = image
                    found.add(wanted)
    for wanted in images:
        if wanted not in found:
            names = [c.get("name") for f in _CONTAINER_LISTS for c in pod_spec.get(f) or []]
            raise ActionError(f'unable to find container named "{wanted}" (containers: {", ".join(map(str, names))})')
    return updated


async def set_image(client: KubeClient, namespace: str, name: str, images: Mapping[str, str]) -> ImageUpdate:
    """Set `images` ({container or "*": image}) in Rollout `name`, or in its workloadRef Deployment."""
    if not images:
        raise ActionError("name at least one CONTAINER=IMAGE")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        async with translate_api_errors("Rollout", namespace, name, "update"):
            rollout = await client.get(ROLLOUTS, name, namespace)
        workload = (rollout.get("spec") or {}).get("workloadRef")
        resource, target = (ROLLOUTS, name)
        if workload:
            kind = str(workload.get("kind", ""))
            if kind not in _WORKLOADS:
                raise ActionError(f'Rollout "{name}": set image on a workloadRef of kind {kind!r} is not supported')
            resource, target = _WORKLOADS[kind], str(workload.get("name", ""))
        async with translate_api_errors(resource.kind, namespace, target, "update"):
            obj = rollout if resource is ROLLOUTS else await client.get(resource, target, namespace)
            try:
                await client.update(resource, with_images(obj, images), namespace)
            except ApiError as error:
                if error.is_conflict and attempt < MAX_ATTEMPTS:
                    continue
                raise
        return ImageUpdate(resource.kind, target)
    raise AssertionError("unreachable: the last attempt returns or raises")
