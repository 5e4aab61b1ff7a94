"""The summary lines of a Rollout: its strategy, canary step and weights, and the images running, by upstream's
rules for `get rollout` and `list rollouts`.

- step: `index/steps` when the canary has steps and status.currentStepIndex is set;
- set weight: 0 when aborted; the maximum (trafficRouting.maxTrafficWeight, 100) past the last step; else the
  last setWeight at or before the current step (0 when none);
- actual weight: the maximum past the last step; with pods available, the canary ReplicaSet's share of them
  (no traffic router) or the router's verified weight (status.canary.weights), else 0;
- images: those of ReplicaSets with pods, tagged with their ReplicaSet's markers, sorted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ramp.views.models import ImageView, ReplicaSetView
from ramp.views.symbols import TAG_CANARY

DEFAULT_MAX_WEIGHT = 100


def _canary(rollout: Mapping[str, Any]) -> Mapping[str, Any] | None:
    canary = ((rollout.get("spec") or {}).get("strategy") or {}).get("canary")
    return canary if isinstance(canary, Mapping) else None


def describe_strategy(rollout: Mapping[str, Any]) -> str:
    strategy = (rollout.get("spec") or {}).get("strategy") or {}
    if strategy.get("canary") is not None:
        return "Canary"
    if strategy.get("blueGreen") is not None:
        return "BlueGreen"
    return "unknown"


def max_weight(rollout: Mapping[str, Any]) -> int:
    routing = (_canary(rollout) or {}).get("trafficRouting") or {}
    return int(routing.get("maxTrafficWeight") or DEFAULT_MAX_WEIGHT)


def _step_index(rollout: Mapping[str, Any]) -> int | None:
    index = (rollout.get("status") or {}).get("currentStepIndex")
    return int(index) if index is not None else None


def describe_step(rollout: Mapping[str, Any]) -> str:
    """`2/5`, or empty without steps or a step index."""
    steps = (_canary(rollout) or {}).get("steps") or []
    index = _step_index(rollout)
    return f"{index}/{len(steps)}" if steps and index is not None else ""


def _current_step(rollout: Mapping[str, Any]) -> tuple[list[Any], int] | None:
    """(steps, index) while a canary step is current; None without steps or after the last one."""
    steps = (_canary(rollout) or {}).get("steps") or []
    index = _step_index(rollout) or 0
    return (steps, index) if steps and index < len(steps) else None


def calculate_set_weight(rollout: Mapping[str, Any]) -> int:
    """The weight the current step asks for (desired, not actual)."""
    if (rollout.get("status") or {}).get("abort"):
        return 0
    current = _current_step(rollout)
    if current is None:
        return max_weight(rollout)
    steps, index = current
    for step in reversed(steps[: index + 1]):
        if isinstance(step, Mapping) and step.get("setWeight") is not None:
            return int(step["setWeight"])
    return 0


def calculate_actual_weight(rollout: Mapping[str, Any], replica_sets: Iterable[ReplicaSetView]) -> int:
    """The weight the canary has now (see the module docstring)."""
    if _current_step(rollout) is None:
        return max_weight(rollout)
    status = rollout.get("status") or {}
    available = int(status.get("availableReplicas") or 0)
    if available <= 0:
        return 0
    if not (_canary(rollout) or {}).get("trafficRouting"):
        weight = 0
        for rs in replica_sets:
            if TAG_CANARY in rs.tags:
                weight = rs.available * max_weight(rollout) // available
        return weight
    weights = (status.get("canary") or {}).get("weights")
    if weights:
        return int((weights.get("canary") or {}).get("weight") or 0)
    return calculate_set_weight(rollout)


def collect_images(replica_sets: Iterable[ReplicaSetView]) -> tuple[ImageView, ...]:
    """Images of the ReplicaSets that have pods, each with the union of their markers, sorted by image."""
    tags: dict[str, set[str]] = {}
    for rs in replica_sets:
        if rs.replicas > 0:
            for image in rs.images:
                tags.setdefault(image, set()).update(rs.tags)
    return tuple(ImageView(image, tuple(sorted(tags[image]))) for image in sorted(tags))
