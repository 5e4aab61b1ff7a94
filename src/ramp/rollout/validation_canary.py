"""Rules of the canary strategy: surge and unavailability, its Services, ping-pong, traffic routing, and the
settings that only mean something with a router.

Part of the Rollout validation (`ramp.rollout.validation` is the entry point); the steps' rules are in
`ramp.rollout.validation_steps`, the router registry (`ramp.traffic.registry`) says which routers exist.
Messages start with upstream's known string where there is one (pkg/apis/rollouts/validation); the fix follows.
Pure: no I/O.
"""

from __future__ import annotations

from ramp.api import Problem, Rollout
from ramp.api.strategy import CanaryStrategy
from ramp.api.traffic import RolloutTrafficRouting, configured_routers
from ramp.rollout.validation_pods import check_anti_affinity
from ramp.rollout.validation_steps import check_steps, uses_gateway_api
from ramp.traffic.registry import describe_unsupported, unsupported_routers

CANARY = "spec.strategy.canary"
ROUTING = f"{CANARY}.trafficRouting"
MAX_SURGE_AND_UNAVAILABLE_ZERO = "MaxSurge and MaxUnavailable both can not be zero"
DUPLICATE_CANARY_SERVICES = (
    "This rollout uses the same service for the stable and canary services, but two different services are required."
)
DUPLICATE_PING_PONG_SERVICES = (
    "This rollout uses the same service for the ping and pong services, but two different services are required."
)
PING_PONG_SERVICES_MISSING = "Ping service and Pong service must to be set to use Ping-Pong feature"
PING_PONG_ROUTERS = "Ping-pong feature works with the ALB, Istio, and plugin-based traffic routers only"
PING_PONG_ALB_ROOT_SERVICE = (
    "Root service field is required for the configuration with ALB and ping-pong feature enabled"
)
ROUTING_NEEDS_SERVICES = "Canary service and Stable service must to be set to use Traffic Routing"
SCALE_DOWN_DELAY_WITHOUT_ROUTING = "Canary scaleDownDelaySeconds can only be used with traffic routing"
DYNAMIC_STABLE_SCALE_WITHOUT_ROUTING = "Canary dynamicStableScale can only be used with traffic routing"
DYNAMIC_STABLE_SCALE_WITH_DELAY = "Canary dynamicStableScale cannot be used with scaleDownDelaySeconds"


def check_canary(rollout: Rollout, canary: CanaryStrategy) -> list[Problem]:
    """Every problem of `spec.strategy.canary`, its traffic routing and its steps."""
    problems = _check_surge(canary)
    if canary.canary_service and canary.canary_service == canary.stable_service:
        problems.append(
            Problem(f"{CANARY}.stableService", f"{DUPLICATE_CANARY_SERVICES} Use another Service for canaryService")
        )
    if canary.ping_pong is not None:
        problems += _check_ping_pong(canary)
    routing = canary.traffic_routing
    if routing is None:
        problems += _check_unrouted(canary)
    else:
        problems += _check_routing(canary, routing)
    problems += check_anti_affinity(canary.anti_affinity, f"{CANARY}.antiAffinity")
    problems += check_steps(rollout, canary)
    return problems


def _percent_or_count(value: int | str) -> int:
    """The number in an IntOrString as upstream compares it ("0%" and 0 are both 0); -1 when unreadable."""
    text = str(value).strip().removesuffix("%")
    try:
        return int(text)
    except ValueError:
        return -1


def _check_surge(canary: CanaryStrategy) -> list[Problem]:
    if _percent_or_count(canary.effective_max_surge) == 0 and _percent_or_count(canary.effective_max_unavailable) == 0:
        return [
            Problem(
                f"{CANARY}.maxSurge",
                f"{MAX_SURGE_AND_UNAVAILABLE_ZERO}; allow at least one extra (maxSurge) or one missing "
                "(maxUnavailable) pod",
            )
        ]
    return []


def _check_ping_pong(canary: CanaryStrategy) -> list[Problem]:
    ping_pong = canary.ping_pong
    if ping_pong is None:
        return []
    where = f"{CANARY}.pingPong"
    problems: list[Problem] = []
    for key, value in (("pingService", ping_pong.ping_service), ("pongService", ping_pong.pong_service)):
        if not value:
            problems.append(Problem(f"{where}.{key}", f"{PING_PONG_SERVICES_MISSING}; name a Service"))
    if ping_pong.ping_service and ping_pong.ping_service == ping_pong.pong_service:
        problems.append(
            Problem(f"{where}.pingService", f"{DUPLICATE_PING_PONG_SERVICES} Use another Service for pongService")
        )
    if canary.stable_service or canary.canary_service:
        problems.append(
            Problem(where, "cannot be used with stableService/canaryService; use pingPong or those two, not both")
        )
    routing = canary.traffic_routing
    if routing is not None:
        if routing.alb is None and routing.istio is None and not uses_gateway_api(routing):
            problems.append(
                Problem(f"{ROUTING}.alb", f"{PING_PONG_ROUTERS}; use alb, istio or gatewayAPI, or drop pingPong")
            )
        if routing.alb is not None and not routing.alb.root_service:
            problems.append(
                Problem(
                    f"{ROUTING}.alb.rootService",
                    f"{PING_PONG_ALB_ROOT_SERVICE}; name the Service the Ingress rules use",
                )
            )
    return problems


