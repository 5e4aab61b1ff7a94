"""The parts of a canary decision that change when a traffic router carries the weight.

With a router, pod counts no longer approximate the weight: the canary gets the pods for its weight (or what a
setCanaryScale step asks), the stable stays at full size (unless dynamicStableScale), and replaced ReplicaSets
wait `scaleDownDelaySeconds` (default 30, at most `scaleDownDelayRevisionLimit` of them) before they go, so
clients still holding connections are not cut. An aborted canary keeps its pods for
`abortScaleDownDelaySeconds` (default 30; 0 keeps them) after the traffic went back to stable.

Pure functions over a `Snapshot`; `ramp.rollout.canary` calls them and `ramp.rollout.traffic` decides the
weights. The deadline annotation is the one blue-green uses (`scale-down-deadline`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ramp.api import format_timestamp
from ramp.core.conditions import parse_time
from ramp.core.replicas import (
    CanaryCounts,
    CanaryScale,
    ObservedWeights,
    calculate_routed_canary_counts,
    is_replica_progress_met,
)
from ramp.rollout.replicasets import SCALE_DOWN_DEADLINE_ANNOTATION, ReplicaSetView
from ramp.rollout.snapshot import Snapshot

Obj = dict[str, Any]


@dataclass
class RoutedScales:
    """ReplicaSet sizes to set, deadline annotations to write (None removes one), and when to look again."""

    scales: dict[str, int] = field(default_factory=dict)
    deadlines: dict[str, str | None] = field(default_factory=dict)
    requeue_after: float | None = None

    def requeue_in(self, seconds: float) -> None:
        seconds = max(seconds, 0.05)
        if self.requeue_after is None or seconds < self.requeue_after:
            self.requeue_after = seconds


def to_percent(weight: int, total: int) -> int:
    """A weight out of `total` as a percentage, rounded up (a share never lands on fewer pods than it needs)."""
    if total <= 0:
        return 0
    return -(-weight * 100 // total)


def current_canary_scale(steps: Sequence[Mapping[str, Any]], index: int | None) -> CanaryScale | None:
    """The setCanaryScale in effect: the last one at or before `index` (None when none, or matchTrafficWeight)."""
    if index is None:
        return None
    for step in reversed(steps[: index + 1]):
        scale = step.get("setCanaryScale")
        if isinstance(scale, Mapping):
            if scale.get("matchTrafficWeight"):
                return None
            replicas = scale.get("replicas")
            weight = scale.get("weight")
            return CanaryScale(
                replicas=int(replicas) if replicas is not None else None,
                weight=int(weight) if weight is not None else None,
            )
    return None


def observed_weights(status: Mapping[str, Any], total: int) -> ObservedWeights | None:
    """status.canary.weights as percentages, if written."""
    weights = (status.get("canary") or {}).get("weights") or {}
    if not weights:
        return None
    canary = int((weights.get("canary") or {}).get("weight") or 0)
    stable = int((weights.get("stable") or {}).get("weight") or 0)
    return ObservedWeights(to_percent(canary, total), to_percent(stable, total))


def routed_counts(snapshot: Snapshot, status: Mapping[str, Any], weight_percent: int, aborted: bool) -> CanaryCounts:
    """The canary and stable sizes for this weight (see `calculate_routed_canary_counts`)."""
    canary = snapshot.rollout.spec.strategy.canary if snapshot.rollout.spec.strategy else None
    total = canary.effective_max_traffic_weight if canary else 100
    scale = None if aborted else current_canary_scale(snapshot.steps, status.get("currentStepIndex"))
    return calculate_routed_canary_counts(
        snapshot.replicas,
        weight_percent,
        min_pods_per_replica_set=canary.min_pods_per_replica_set if canary else None,
        dynamic_stable_scale=bool(canary and canary.dynamic_stable_scale),
        canary_scale=scale,
        observed=observed_weights(status, total),
        aborted=aborted,
    )


def calculate_routed_scales(
    snapshot: Snapshot,
    status: Mapping[str, Any],
    new: ReplicaSetView,
    stable: ReplicaSetView | None,
    weight_percent: int,
    aborted: bool,
) -> RoutedScales:
    """Sizes for the new, the stable and the replaced ReplicaSets, with their scale-down deadlines."""
    now = snapshot.now
    strategy = snapshot.rollout.spec.strategy
    canary_spec = strategy.canary if strategy else None
    result = RoutedScales()
    replicas = snapshot.replicas
    if stable is None or stable.name == new.name:
        wanted: dict[str, int] = {new.name: replicas}
    else:
        canary_count, stable_count = routed_counts(snapshot, status, weight_percent, aborted)
        wanted = {new.name: canary_count, stable.name: stable_count}
        if aborted:
            wanted[new.name] = _aborted_canary_size(snapshot, status, new, canary_count, result)
    delay = canary_spec.effective_scale_down_delay_seconds if canary_spec else 0
    limit = canary_spec.scale_down_delay_revision_limit if canary_spec else None
    keep = {new.name, *(rs.name for rs in [stable] if rs is not None)}
    waiting = 0
    for rs in sorted(snapshot.sets, key=lambda r: -r.revision):
        deadline_text = _deadline(rs)
        if rs.name in keep:
            if deadline_text is not None:
                result.deadlines[rs.name] = None  # in use again (a rollback): no longer waiting
            continue
        if rs.replicas == 0:
            if deadline_text is not None:
                result.deadlines[rs.name] = None
            continue
        if delay <= 0:
            wanted[rs.name] = 0
            continue
        if deadline_text is None:
            deadline_text = format_timestamp(now + timedelta(seconds=delay))
            result.deadlines[rs.name] = deadline_text
        waiting += 1
        deadline = parse_time(deadline_text)
        if deadline is not None and deadline > now and (limit is None or waiting <= limit):
            result.requeue_in((deadline - now).total_seconds())
            continue
        wanted[rs.name] = 0
        result.deadlines[rs.name] = None
    by_name = {rs.name: rs for rs in snapshot.sets}
    result.scales = {name: size for name, size in wanted.items() if size != by_name[name].replicas}
    return result


def _aborted_canary_size(
    snapshot: Snapshot, status: Mapping[str, Any], new: ReplicaSetView, size: int, result: RoutedScales
) -> int:
    """The aborted canary keeps its pods until abortScaleDownDelaySeconds after the abort (0: for good)."""
    strategy = snapshot.rollout.spec.strategy
    canary_spec = strategy.canary if strategy else None
    delay = canary_spec.effective_abort_scale_down_delay_seconds if canary_spec else 0
    if delay is None:
        return max(new.replicas, size)
    aborted_at: datetime = parse_time(status.get("abortedAt")) or snapshot.now
    remaining = aborted_at + timedelta(seconds=delay) - snapshot.now
    if remaining > timedelta(0):
        result.requeue_in(remaining.total_seconds())
        return max(new.replicas, size)
    return size


def is_at_routed_counts(
    snapshot: Snapshot, status: Mapping[str, Any], new: ReplicaSetView, stable: ReplicaSetView, weight_percent: int
) -> bool:
    """The canary has exactly its pods for this step, available (all, or replicaProgressThreshold of them), and
    the stable has what it needs."""
    canary_want, stable_want = routed_counts(snapshot, status, weight_percent, aborted=False)
    if new.replicas != canary_want:
        return False
    if new.available < canary_want and not is_progress_threshold_met(snapshot, new.available, canary_want):
        return False
    return stable.name == new.name or stable.available >= min(stable_want, stable.replicas)


def is_progress_threshold_met(snapshot: Snapshot, available: int, desired: int) -> bool:
    """spec.strategy.canary.replicaProgressThreshold of the canary's `desired` pods are available (upstream applies
    it to step completion, the routed weight and promotion). False when no threshold is set: the callers then
    want all of them, as before."""
    strategy = snapshot.rollout.spec.strategy
    threshold = strategy.canary.replica_progress_threshold if strategy and strategy.canary else None
    if threshold is None:
        return False
    return is_replica_progress_met(available, desired, threshold.type, threshold.value)


def _deadline(rs: ReplicaSetView) -> str | None:
    value = ((rs.raw.get("metadata") or {}).get("annotations") or {}).get(SCALE_DOWN_DEADLINE_ANNOTATION)
    return str(value) if value is not None else None
