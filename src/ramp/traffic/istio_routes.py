"""Pure edits of an Istio VirtualService: the weighted split, the managed header and mirror routes.

`ramp.traffic.istio` reads a VirtualService, calls one function here (object dict and wanted state in, new
object dict out) and writes the result back; unit tests call these functions directly. Everything not named
below is carried over untouched (gateways, retries, headers, fields of newer Istio releases).

Follows upstream Argo Rollouts' documented Istio behaviour:
- the routes that carry the split are the HTTP routes named in `routes` (when absent, the VirtualService's only
  HTTP route besides the managed ones, or else its first unnamed one; a VirtualService without an http section
  ignores `routes`), the TLS routes matching `tlsRoutes` (port and sniHosts) and the TCP
  routes matching `tcpRoutes` (port); without `tlsRoutes` / `tcpRoutes`, a lone TLS / TCP route is taken;
- in those routes a destination is the canary's when its host names the canary Service (short name or any
  longer form such as `svc.ns.svc.cluster.local`: the host's first label is compared) or its subset is the
  canary subset, and likewise for stable; experiment Services get destinations of their own, additional
  subsets keep their weight (taken from stable), and any other destination is dropped;
- managed routes sit before every other HTTP route, in `managedRoutes` order; managed mirror routes follow
  the split of the first weighted route.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ramp.traffic.base import HeaderRoute, MirrorRoute, RequestMatch, RouterError, StringMatch, Weights

Obj = dict[str, Any]
ROUTE_KINDS = ("http", "tls", "tcp")


@dataclass(frozen=True)
class Targets:
    """How a route destination is recognised as the canary's or the stable's."""

    stable_service: str
    canary_service: str
    stable_subset: str = ""
    canary_subset: str = ""
    additional_subsets: tuple[str, ...] = ()

    @property
    def by_subset(self) -> bool:
        """Subset-level routing: a DestinationRule splits one host into canary and stable subsets."""
        return bool(self.canary_subset or self.stable_subset)

    def role(self, destination: Mapping[str, Any]) -> str:
        """ "canary", "stable" or "" for the `destination` of a route entry."""
        host = short_host(str(destination.get("host") or ""))
        subset = str(destination.get("subset") or "")
        if not host:
            return ""
        if host == self.canary_service or (subset and subset == self.canary_subset):
            return "canary"
        if host == self.stable_service or (subset and subset == self.stable_subset):
            return "stable"
        return ""


@dataclass(frozen=True)
class TLSSelector:
    """A `tlsRoutes` entry: the route whose matches name exactly this port and these SNI hosts."""

    port: int = 0
    sni_hosts: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RouteSelection:
    """Which routes of one VirtualService carry the split, and the Rollout field that says so."""

    virtual_service: str
    field_path: str
    """Such as spec.strategy.canary.trafficRouting.istio.virtualService (or virtualServices[1])."""
    http_names: tuple[str, ...] = ()
    tls: tuple[TLSSelector, ...] = ()
    tcp_ports: tuple[int, ...] = ()
    managed_routes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SelectedRoutes:
    """Indexes into spec.http, spec.tls and spec.tcp of the routes that carry the split."""

    http: tuple[int, ...] = ()
    tls: tuple[int, ...] = ()
    tcp: tuple[int, ...] = ()

    def by_kind(self) -> Iterator[tuple[str, tuple[int, ...]]]:
        yield from (("http", self.http), ("tls", self.tls), ("tcp", self.tcp))


def short_host(host: str) -> str:
    """The Service a destination host names: its first label ("app-stable.ns.svc.cluster.local" → "app-stable")."""
    return host.split(".", 1)[0]


def routes_of(spec: Mapping[str, Any], kind: str) -> list[Obj]:
    routes = spec.get(kind)
    return [route for route in routes if isinstance(route, dict)] if isinstance(routes, list) else []


def select_routes(spec: Mapping[str, Any], selection: RouteSelection) -> SelectedRoutes:
    """The routes that carry the split; RouterError naming the Rollout field when one cannot be found."""
    # A VirtualService with no http section (TLS or TCP routes only) ignores `routes`, as upstream does: one
    # Rollout spec can name HTTP routes for the VirtualServices that have them.
    has_http = isinstance(spec.get("http"), list)
    selected = SelectedRoutes(
        http=_select_http(routes_of(spec, "http"), selection) if has_http else (),
        tls=_select_l4(routes_of(spec, "tls"), selection, "tls"),
        tcp=_select_l4(routes_of(spec, "tcp"), selection, "tcp"),
    )
    if not (selected.http or selected.tls or selected.tcp):
        raise RouterError(
            f'{selection.field_path}.name: VirtualService "{selection.virtual_service}" has no http, tls or tcp '
            "route; add a route with destinations for the stable and canary Services"
        )
    return selected


def _select_http(http: list[Obj], selection: RouteSelection) -> tuple[int, ...]:
    field = f"{selection.field_path}.routes"
    if selection.http_names:
        found = []
        for name in selection.http_names:
            index = next((i for i, route in enumerate(http) if route.get("name") == name), None)
            if index is None:
                raise RouterError(
                    f'{field}: HTTP route "{name}" not found in VirtualService "{selection.virtual_service}"; '
                    "add a route with that name or fix the name"
                )
            found.append(index)
        return tuple(dict.fromkeys(found))
    if not http:
        return ()
    # Managed header and mirror routes are Ramp's own: the user's route is the one left.
    own = [i for i, route in enumerate(http) if route.get("name") not in selection.managed_routes]
    unnamed = [i for i in own if not http[i].get("name")]
    if len(own) > 1 and unnamed:
        return (unnamed[0],)  # upstream's rule: with no names given, the first route without a name
    if len(own) != 1:
        raise RouterError(
            f'{field}: VirtualService "{selection.virtual_service}" has {len(own)} HTTP routes; '
            "name the ones that carry the canary split in this field"
        )
    return (own[0],)


def _match_ports(route: Mapping[str, Any]) -> set[int]:
    matches = [m for m in route.get("match") or [] if isinstance(m, Mapping)]
    return {int(m.get("port") or 0) for m in matches} or {0}


def _match_sni_hosts(route: Mapping[str, Any]) -> frozenset[str]:
    matches = [m for m in route.get("match") or [] if isinstance(m, Mapping)]
    return frozenset(str(host) for m in matches for host in m.get("sniHosts") or [])


def _select_l4(routes: list[Obj], selection: RouteSelection, kind: str) -> tuple[int, ...]:
    field = f"{selection.field_path}.{kind}Routes"
    wanted: Sequence[TLSSelector] = (
        selection.tls if kind == "tls" else tuple(TLSSelector(port=port) for port in selection.tcp_ports)
    )
    if not wanted:
        if len(routes) > 1:
            raise RouterError(
                f'{field}: VirtualService "{selection.virtual_service}" has {len(routes)} {kind.upper()} routes; '
                "list the ones that carry the canary split in this field"
            )
        return (0,) if routes else ()
    found: list[int] = []
    for selector in wanted:
        # A route matching several ports never matches one selector (upstream's rule).
        hits = [
            i
            for i, route in enumerate(routes)
            if _match_ports(route) == {selector.port}
            and (kind == "tcp" or _match_sni_hosts(route) == selector.sni_hosts)
        ]
        if not hits:
            what = f"port {selector.port}" + (f" and sniHosts {sorted(selector.sni_hosts)}" if kind == "tls" else "")
            raise RouterError(
                f'{field}: no {kind.upper()} route of VirtualService "{selection.virtual_service}" matches '
                f"{what}; fix this field or the route's match"
            )
        found.extend(hits)
    return tuple(dict.fromkeys(found))


def _route_label(kind: str, index: int, route: Mapping[str, Any]) -> str:
    name = route.get("name")
    return f'{kind.upper()} route "{name}"' if name else f"{kind}[{index}]"


def check_destinations(
    spec: Mapping[str, Any], selected: SelectedRoutes, selection: RouteSelection, targets: Targets
) -> None:
    """RouterError unless every selected route has both a canary and a stable destination."""
    for kind, indexes in selected.by_kind():
        field = f"{selection.field_path}.{'routes' if kind == 'http' else kind + 'Routes'}"
        routes = routes_of(spec, kind)
        for index in indexes:
            route = routes[index]
            entries = [e.get("destination") or {} for e in route.get("route") or [] if isinstance(e, Mapping)]
            for role in ("canary", "stable"):
                if targets.by_subset:
                    subset = targets.canary_subset if role == "canary" else targets.stable_subset
                    found = any(str(d.get("subset") or "") == subset for d in entries)
                    missing, fix = f'the {role} subset "{subset}"', f"subset: {subset}"
                else:
                    service = targets.canary_service if role == "canary" else targets.stable_service
                    found = any(short_host(str(d.get("host") or "")) == service for d in entries)
                    missing, fix = f'the {role} Service "{service}"', f"host: {service}"
                if not found:
                    raise RouterError(
                        f"{field}: {_route_label(kind, index, route)} of VirtualService "
                        f'"{selection.virtual_service}" has no destination for {missing}; add a destination '
                        f"with {fix} to that route, or select another route in this field"
                    )


def weigh_destinations(destinations: Sequence[Mapping[str, Any]], targets: Targets, weights: Weights) -> list[Obj]:
    """The route's destinations with the wanted weights (see the module docstring for which is which)."""
    extra = {d.service: d.weight for d in weights.additional}
    kept_subsets = [
        e
        for e in destinations
        if not targets.role(e.get("destination") or {})
        and str((e.get("destination") or {}).get("subset") or "") in targets.additional_subsets
    ]
    # Additional subsets keep their share, so stable gives it up (never below zero: Istio refuses that).
    stable = max(weights.stable.weight - sum(int(e.get("weight") or 0) for e in kept_subsets), 0)
    result: list[Obj] = []
    for entry in destinations:
        destination = entry.get("destination") or {}
        role = targets.role(destination)
        host = short_host(str(destination.get("host") or ""))
        if role:
            result.append({**entry, "weight": weights.canary.weight if role == "canary" else stable})
        elif host in extra:
            result.append({**entry, "weight": extra.pop(host)})
        elif any(entry is kept for kept in kept_subsets) or not host:
            result.append(dict(entry))
        # Any other destination is an experiment that ended: it goes.
    result.extend({"destination": {"host": service}, "weight": extra[service]} for service in sorted(extra))
    return result


