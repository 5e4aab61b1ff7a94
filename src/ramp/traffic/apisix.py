"""The Apache APISIX traffic router: backend weights on ApisixRoute rules, header routes as ApisixRoutes of their own.

As upstream's APISIX router and the APISIX ingress controller's weighted backends: in the ApisixRoute named in
`trafficRouting.apisix.route.name`, each HTTP rule listed in `route.rules` (when absent, upstream takes the rule
named like the route) has a backend for the stable Service and one for the canary Service (`serviceName`); Ramp
sets the canary's `weight` to the canary weight and the stable's to the rest of the total (maxTrafficWeight;
APISIX weights are relative). Other backends and fields are kept as written; experiment Services are not
routed, as upstream.

A header route (setHeaderRoute) is, as upstream, an ApisixRoute named after the managed route and controlled
by the Rollout: a copy of the selected rules with the canary Service as the only backend, the header
conditions added to `match.exprs` (exact → `Equal`, regex and prefix → `RegexMatch`) and a `priority` above the
weighted rule's, so APISIX tries it first. Managed routes listed earlier in `managedRoutes` get the higher
priority. Unlike upstream, the copy keeps the rule's own `exprs` (a header route narrows the weighted rule,
never widens it) and holds only the selected rules. Mirror routes are not supported (upstream has none).

The edits are pure functions on dicts; `ApisixRouter` reads, calls them, and writes through `RouterIO`.
Registered as "apisix" in `ramp.traffic.registry`.
"""

from __future__ import annotations

import contextlib
import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ramp.api.traffic import ApisixRoute
from ramp.kube.resources import Resource
from ramp.traffic.base import (
    HeaderMatch,
    HeaderRoute,
    RouterBase,
    RouterError,
    Weights,
)
from ramp.traffic.ingress import is_controlled_by

Obj = dict[str, Any]
APISIX_ROUTES = Resource("apisix.apache.org", "v2", "apisixroutes", "ApisixRoute")
APISIX_FIELD = "spec.strategy.canary.trafficRouting.apisix"
ROUTE_FIELD = f"{APISIX_FIELD}.route"
MANAGED_FIELD = "spec.strategy.canary.trafficRouting.managedRoutes"


@dataclass(frozen=True)
class RuleSelection:
    """The rules of one ApisixRoute that carry the split, each with the Rollout field that names it."""

    route: str
    rules: tuple[tuple[str, str], ...]
    """(rule name, field path) pairs."""
    stable_service: str
    canary_service: str


def rule_selection(settings: ApisixRoute, stable_service: str, canary_service: str) -> RuleSelection:
    """The rules `settings` names; without `rules`, the rule named like the route (upstream's default)."""
    if settings.rules:
        rules = tuple((rule, f"{ROUTE_FIELD}.rules[{i}]") for i, rule in enumerate(settings.rules))
    else:
        rules = ((settings.name, f"{ROUTE_FIELD}.name"),)
    return RuleSelection(settings.name, rules, stable_service, canary_service)


def http_rules(apisix_route: Mapping[str, Any]) -> list[Obj]:
    """The entries of `spec.http` (empty when there are none)."""
    return [r for r in (apisix_route.get("spec") or {}).get("http") or [] if isinstance(r, dict)]


def _backends(rule: Mapping[str, Any]) -> list[Obj]:
    return [b for b in rule.get("backends") or [] if isinstance(b, dict)]


def _selected_rules(apisix_route: Obj, selection: RuleSelection) -> list[Obj]:
    """The selected rules of `apisix_route` (the objects themselves, to edit in place), checked.

    RouterError naming the field when a rule is missing or lacks the stable or canary backend.
    """
    by_name = {str(rule.get("name")): rule for rule in http_rules(apisix_route)}
    found: list[Obj] = []
    for name, field_path in selection.rules:
        rule = by_name.get(name)
        if rule is None:
            raise RouterError(
                f'{field_path}: ApisixRoute "{selection.route}" has no http rule named "{name}"; name one of '
                f"{sorted(by_name)} or add the rule"
            )
        services = {str(b.get("serviceName")) for b in _backends(rule)}
        for role, service in (("stable", selection.stable_service), ("canary", selection.canary_service)):
            if service not in services:
                raise RouterError(
                    f'{field_path}: http rule "{name}" of ApisixRoute "{selection.route}" has no backend for the '
                    f'{role} Service "{service}"; add {{serviceName: {service}, servicePort: <port>}} to its backends'
                )
        found.append(rule)
    return found


def apply_weights(apisix_route: Mapping[str, Any], selection: RuleSelection, canary_weight: int, total: int) -> Obj:
    """The ApisixRoute with the selected rules' canary backends at `canary_weight` and stable ones at the rest."""
    new = copy.deepcopy(dict(apisix_route))
    wanted = {selection.canary_service: canary_weight, selection.stable_service: total - canary_weight}
    for rule in _selected_rules(new, selection):
        for backend in _backends(rule):
            service = str(backend.get("serviceName"))
            if service in wanted:
                backend["weight"] = wanted[service]
    return new


def header_exprs(matches: Sequence[HeaderMatch]) -> list[Obj]:
    """APISIX `match.exprs` for header matches: exact → Equal, regex → RegexMatch, prefix → RegexMatch `^prefix.*`.

    >>> from ramp.traffic.base import StringMatch
    >>> header_exprs([HeaderMatch("x-canary", StringMatch("prefix", "a.b"))])
    [{'subject': {'scope': 'Header', 'name': 'x-canary'}, 'op': 'RegexMatch', 'value': '^a\\\\.b.*'}]
    """
    exprs: list[Obj] = []
    for match in matches:
        kind, value = match.value.kind, match.value.value
        if kind == "exact":
            op = "Equal"
        elif kind == "prefix":
            op, value = "RegexMatch", f"^{re.escape(value)}.*"
        else:
            op = "RegexMatch"
        exprs.append({"subject": {"scope": "Header", "name": match.name}, "op": op, "value": value})
    return exprs


