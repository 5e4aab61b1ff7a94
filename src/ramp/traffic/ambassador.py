"""The Ambassador (Emissary-ingress) traffic router: a weighted canary Mapping beside each of the user's Mappings.

As upstream's Ambassador router and Ambassador's canary routing: two Mappings with the same prefix share its
traffic, a Mapping with `weight: w` taking w% and the unweighted one the rest. For every Mapping listed in
`trafficRouting.ambassador.mappings` (the base Mapping, which must not set a weight itself), Ramp keeps a
Mapping `<mapping>-canary` with the base's spec, `service` pointed at the canary Service (scheme, namespace and
port kept: `app-stable:80` becomes `app-canary:80`) and `weight` set to the canary weight. It is created when
the canary first gets traffic, carries the Rollout as controller owner and the base's labels (Ambassador may
select Mappings by label), and follows the base's spec on every weight change.

At weight 0 upstream sets the canary Mapping's weight to 0, waits for Ambassador to pick that up, then deletes
it. Ramp does the same across reconciles instead of sleeping in one: the first call at 0 writes weight 0, a
later call finding it at 0 deletes it. A Mapping of that name the Rollout does not control is never written
or deleted, not even one upstream left behind without an owner: the message asks to delete it. Experiment
Services are not routed (as upstream); header and mirror routes are not supported.

Mappings are read as `getambassador.io/v2` (upstream's default), then `getambassador.io/v3alpha1`, then
`x.getambassador.io/v3alpha1` (AmbassadorMapping), whichever has the base Mapping; its canary Mapping is
written in the same version. The edits are pure functions on dicts; `AmbassadorRouter` reads, calls them,
and writes through `RouterIO`. Registered as "ambassador" in `ramp.traffic.registry`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ramp.api.traffic import AmbassadorTrafficRouting
from ramp.kube.resources import Resource
from ramp.traffic.base import (
    RouterBase,
    RouterError,
    Weights,
)
from ramp.traffic.ingress import is_controlled_by

Obj = dict[str, Any]
MAPPINGS_V2 = Resource("getambassador.io", "v2", "mappings", "Mapping")
MAPPINGS_V3 = Resource("getambassador.io", "v3alpha1", "mappings", "Mapping")
AMBASSADOR_MAPPINGS = Resource("x.getambassador.io", "v3alpha1", "ambassadormappings", "AmbassadorMapping")
MAPPING_RESOURCES = (MAPPINGS_V2, MAPPINGS_V3, AMBASSADOR_MAPPINGS)
"""Where a Mapping is looked for, in order."""
AMBASSADOR_FIELD = "spec.strategy.canary.trafficRouting.ambassador"
CANARY_SUFFIX = "-canary"
MAX_BASE_NAME = 246
"""Upstream cuts the base name here before adding the suffix."""


def canary_mapping_name(base: str) -> str:
    """`<base>-canary`, the base name cut to 246 characters (as upstream).

    >>> canary_mapping_name("app-mapping")
    'app-mapping-canary'
    """
    return base[:MAX_BASE_NAME] + CANARY_SUFFIX


def canary_service_of(service: str, stable: str, canary: str) -> str | None:
    """The base Mapping's `service` pointed at the canary Service, or None when it does not name `stable`.

    The service is `[scheme://]name[.namespace[...]][:port]`; only the name changes.

    >>> canary_service_of("app-stable:80", "app-stable", "app-canary")
    'app-canary:80'
    >>> canary_service_of("https://app-stable.apps.svc.cluster.local:8443", "app-stable", "app-canary")
    'https://app-canary.apps.svc.cluster.local:8443'
    >>> canary_service_of("app-stable-v2:80", "app-stable", "app-canary") is None
    True
    """
    scheme, sep, rest = service.rpartition("://")
    host, colon, port = rest.partition(":")
    name, dot, domain = host.partition(".")
    if name != stable:
        return None
    return f"{scheme}{sep}{canary}{dot}{domain}{colon}{port}"


def mapping_weight(mapping: Mapping[str, Any]) -> int:
    """The Mapping's `spec.weight` (0 when unset)."""
    return int((mapping.get("spec") or {}).get("weight") or 0)


@dataclass(frozen=True)
class CanarySettings:
    """What every canary Mapping of one Rollout says apart from its weight."""

    stable_service: str
    canary_service: str
    owner: Mapping[str, Any]


def _canary_service(base: Mapping[str, Any], settings: CanarySettings, field_path: str) -> str:
    name = str((base.get("metadata") or {}).get("name", ""))
    service = str((base.get("spec") or {}).get("service") or "")
    found = canary_service_of(service, settings.stable_service, settings.canary_service)
    if found is None:
        raise RouterError(
            f'{field_path}: Mapping "{name}" sends to "{service}", not to the stable Service '
            f'"{settings.stable_service}"; set its service to {settings.stable_service}[:port] or list another Mapping'
        )
    return found