def _routes_to_weigh(spec: Obj, selection: RouteSelection, selected: SelectedRoutes) -> list[Obj]:
    """The selected routes, then managed mirror routes (they keep serving the split they copied)."""
    routes = [routes_of(spec, kind)[index] for kind, indexes in selected.by_kind() for index in indexes]
    routes.extend(
        route
        for index, route in enumerate(routes_of(spec, "http"))
        if route.get("mirror") is not None
        and route.get("name") in selection.managed_routes
        and index not in selected.http
    )
    return routes


def apply_weights(
    virtual_service: Mapping[str, Any], selection: RouteSelection, targets: Targets, weights: Weights
) -> Obj:
    """The VirtualService sending `weights` through its selected routes."""
    new = copy.deepcopy(dict(virtual_service))
    spec = new.setdefault("spec", {})
    selected = select_routes(spec, selection)
    check_destinations(spec, selected, selection, targets)
    for route in _routes_to_weigh(spec, selection, selected):
        route["route"] = weigh_destinations(route.get("route") or [], targets, weights)
    return _ordered(new, selection.managed_routes)


def drain_canary(virtual_service: Mapping[str, Any], selection: RouteSelection, targets: Targets) -> Obj:
    """The VirtualService with the canary's weight moved to the stable destination of each route it shifts."""
    new = copy.deepcopy(dict(virtual_service))
    spec = new.setdefault("spec", {})
    selected = select_routes(spec, selection)
    check_destinations(spec, selected, selection, targets)
    for route in _routes_to_weigh(spec, selection, selected):
        entries = [e for e in route.get("route") or [] if isinstance(e, dict)]
        moved = 0
        for entry in entries:
            if targets.role(entry.get("destination") or {}) == "canary":
                moved += int(entry.get("weight") or 0)
                entry["weight"] = 0
        stable = next((e for e in entries if targets.role(e.get("destination") or {}) == "stable"), None)
        if stable is not None and moved:
            stable["weight"] = int(stable.get("weight") or 0) + moved
    return new


