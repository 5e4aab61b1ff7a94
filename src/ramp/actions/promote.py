"""`promote`: move a paused rollout on, or with `full=True` straight to the new version.

`plan_promotion` decides the patches from the Rollout as read, following upstream's kubectl plugin:
- `spec.paused` is cleared when set (a spec patch);
- a rollout paused on an inconclusive step analysis by the controller gets its pause conditions cleared,
  `controllerPause: false` and the step index moved one on;
- any other pause condition is just cleared (the controller then completes the pause step itself);
- a canary with steps and no pause condition has its step index moved one on (capped at the step count);
- `full=True` sets `status.promoteFull` unless the new pods already are the stable ones.
Status patches go to the status subresource; when it is missing (404) one merged patch on the object
replaces both writes. `promote` reads, plans and writes; the CLI and the dashboard call it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ramp.actions.errors import translate_api_errors
from ramp.actions.writes import patch_object, patch_status
from ramp.kube.client import JSON, KubeClient
from ramp.kube.resources import ROLLOUTS


@dataclass(frozen=True)
class PromotionPlan:
    """The writes of one promotion: each a JSON merge patch, None when not needed."""

    spec_patch: dict[str, Any] | None
    status_patch: dict[str, Any] | None
    combined_patch: dict[str, Any]
    """Written to the object instead of both when the status subresource is missing."""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def next_step_index(rollout: Mapping[str, Any]) -> int | None:
    """The step index after the current one (capped at the step count); None without canary steps.

    >>> next_step_index({"spec": {"strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}}},
    ...                  "status": {"currentStepIndex": 1}})
    2
    """
    canary = _mapping(_mapping(_mapping(rollout.get("spec")).get("strategy")).get("canary"))
    steps = canary.get("steps") or []
    if not canary or not steps:
        return None
    index = int(_mapping(rollout.get("status")).get("currentStepIndex") or 0)
    return index + 1 if index < len(steps) else index


def is_inconclusive_step_analysis(rollout: Mapping[str, Any]) -> bool:
    """A canary whose current step analysis ended Inconclusive (the controller paused it)."""
    spec_strategy = _mapping(_mapping(rollout.get("spec")).get("strategy"))
    run = _mapping(_mapping(_mapping(rollout.get("status")).get("canary")).get("currentStepAnalysisRunStatus"))
    return "canary" in spec_strategy and run.get("status") == "Inconclusive"


def plan_promotion(rollout: Mapping[str, Any], *, full: bool = False) -> PromotionPlan:
    """The patches that promote `rollout` (a raw Rollout object), as upstream's `promote` sends them."""
    spec = _mapping(rollout.get("spec"))
    status = _mapping(rollout.get("status"))
    paused = bool(spec.get("paused"))
    unpause: dict[str, Any] | None = {"spec": {"paused": False}} if paused else None
    if full:
        wants_full = status.get("currentPodHash", "") != status.get("stableRS", "")
        return PromotionPlan(
            spec_patch=unpause,
            status_patch={"status": {"promoteFull": True}} if wants_full else None,
            combined_patch={"spec": {"paused": False}, "status": {"promoteFull": True}},
        )
    combined: dict[str, Any] = {"spec": {"paused": False}, "status": {"pauseConditions": None}}
    status_patch: dict[str, Any] | None = None
    has_conditions = bool(status.get("pauseConditions"))
    next_index = next_step_index(rollout)
    if is_inconclusive_step_analysis(rollout) and has_conditions and status.get("controllerPause"):
        if next_index is not None:
            status_patch = {
                "status": {"pauseConditions": None, "controllerPause": False, "currentStepIndex": next_index}
            }
    elif has_conditions:
        status_patch = {"status": {"pauseConditions": None}}
    elif next_index is not None:
        status_patch = {"status": {"pauseConditions": None, "currentStepIndex": next_index}}
        combined = {"spec": {"paused": False}, "status": {"pauseConditions": None, "currentStepIndex": next_index}}
    return PromotionPlan(spec_patch=unpause, status_patch=status_patch, combined_patch=combined)


async def promote(client: KubeClient, namespace: str, name: str, *, full: bool = False) -> JSON:
    """Promote Rollout `name` (see the module docstring); returns the Rollout as last written."""
    async with translate_api_errors("Rollout", namespace, name, "patch"):
        rollout = await client.get(ROLLOUTS, name, namespace)
        plan = plan_promotion(rollout, full=full)
        spec_patch = plan.spec_patch
        if plan.status_patch is not None:
            patched = await patch_status(client, ROLLOUTS, namespace, name, plan.status_patch)
            if patched is None:
                spec_patch = plan.combined_patch
            else:
                rollout = patched
        if spec_patch is not None:
            rollout = await patch_object(client, ROLLOUTS, namespace, name, spec_patch)
    return rollout
