"""Gateway API router: weights on the backendRefs of HTTPRoute, GRPCRoute, TCPRoute and TLSRoute rules, managed
header rules on HTTPRoutes and GRPCRoutes, and managed mirror rules on HTTPRoutes.

Settings come from upstream's plugin form (`plugins: {argoproj-labs/gatewayAPI: {...}}`) or Ramp's native
`trafficRouting.gatewayAPI` field, both read by `ramp.api.traffic.gateway_api_routing`. As the plugin documents:
routes are named one by one (`httpRoute`, ...), in lists (`httpRoutes: [{name, useHeaderRoutes}]`), or found by
label (`httpRouteSelector`, ...; such routes get weights but no header rules); `namespace` defaults to the
Rollout's; while the canary has a share each route carries the in-progress label unless
`disableInProgressLabel`. The plugin's `configMap` setting is accepted and unused: Ramp records its managed
rules on the route itself (see `ramp.traffic.gatewayapi_routes`, which holds every route edit as a pure
function). This module reads the routes, calls those functions, and writes the routes that changed.

Used through `ramp.traffic.registry` by `ramp.rollout.routing`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ramp.api.meta import LabelSelector
from ramp.api.traffic import GatewayAPIRouting, gateway_api_routing
from ramp.kube.resources import Resource
from ramp.kube.selectors import format_label_selector
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
from ramp.traffic.gatewayapi_routes import (
    IN_PROGRESS_LABEL_KEY,
    IN_PROGRESS_LABEL_VALUE,
    apply_weights,
    header_rule,
    mirror_rule,
    put_rule,
    split_route,
    with_in_progress_label,
    without_managed_rules,
)

Obj = dict[str, Any]
GROUP = "gateway.networking.k8s.io"
HTTP_ROUTES = Resource(GROUP, "v1", "httproutes", "HTTPRoute")
GRPC_ROUTES = Resource(GROUP, "v1", "grpcroutes", "GRPCRoute")
TCP_ROUTES = Resource(GROUP, "v1alpha2", "tcproutes", "TCPRoute")
TLS_ROUTES = Resource(GROUP, "v1alpha2", "tlsroutes", "TLSRoute")
PLUGIN_FIELD = "spec.strategy.canary.trafficRouting.plugins.argoproj-labs/gatewayAPI"
NATIVE_FIELD = "spec.strategy.canary.trafficRouting.gatewayAPI"
RuleBuilder = Callable[[Obj, "RouteRef"], Obj]


@dataclass(frozen=True)
class RouteRef:
    """One route the Rollout names: its kind, name, the settings field naming it, and header-route use."""

    resource: Resource
    name: str
    field_path: str
    use_header_routes: bool = True


def configured_routes(settings: GatewayAPIRouting, base: str) -> list[RouteRef]:
    """Every route the settings name: single fields first, then the lists (selectors are resolved apart)."""
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


def route_selectors(settings: GatewayAPIRouting, base: str) -> list[tuple[Resource, str, str]]:
    """(kind, label selector text, settings field) for every route selector given."""
    selectors: tuple[tuple[Resource, LabelSelector | None, str], ...] = (
        (HTTP_ROUTES, settings.http_route_selector, "httpRouteSelector"),
        (GRPC_ROUTES, settings.grpc_route_selector, "grpcRouteSelector"),
        (TCP_ROUTES, settings.tcp_route_selector, "tcpRouteSelector"),
        (TLS_ROUTES, settings.tls_route_selector, "tlsRouteSelector"),
    )
    return [
        (resource, format_label_selector(selector.model_dump(by_alias=True, exclude_none=True)), f"{base}.{name}")
        for resource, selector, name in selectors
        if selector is not None
    ]


def in_progress_label(settings: GatewayAPIRouting) -> tuple[str, str] | None:
    """The (key, value) routes carry while the canary has a share; None when disabled."""
    if settings.disable_in_progress_label:
        return None
    return (
        settings.in_progress_label_key or IN_PROGRESS_LABEL_KEY,
        settings.in_progress_label_value or IN_PROGRESS_LABEL_VALUE,
    )


class GatewayAPIRouter(RouterBase):
    """Shifts traffic with Gateway API route backendRef weights for one Rollout."""

    name = "plugins/argoproj-labs/gatewayAPI"

    def __init__(self, context: RouterContext, io: RouterIO) -> None:
        super().__init__(context, io)
        native = context.routing.gateway_api is not None
        self.base = NATIVE_FIELD if native else PLUGIN_FIELD
        settings = gateway_api_routing(context.routing)
        if settings is None:
            raise RouterError(f"{self.base}: missing; name the routes to shift traffic on (httpRoute, ...)")
        self.settings = settings
        namespace = settings.namespace or context.namespace
        self.route_io = io if namespace == context.namespace else io.for_namespace(namespace)

    async def _write(self, resource: Resource, route: Obj) -> None:
        before = self.route_io.writes
        await self.route_io.replace(resource, route)
        if self.route_io is not self.io:
            # Writes in the routes' namespace count towards the reconcile's total too.
            self.io.writes += self.route_io.writes - before

    async def _routes(self) -> list[RouteRef]:
        """The named routes, then those the selectors find (weights only, as the plugin treats them)."""
        routes = configured_routes(self.settings, self.base)
        named = {(r.resource, r.name) for r in routes}
        for resource, selector, field_path in route_selectors(self.settings, self.base):
            for found in await self.route_io.list(resource, label_selector=selector or None):
                name = str(found["metadata"]["name"])
                if (resource, name) not in named:
                    named.add((resource, name))
                    routes.append(RouteRef(resource, name, field_path, use_header_routes=False))
        if not routes:
            raise RouterError(
                f"{self.base}: names no route (or its selectors match none); set httpRoute, grpcRoute, tcpRoute "
                "or tlsRoute"
            )
        return routes

    async def set_weight(self, weights: Weights) -> None:
        # Every route is read and checked before any is written, so one bad route changes nothing.
        label = in_progress_label(self.settings)
        updated = []
        for ref in await self._routes():
            route = await self.route_io.get(ref.resource, ref.name, ref.field_path)
            weighted = apply_weights(route, weights, ref.field_path)
            if label is not None:
                weighted = with_in_progress_label(weighted, weights.canary.weight, *label)
            updated.append((ref, weighted))
        for ref, route in updated:
            await self._write(ref.resource, route)

    async def _put(self, name: str, build: RuleBuilder | None, kinds: tuple[Resource, ...]) -> None:
        """Put (or with no builder remove) the managed rule `name` on every route of these kinds using it."""
        canary = self.context.canary_service
        updated = []
        for ref in await self._routes():
            if ref.resource not in kinds or not ref.use_header_routes:
                continue
            route = await self.route_io.get(ref.resource, ref.name, ref.field_path)
            rule = build(route, ref) if build is not None else None
            updated.append((ref, put_rule(route, name, rule, self.context.managed_routes, canary)))
        for ref, route in updated:
            await self._write(ref.resource, route)

    async def set_header_route(self, route: HeaderRoute) -> None:
        canary = self.context.canary_service

        def build(found: Obj, ref: RouteRef) -> Obj:
            return header_rule(found, route, canary, ref.field_path)

        await self._put(route.name, build if route.matches else None, (HTTP_ROUTES, GRPC_ROUTES))

    async def set_mirror_route(self, route: MirrorRoute) -> None:
        canary = self.context.canary_service

        def build(found: Obj, ref: RouteRef) -> Obj:
            return mirror_rule(found, route, canary, ref.field_path)

        await self._put(route.name, build if route.matches else None, (HTTP_ROUTES,))

    async def remove_managed_routes(self) -> None:
        canary = self.context.canary_service
        for ref in await self._routes():
            route = await self.route_io.find(ref.resource, ref.name)
            if route is not None and split_route(route, canary).managed_rules:
                await self._write(ref.resource, without_managed_rules(route, canary))

    async def remove(self) -> None:
        """Everything to stable, managed rules and the in-progress label removed; the routes are the user's and
        stay."""
        await self.remove_managed_routes()
        everything = Weights(
            Destination(self.context.canary_service, 0),
            Destination(self.context.stable_service, self.context.total),
            total=self.context.total,
        )
        label = in_progress_label(self.settings)
        for ref in await self._routes():
            route = await self.route_io.find(ref.resource, ref.name)
            if route is None:
                continue
            try:
                restored = apply_weights(route, everything, ref.field_path)
            except RouterError:
                restored = route  # the route no longer names both Services: no weights of ours to put back
            if label is not None:
                restored = with_in_progress_label(restored, 0, *label)
            await self._write(ref.resource, restored)


class NativeGatewayAPIRouter(GatewayAPIRouter):
    """The same router under Ramp's native `gatewayAPI` key."""

    name = "gatewayAPI"