def order_http_routes(http: Sequence[Obj], managed_routes: Sequence[str]) -> list[Obj]:
    """Managed routes first, in `managed_routes` order, then the others as they were."""
    managed = [route for name in managed_routes for route in http if route.get("name") == name]
    return managed + [route for route in http if route.get("name") not in managed_routes]


def _ordered(virtual_service: Obj, managed_routes: Sequence[str]) -> Obj:
    spec = virtual_service.get("spec") or {}
    if isinstance(spec.get("http"), list):
        spec["http"] = order_http_routes(spec["http"], managed_routes)
    return virtual_service


def remove_http_routes(virtual_service: Mapping[str, Any], names: Sequence[str]) -> Obj:
    """The VirtualService without the HTTP routes named `names` (routes without a name are never removed)."""
    new = copy.deepcopy(dict(virtual_service))
    spec = new.get("spec") or {}
    if isinstance(spec.get("http"), list):
        spec["http"] = [r for r in spec["http"] if not (isinstance(r, Mapping) and r.get("name") in names)]
    return new


def has_http_routes(virtual_service: Mapping[str, Any]) -> bool:
    return bool(routes_of(virtual_service.get("spec") or {}, "http"))


def first_weighted_route(virtual_service: Mapping[str, Any], selection: RouteSelection, targets: Targets) -> Obj:
    """The first selected HTTP route (checked), whose destinations header and mirror routes build on."""
    spec = virtual_service.get("spec") or {}
    selected = select_routes(spec, selection)
    if not selected.http:
        raise RouterError(
            f'{selection.field_path}.routes: VirtualService "{selection.virtual_service}" has no HTTP route; '
            "header and mirror routes need one"
        )
    check_destinations(spec, SelectedRoutes(http=selected.http), selection, targets)
    return routes_of(spec, "http")[selected.http[0]]


