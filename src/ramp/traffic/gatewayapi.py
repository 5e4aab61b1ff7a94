"""Gateway API: weights on the backendRefs of HTTPRoute, GRPCRoute, TCPRoute and TLSRoute rules, and managed
header and mirror rules on HTTPRoutes (and header rules on GRPCRoutes).

Settings come from the native `trafficRouting.gatewayAPI` field or upstream's plugin form
(`plugins: {argoproj-labs/gatewayAPI: {...}}`), read by `ramp.api.traffic.gateway_api_routing`. As that plugin
documents: every rule that has backendRefs to both the stable and the canary Service gets the canary weight and the
stable the rest (experiment Services get extra backendRefs); a route whose rules never name both is an error that
says to add a canary backendRef with weight 0. Weights are relative in Gateway API; Ramp writes shares that sum
to the total.

Managed rules: a header route is a rule copying the weighted rule's matches with the header matches added
(`Exact`, or `RegularExpression` for regex and for prefix as `^value.*`) and the canary Service as the only
backend — a match with more headers is more specific, so the data plane prefers it. A mirror route is a rule with
the step's matches, the weighted rule's backends and a `RequestMirror` filter to the canary (`percent` below 100).
The plugin remembers its rules in a ConfigMap; Ramp records each managed rule in the route's own annotation
`rollouts.ramp.dev/managed-rules` (the names of the managed rules, which are always the route's last rules, and
the experiment backendRefs it added), so it finds them again after a restart without another object, whatever
defaults the API server filled in, and never touches a rule it did not write.

Used through `ramp.traffic.registry` by `ramp.rollout.routing`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ramp.api.traffic import GatewayAPIRouting, gateway_api_routing
from ramp.kube.resources import Resource
from ramp.traffic.base import (
    Destination,
    HeaderRoute,
    MirrorRoute,
    RequestMatch,
    RouterBase,
    RouterContext,
    RouterError,
    RouterIO,
    StringMatch,
    UnsupportedFeature,
    Weights,
)

Obj = dict[str, Any]
GROUP = "gateway.networking.k8s.io"
MANAGED_ANNOTATION = "rollouts.ramp.dev/managed-rules"
HTTP_ROUTES = Resource(GROUP, "v1", "httproutes", "HTTPRoute")
GRPC_ROUTES = Resource(GROUP, "v1", "grpcroutes", "GRPCRoute")
TCP_ROUTES = Resource(GROUP, "v1alpha2", "tcproutes", "TCPRoute")
TLS_ROUTES = Resource(GROUP, "v1alpha2", "tlsroutes", "TLSRoute")


@dataclass(frozen=True)
class RouteRef:
    """One route the Rollout names: its kind, name, the settings field naming it, and header-route use."""

    resource: Resource
    name: str
    field_path: str
    use_header_routes: bool = True


def configured_routes(settings: GatewayAPIRouting, base: str) -> list[RouteRef]:
    """Every route of the settings, single fields first, then the lists."""
    found: list[RouteRef] = []
    singles = (
        (HTTP_ROUTES, settings.http_route, "httpRoute"),
        (GRPC_ROUTES, settings.grpc_route, "grpcRoute"),
        (TCP_ROUTES, settings.tcp_route, "tcpRoute"),
        (TLS_ROUTES, settings.tls_route, "tlsRoute"),
    )
    for resource, name, field_name in singles:
        if name:
            found.append(RouteRef(resource, name, f"{base}.{field_name}"))
    lists = (
        (HTTP_ROUTES, settings.http_routes, "httpRoutes"),
        (GRPC_ROUTES, settings.grpc_routes, "grpcRoutes"),
        (TCP_ROUTES, settings.tcp_routes, "tcpRoutes"),
        (TLS_ROUTES, settings.tls_routes, "tlsRoutes"),
    )
    for resource, routes, field_name in lists:
        for index, route in enumerate(routes or []):
            use = route.use_header_routes is not False
            found.append(RouteRef(resource, route.name, f"{base}.{field_name}[{index}]", use))
    return found


@dataclass
class Managed:
    """What Ramp added to a route: its managed rules (the last ones, in this order) and experiment backends."""

    rules: list[str]
    backends: list[str]


def read_managed(route: Mapping[str, Any]) -> Managed:
    """The record in the route's annotation (empty when none)."""
    value = ((route.get("metadata") or {}).get("annotations") or {}).get(MANAGED_ANNOTATION)
    try:
        found = json.loads(str(value)) if value else {}
    except ValueError:
        found = {}
    if not isinstance(found, dict):
        found = {}
    return Managed([str(n) for n in found.get("rules") or []], [str(n) for n in found.get("backends") or []])