def build_canary_mapping(
    base: Mapping[str, Any], current: Mapping[str, Any] | None, settings: CanarySettings, weight: int, field_path: str
) -> Obj:
    """The canary Mapping for `base` at `weight`, from the one there is (`current`) or new.

    RouterError naming `field_path` when the base Mapping sets a weight (Ambassador would then split between
    three parties) or does not send to the stable Service.
    """
    metadata = base.get("metadata") or {}
    name = str(metadata.get("name", ""))
    if mapping_weight(base):
        raise RouterError(
            f'{field_path}: Mapping "{name}" sets weight {mapping_weight(base)}; remove spec.weight from it '
            "(Ramp weighs the canary Mapping and the base Mapping takes the rest)"
        )
    spec = copy.deepcopy(dict(base.get("spec") or {}))
    spec["service"] = _canary_service(base, settings, field_path)
    spec["weight"] = weight
    if current is None:
        new_metadata: Obj = {"name": canary_mapping_name(name)}
        if metadata.get("namespace"):
            new_metadata["namespace"] = metadata["namespace"]
        if metadata.get("labels"):
            new_metadata["labels"] = copy.deepcopy(metadata["labels"])
        new_metadata["ownerReferences"] = [dict(settings.owner)]
        new: Obj = {"apiVersion": base.get("apiVersion"), "kind": base.get("kind"), "metadata": new_metadata}
    else:
        new = copy.deepcopy(dict(current))
    new["spec"] = spec
    return new


class Action(Enum):
    """What one weight change does to a canary Mapping."""

    NONE = "none"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


def decide_action(current: Mapping[str, Any] | None, weight: int) -> Action:
    """Create, update, delete or leave the canary Mapping, as upstream (see the module docstring for weight 0).

    >>> decide_action(None, 0), decide_action(None, 10), decide_action({"spec": {"weight": 10}}, 0)
    (<Action.NONE: 'none'>, <Action.CREATE: 'create'>, <Action.UPDATE: 'update'>)
    >>> decide_action({"spec": {"weight": 0}}, 0)
    <Action.DELETE: 'delete'>
    """
    if current is None:
        return Action.CREATE if weight else Action.NONE
    if weight == 0 and mapping_weight(current) == 0:
        return Action.DELETE
    return Action.UPDATE


@dataclass(frozen=True)
class Planned:
    """One canary Mapping's change: `desired` is the object to write (None when deleting or nothing)."""

    resource: Resource
    name: str
    action: Action
    desired: Obj | None


class AmbassadorRouter(RouterBase):
    """Shifts traffic with weighted canary Mappings for one Rollout."""

    name = "ambassador"

    @property
    def settings(self) -> AmbassadorTrafficRouting:
        if self.context.routing.ambassador is None:
            raise RouterError(f"{AMBASSADOR_FIELD}: missing")
        return self.context.routing.ambassador

    @property
    def canary(self) -> CanarySettings:
        context = self.context
        return CanarySettings(context.stable_service, context.canary_service, context.owner_reference())

    def _bases(self) -> list[tuple[str, str]]:
        """(base Mapping, field path) pairs; RouterError when none is listed."""
        names = self.settings.mappings
        if not names:
            raise RouterError(f"{AMBASSADOR_FIELD}.mappings: list at least one Mapping")
        return [(name, f"{AMBASSADOR_FIELD}.mappings[{i}]") for i, name in enumerate(names)]

    async def _find_base(self, name: str) -> tuple[Resource, Obj] | None:
        for resource in MAPPING_RESOURCES:
            found = await self.io.find(resource, name)
            if found is not None:
                return resource, found
        return None

    async def _plan(self, weight: int) -> list[Planned]:
        """The change of every canary Mapping at `weight`, all checked before any is written."""
        canary = self.canary
        planned: list[Planned] = []
        for base_name, field_path in self._bases():
            found = await self._find_base(base_name)
            if found is None:
                raise RouterError(
                    f'{field_path}: Mapping "{base_name}" not found in namespace {self.context.namespace}; '
                    "create it or fix the name"
                )
            resource, base = found
            name = canary_mapping_name(base_name)
            current = await self.io.find(resource, name)
            if current is not None and not is_controlled_by(current, self.context.rollout_uid):
                raise RouterError(
                    f'{field_path}: Mapping "{name}" exists and is not controlled by Rollout '
                    f'"{self.context.rollout_name}"; delete or rename it so Ramp can create the canary Mapping'
                )
            action = decide_action(current, weight)
            desired = None
            if action in (Action.CREATE, Action.UPDATE):
                desired = build_canary_mapping(base, current, canary, weight, field_path)
            planned.append(Planned(resource, name, action, desired))
        return planned

    async def set_weight(self, weights: Weights) -> None:
        for change in await self._plan(weights.canary.weight):
            if change.action is Action.CREATE and change.desired is not None:
                await self.io.create(change.resource, change.desired)
            elif change.action is Action.UPDATE and change.desired is not None:
                await self.io.replace(change.resource, change.desired)
            elif change.action is Action.DELETE:
                await self.io.delete(change.resource, change.name)

    async def remove(self) -> None:
        """Delete the canary Mappings this Rollout controls; the base Mappings are the user's and stay."""
        uid = self.context.rollout_uid
        for base_name, _field_path in self._bases():
            name = canary_mapping_name(base_name)
            for resource in MAPPING_RESOURCES:
                found = await self.io.find(resource, name)
                if found is None:
                    continue
                if is_controlled_by(found, uid):
                    await self.io.delete(resource, name)
                break  # Every version shows the same object: the first that has it decides.