def canary_destination(route: Mapping[str, Any], targets: Targets) -> Obj:
    """The canary's `destination` (host, subset, port) as the weighted route writes it."""
    for entry in route.get("route") or []:
        destination = entry.get("destination") or {}
        if targets.role(destination) == "canary":
            return {k: copy.deepcopy(destination[k]) for k in ("host", "subset", "port") if k in destination}
    raise RouterError(f"the weighted route has no destination for the canary Service {targets.canary_service}")


def _string_match(match: StringMatch) -> Obj:
    return {match.kind: match.value}


def header_route(route: HeaderRoute, canary: Mapping[str, Any]) -> Obj:
    """A route sending requests whose headers all match to the canary destination.

    All headers go into one match entry, so that every one of them must match (Istio ORs match entries);
    upstream writes one entry per header, which is the same for the usual single header.
    """
    headers = {match.name: _string_match(match.value) for match in route.matches}
    return {
        "name": route.name,
        "match": [{"headers": headers}],
        "route": [{"destination": dict(canary), "weight": 100}],
    }


def _request_match(match: RequestMatch) -> Obj:
    converted: Obj = {}
    if match.method is not None:
        converted["method"] = _string_match(match.method)
    if match.path is not None:
        converted["uri"] = _string_match(match.path)
    if match.headers:
        converted["headers"] = {header.name: _string_match(header.value) for header in match.headers}
    return converted


def mirror_route(route: MirrorRoute, weighted: Mapping[str, Any], canary: Mapping[str, Any]) -> Obj:
    """A route serving matching requests as the weighted route does and copying `percentage` to the canary."""
    return {
        "name": route.name,
        "match": [_request_match(match) for match in route.matches],
        "route": copy.deepcopy(list(weighted.get("route") or [])),
        "mirror": dict(canary),
        "mirrorPercentage": {"value": route.percentage},
    }


def put_managed_route(
    virtual_service: Mapping[str, Any], name: str, route: Obj | None, managed_routes: Sequence[str]
) -> Obj:
    """The VirtualService with managed route `name` replaced by `route` (None: removed), routes in order."""
    new = remove_http_routes(virtual_service, [name])
    if route is not None:
        spec = new.setdefault("spec", {})
        spec["http"] = [route, *routes_of(spec, "http")]
    return _ordered(new, managed_routes)
