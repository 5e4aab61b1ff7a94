"""Carries out a canary's `TrafficPlan`: Service selectors first, then every router of the Rollout.

Order matters and follows upstream: the Services are pointed at their pods (a Service only ever moves to a
ReplicaSet with an available pod), then each router gets the pod hashes (subset routing), the weights, and the
managed header and mirror routes. The reconciler calls this before it scales anything, so on an abort the traffic
is back on stable before the canary loses a pod, and a router error stops the reconcile with nothing scaled.

The trafficRouting in effect is recorded on the Rollout (annotation `rollouts.ramp.dev/traffic-routing`), so
that when it leaves the spec, or a router is dropped from it, the routers that were used put their objects back
(all traffic to stable, managed routes and Ramp's own objects removed) instead of leaving a split behind.

A plan already carried out is not carried out again for `RESYNC_SECONDS`: routers read their objects with a GET,
and a Rollout is reconciled far more often (every pod becoming ready) than its traffic changes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ramp.api.traffic import RolloutTrafficRouting, configured_routers
from ramp.kube.caches import Informers
from ramp.kube.client import KubeClient
from ramp.kube.selectors import inherited_instance_id
from ramp.rollout import services
from ramp.rollout.traffic import TrafficPlan
from ramp.traffic.base import HeaderRoute, MirrorRoute, Router, RouterContext, RouterError, RouterIO, UnsupportedFeature
from ramp.traffic.registry import build_routers

ROUTING_ANNOTATION = "rollouts.ramp.dev/traffic-routing"
RESYNC_SECONDS = 300.0


@dataclass(frozen=True)
class RoutingOutcome:
    """What carrying out the plan found: whether the data plane confirmed the weights (None: cannot tell)."""

    verified: bool | None = None
    writes: int = 0


def routing_record(raw: Mapping[str, Any]) -> str | None:
    """The annotation value recording the trafficRouting in effect (None without one)."""
    canary = ((raw.get("spec") or {}).get("strategy") or {}).get("canary") or {}
    routing = canary.get("trafficRouting")
    if not isinstance(routing, Mapping):
        return None
    record = {
        "trafficRouting": routing,
        "stableService": canary.get("stableService"),
        "canaryService": canary.get("canaryService"),
        "pingPong": canary.get("pingPong"),
    }
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def recorded_routing(raw: Mapping[str, Any]) -> Mapping[str, Any] | None:
    value = ((raw.get("metadata") or {}).get("annotations") or {}).get(ROUTING_ANNOTATION)
    if not value:
        return None
    try:
        found = json.loads(str(value))
    except ValueError:
        return None
    return found if isinstance(found, Mapping) else None


def context_of(
    raw: Mapping[str, Any], routing: Mapping[str, Any], stable_service: str, canary_service: str
) -> RouterContext:
    meta = raw["metadata"]
    model = RolloutTrafficRouting.model_validate(routing)
    return RouterContext(
        namespace=str(meta["namespace"]),
        rollout_name=str(meta["name"]),
        rollout_uid=str(meta.get("uid") or ""),
        routing=model,
        stable_service=stable_service,
        canary_service=canary_service,
        managed_routes=tuple(route.name for route in model.managed_routes or []),
    )


class TrafficRouting:
    """Drives the Services and routers of canary Rollouts; one instance per controller (it keeps the memo)."""

    def __init__(self, client: KubeClient, informers: Informers) -> None:
        self.client = client
        self.informers = informers
        self._applied: dict[str, tuple[str, float, bool | None]] = {}

    def forget(self, key: str) -> None:
        self._applied.pop(key, None)

    async def switch_services(self, raw: Mapping[str, Any], plan: TrafficPlan) -> list[tuple[str, str, str]]:
        """Point each Service at its hash; returns (service, from hash, to hash) for each switch made."""
        namespace = str(raw["metadata"]["namespace"])
        name = str(raw["metadata"]["name"])
        switched = []
        for service_name, pod_hash in sorted(plan.service_hashes.items()):
            service = services.find_service(self.informers, namespace, service_name)
            if service is None:
                raise RouterError(f'Service "{service_name}" not found in namespace {namespace}; create it')
            before = services.selected_hash(service)
            if await services.switch_selector(self.client, self.informers, service, name, pod_hash):
                switched.append((service_name, before, pod_hash))
        return switched

    async def route(
        self, raw: Mapping[str, Any], plan: TrafficPlan, stable_service: str, canary_service: str
    ) -> RoutingOutcome:
        """Make every router of the Rollout say what `plan` says (skipped when just done)."""
        canary = ((raw.get("spec") or {}).get("strategy") or {}).get("canary") or {}
        routing = canary.get("trafficRouting")
        if not isinstance(routing, Mapping):
            return RoutingOutcome()
        key = f"{raw['metadata']['namespace']}/{raw['metadata']['name']}"
        fingerprint = json.dumps([repr(plan), routing, stable_service, canary_service], sort_keys=True, default=str)
        memo = self._applied.get(key)
        now = time.monotonic()
        if memo is not None and memo[0] == fingerprint and now - memo[1] < RESYNC_SECONDS and memo[2] is not False:
            return RoutingOutcome(verified=memo[2])
        context = context_of(raw, routing, stable_service, canary_service)
        io = RouterIO(self.client, context.namespace, inherited_instance_id(raw), self.informers.is_watched)
        verified: bool | None = None
        for router in build_routers(context, io):
            await _apply(router, plan)
            result = await router.verify_weight(plan.weights)
            if result is not None:
                verified = result if verified is None else (verified and result)
        self._applied[key] = (fingerprint, now, verified)
        return RoutingOutcome(verified=verified, writes=io.writes)

    async def restore(self, raw: Mapping[str, Any]) -> bool:
        """Put back what the routers that left the spec had changed; True when some router was restored."""
        annotations = (raw.get("metadata") or {}).get("annotations") or {}
        if annotations.get(ROUTING_ANNOTATION) == routing_record(raw):
            return False  # the routing in effect is the one recorded: nothing left the spec
        recorded = recorded_routing(raw)
        routing = recorded.get("trafficRouting") if recorded is not None else None
        if recorded is None or not isinstance(routing, Mapping):
            return False
        canary = ((raw.get("spec") or {}).get("strategy") or {}).get("canary") or {}
        current = canary.get("trafficRouting")
        kept = set(configured_routers(RolloutTrafficRouting.model_validate(current))) if current else set()
        gone = set(configured_routers(RolloutTrafficRouting.model_validate(routing))) - kept
        if not gone:
            return False
        ping_pong = recorded.get("pingPong") or {}
        stable = str(recorded.get("stableService") or ping_pong.get("pingService") or "")
        canary_service = str(recorded.get("canaryService") or ping_pong.get("pongService") or "")
        context = context_of(raw, routing, stable, canary_service)
        io = RouterIO(self.client, context.namespace, inherited_instance_id(raw), self.informers.is_watched)
        for router in build_routers(context, io):
            if router.name in gone:
                await router.remove()
        self.forget(f"{raw['metadata']['namespace']}/{raw['metadata']['name']}")
        return True


async def _apply(router: Router, plan: TrafficPlan) -> None:
    weights = plan.weights
    await router.update_hash(weights.canary.pod_hash, weights.stable.pod_hash, weights.additional)
    await router.set_weight(weights)
    if plan.remove_routes:
        await router.remove_managed_routes()
        return
    for header in plan.header_routes:
        await _set_route(router.set_header_route, header)
    for mirror in plan.mirror_routes:
        await _set_route(router.set_mirror_route, mirror)


async def _set_route(setter: Any, route: HeaderRoute | MirrorRoute) -> None:
    try:
        await setter(route)
    except UnsupportedFeature:
        if route.matches:
            raise
