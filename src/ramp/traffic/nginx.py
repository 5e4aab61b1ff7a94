"""The ingress-nginx traffic router: a managed canary Ingress, cloned from each stable Ingress, weighted by annotations.

As upstream's nginx router (and ingress-nginx's canary annotations): for every stable Ingress the Rollout names,
Ramp keeps an Ingress `<rollout>-<stableIngress>-canary` with the stable Ingress's rules, TLS and class, every
backend that names the stable Service pointed at the canary Service instead (rules that never name it are left
out), and the annotations `<prefix>/canary: "true"` and `<prefix>/canary-weight`, plus
`<prefix>/canary-weight-total` when maxTrafficWeight is set, the additionalIngressAnnotations (prefixed) and
the canaryIngressAnnotations (as written). The canary Ingress carries the Rollout as controller owner; an
Ingress of that name that some other object controls is never taken over.

Header routes (upstream's nginx router has none) use ingress-nginx's own precedence: a request whose header
matches `canary-by-header` with `canary-by-header-value` (exact) or `canary-by-header-pattern` (regex; a
prefix becomes `^prefix.*`) goes to the canary whatever the weight, the others follow the weight. ingress-nginx
serves one canary Ingress per host and path, so the annotations sit on the canary Ingress itself, and one
header route with one header match can be active at a time; the route owning them is recorded in the annotation
`rollouts.ramp.dev/header-route`. Mirror routes are not supported. Additional weighted destinations (experiment
Services) cannot be expressed with canary annotations and are not routed, as upstream.

The edits are pure functions on dicts; `NginxRouter` reads, calls them, and writes through `RouterIO`.
Registered as "nginx" in `ramp.traffic.registry`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ramp.api.traffic import NginxTrafficRouting
from ramp.kube.resources import INGRESSES
from ramp.traffic.base import (
    HeaderRoute,
    RouterBase,
    RouterContext,
    RouterError,
    UnsupportedFeature,
    Weights,
)
from ramp.traffic.ingress import (
    annotations_of,
    backend_service,
    ingress_references,
    is_controlled_by,
    rule_paths,
    rules_of,
    with_annotations,
)

Obj = dict[str, Any]
NGINX_FIELD = "spec.strategy.canary.trafficRouting.nginx"
CANARY_SUFFIX = "-canary"
MAX_NAME_LENGTH = 253
INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
HEADER_ROUTE_ANNOTATION = "rollouts.ramp.dev/header-route"
"""Which managed header route the canary Ingress's canary-by-header annotations belong to."""


def canary_ingress_name(rollout: str, stable_ingress: str) -> str:
    """`<rollout>-<stableIngress>-canary`, the prefix cut so the name fits 253 characters (as upstream).

    >>> canary_ingress_name("app", "app-ingress")
    'app-app-ingress-canary'
    >>> len(canary_ingress_name("r", "i" * 300))
    253
    """
    prefix = f"{rollout}-{stable_ingress}"[: MAX_NAME_LENGTH - len(CANARY_SUFFIX)]
    return prefix + CANARY_SUFFIX


@dataclass(frozen=True)
class CanarySettings:
    """What every canary Ingress of one Rollout says apart from its weight and header route."""

    stable_service: str
    canary_service: str
    owner: Mapping[str, Any]
    prefix: str = "nginx.ingress.kubernetes.io"
    additional_annotations: Mapping[str, str] = field(default_factory=dict)
    """additionalIngressAnnotations: keys without the prefix get it."""
    canary_annotations: Mapping[str, str] = field(default_factory=dict)
    """canaryIngressAnnotations: keys as written; they win over the additional ones."""
    weight_total: int | None = None
    """maxTrafficWeight when set: written as canary-weight-total (upstream writes it only then)."""

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    @property
    def header_keys(self) -> tuple[str, str, str]:
        return (self.key("canary-by-header"), self.key("canary-by-header-value"), self.key("canary-by-header-pattern"))


def canary_settings_of(context: RouterContext, settings: NginxTrafficRouting) -> CanarySettings:
    return CanarySettings(
        stable_service=context.stable_service,
        canary_service=context.canary_service,
        owner=context.owner_reference(),
        prefix=settings.effective_annotation_prefix,
        additional_annotations=dict(settings.additional_ingress_annotations or {}),
        canary_annotations=dict(settings.canary_ingress_annotations or {}),
        weight_total=context.routing.max_traffic_weight,
    )


def static_annotations(settings: CanarySettings) -> dict[str, str]:
    """The user's extra annotations: additionalIngressAnnotations (prefixed), then canaryIngressAnnotations."""
    found = {
        (k if k.startswith(settings.prefix) else settings.key(k)): v for k, v in settings.additional_annotations.items()
    }
    found.update(settings.canary_annotations)
    return found


