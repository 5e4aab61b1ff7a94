"""Canary steps as decisions: the step being worked on, the weight it asks for, and how a step is named.

Steps are the raw JSON dicts of `spec.strategy.canary.steps` (exactly one key each, checked by `ramp.api.steps`).
`ramp.rollout.canary` asks these functions where a rollout stands; they read nothing but their arguments.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

Step = Mapping[str, Any]


def current_step(steps: Sequence[Step], index: int | None) -> Step | None:
    """The step at `index`, or None once every step is done (or when there are none).

    >>> current_step([{"setWeight": 20}, {"pause": {}}], 1)
    {'pause': {}}
    >>> current_step([{"setWeight": 20}], 1) is None
    True
    """
    if index is None or index < 0 or index >= len(steps):
        return None
    return steps[index]


def calculate_set_weight(
    steps: Sequence[Step],
    index: int | None,
    *,
    aborted: bool,
    stable_hash: str | None,
    pod_hash: str,
    total: int = 100,
) -> int:
    """The canary weight the rollout is working towards (upstream's current set weight).

    0 when aborted; `total` (100, or maxTrafficWeight) when the current template is the stable one, when there is
    no stable version yet, or once every step is done; otherwise the last `setWeight` at or before `index` (0 if
    none came yet).

    >>> calculate_set_weight([{"setWeight": 25}, {"pause": {}}], 1, aborted=False, stable_hash="a", pod_hash="b")
    25
    >>> calculate_set_weight([{"pause": {}}, {"setWeight": 25}], 0, aborted=False, stable_hash="a", pod_hash="b")
    0
    >>> calculate_set_weight([{"setWeight": 25}], 0, aborted=True, stable_hash="a", pod_hash="b")
    0
    """
    if aborted:
        return 0
    if not stable_hash or stable_hash == pod_hash:
        return total
    if index is None or index >= len(steps):
        return total
    for step in reversed(steps[: index + 1]):
        if "setWeight" in step:
            return int(step["setWeight"])
    return 0


def describe_step(step: Step) -> str:
    """How events name a step, e.g. `setWeight: 25` or `pause: {"duration":"10s"}`.

    >>> describe_step({"setWeight": 25})
    'setWeight: 25'
    >>> describe_step({"pause": {"duration": "10s"}})
    'pause: {"duration":"10s"}'
    """
    for kind, value in step.items():
        shown = json.dumps(value, separators=(",", ":"), sort_keys=True) if isinstance(value, Mapping) else value
        return f"{kind}: {shown}"
    return "step"


def step_kind(step: Step) -> str:
    """The step's one key (`setWeight`, `pause`, `analysis`, ...)."""
    return next(iter(step), "")