def _check_unrouted(canary: CanaryStrategy) -> list[Problem]:
    """Settings that only act with a traffic router: without one they would be silently ignored."""
    problems: list[Problem] = []
    if canary.scale_down_delay_seconds is not None:
        problems.append(
            Problem(
                f"{CANARY}.scaleDownDelaySeconds",
                f"{SCALE_DOWN_DELAY_WITHOUT_ROUTING}; remove it (a basic canary scales the old pods down at once) "
                f"or add {ROUTING}",
            )
        )
    if canary.dynamic_stable_scale:
        problems.append(
            Problem(
                f"{CANARY}.dynamicStableScale",
                f"{DYNAMIC_STABLE_SCALE_WITHOUT_ROUTING}; remove it or add {ROUTING}",
            )
        )
    if canary.abort_scale_down_delay_seconds is not None:
        problems.append(
            Problem(
                f"{CANARY}.abortScaleDownDelaySeconds",
                "can only be used with traffic routing (without it an aborted canary is scaled down at once); "
                f"remove it or add {ROUTING}",
            )
        )
    if canary.min_pods_per_replica_set is not None:
        problems.append(
            Problem(
                f"{CANARY}.minPodsPerReplicaSet",
                "can only be used with traffic routing (without it the weight sets the pod counts); "
                f"remove it or add {ROUTING}",
            )
        )
    return problems


def _check_routing(canary: CanaryStrategy, routing: RolloutTrafficRouting) -> list[Problem]:
    """A router needs the two Services it shifts traffic between (or pingPong), and must be one Ramp drives."""
    problems: list[Problem] = []
    keys = configured_routers(routing)
    # Istio subset-level splitting routes to DestinationRule subsets of one host: no Services needed (upstream).
    subset_only = keys == ["istio"] and routing.istio is not None and routing.istio.destination_rule is not None
    if canary.ping_pong is None:
        for field_name, value in (("stableService", canary.stable_service), ("canaryService", canary.canary_service)):
            if not value and not subset_only:
                share = field_name.removesuffix("Service")
                problems.append(
                    Problem(
                        f"{CANARY}.{field_name}",
                        f"{ROUTING_NEEDS_SERVICES}; name the Service the router sends the {share} share to "
                        "(or use pingPong)",
                    )
                )
    if canary.scale_down_delay_seconds is not None and canary.dynamic_stable_scale:
        problems.append(
            Problem(
                f"{CANARY}.dynamicStableScale",
                f"{DYNAMIC_STABLE_SCALE_WITH_DELAY}; remove one of dynamicStableScale and scaleDownDelaySeconds",
            )
        )
    if not keys:
        problems.append(Problem(ROUTING, "names no router; add one (nginx, istio, ...)"))
    for key in unsupported_routers(keys):
        path, _, message = describe_unsupported(key).partition(": ")
        problems.append(Problem(path, message))
    problems += _check_router_objects(routing)
    names = [route.name for route in routing.managed_routes or []]
    for index, name in enumerate(names):
        if name in names[:index]:
            problems.append(
                Problem(
                    f"{ROUTING}.managedRoutes[{index}].name",
                    f"duplicate managed route name {name!r}; give each managed route a unique name",
                )
            )
    return problems


def _check_router_objects(routing: RolloutTrafficRouting) -> list[Problem]:
    """Routers that take one object or a list of them take exactly one of the two fields."""
    problems: list[Problem] = []
    pairs: list[tuple[str, str, str, bool, bool, str]] = []
    if routing.nginx is not None:
        nginx = routing.nginx
        pairs.append(
            (
                "nginx",
                "StableIngress",
                "StableIngresses",
                bool(nginx.stable_ingress),
                bool(nginx.stable_ingresses),
                "stableIngress or stableIngresses",
            )
        )
    if routing.alb is not None:
        alb = routing.alb
        pairs.append(("alb", "Ingress", "Ingresses", bool(alb.ingress), bool(alb.ingresses), "ingress or ingresses"))
    for router, one, many, has_one, has_many, fix in pairs:
        if has_one and has_many:
            message = f"Either {one} or {many} must be configured. Both are configured.; keep only one of {fix}"
            problems.append(Problem(f"{ROUTING}.{router}", message))
        elif not has_one and not has_many:
            message = f"Either {one} or {many} must be configured. Neither are configured.; set {fix}"
            problems.append(Problem(f"{ROUTING}.{router}", message))
    istio = routing.istio
    if istio is not None and (istio.virtual_service is None) == (not istio.virtual_services):
        problems.append(
            Problem(
                f"{ROUTING}.istio",
                "either VirtualService or VirtualServices must be configured; set exactly one of virtualService "
                "and virtualServices",
            )
        )
    return problems