def canary_rules(stable: Mapping[str, Any], settings: CanarySettings) -> list[Obj]:
    """The stable Ingress's rules that send some path to the stable Service, those paths sent to the canary."""
    rules: list[Obj] = []
    for rule in copy.deepcopy(rules_of(stable)):
        used = False
        for path in rule_paths(rule):
            if backend_service(path) == settings.stable_service:
                path["backend"]["service"]["name"] = settings.canary_service
                used = True
        if used:
            rules.append(rule)
    return rules


def build_canary_ingress(
    stable: Mapping[str, Any],
    name: str,
    settings: CanarySettings,
    weight: int,
    current: Mapping[str, Any] | None,
    field_path: str,
) -> Obj:
    """The canary Ingress for `stable` at `weight`, from the one there is (`current`) or new.

    Annotations other controllers put on the current canary Ingress stay (as upstream), and so does an active
    header route; the spec is the stable Ingress's, rewritten to the canary Service. RouterError when no rule
    of the stable Ingress uses the stable Service.
    """
    stable_name = str((stable.get("metadata") or {}).get("name", ""))
    rules = canary_rules(stable, settings)
    if not rules:
        raise RouterError(
            f'{field_path}: Ingress "{stable_name}" has no rule whose backend is the stable Service '
            f'"{settings.stable_service}"; point a path of it at that Service or name another Ingress'
        )
    stable_spec = stable.get("spec") or {}
    spec: Obj = {"rules": rules}
    for key in ("ingressClassName", "tls"):
        if stable_spec.get(key) is not None:
            spec[key] = copy.deepcopy(stable_spec[key])

    before = annotations_of(current) if current is not None else {}
    wanted = {**before, **static_annotations(settings)}
    ingress_class = annotations_of(stable).get(INGRESS_CLASS_ANNOTATION)
    if ingress_class is not None:
        wanted[INGRESS_CLASS_ANNOTATION] = ingress_class
    wanted[settings.key("canary")] = "true"
    wanted[settings.key("canary-weight")] = str(weight)
    total_key = settings.key("canary-weight-total")
    if settings.weight_total is not None:
        wanted[total_key] = str(settings.weight_total)
    elif total_key not in static_annotations(settings):
        wanted.pop(total_key, None)
    if HEADER_ROUTE_ANNOTATION in before:
        # The active header route outlives weight changes; static annotations must not overwrite it.
        for key in settings.header_keys:
            if key in before:
                wanted[key] = before[key]
            else:
                wanted.pop(key, None)

    if current is None:
        obj: Obj = {
            "apiVersion": INGRESSES.api_version,
            "kind": INGRESSES.kind,
            "metadata": {"name": name, "ownerReferences": [dict(settings.owner)]},
        }
        namespace = (stable.get("metadata") or {}).get("namespace")
        if namespace:
            obj["metadata"]["namespace"] = namespace
    else:
        obj = copy.deepcopy(dict(current))
    obj["spec"] = spec
    return with_annotations(obj, wanted)


def header_annotations(route: HeaderRoute, settings: CanarySettings) -> dict[str, str]:
    """canary-by-header and its value or pattern for a header route; UnsupportedFeature beyond one match."""
    if len(route.matches) != 1:
        raise UnsupportedFeature(
            f'setHeaderRoute "{route.name}": nginx matches one header per canary Ingress, the step has '
            f"{len(route.matches)}; keep one match"
        )
    match = route.matches[0]
    header, value, pattern = settings.header_keys
    if match.value.kind == "exact":
        return {header: match.name, value: match.value.value}
    if match.value.kind == "prefix":
        return {header: match.name, pattern: f"^{re.escape(match.value.value)}.*"}
    return {header: match.name, pattern: match.value.value}


def put_header_route(
    canary: Mapping[str, Any], route_name: str, wanted: Mapping[str, str] | None, settings: CanarySettings
) -> Obj:
    """The canary Ingress with header route `route_name` set to `wanted` annotations, or removed (None).

    Removing a route that is not the active one changes nothing; setting one while another is active is
    UnsupportedFeature (one header route at a time). A removed route gives the static annotations back.
    """
    before = annotations_of(canary)
    active = before.get(HEADER_ROUTE_ANNOTATION)
    if wanted is None and active != route_name:
        return copy.deepcopy(dict(canary))
    if wanted is not None and active not in (None, route_name):
        raise UnsupportedFeature(
            f'setHeaderRoute "{route_name}": nginx routes one header route at a time and "{active}" is active; '
            f'remove "{active}" first (a setHeaderRoute step without match)'
        )
    after = {k: v for k, v in before.items() if k not in (*settings.header_keys, HEADER_ROUTE_ANNOTATION)}
    if wanted is None:
        static = static_annotations(settings)
        after.update({k: static[k] for k in settings.header_keys if k in static})
    else:
        after.update(wanted)
        after[HEADER_ROUTE_ANNOTATION] = route_name
    return with_annotations(canary, after)