def _split_rules(route: Mapping[str, Any], managed: Managed) -> tuple[list[Obj], dict[str, Obj]]:
    """The user's rules, and Ramp's managed rules by name (the last ones, as recorded)."""
    rules = [dict(r) for r in (route.get("spec") or {}).get("rules") or []]
    count = len(managed.rules)
    if count == 0 or count > len(rules):
        return rules, {}
    return rules[: len(rules) - count], dict(zip(managed.rules, rules[len(rules) - count :], strict=True))


def _backend_names(rule: Mapping[str, Any]) -> set[str]:
    return {str(ref.get("name")) for ref in rule.get("backendRefs") or []}


def apply_weights(route: Mapping[str, Any], weights: Weights, field_path: str) -> Obj:
    """The route with the canary/stable (and experiment) weights set in every rule that names both Services."""
    updated = copy.deepcopy(dict(route))
    managed = read_managed(route)
    user_rules, managed_rules = _split_rules(updated, managed)
    canary, stable = weights.canary.service, weights.stable.service
    kind = route.get("kind", "route")
    name = route["metadata"]["name"]
    touched = False
    backends = set(managed.backends)
    for rule in user_rules:
        names = _backend_names(rule)
        if stable not in names:
            continue
        if canary not in names:
            raise RouterError(
                f'{field_path}: {kind} "{name}" has a rule with a backendRef to "{stable}" but none to '
                f'"{canary}"; add one to "{canary}" with weight 0'
            )
        rule["backendRefs"] = _weighted_refs(rule["backendRefs"], weights, backends)
        touched = True
    if not touched:
        raise RouterError(
            f'{field_path}: {kind} "{name}" has no rule with backendRefs to "{stable}" and "{canary}"; add them '
            "(the canary with weight 0)"
        )
    weighted = _first_weighted_rule(user_rules, canary)
    for rule in managed_rules.values():
        if _is_mirror(rule) and weighted is not None:
            rule["backendRefs"] = copy.deepcopy(weighted["backendRefs"])  # mirror rules serve as the weighted one
    managed.backends = sorted(d.service for d in weights.additional)
    return _assemble(updated, user_rules, managed_rules, managed)


def _weighted_refs(refs: Sequence[Mapping[str, Any]], weights: Weights, added_before: set[str]) -> list[Obj]:
    additional = {d.service: d for d in weights.additional}
    template = next((ref for ref in refs if ref.get("name") == weights.canary.service), refs[0])
    kept: list[Obj] = []
    for ref in refs:
        ref_name = str(ref.get("name"))
        entry = dict(ref)
        if ref_name == weights.canary.service:
            entry["weight"] = weights.canary.weight
        elif ref_name == weights.stable.service:
            entry["weight"] = weights.stable.weight
        elif ref_name in additional:
            entry["weight"] = additional.pop(ref_name).weight
        elif ref_name in added_before:
            continue  # an experiment's backendRef Ramp added, and the experiment ended
        kept.append(entry)
    for destination in additional.values():
        entry = {k: v for k, v in template.items() if k in ("group", "kind", "namespace", "port")}
        entry.update({"name": destination.service, "weight": destination.weight})
        kept.append(entry)
    return kept


def _first_weighted_rule(rules: Sequence[Mapping[str, Any]], canary: str) -> Obj | None:
    for rule in rules:
        if canary in _backend_names(rule) and len(_backend_names(rule)) > 1:
            return dict(rule)
    return None


