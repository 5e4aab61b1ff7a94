"""Replica arithmetic for canary rollouts: how many pods the canary and stable ReplicaSets get, one step at a time.

Pure functions over plain counts, no I/O. The Rollout reconciler (`ramp.rollout.canary`) reads the ReplicaSets of a
Rollout into `ReplicaSetCounts`, asks this module for the spec replica counts to write, and writes them; the step
logic (`ramp.core`) supplies the weight. The rules follow the documented behaviour of Argo Rollouts
(utils/replicaset/canary.go, rollout/canary.go):

- Without a traffic router the weight is carried by pod counts (`approximate_weighted_counts`), and the canary and
  stable move towards those counts in small safe steps (`calculate_basic_canary_counts`): the sum of spec replicas
  never exceeds `replicas + maxSurge`, and scale-downs never take the available pods below
  `replicas - maxUnavailable`. ReplicaSets that are neither canary nor stable are scaled to zero first
  (`calculate_older_scale_down`), and the canary and stable are not scaled down while any of them has replicas.
- With a traffic router the router carries the weight, so the stable stays at full size and the canary is sized
  from the weight (`calculate_routed_canary_counts`).

A canary Rollout without steps (or the very first deploy) uses weight 100, which is a Deployment-style rolling
update bounded by maxSurge and maxUnavailable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

from ramp.api.meta import resolve_int_or_percent

__all__ = [
    "CanaryCounts",
    "CanaryScale",
    "ObservedWeights",
    "ReplicaSetCounts",
    "SurgeLimits",
    "approximate_weighted_counts",
    "calculate_basic_canary_counts",
    "calculate_older_scale_down",
    "calculate_routed_canary_counts",
    "is_replica_progress_met",
    "resolve_surge_limits",
]

MAX_WEIGHT = 100


@dataclass(frozen=True)
class ReplicaSetCounts:
    """The counts of one ReplicaSet this module needs: `spec.replicas` and `status.availableReplicas`."""

    name: str
    replicas: int
    available: int


@dataclass(frozen=True)
class SurgeLimits:
    """maxSurge and maxUnavailable resolved to pod counts (see `resolve_surge_limits`)."""

    max_surge: int
    max_unavailable: int


class CanaryCounts(NamedTuple):
    """Spec replica counts for the canary and the stable ReplicaSet; unpacks as `(canary, stable)`."""

    canary: int
    stable: int


@dataclass(frozen=True)
class CanaryScale:
    """The setCanaryScale step in effect: explicit `replicas`, or a `weight`, or (neither) match the traffic weight."""

    replicas: int | None = None
    weight: int | None = None


@dataclass(frozen=True)
class ObservedWeights:
    """The traffic weights the router reports now (status.canary.weights): canary and stable, out of 100."""

    canary: int
    stable: int


def resolve_surge_limits(replicas: int, max_surge: int | str, max_unavailable: int | str) -> SurgeLimits:
    """Resolve maxSurge and maxUnavailable (a count or a percentage such as "25%") against `replicas`.

    A maxSurge percentage rounds up, a maxUnavailable percentage rounds down. When both come to 0 (rounding can do
    that), maxUnavailable becomes 1 so a rollout can still make progress. maxUnavailable never exceeds `replicas`.

    >>> resolve_surge_limits(10, "25%", "25%")
    SurgeLimits(max_surge=3, max_unavailable=2)
    >>> resolve_surge_limits(3, 0, "25%")  # 0.75 rounds down to 0, both zero: one pod may be unavailable
    SurgeLimits(max_surge=0, max_unavailable=1)
    >>> resolve_surge_limits(0, "25%", "25%")
    SurgeLimits(max_surge=0, max_unavailable=0)

    Raises ValueError naming the field for a value that is neither, or is negative.
    """
    surge = _resolve_field("maxSurge", max_surge, replicas, round_up=True)
    unavailable = _resolve_field("maxUnavailable", max_unavailable, replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return SurgeLimits(max_surge=surge, max_unavailable=min(unavailable, max(replicas, 0)))


def _resolve_field(field: str, value: int | str, replicas: int, *, round_up: bool) -> int:
    try:
        count = resolve_int_or_percent(value, replicas, round_up=round_up)
    except ValueError as error:
        raise ValueError(
            f'spec.strategy.canary.{field}: {error}; use a count such as 1 or a percentage such as "25%"'
        ) from None
    if count < 0:
        raise ValueError(f"spec.strategy.canary.{field}: {value!r} is negative; use 0 or more")
    return count


def approximate_weighted_counts(replicas: int, weight: int, max_surge: int) -> CanaryCounts:
    """The (canary, stable) pod counts that best carry `weight` percent of traffic without a traffic router.

    Candidates are the floor and the ceiling of `replicas * weight / 100` canary pods, out of a total of `replicas`
    or, when `max_surge > 0`, `replicas + 1`. The candidate whose canary share is closest to `weight` wins; on a tie
    the total without the surge pod wins, then the larger canary. A weight of 1-99 never leaves either side with 0
    pods, except with 1 replica and no surge (where there is no room for two pods).

    >>> approximate_weighted_counts(10, 20, 1)
    CanaryCounts(canary=2, stable=8)
    >>> approximate_weighted_counts(10, 25, 1)  # 3 of 11 (27.3%) is closer than 2 of 10 or 3 of 10
    CanaryCounts(canary=3, stable=8)
    >>> approximate_weighted_counts(3, 50, 0)  # 1 and 2 of 3 are equally far from 50%: the larger canary
    CanaryCounts(canary=2, stable=1)
    >>> approximate_weighted_counts(1, 10, 1)  # one pod each rather than no canary at all
    CanaryCounts(canary=1, stable=1)
    >>> approximate_weighted_counts(1, 10, 0)
    CanaryCounts(canary=0, stable=1)
    """
    if replicas <= 0:
        return CanaryCounts(0, 0)
    if weight <= 0:
        return CanaryCounts(0, replicas)
    if weight >= MAX_WEIGHT:
        return CanaryCounts(replicas, 0)
    target = Fraction(weight, MAX_WEIGHT)
    exact = replicas * target
    counts = {math.floor(exact), math.ceil(exact)}
    totals = [replicas, replicas + 1] if max_surge > 0 else [replicas]
    zero_allowed = replicas == 1 and max_surge == 0
    candidates = [
        (canary, total) for canary in counts for total in totals if zero_allowed or (canary > 0 and total - canary > 0)
    ]
    # Closest share first; an extra (surge) pod only when it is strictly closer; then the larger canary.
    canary, total = min(candidates, key=lambda c: (abs(Fraction(c[0], c[1]) - target), c[1], -c[0]))
    return CanaryCounts(canary, total - canary)


def calculate_basic_canary_counts(
    replicas: int,
    weight: int,
    limits: SurgeLimits,
    canary: ReplicaSetCounts | None,
    stable: ReplicaSetCounts | None,
    others: Sequence[ReplicaSetCounts],
) -> CanaryCounts:
    """The canary and stable spec replicas to write in this reconcile, one safe step towards the weighted counts.

    `canary` is the ReplicaSet of the current template (None: not created yet, treated as 0 pods; the result is the
    count to create it with), `stable` the last fully promoted one (None on the first deploy), `others` every other
    ReplicaSet of the Rollout. When there is no separate stable (None, or the same ReplicaSet as the canary) the canary
    goes to `replicas` and the stable count returned is 0, to be ignored.

    1. Scale up within `replicas + max_surge - sum(spec replicas)`: the stable first, then the canary.
    2. While any of `others` has replicas, stop: those are scaled down first (`calculate_older_scale_down`).
    3. Scale down within `available - (replicas - max_unavailable)`: the canary when its desired count is below its
       spec (the weight fell, e.g. an abort), otherwise the stable. The unavailable pods of the ReplicaSet being scaled
       down count as available here: removing them costs no availability, and a crash-looping ReplicaSet must not
       block the rollout. The other ReplicaSet is trimmed if the total is still above the surge limit, but not below
       what keeps `replicas - max_unavailable` pods available.

    Worked examples (10 replicas, stable 10 of 10 available, no canary pods yet):

    >>> calculate_basic_canary_counts(10, 10, SurgeLimits(1, 1), ReplicaSetCounts("c", 0, 0),
    ...                               ReplicaSetCounts("s", 10, 10), [])
    CanaryCounts(canary=1, stable=9)
    >>> calculate_basic_canary_counts(10, 30, SurgeLimits(3, 0), ReplicaSetCounts("c", 0, 0),
    ...                               ReplicaSetCounts("s", 10, 10), [])  # surge only: stable waits
    CanaryCounts(canary=3, stable=10)
    >>> calculate_basic_canary_counts(10, 30, SurgeLimits(0, 5), ReplicaSetCounts("c", 0, 0),
    ...                               ReplicaSetCounts("s", 10, 10), [])  # no surge: stable makes room first
    CanaryCounts(canary=0, stable=7)
    >>> calculate_basic_canary_counts(10, 30, SurgeLimits(3, 0), ReplicaSetCounts("c", 3, 3),
    ...                               ReplicaSetCounts("s", 10, 10), [])  # next reconcile
    CanaryCounts(canary=3, stable=7)
    """
    desired_canary, desired_stable = approximate_weighted_counts(replicas, weight, limits.max_surge)
    canary = canary or ReplicaSetCounts(name="", replicas=0, available=0)
    has_stable = stable is not None and stable.name != canary.name
    if not has_stable:
        # Nothing to split traffic with: the canary simply becomes the whole Rollout.
        desired_canary, desired_stable = replicas, 0
    current_stable = stable.replicas if stable is not None and has_stable else 0
    new_canary, new_stable = canary.replicas, current_stable

    max_total = replicas + limits.max_surge
    room = max_total - (canary.replicas + current_stable + sum(rs.replicas for rs in others))
    if has_stable and new_stable < desired_stable and room > 0:
        grown = min(desired_stable - new_stable, room)
        new_stable += grown
        room -= grown
    if new_canary < desired_canary and room > 0:
        new_canary += min(desired_canary - new_canary, room)

    if any(rs.replicas > 0 for rs in others):
        return CanaryCounts(new_canary, new_stable)

    min_available = replicas - limits.max_unavailable
    canary_shrinks = desired_canary < canary.replicas
    if canary_shrinks:
        draining, keeping = canary, (stable if has_stable else None)
    elif has_stable and stable is not None:
        draining, keeping = stable, canary
    else:
        return CanaryCounts(new_canary, new_stable)

    countable = _countable_for_scale_down(draining, whole=True)
    if keeping is not None:
        countable += _countable_for_scale_down(keeping, whole=False)
    budget = countable - min_available
    if budget <= 0:
        return CanaryCounts(new_canary, new_stable)

    if canary_shrinks:
        new_canary = max(desired_canary, canary.replicas - budget)
        new_canary, new_stable = _trim_to_surge(canary, new_canary, keeping, new_stable, max_total, min_available)
    else:
        if draining.replicas > desired_stable:
            new_stable = max(desired_stable, draining.replicas - budget)
        new_stable, new_canary = _trim_to_surge(draining, new_stable, canary, new_canary, max_total, min_available)
    return CanaryCounts(new_canary, new_stable)


def _countable_for_scale_down(rs: ReplicaSetCounts, *, whole: bool) -> int:
    """The pods of `rs` that may be counted as available when sizing a scale-down.

    Pods above spec are already on their way out and never count. For the ReplicaSet being scaled down (`whole`)
    every spec pod counts: its unavailable pods are deleted first, so removing them costs no availability.
    """
    if whole or rs.available > rs.replicas:
        return rs.replicas
    return rs.available


def _trim_to_surge(
    draining: ReplicaSetCounts,
    draining_count: int,
    keeping: ReplicaSetCounts | None,
    keeping_count: int,
    max_total: int,
    min_available: int,
) -> tuple[int, int]:
    """Bring the pair back under `max_total` when it is above it (replicas lowered, surge narrowed).

    The kept ReplicaSet gives way first, but only as far as the available pods stay at `min_available`; whatever
    is still above the limit comes off the draining ReplicaSet.
    """
    if keeping is None:
        return draining_count, keeping_count
    excess = max(0, draining_count + keeping_count - max_total)
    if excess == 0:
        return draining_count, keeping_count
    trimmed = keeping_count - excess
    available = min(draining.available, draining_count) + min(keeping.available, trimmed)
    lost = max(0, keeping.available - trimmed)
    trimmed += min(lost, max(0, min_available - available))
    excess = max(0, draining_count + trimmed - max_total)
    return max(0, draining_count - excess), max(0, trimmed)


def calculate_older_scale_down(
    replicas: int,
    limits: SurgeLimits,
    all_sets: Sequence[ReplicaSetCounts],
    older: Sequence[ReplicaSetCounts],
) -> dict[str, int]:
    """New spec replicas for the `older` ReplicaSets (neither canary nor stable), which all go to 0.

    First every older ReplicaSet drops its unavailable pods (spec down to its available count): that costs no
    availability, and unhealthy pods must not hold the rollout up. Then available pods are removed, in the order
    `older` is given (newest revision first, as upstream does), while the available pods of `all_sets` (every
    ReplicaSet of the Rollout, canary and stable included) stay at `replicas - max_unavailable` or more.
    Only the ReplicaSets whose count changes are returned.

    >>> sets = [ReplicaSetCounts("canary", 2, 2), ReplicaSetCounts("stable", 8, 8), ReplicaSetCounts("v1", 3, 1)]
    >>> calculate_older_scale_down(10, SurgeLimits(2, 1), sets, sets[2:])
    {'v1': 0}
    >>> sets = [ReplicaSetCounts("canary", 2, 0), ReplicaSetCounts("stable", 6, 6), ReplicaSetCounts("v1", 3, 3)]
    >>> calculate_older_scale_down(10, SurgeLimits(2, 1), sets, sets[2:])  # 9 available, 9 needed
    {}
    """
    counts = {rs.name: min(rs.replicas, max(rs.available, 0)) for rs in older}
    available = sum(min(rs.available, rs.replicas) for rs in all_sets if rs.replicas > 0)
    budget = available - (replicas - limits.max_unavailable)
    for rs in older:
        if budget <= 0:
            break
        removed = min(counts[rs.name], budget)
        counts[rs.name] -= removed
        budget -= removed
    return {rs.name: counts[rs.name] for rs in older if counts[rs.name] != rs.replicas}


def calculate_routed_canary_counts(
    replicas: int,
    weight: int,
    min_pods_per_replica_set: int | None = None,
    dynamic_stable_scale: bool = False,
    canary_scale: CanaryScale | None = None,
    observed: ObservedWeights | None = None,
    aborted: bool = False,
) -> CanaryCounts:
    """The canary and stable spec replicas when a traffic router carries the weight.

    The canary gets `ceil(replicas * weight / 100)` pods (at least `min_pods_per_replica_set`, capped at `replicas`,
    when above 0); the setCanaryScale in effect overrides that with its explicit `replicas` or its own `weight`.
    The stable stays at `replicas`, unless `dynamic_stable_scale`: then it gets the pods for its traffic share,
    `ceil(replicas * (100 - weight) / 100)`, but no fewer than the share the router still sends it (`observed`),
    so pods never go before their traffic. Likewise an aborted canary keeps the pods for the traffic it still gets.

    >>> calculate_routed_canary_counts(10, 15)
    CanaryCounts(canary=2, stable=10)
    >>> calculate_routed_canary_counts(10, 5, min_pods_per_replica_set=2)
    CanaryCounts(canary=2, stable=10)
    >>> calculate_routed_canary_counts(10, 20, dynamic_stable_scale=True, observed=ObservedWeights(10, 90))
    CanaryCounts(canary=2, stable=9)
    >>> calculate_routed_canary_counts(10, 20, canary_scale=CanaryScale(replicas=5))
    CanaryCounts(canary=5, stable=10)
    """
    if canary_scale is not None and canary_scale.replicas is not None:
        canary = canary_scale.replicas
    else:
        canary_weight = canary_scale.weight if canary_scale is not None and canary_scale.weight is not None else weight
        canary = _at_least_min_pods(_pods_for_weight(replicas, canary_weight), min_pods_per_replica_set, replicas)
    if not dynamic_stable_scale:
        return CanaryCounts(canary, replicas)
    stable = _pods_for_weight(replicas, MAX_WEIGHT - weight)
    if observed is not None:
        stable = max(stable, _pods_for_weight(replicas, observed.stable))
        if aborted:
            canary = max(canary, _pods_for_weight(replicas, observed.canary))
    return CanaryCounts(canary, _at_least_min_pods(stable, min_pods_per_replica_set, replicas))


def _pods_for_weight(replicas: int, weight: int) -> int:
    """Pods for a traffic share, rounded up: `weight` percent must never land on fewer pods than it needs."""
    return max(0, -(-replicas * weight // MAX_WEIGHT))


def _at_least_min_pods(count: int, min_pods: int | None, replicas: int) -> int:
    if count == 0 or min_pods is None:
        return count
    return max(count, min(min_pods, replicas))


def is_replica_progress_met(available: int, desired: int, threshold_type: str, value: int) -> bool:
    """Whether a canary ReplicaSet with `available` pods has made the progress towards `desired` that its
    replicaProgressThreshold asks (upstream's ReplicaProgressThresholdMet): with `Percent` that share of `desired`
    (met when nothing is desired), with `Pods` that many. Having every desired pod available is always enough, so
    a threshold above `desired` never holds a step back. Without a threshold callers want all desired pods.

    >>> is_replica_progress_met(3, 4, "Percent", 75)
    True
    >>> is_replica_progress_met(2, 4, "Pods", 2)
    True
    >>> is_replica_progress_met(1, 1, "Pods", 3)
    True
    """
    if available >= desired:
        return True
    if value < 0:
        return False
    if threshold_type == "Percent":
        return available * MAX_WEIGHT >= value * desired
    if threshold_type == "Pods":
        return available >= value
    return False