def drop_header_route(canary: Mapping[str, Any], settings: CanarySettings) -> Obj:
    """The canary Ingress without whichever header route is active."""
    active = annotations_of(canary).get(HEADER_ROUTE_ANNOTATION)
    return put_header_route(canary, active, None, settings) if active else copy.deepcopy(dict(canary))


class NginxRouter(RouterBase):
    """Shifts traffic with ingress-nginx canary Ingresses for one Rollout."""

    name = "nginx"

    @property
    def settings(self) -> NginxTrafficRouting:
        if self.context.routing.nginx is None:
            raise RouterError(f"{NGINX_FIELD}: missing")
        return self.context.routing.nginx

    @property
    def canary(self) -> CanarySettings:
        return canary_settings_of(self.context, self.settings)

    def _references(self) -> tuple[tuple[str, str], ...]:
        """(stable Ingress, field path) pairs; RouterError when none is named."""
        settings = self.settings
        found = ingress_references(
            settings.stable_ingress, settings.stable_ingresses, NGINX_FIELD, "stableIngress", "stableIngresses"
        )
        if not found:
            raise RouterError(f"{NGINX_FIELD}.stableIngress: name the stable Ingress (or list stableIngresses)")
        return found

    async def _owned_canary(self, name: str, field_path: str, strict: bool = True) -> Obj | None:
        """The canary Ingress when it exists and this Rollout controls it.

        One controlled by something else is a RouterError (`strict`) or treated as absent.
        """
        found = await self.io.find(INGRESSES, name)
        if found is None or is_controlled_by(found, self.context.rollout_uid):
            return found
        if strict:
            raise RouterError(
                f'{field_path}: Ingress "{name}" exists and is not controlled by Rollout '
                f'"{self.context.rollout_name}"; delete or rename it so Ramp can create the canary Ingress'
            )
        return None

    async def _write(self, current: Obj | None, desired: Obj) -> None:
        if current is None:
            await self.io.create(INGRESSES, desired)
        else:
            await self.io.replace(INGRESSES, desired)

    async def _weighted(self, weight: int) -> list[tuple[Obj | None, Obj]]:
        """(current, desired) canary Ingress per stable Ingress at `weight`, all checked before any write."""
        canary = self.canary
        planned: list[tuple[Obj | None, Obj]] = []
        for stable_name, field_path in self._references():
            stable = await self.io.get(INGRESSES, stable_name, field_path)
            name = canary_ingress_name(self.context.rollout_name, stable_name)
            current = await self._owned_canary(name, field_path)
            planned.append((current, build_canary_ingress(stable, name, canary, weight, current, field_path)))
        return planned

    async def set_weight(self, weights: Weights) -> None:
        for current, desired in await self._weighted(weights.canary.weight):
            await self._write(current, desired)

    async def set_header_route(self, route: HeaderRoute) -> None:
        canary = self.canary
        if not route.matches:
            for stable_name, field_path in self._references():
                name = canary_ingress_name(self.context.rollout_name, stable_name)
                found = await self._owned_canary(name, field_path, strict=False)
                if found is not None:
                    await self.io.replace(INGRESSES, put_header_route(found, route.name, None, canary))
            return
        if route.name not in self.context.managed_routes:
            raise RouterError(
                f'spec.strategy.canary.trafficRouting.managedRoutes: route "{route.name}" is not listed; add it there'
            )
        wanted = header_annotations(route, canary)
        planned: list[tuple[Obj | None, Obj]] = []
        for current, at_zero in await self._weighted(0):
            # Without a canary Ingress yet, the route comes with weight 0: only matching requests move.
            base = current if current is not None else at_zero
            planned.append((current, put_header_route(base, route.name, wanted, canary)))
        for current, desired in planned:
            await self._write(current, desired)

    async def remove_managed_routes(self) -> None:
        canary = self.canary
        for stable_name, field_path in self._references():
            name = canary_ingress_name(self.context.rollout_name, stable_name)
            found = await self._owned_canary(name, field_path, strict=False)
            if found is not None:
                await self.io.replace(INGRESSES, drop_header_route(found, canary))

    async def remove(self) -> None:
        """Delete the canary Ingresses this Rollout controls; the stable Ingresses are the user's and stay."""
        for stable_name, field_path in self._references():
            name = canary_ingress_name(self.context.rollout_name, stable_name)
            if await self._owned_canary(name, field_path, strict=False) is not None:
                await self.io.delete(INGRESSES, name)
