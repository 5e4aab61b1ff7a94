"""Traffic decisions of a canary Rollout with a router: the weights, the managed routes, the Service targets.

Pure: `plan_traffic` takes plain values (from `ramp.rollout.canary`) and returns a `TrafficPlan` that
`ramp.rollout.routing` carries out through the routers of `ramp.traffic`. Follows upstream's documented
behaviour (rollout/trafficrouting.go):

- fully promoted (the new ReplicaSet is the stable one): the canary gets 0 and every Service selects stable;
- aborted: 0 at once (with dynamicStableScale, only as fast as the stable pods come back), managed routes removed;
- the new ReplicaSet has no available pod yet: 0;
- promoteFull: the weight already reached is kept until promotion, managed routes removed;
- during the steps: the current setWeight once the canary pods for it are available (the previous one until
  then); after the last step, the whole total.

Experiment templates with a weight take their share from the stable side. The shares always sum to the total.
Header and mirror routes are those of the setHeaderRoute / setMirrorRoute steps reached so far, the latest step
per route name winning; they are re-applied every time, so the routing objects converge even after a restart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ramp.traffic.base import (
    Destination,
    HeaderMatch,
    HeaderRoute,
    MirrorRoute,
    RequestMatch,
    StringMatch,
    Weights,
)

Obj = dict[str, Any]
STABLE_PING_PONG = "stablePingPong"


@dataclass(frozen=True)
class TrafficInputs:
    """What the weight decision reads, as plain values."""

    steps: Sequence[Mapping[str, Any]]
    index: int | None
    total: int
    replicas: int
    aborted: bool
    promote_full: bool
    fully_promoted: bool
    new_available: int
    stable_available: int
    at_desired_counts: bool
    previous_canary_weight: int | None
    """status.canary.weights.canary.weight as last written, if any."""
    dynamic_stable_scale: bool = False


@dataclass(frozen=True)
class TrafficPlan:
    """What the routers should say, and which pod hash each Service should select."""

    weights: Weights
    header_routes: tuple[HeaderRoute, ...]
    mirror_routes: tuple[MirrorRoute, ...]
    remove_routes: bool
    """Remove every managed route (end of the update, abort, promoteFull)."""
    service_hashes: Mapping[str, str]
    """Service name → the pod hash it should select."""

    def status(self, verified: bool | None) -> Obj:
        """`status.canary.weights` as upstream writes it."""

        def shown(destination: Destination) -> Obj:
            # Empty fields are left out, as upstream's omitempty does (no Services with Istio subsets).
            found: Obj = {"podTemplateHash": destination.pod_hash, "serviceName": destination.service}
            return {**{k: v for k, v in found.items() if v}, "weight": destination.weight}

        weights: Obj = {"canary": shown(self.weights.canary), "stable": shown(self.weights.stable)}
        if self.weights.additional:
            weights["additional"] = [shown(d) for d in self.weights.additional]
        if verified is not None:
            weights["verified"] = verified
        return weights


def calculate_canary_weight(inputs: TrafficInputs) -> int:
    """The canary's share of `inputs.total` (see the module docstring for the rules).

    >>> base = dict(total=100, replicas=4, aborted=False, promote_full=False, fully_promoted=False,
    ...             new_available=1, stable_available=4, previous_canary_weight=None)
    >>> steps = [{"setWeight": 10}, {"pause": {}}, {"setWeight": 33}]
    >>> calculate_canary_weight(TrafficInputs(steps, 1, at_desired_counts=True, **base))
    10
    >>> calculate_canary_weight(TrafficInputs(steps, 2, at_desired_counts=False, **base))
    10
    >>> calculate_canary_weight(TrafficInputs(steps, 3, at_desired_counts=True, **base))
    100
    """
    total = inputs.total
    if inputs.fully_promoted:
        return 0
    if inputs.aborted:
        if not inputs.dynamic_stable_scale or inputs.replicas <= 0:
            return 0
        # Traffic goes back only as fast as the stable pods can take it, and never forward again.
        weight = total - (total * min(inputs.stable_available, inputs.replicas)) // inputs.replicas
        if inputs.previous_canary_weight is not None:
            weight = min(weight, inputs.previous_canary_weight)
        return max(weight, 0)
    if inputs.new_available <= 0:
        return 0
    if inputs.promote_full:
        if inputs.dynamic_stable_scale and inputs.replicas > 0:
            return min(total, (total * inputs.new_available) // inputs.replicas)
        return inputs.previous_canary_weight or 0
    if inputs.index is None:
        return 0
    steps = inputs.steps
    if not inputs.at_desired_counts:
        return _last_set_weight(steps, inputs.index - 1)
    if inputs.index < len(steps):
        return _last_set_weight(steps, inputs.index)
    return total


def _last_set_weight(steps: Sequence[Mapping[str, Any]], index: int) -> int:
    for step in reversed(steps[: index + 1] if index >= 0 else []):
        if "setWeight" in step:
            return int(step["setWeight"])
    return 0


def split_weights(
    canary_weight: int,
    total: int,
    canary: tuple[str, str],
    stable: tuple[str, str],
    additional: Sequence[Destination] = (),
) -> Weights:
    """Canary and additional shares as asked, capped so that nothing exceeds the total; stable gets the rest.

    >>> split_weights(10, 100, ("c", "h2"), ("s", "h1")).stable.weight
    90
    >>> w = split_weights(90, 100, ("c", "h2"), ("s", "h1"), [Destination("e", 20)])
    >>> (w.canary.weight, w.additional[0].weight, w.stable.weight)
    (80, 20, 0)
    """
    remaining = total
    extra: list[Destination] = []
    for destination in additional:
        share = max(0, min(destination.weight, remaining))
        extra.append(Destination(destination.service, share, destination.pod_hash))
        remaining -= share
    canary_share = max(0, min(canary_weight, remaining))
    return Weights(
        canary=Destination(canary[0], canary_share, canary[1]),
        stable=Destination(stable[0], remaining - canary_share, stable[1]),
        additional=tuple(extra),
        total=total,
    )


def active_routes(
    steps: Sequence[Mapping[str, Any]], index: int | None
) -> tuple[tuple[HeaderRoute, ...], tuple[MirrorRoute, ...]]:
    """The header and mirror routes the steps up to and including `index` ask for, latest step per name winning.
    A route whose latest step has no match is returned with no matches: the router removes it."""
    headers: dict[str, HeaderRoute] = {}
    mirrors: dict[str, MirrorRoute] = {}
    if index is None:
        return (), ()
    for step in steps[: index + 1]:
        header = step.get("setHeaderRoute")
        if isinstance(header, Mapping) and header.get("name"):
            route = HeaderRoute(str(header["name"]), tuple(_header_match(m) for m in header.get("match") or []))
            headers[route.name] = route
        mirror = step.get("setMirrorRoute")
        if isinstance(mirror, Mapping) and mirror.get("name"):
            percentage = mirror.get("percentage")
            matches = tuple(_request_match(m) for m in mirror.get("match") or [])
            mirrors[str(mirror["name"])] = MirrorRoute(
                str(mirror["name"]), matches, 100 if percentage is None else int(percentage)
            )
    return tuple(headers.values()), tuple(mirrors.values())


def _string_match(value: Any) -> StringMatch:
    found = value if isinstance(value, Mapping) else {}
    for kind in ("exact", "prefix", "regex"):
        if found.get(kind) is not None:
            return StringMatch(kind, str(found[kind]))
    return StringMatch("exact", "")


def _header_match(match: Mapping[str, Any]) -> HeaderMatch:
    return HeaderMatch(str(match.get("headerName") or ""), _string_match(match.get("headerValue")))


def _request_match(match: Mapping[str, Any]) -> RequestMatch:
    headers = match.get("headers") or {}
    return RequestMatch(
        method=_string_match(match["method"]) if match.get("method") else None,
        path=_string_match(match["path"]) if match.get("path") else None,
        headers=tuple(HeaderMatch(str(name), _string_match(value)) for name, value in sorted(headers.items())),
    )


def service_names(strategy: Mapping[str, Any], status: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(stable Service, canary Service): stableService/canaryService, or with pingPong the one of ping and pong
    that is stable now (status.canary.stablePingPong, ping at first) and the other."""
    ping_pong = strategy.get("pingPong")
    if isinstance(ping_pong, Mapping) and ping_pong.get("pingService") and ping_pong.get("pongService"):
        ping, pong = str(ping_pong["pingService"]), str(ping_pong["pongService"])
        stable_is_pong = ((status.get("canary") or {}).get(STABLE_PING_PONG)) == "pong"
        return (pong, ping) if stable_is_pong else (ping, pong)
    stable = strategy.get("stableService")
    canary = strategy.get("canaryService")
    return (str(stable) if stable else None, str(canary) if canary else None)


def service_hashes(
    stable_service: str | None,
    canary_service: str | None,
    stable_hash: str,
    canary_hash: str,
    canary_available: int,
    stable_available: int,
) -> dict[str, str]:
    """Which hash each Service should select. A Service is only pointed at a ReplicaSet that has an available
    pod (upstream's rule), so it never goes from serving to serving nothing."""
    wanted: dict[str, str] = {}
    if stable_service and stable_hash and stable_available > 0:
        wanted[stable_service] = stable_hash
    if canary_service and canary_hash and canary_available > 0:
        wanted[canary_service] = canary_hash
    return wanted