def _is_mirror(rule: Mapping[str, Any]) -> bool:
    return any(f.get("type") == "RequestMirror" for f in rule.get("filters") or [])


def _assemble(route: Obj, user_rules: list[Obj], managed_rules: Mapping[str, Obj], managed: Managed) -> Obj:
    """The route with the user's rules, then the managed ones in `managed.rules` order, and the record."""
    route.setdefault("spec", {})["rules"] = [*user_rules, *(managed_rules[n] for n in managed.rules)]
    meta = route.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    if managed.rules or managed.backends:
        record = {"rules": managed.rules, "backends": managed.backends}
        annotations[MANAGED_ANNOTATION] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    else:
        annotations.pop(MANAGED_ANNOTATION, None)
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return route


def _header_match(name: str, value: StringMatch) -> Obj:
    if value.kind == "exact":
        return {"type": "Exact", "name": name, "value": value.value}
    pattern = value.value if value.kind == "regex" else f"^{_escape(value.value)}.*"
    return {"type": "RegularExpression", "name": name, "value": pattern}


def _escape(text: str) -> str:
    return "".join(f"\\{c}" if c in r".^$*+?()[]{}|\/" else c for c in text)


def put_rule(route: Mapping[str, Any], name: str, rule: Obj | None, order: Sequence[str]) -> Obj:
    """The route with the managed rule `name` replaced by `rule` (None removes it). Managed rules come after the
    user's rules, in `order` (managedRoutes order)."""
    updated = copy.deepcopy(dict(route))
    managed = read_managed(route)
    user_rules, managed_rules = _split_rules(updated, managed)
    if rule is None:
        managed_rules.pop(name, None)
    else:
        managed_rules[name] = rule
    position = {n: i for i, n in enumerate(order)}
    managed.rules = sorted(managed_rules, key=lambda n: (position.get(n, len(order)), n))
    return _assemble(updated, user_rules, managed_rules, managed)


def _weighted_of(route: Mapping[str, Any], canary: str, field_path: str, what: str) -> Obj:
    user_rules, _ = _split_rules(route, read_managed(route))
    weighted = _first_weighted_rule(user_rules, canary)
    if weighted is None:
        raise RouterError(f'{field_path}: no rule with a backendRef to "{canary}" to add the {what} to')
    return weighted


def header_rule(route: Mapping[str, Any], route_header: HeaderRoute, canary: str, field_path: str) -> Obj:
    """A rule sending requests with these headers (on the weighted rule's matches) to the canary only."""
    weighted = _weighted_of(route, canary, field_path, f"header route {route_header.name!r}")
    canary_ref = next(dict(r) for r in weighted["backendRefs"] if r.get("name") == canary)
    canary_ref.pop("weight", None)
    headers = [_header_match(m.name, m.value) for m in route_header.matches]
    matches = [dict(m) for m in weighted.get("matches") or []] or [{}]
    for match in matches:
        match["headers"] = [*(match.get("headers") or []), *headers]
    return {"matches": matches, "backendRefs": [canary_ref]}


def _request_match(match: RequestMatch) -> Obj:
    found: Obj = {}
    if match.path is not None:
        kinds = {"exact": "Exact", "prefix": "PathPrefix", "regex": "RegularExpression"}
        found["path"] = {"type": kinds[match.path.kind], "value": match.path.value}
    if match.method is not None:
        if match.method.kind != "exact":
            raise UnsupportedFeature("setMirrorRoute: Gateway API matches a method exactly; use exact")
        found["method"] = match.method.value
    if match.headers:
        found["headers"] = [_header_match(h.name, h.value) for h in match.headers]
    return found


def mirror_rule(route: Mapping[str, Any], mirror: MirrorRoute, canary: str, field_path: str) -> Obj:
    """A rule serving matching requests as the weighted rule does, and copying them to the canary."""
    weighted = _weighted_of(route, canary, field_path, f"mirror route {mirror.name!r}")
    canary_ref = next(dict(r) for r in weighted["backendRefs"] if r.get("name") == canary)
    canary_ref.pop("weight", None)
    request_mirror: Obj = {"backendRef": canary_ref}
    if mirror.percentage < 100:
        request_mirror["percent"] = mirror.percentage
    return {
        "matches": [_request_match(m) for m in mirror.matches],
        "filters": [{"type": "RequestMirror", "requestMirror": request_mirror}],
        "backendRefs": copy.deepcopy(weighted["backendRefs"]),
    }


