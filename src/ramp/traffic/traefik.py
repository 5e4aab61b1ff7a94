"""The Traefik traffic router: weights on the services of a weighted TraefikService.

As upstream's Traefik router and Traefik's weighted round robin: the TraefikService named in
`trafficRouting.traefik.weightedTraefikServiceName` lists Services under `spec.weighted.services[]`; Ramp sets
the canary Service's entry to the canary weight and the stable Service's entry to the rest of the total
(maxTrafficWeight; Traefik's weights are relative, so any total works). Both entries must already be there:
Ramp never adds or drops an entry of the user's object, and leaves the other entries alone. Experiment Services
(additional weighted destinations) are not routed, as upstream; their share stays with stable.

Traefik v3 serves `traefik.io/v1alpha1` (upstream's default); Traefik v2 served `traefik.containo.us/v1alpha1`,
which Ramp reads when the first has no such object. Header and mirror routes are not supported (upstream has
none). The edit is a pure function on dicts; `TraefikRouter` reads, calls it, and writes through `RouterIO`.
Registered as "traefik" in `ramp.traffic.registry`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ramp.api.traffic import TraefikTrafficRouting
from ramp.kube.resources import Resource
from ramp.traffic.base import (
    Destination,
    RouterBase,
    RouterContext,
    RouterError,
    Weights,
)

Obj = dict[str, Any]
TRAEFIK_SERVICES = Resource("traefik.io", "v1alpha1", "traefikservices", "TraefikService")
LEGACY_TRAEFIK_SERVICES = Resource("traefik.containo.us", "v1alpha1", "traefikservices", "TraefikService")
TRAEFIK_SERVICE_RESOURCES = (TRAEFIK_SERVICES, LEGACY_TRAEFIK_SERVICES)
"""Where a TraefikService is looked for, in order: Traefik v3's group, then Traefik v2's."""
TRAEFIK_FIELD = "spec.strategy.canary.trafficRouting.traefik"
NAME_FIELD = f"{TRAEFIK_FIELD}.weightedTraefikServiceName"


def weighted_services(traefik_service: Mapping[str, Any]) -> list[Obj]:
    """The entries of `spec.weighted.services` (empty when there are none)."""
    weighted = (traefik_service.get("spec") or {}).get("weighted") or {}
    return [s for s in weighted.get("services") or [] if isinstance(s, dict)]


def _is_service_entry(entry: Mapping[str, Any], service: str) -> bool:
    # An entry may name another TraefikService (kind: TraefikService); only Service entries are ours.
    return entry.get("name") == service and entry.get("kind", "Service") == "Service"


def apply_weights(traefik_service: Mapping[str, Any], weights: Weights) -> Obj:
    """The TraefikService with the canary entry at the canary weight and the stable entry at the rest.

    RouterError naming weightedTraefikServiceName when the object has no weighted services or lacks the canary
    or the stable Service. Every other entry and field is kept as written.
    """
    name = str((traefik_service.get("metadata") or {}).get("name", ""))
    entries = weighted_services(traefik_service)
    if not entries:
        raise RouterError(
            f'{NAME_FIELD}: TraefikService "{name}" has no spec.weighted.services; list the stable and canary '
            "Services there, or name a weighted TraefikService"
        )
    for role, destination in (("canary", weights.canary), ("stable", weights.stable)):
        if not any(_is_service_entry(entry, destination.service) for entry in entries):
            raise RouterError(
                f'{NAME_FIELD}: TraefikService "{name}" has no weighted service "{destination.service}" (the '
                f"{role} Service); add {{name: {destination.service}, port: <port>}} to spec.weighted.services"
            )
    # Experiment Services are not routed (as upstream), so their share stays with stable.
    canary = weights.canary.weight
    wanted = {weights.canary.service: canary, weights.stable.service: weights.total - canary}
    new = copy.deepcopy(dict(traefik_service))
    for entry in weighted_services(new):
        service = str(entry.get("name", ""))
        if service in wanted and _is_service_entry(entry, service):
            entry["weight"] = wanted[service]
    return new


def all_to_stable(context: RouterContext) -> Weights:
    """The split that sends everything to stable."""
    return Weights(
        canary=Destination(context.canary_service, 0),
        stable=Destination(context.stable_service, context.total),
        total=context.total,
    )


class TraefikRouter(RouterBase):
    """Shifts traffic with a weighted TraefikService for one Rollout."""

    name = "traefik"

    @property
    def settings(self) -> TraefikTrafficRouting:
        if self.context.routing.traefik is None:
            raise RouterError(f"{TRAEFIK_FIELD}: missing")
        return self.context.routing.traefik

    async def _find(self) -> tuple[Resource, Obj] | None:
        """The TraefikService and the API group it was found in, or None."""
        for resource in TRAEFIK_SERVICE_RESOURCES:
            found = await self.io.find(resource, self.settings.weighted_traefik_service_name)
            if found is not None:
                return resource, found
        return None

    async def set_weight(self, weights: Weights) -> None:
        found = await self._find()
        if found is None:
            name = self.settings.weighted_traefik_service_name
            raise RouterError(
                f'{NAME_FIELD}: TraefikService "{name}" not found in namespace {self.context.namespace} '
                f"({TRAEFIK_SERVICES.api_version} or {LEGACY_TRAEFIK_SERVICES.api_version}); create it or fix the name"
            )
        resource, traefik_service = found
        await self.io.replace(resource, apply_weights(traefik_service, weights))

    async def remove(self) -> None:
        """Everything to stable; the TraefikService is the user's and stays (nothing to do when it is gone)."""
        found = await self._find()
        if found is None:
            return
        resource, traefik_service = found
        try:
            new = apply_weights(traefik_service, all_to_stable(self.context))
        except RouterError:
            return  # The object no longer lists both Services: there is no split of ours to undo.
        await self.io.replace(resource, new)
