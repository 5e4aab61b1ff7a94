"""SMI: a TrafficSplit that Ramp creates and owns, splitting the root Service between the canary and the stable.

As upstream (rollout/trafficrouting/smi): the TrafficSplit is `trafficSplitName` (default: the Rollout's name),
`spec.service` is `rootService` (default: the stable Service), and `spec.backends` gives the canary its weight and
the stable the rest (experiment Services get theirs too). Ramp creates it with the Rollout as controller owner;
a TrafficSplit of that name that the Rollout does not control is a user's, so it is an error and is never
changed or deleted. The served version is found by trying split.smi-spec.io v1alpha3, then v1alpha2, then
v1alpha1 (whose weights are quantities, written as strings). SMI has no header or mirror routes.

Used through `ramp.traffic.registry` by `ramp.rollout.routing`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ramp.api.traffic import SMITrafficRouting
from ramp.kube.errors import ApiError
from ramp.kube.resources import Resource
from ramp.traffic.base import (
    RouterBase,
    RouterError,
    Weights,
)

Obj = dict[str, Any]
SMI_FIELD = "spec.strategy.canary.trafficRouting.smi"
VERSIONS = ("v1alpha3", "v1alpha2", "v1alpha1")


def traffic_split_resource(version: str) -> Resource:
    return Resource("split.smi-spec.io", version, "trafficsplits", "TrafficSplit")


def backends_for(weights: Weights, version: str) -> list[Obj]:
    """`spec.backends`: canary, stable, then the experiment Services (v1alpha1 weights are quantity strings).

    >>> from ramp.traffic.base import Destination, Weights
    >>> w = Weights(Destination("c", 10), Destination("s", 90))
    >>> backends_for(w, "v1alpha3")
    [{'service': 'c', 'weight': 10}, {'service': 's', 'weight': 90}]
    >>> backends_for(w, "v1alpha1")[0]
    {'service': 'c', 'weight': '10'}
    """
    return [
        {"service": d.service, "weight": str(d.weight) if version == "v1alpha1" else d.weight}
        for d in weights.destinations
    ]


def build_traffic_split(name: str, root_service: str, weights: Weights, version: str, owner: Obj) -> Obj:
    """A new TrafficSplit owned by the Rollout."""
    return {
        "apiVersion": f"split.smi-spec.io/{version}",
        "kind": "TrafficSplit",
        "metadata": {"name": name, "ownerReferences": [owner]},
        "spec": {"service": root_service, "backends": backends_for(weights, version)},
    }


def with_weights(existing: Mapping[str, Any], root_service: str, weights: Weights, version: str) -> Obj:
    """The TrafficSplit with this root Service and these backends (everything else kept)."""
    updated = dict(existing)
    updated["spec"] = {**dict(existing.get("spec") or {}), "service": root_service}
    updated["spec"]["backends"] = backends_for(weights, version)
    return updated


def is_controlled_by(obj: Mapping[str, Any], uid: str) -> bool:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(ref.get("controller") and ref.get("uid") == uid for ref in refs)


class SMIRouter(RouterBase):
    """Shifts traffic with an SMI TrafficSplit for one Rollout (no header or mirror routes: the defaults)."""

    name = "smi"

    @property
    def settings(self) -> SMITrafficRouting:
        return self.context.routing.smi or SMITrafficRouting()

    @property
    def split_name(self) -> str:
        return self.settings.traffic_split_name or self.context.rollout_name

    @property
    def root_service(self) -> str:
        return self.settings.root_service or self.context.stable_service

    async def _find(self) -> tuple[str, Obj] | None:
        """The TrafficSplit and the version it was read in; None when there is none."""
        for version in VERSIONS:
            found = await self.io.find(traffic_split_resource(version), self.split_name)
            if found is not None:
                return version, found
        return None

    def _check_owned(self, split: Mapping[str, Any]) -> None:
        if not is_controlled_by(split, self.context.rollout_uid):
            raise RouterError(
                f'{SMI_FIELD}.trafficSplitName: TrafficSplit "{self.split_name}" exists and is not controlled by '
                f'Rollout "{self.context.rollout_name}"; delete or rename it, or name another trafficSplitName'
            )

    async def set_weight(self, weights: Weights) -> None:
        found = await self._find()
        if found is not None:
            version, split = found
            self._check_owned(split)
            await self.io.replace(
                traffic_split_resource(version), with_weights(split, self.root_service, weights, version)
            )
            return
        owner = self.context.owner_reference()
        for version in VERSIONS:
            body = build_traffic_split(self.split_name, self.root_service, weights, version, owner)
            try:
                await self.io.create(traffic_split_resource(version), body)
            except ApiError as err:
                if err.is_not_found:
                    continue  # this version is not served
                raise
            return
        raise RouterError(f"{SMI_FIELD}: the TrafficSplit kind (split.smi-spec.io) is not installed; install SMI")

    async def remove(self) -> None:
        """Delete the TrafficSplit if it is Ramp's (controlled by this Rollout); a user's is left alone."""
        found = await self._find()
        if found is not None and is_controlled_by(found[1], self.context.rollout_uid):
            await self.io.delete(traffic_split_resource(found[0]), self.split_name)
