"""Which router drives a trafficRouting key: a registry keyed by the spec field, never an if-chain.

Keys are what `ramp.api.traffic.configured_routers` returns ("nginx", "istio", ...; plugins as
"plugins/<name>", with Gateway API built in as "plugins/argoproj-labs/gatewayAPI"). `build_routers` makes the
routers of one Rollout for one reconcile; a key without a router is a `RouterError` naming the field, so the
Rollout stops with a clear message and nothing is shifted. Used by `ramp.rollout.routing` and by validation.
"""

from __future__ import annotations

from collections.abc import Mapping

from ramp.api.traffic import configured_routers
from ramp.traffic.alb import ALBRouter
from ramp.traffic.ambassador import AmbassadorRouter
from ramp.traffic.apisix import ApisixRouter
from ramp.traffic.base import Router, RouterBase, RouterContext, RouterError, RouterFactory, RouterIO
from ramp.traffic.gatewayapi import GatewayAPIRouter, NativeGatewayAPIRouter
from ramp.traffic.istio import IstioRouter
from ramp.traffic.nginx import NginxRouter
from ramp.traffic.smi import SMIRouter
from ramp.traffic.traefik import TraefikRouter

ROUTERS: Mapping[str, RouterFactory] = {
    "nginx": NginxRouter,
    "istio": IstioRouter,
    "alb": ALBRouter,
    "smi": SMIRouter,
    "ambassador": AmbassadorRouter,
    "traefik": TraefikRouter,
    "apisix": ApisixRouter,
    "gatewayAPI": NativeGatewayAPIRouter,
    "plugins/argoproj-labs/gatewayAPI": GatewayAPIRouter,
}
"""Every supported router by its trafficRouting key."""


def unsupported_routers(keys: list[str]) -> list[str]:
    """The keys among `keys` that no router handles."""
    return [key for key in keys if key not in ROUTERS]


def describe_unsupported(key: str) -> str:
    """The message for a trafficRouting key Ramp has no router for, naming the field and the fix."""
    field_path = key.replace("plugins/", "plugins.", 1)
    supported = ", ".join(sorted(k.replace("plugins/", "plugins.", 1) for k in ROUTERS))
    what = f'router plugin "{key.removeprefix("plugins/")}"' if key.startswith("plugins/") else "this router"
    return f"spec.strategy.canary.trafficRouting.{field_path}: {what} is not supported by Ramp; use one of {supported}"


def is_supporting(key: str, feature: str) -> bool:
    """True when the router for `key` does `feature` ("set_header_route", "set_mirror_route"): it overrides
    RouterBase's default, which refuses the step."""
    factory = ROUTERS.get(key)
    return factory is not None and getattr(factory, feature, None) is not getattr(RouterBase, feature)


def routers_supporting(feature: str) -> list[str]:
    """The trafficRouting keys whose router does `feature`, for messages."""
    return sorted(key.replace("plugins/", "plugins.", 1) for key in ROUTERS if is_supporting(key, feature))


def build_routers(context: RouterContext, io: RouterIO) -> list[Router]:
    """The routers a Rollout's trafficRouting names, in the order of the spec fields."""
    keys = configured_routers(context.routing)
    missing = unsupported_routers(keys)
    if missing:
        raise RouterError("; ".join(describe_unsupported(key) for key in missing))
    return [ROUTERS[key](context, io) for key in keys]