class GatewayAPIRouter(RouterBase):
    """Shifts traffic with Gateway API route backendRef weights for one Rollout."""

    name = "plugins/argoproj-labs/gatewayAPI"

    def __init__(self, context: RouterContext, io: RouterIO) -> None:
        super().__init__(context, io)
        settings = gateway_api_routing(context.routing)
        if settings is None:
            raise RouterError("spec.strategy.canary.trafficRouting.gatewayAPI: missing")
        self.settings = settings
        self.base = "spec.strategy.canary.trafficRouting." + (
            "gatewayAPI" if context.routing.gateway_api is not None else "plugins.argoproj-labs/gatewayAPI"
        )
        namespace = settings.namespace or context.namespace
        self.route_io = io if namespace == context.namespace else RouterIO(io.client, namespace)

    def _routes(self) -> list[RouteRef]:
        routes = configured_routes(self.settings, self.base)
        if not routes:
            raise RouterError(f"{self.base}: names no route; set httpRoute (or grpcRoute, tcpRoute, tlsRoute)")
        return routes

    async def set_weight(self, weights: Weights) -> None:
        # Check every route before writing any, so a bad one changes nothing.
        updated = []
        for ref in self._routes():
            route = await self.route_io.get(ref.resource, ref.name, ref.field_path)
            updated.append((ref, apply_weights(route, weights, ref.field_path)))
        for ref, route in updated:
            await self.route_io.replace(ref.resource, route)

    async def _put(self, name: str, build: Any, kinds: tuple[Resource, ...], feature: str) -> None:
        for ref in self._routes():
            if ref.resource not in kinds or (not ref.use_header_routes and feature == "setHeaderRoute"):
                continue
            route = await self.route_io.get(ref.resource, ref.name, ref.field_path)
            rule = build(route, ref) if build is not None else None
            await self.route_io.replace(ref.resource, put_rule(route, name, rule, self.context.managed_routes))

    async def set_header_route(self, route: HeaderRoute) -> None:
        canary = self.context.canary_service
        build = (lambda r, ref: header_rule(r, route, canary, ref.field_path)) if route.matches else None
        await self._put(route.name, build, (HTTP_ROUTES, GRPC_ROUTES), "setHeaderRoute")

    async def set_mirror_route(self, route: MirrorRoute) -> None:
        canary = self.context.canary_service
        build = (lambda r, ref: mirror_rule(r, route, canary, ref.field_path)) if route.matches else None
        await self._put(route.name, build, (HTTP_ROUTES,), "setMirrorRoute")

    async def remove_managed_routes(self) -> None:
        for ref in self._routes():
            route = await self.route_io.find(ref.resource, ref.name)
            if route is None or not read_managed(route).rules:
                continue
            cleaned = route
            for name in read_managed(route).rules:
                cleaned = put_rule(cleaned, name, None, self.context.managed_routes)
            await self.route_io.replace(ref.resource, cleaned)

    async def remove(self) -> None:
        """Everything to stable and managed rules removed; the routes are the user's and stay."""
        await self.remove_managed_routes()
        everything = Weights(
            Destination(self.context.canary_service, 0),
            Destination(self.context.stable_service, self.context.total),
            total=self.context.total,
        )
        for ref in self._routes():
            route = await self.route_io.find(ref.resource, ref.name)
            if route is None:
                continue
            try:
                await self.route_io.replace(ref.resource, apply_weights(route, everything, ref.field_path))
            except RouterError:
                continue  # the route no longer names both Services: nothing of ours to put back


class NativeGatewayAPIRouter(GatewayAPIRouter):
    """The same router under Ramp's native `gatewayAPI` key."""

    name = "gatewayAPI"