def header_priority_boost(route_name: str, managed_routes: Sequence[str]) -> int:
    """How far above the weighted rule a header route sits: the first managed route the highest, never below 1.

    >>> header_priority_boost("a", ["a", "b"]), header_priority_boost("b", ["a", "b"])
    (2, 1)
    """
    if route_name not in managed_routes:
        return 1
    return len(managed_routes) - list(managed_routes).index(route_name)


def header_rule(rule: Mapping[str, Any], route: HeaderRoute, canary_service: str, boost: int) -> Obj:
    """A copy of a weighted rule that sends requests matching the header route to the canary Service only."""
    new = copy.deepcopy(dict(rule))
    canary = next(b for b in _backends(new) if b.get("serviceName") == canary_service)
    new["backends"] = [{**canary, "weight": 100}]
    new["priority"] = int(rule.get("priority") or 0) + boost
    match = dict(new.get("match") or {})
    match["exprs"] = [*(match.get("exprs") or []), *header_exprs(route.matches)]
    new["match"] = match
    return new


def build_header_route(
    base: Mapping[str, Any],
    current: Mapping[str, Any] | None,
    route: HeaderRoute,
    selection: RuleSelection,
    managed_routes: Sequence[str],
    owner: Mapping[str, Any],
) -> Obj:
    """The ApisixRoute `route.name` for a header route, from the one there is (`current`) or new.

    Its spec is the base's (ingress class and such) with only the header copies of the selected rules; its
    metadata is the current object's, or new with the base's labels and the Rollout as controller owner.
    """
    checked = copy.deepcopy(dict(base))
    boost = header_priority_boost(route.name, managed_routes)
    rules = [header_rule(rule, route, selection.canary_service, boost) for rule in _selected_rules(checked, selection)]
    spec = {k: copy.deepcopy(v) for k, v in (base.get("spec") or {}).items() if k not in ("http", "stream")}
    spec["http"] = rules
    if current is None:
        metadata = base.get("metadata") or {}
        new_metadata: Obj = {"name": route.name, "ownerReferences": [dict(owner)]}
        if metadata.get("namespace"):
            new_metadata["namespace"] = metadata["namespace"]
        if metadata.get("labels"):
            new_metadata["labels"] = copy.deepcopy(metadata["labels"])
        new: Obj = {"apiVersion": APISIX_ROUTES.api_version, "kind": APISIX_ROUTES.kind, "metadata": new_metadata}
    else:
        new = copy.deepcopy(dict(current))
    new["spec"] = spec
    return new


class ApisixRouter(RouterBase):
    """Shifts traffic with ApisixRoute backend weights (and header-route ApisixRoutes) for one Rollout."""

    name = "apisix"

    @property
    def settings(self) -> ApisixRoute:
        apisix = self.context.routing.apisix
        if apisix is None or apisix.route is None:
            raise RouterError(f"{ROUTE_FIELD}: name the ApisixRoute (route.name)")
        return apisix.route

    @property
    def selection(self) -> RuleSelection:
        return rule_selection(self.settings, self.context.stable_service, self.context.canary_service)

    async def _base(self) -> Obj:
        return await self.io.get(APISIX_ROUTES, self.settings.name, f"{ROUTE_FIELD}.name")

    async def _owned(self, name: str) -> Obj | None:
        """The ApisixRoute `name` when it exists and this Rollout controls it."""
        found = await self.io.find(APISIX_ROUTES, name)
        if found is not None and is_controlled_by(found, self.context.rollout_uid):
            return found
        return None

    async def set_weight(self, weights: Weights) -> None:
        base = await self._base()
        await self.io.replace(APISIX_ROUTES, apply_weights(base, self.selection, weights.canary.weight, weights.total))

    async def set_header_route(self, route: HeaderRoute) -> None:
        if not route.matches:
            if await self._owned(route.name) is not None:
                await self.io.delete(APISIX_ROUTES, route.name)
            return
        if route.name not in self.context.managed_routes:
            raise RouterError(f'{MANAGED_FIELD}: route "{route.name}" is not listed; add it there')
        base = await self._base()
        current = await self.io.find(APISIX_ROUTES, route.name)
        if current is not None and not is_controlled_by(current, self.context.rollout_uid):
            raise RouterError(
                f'{MANAGED_FIELD}: ApisixRoute "{route.name}" exists and is not controlled by Rollout '
                f'"{self.context.rollout_name}"; delete or rename it, or give the managed route another name'
            )
        desired = build_header_route(
            base, current, route, self.selection, self.context.managed_routes, self.context.owner_reference()
        )
        if current is None:
            await self.io.create(APISIX_ROUTES, desired)
        else:
            await self.io.replace(APISIX_ROUTES, desired)

    async def remove_managed_routes(self) -> None:
        """Delete the header-route ApisixRoutes this Rollout controls (others of those names are left alone)."""
        for name in self.context.managed_routes:
            if await self._owned(name) is not None:
                await self.io.delete(APISIX_ROUTES, name)

    async def remove(self) -> None:
        """Everything to stable and the header routes gone; the user's ApisixRoute stays."""
        base = await self.io.find(APISIX_ROUTES, self.settings.name)
        if base is not None:
            # When the rules no longer say what they did, there is no split of ours to undo.
            with contextlib.suppress(RouterError):
                await self.io.replace(APISIX_ROUTES, apply_weights(base, self.selection, 0, self.context.total))
        await self.remove_managed_routes()
