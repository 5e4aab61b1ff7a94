"""The Istio traffic router: weights on VirtualService routes, optionally with DestinationRule subsets.

Host-level: the selected routes of each VirtualService send the canary's share to the canary Service's host
and the rest to the stable Service's host. Subset-level (`destinationRule` set): the destinations are one host
split into the canary and stable subsets of a DestinationRule, whose subsets `update_hash` points at the pod
hashes (label `rollouts-pod-template-hash`), recording the Rollout in the annotation
`argo-rollouts.argoproj.io/managed-by-rollouts` as upstream does. Header and mirror routes are managed HTTP
routes placed before the others. The edits themselves are pure functions in `ramp.traffic.istio_routes` (the
VirtualService) and here (the DestinationRule); `IstioRouter` reads, calls them, and writes through `RouterIO`.

A VirtualService may live in another namespace (`name.namespace`, as upstream); the DestinationRule is in the
Rollout's. Several VirtualServices are all checked before any is written, so bad input changes nothing.
Registered as "istio" in `ramp.traffic.registry`.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ramp.api.traffic import IstioDestinationRule, IstioTrafficRouting, IstioVirtualService
from ramp.kube.resources import Resource
from ramp.traffic import istio_routes as routes
from ramp.traffic.base import (
    Destination,
    HeaderRoute,
    MirrorRoute,
    RouterBase,
    RouterContext,
    RouterError,
    RouterIO,
    Weights,
)
from ramp.traffic.istio_routes import RouteSelection, Targets, TLSSelector

Obj = dict[str, Any]
VIRTUAL_SERVICES = Resource("networking.istio.io", "v1beta1", "virtualservices", "VirtualService")
DESTINATION_RULES = Resource("networking.istio.io", "v1beta1", "destinationrules", "DestinationRule")
HASH_LABEL = "rollouts-pod-template-hash"
MANAGED_BY_ANNOTATION = "argo-rollouts.argoproj.io/managed-by-rollouts"
ISTIO_FIELD = "spec.strategy.canary.trafficRouting.istio"
RULE_FIELD = f"{ISTIO_FIELD}.destinationRule"


@dataclass(frozen=True)
class VirtualServiceRef:
    """One VirtualService of the Rollout: where it is and which of its routes carry the split."""

    namespace: str
    name: str
    selection: RouteSelection


def split_reference(reference: str, namespace: str) -> tuple[str, str]:
    """(namespace, name) of a VirtualService reference: "name" or upstream's "name.namespace" form.

    >>> split_reference("app-vsvc", "apps"), split_reference("app-vsvc.mesh", "apps")
    (('apps', 'app-vsvc'), ('mesh', 'app-vsvc'))
    """
    trimmed = reference.removesuffix(".cluster.local")
    if "." in trimmed:
        # A namespace has no dots, so the last label is the namespace and the rest the name.
        name, other = trimmed.rsplit(".", 1)
        return other, name
    return namespace, trimmed


def virtual_service_refs(
    settings: IstioTrafficRouting, namespace: str, managed_routes: tuple[str, ...]
) -> tuple[VirtualServiceRef, ...]:
    """The VirtualServices of `settings` with their field paths; RouterError when none is named."""
    if settings.virtual_services:
        listed = [(vs, f"{ISTIO_FIELD}.virtualServices[{i}]") for i, vs in enumerate(settings.virtual_services)]
    elif settings.virtual_service is not None:
        listed = [(settings.virtual_service, f"{ISTIO_FIELD}.virtualService")]
    else:
        raise RouterError(f"{ISTIO_FIELD}: name the VirtualService in virtualService or virtualServices")
    return tuple(_ref(vs, field, namespace, managed_routes) for vs, field in listed)


def _ref(vs: IstioVirtualService, field: str, namespace: str, managed: tuple[str, ...]) -> VirtualServiceRef:
    where, name = split_reference(vs.name, namespace)
    selection = RouteSelection(
        virtual_service=name,
        field_path=field,
        http_names=tuple(vs.routes or ()),
        tls=tuple(TLSSelector(r.port or 0, frozenset(r.sni_hosts or ())) for r in vs.tls_routes or ()),
        tcp_ports=tuple(r.port or 0 for r in vs.tcp_routes or ()),
        managed_routes=managed,
    )
    return VirtualServiceRef(where, name, selection)


def targets_of(context: RouterContext, settings: IstioTrafficRouting) -> Targets:
    rule = settings.destination_rule
    if rule is None:
        return Targets(context.stable_service, context.canary_service)
    return Targets(
        context.stable_service,
        context.canary_service,
        stable_subset=rule.stable_subset_name,
        canary_subset=rule.canary_subset_name,
        additional_subsets=tuple(rule.additional_subset_names or ()),
    )


def subset_hash(rule: Mapping[str, Any], subset: str) -> str | None:
    """The pod hash a DestinationRule subset selects (None: no such label or subset)."""
    for found in (rule.get("spec") or {}).get("subsets") or []:
        if isinstance(found, Mapping) and found.get("name") == subset:
            return (found.get("labels") or {}).get(HASH_LABEL)
    return None


def _is_experiment_subset(subset: Mapping[str, Any]) -> bool:
    """A subset Ramp added for an experiment Service: its only label is the pod hash."""
    return set((subset.get("labels") or {}).keys()) == {HASH_LABEL}


def _set_hash(subset: Obj, pod_hash: str) -> None:
    if pod_hash:
        subset["labels"] = {**(subset.get("labels") or {}), HASH_LABEL: pod_hash}
    elif HASH_LABEL in (subset.get("labels") or {}):
        labels = {k: v for k, v in subset["labels"].items() if k != HASH_LABEL}
        if labels:
            subset["labels"] = labels
        else:
            del subset["labels"]


def point_subsets(
    rule: Mapping[str, Any],
    settings: IstioDestinationRule,
    canary_hash: str,
    stable_hash: str,
    additional: Sequence[Destination],
    rollout: str,
) -> Obj:
    """The DestinationRule with its canary and stable subsets (and experiment subsets) on these pod hashes.

    An empty hash removes the label. Experiment Services get a subset named after them; experiment subsets
    no longer wanted go. Any other subset, and every other field, is kept as written.
    """
    name = str(rule.get("metadata", {}).get("name", settings.name))
    subsets: list[Obj] = [s for s in (rule.get("spec") or {}).get("subsets") or [] if isinstance(s, dict)]
    names = {s.get("name") for s in subsets}
    for field, required in (
        ("canarySubsetName", settings.canary_subset_name),
        ("stableSubsetName", settings.stable_subset_name),
    ):
        if required not in names:
            raise RouterError(
                f'{RULE_FIELD}.{field}: DestinationRule "{name}" has no subset "{required}"; add the subset or fix '
                "the name"
            )
    new = copy.deepcopy(dict(rule))
    metadata = new.setdefault("metadata", {})
    metadata["annotations"] = {**(metadata.get("annotations") or {}), MANAGED_BY_ANNOTATION: rollout}
    wanted = {d.service: d.pod_hash for d in additional}
    wanted.update({settings.canary_subset_name: canary_hash, settings.stable_subset_name: stable_hash})
    keep_as_is = set(settings.additional_subset_names or ())
    kept: list[Obj] = []
    for subset in copy.deepcopy(subsets):
        subset_name = str(subset.get("name") or "")
        if subset_name in wanted:
            _set_hash(subset, wanted.pop(subset_name))
        elif subset_name not in keep_as_is and _is_experiment_subset(subset):
            continue
        kept.append(subset)
    kept.extend({"name": service, "labels": {HASH_LABEL: pod_hash}} for service, pod_hash in wanted.items() if pod_hash)
    new.setdefault("spec", {})["subsets"] = kept
    return new


def release_subsets(rule: Mapping[str, Any], settings: IstioDestinationRule, rollout: str) -> Obj:
    """The DestinationRule without what `point_subsets` added, when this Rollout manages it (upstream's cleanup)."""
    annotations = (rule.get("metadata") or {}).get("annotations") or {}
    if annotations.get(MANAGED_BY_ANNOTATION) != rollout:
        return copy.deepcopy(dict(rule))
    new = copy.deepcopy(dict(rule))
    left = {k: v for k, v in annotations.items() if k != MANAGED_BY_ANNOTATION}
    if left:
        new["metadata"]["annotations"] = left
    else:
        del new["metadata"]["annotations"]
    ours = {settings.canary_subset_name, settings.stable_subset_name}
    kept = []
    for subset in (new.get("spec") or {}).get("subsets") or []:
        if isinstance(subset, dict) and subset.get("name") not in ours and _is_experiment_subset(subset):
            continue
        if isinstance(subset, dict):
            _set_hash(subset, "")
        kept.append(subset)
    if "subsets" in (new.get("spec") or {}):
        new["spec"]["subsets"] = kept
    return new


Change = Callable[[Obj, RouteSelection], Obj]


class IstioRouter(RouterBase):
    """Shifts traffic with Istio VirtualServices (and DestinationRule subsets) for one Rollout."""

    name = "istio"

    def __init__(self, context: RouterContext, io: RouterIO) -> None:
        super().__init__(context, io)
        self._ios: dict[str, RouterIO] = {io.namespace: io}

    @property
    def settings(self) -> IstioTrafficRouting:
        if self.context.routing.istio is None:
            raise RouterError(f"{ISTIO_FIELD}: missing")
        return self.context.routing.istio

    @property
    def targets(self) -> Targets:
        return targets_of(self.context, self.settings)

    def _refs(self) -> tuple[VirtualServiceRef, ...]:
        return virtual_service_refs(self.settings, self.context.namespace, self.context.managed_routes)

    def _io_for(self, namespace: str) -> RouterIO:
        if namespace not in self._ios:
            self._ios[namespace] = self.io.for_namespace(namespace)
        return self._ios[namespace]

    async def _write(self, io: RouterIO, resource: Resource, obj: Obj) -> None:
        before = io.writes
        await io.replace(resource, obj)
        if io is not self.io:
            # Writes in other namespaces count towards the reconcile's total too.
            self.io.writes += io.writes - before

    async def _edit_virtual_services(self, change: Change, missing_ok: bool = False) -> None:
        """Apply `change` to every VirtualService, all computed before any is written."""
        edited: list[tuple[RouterIO, Obj]] = []
        for ref in self._refs():
            io = self._io_for(ref.namespace)
            if missing_ok:
                found = await io.find(VIRTUAL_SERVICES, ref.name)
                if found is None:
                    continue
            else:
                found = await io.get(VIRTUAL_SERVICES, ref.name, f"{ref.selection.field_path}.name")
            edited.append((io, change(found, ref.selection)))
        for io, obj in edited:
            await self._write(io, VIRTUAL_SERVICES, obj)

    async def update_hash(self, canary_hash: str, stable_hash: str, additional: Sequence[Destination]) -> None:
        """Point the DestinationRule's subsets at the pod hashes (subset-level routing only).

        The canary subset moves to new pods only once no traffic goes to it: upstream's reconciler zeroes the
        weight first when the new canary has no available pod (issue 2507); here the router itself moves the
        canary's share to stable before it relabels the subset, so the subset never points at pods that were
        not chosen for that share. The following `set_weight` gives the canary its share again.
        """
        rule_settings = self.settings.destination_rule
        if rule_settings is None:
            return
        rule = await self.io.get(DESTINATION_RULES, rule_settings.name, f"{RULE_FIELD}.name")
        new = point_subsets(rule, rule_settings, canary_hash, stable_hash, additional, self.context.rollout_name)
        subset = rule_settings.canary_subset_name
        if subset_hash(rule, subset) != subset_hash(new, subset):
            targets = self.targets
            await self._edit_virtual_services(lambda vs, selection: routes.drain_canary(vs, selection, targets))
        await self.io.replace(DESTINATION_RULES, new)

    async def set_weight(self, weights: Weights) -> None:
        targets = self.targets
        await self._edit_virtual_services(lambda vs, selection: routes.apply_weights(vs, selection, targets, weights))

    def _check_managed(self, name: str) -> None:
        if name not in self.context.managed_routes:
            raise RouterError(
                f'spec.strategy.canary.trafficRouting.managedRoutes: route "{name}" is not listed; add it there'
            )

    async def _put_route(self, name: str, build: Callable[[Obj, Obj], Obj] | None) -> None:
        """Add (or with `build` None, remove) managed route `name` in every VirtualService with HTTP routes."""
        targets, managed = self.targets, self.context.managed_routes
        with_http = 0

        def change(vs: Obj, selection: RouteSelection) -> Obj:
            nonlocal with_http
            if not routes.has_http_routes(vs):
                return vs  # TLS and TCP routes cannot match headers: nothing to add here.
            with_http += 1
            if build is None:
                return routes.put_managed_route(vs, name, None, managed)
            weighted = routes.first_weighted_route(vs, selection, targets)
            route = build(weighted, routes.canary_destination(weighted, targets))
            return routes.put_managed_route(vs, name, route, managed)

        await self._edit_virtual_services(change, missing_ok=build is None)
        if build is not None and not with_http:
            raise RouterError(
                f'{ISTIO_FIELD}.virtualService: route "{name}" needs a VirtualService with HTTP routes; none has any'
            )

    async def set_header_route(self, route: HeaderRoute) -> None:
        if not route.matches:
            await self._put_route(route.name, None)
            return
        self._check_managed(route.name)
        await self._put_route(route.name, lambda _weighted, canary: routes.header_route(route, canary))

    async def set_mirror_route(self, route: MirrorRoute) -> None:
        if not route.matches:
            await self._put_route(route.name, None)
            return
        self._check_managed(route.name)
        await self._put_route(route.name, lambda weighted, canary: routes.mirror_route(route, weighted, canary))

    async def remove_managed_routes(self) -> None:
        managed = self.context.managed_routes
        if managed:
            await self._edit_virtual_services(
                lambda vs, _selection: routes.remove_http_routes(vs, managed), missing_ok=True
            )

    async def remove(self) -> None:
        """All traffic to stable and managed routes gone; the DestinationRule loses the labels Ramp added."""
        targets, managed, total = self.targets, self.context.managed_routes, self.context.total
        all_stable = Weights(
            canary=Destination(self.context.canary_service, 0),
            stable=Destination(self.context.stable_service, total),
            total=total,
        )

        def restore(vs: Obj, selection: RouteSelection) -> Obj:
            # When the routes no longer say what they did, there is no split of ours to undo.
            with contextlib.suppress(RouterError):
                vs = routes.apply_weights(vs, selection, targets, all_stable)
            return routes.remove_http_routes(vs, managed)

        await self._edit_virtual_services(restore, missing_ok=True)
        rule_settings = self.settings.destination_rule
        if rule_settings is not None:
            rule = await self.io.find(DESTINATION_RULES, rule_settings.name)
            if rule is not None:
                await self.io.replace(
                    DESTINATION_RULES, release_subsets(rule, rule_settings, self.context.rollout_name)
                )
