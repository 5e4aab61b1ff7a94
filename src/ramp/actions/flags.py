"""Promote, abort and retry a FeatureFlag's rollout: the same status fields as the Rollout actions write.

- abort: `{"status":{"abort":true}}` on the status subresource; the controller sets the weight to 0 at once;
- retry: `{"status":{"abort":false}}`; the controller starts the steps again (and drops the earlier runs);
- promote: a paused flag goes on (`status.pauseConditions` cleared, `spec.paused` false, as for a Rollout; past
  an Inconclusive analysis step too); a flag at a running step skips it (`status.currentStepIndex` + 1);
  `full` skips every step left (the new variant goes to everyone).

`plan_flag_promotion` (pure) decides the patches; `promote_flag` reads the flag and writes them. Shared by
`ramp flags promote|abort|retry` (`ramp.cli.flag_verbs`) and the dashboard.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ramp.actions.errors import ActionError, translate_api_errors
from ramp.actions.writes import patch_object, patch_status_or_object
from ramp.kube.client import JSON, KubeClient
from ramp.kube.resources import FEATURE_FLAGS

INCONCLUSIVE = "InconclusiveAnalysis"


@dataclass(frozen=True)
class FlagPromotion:
    """The merge patches of a promote: on the status subresource, and on the object (spec.paused)."""

    status: dict[str, Any]
    spec: dict[str, Any]


def plan_flag_promotion(flag: Mapping[str, Any], *, full: bool = False) -> FlagPromotion:
    """The patches that promote `flag` (see the module docstring); ActionError when there is nothing to promote.

    >>> plan_flag_promotion({"spec": {"rollout": {"steps": [{"pause": {}}]}},
    ...     "status": {"currentStepIndex": 0, "pauseConditions": [{"reason": "PausedStep"}]}})
    FlagPromotion(status={'pauseConditions': None}, spec={})
    """
    name = (flag.get("metadata") or {}).get("name") or ""
    spec = flag.get("spec") or {}
    status = flag.get("status") or {}
    steps = (spec.get("rollout") or {}).get("steps")
    if not isinstance(spec.get("rollout"), Mapping):
        raise ActionError(f"FeatureFlag '{name}' has no spec.rollout: there is nothing to promote")
    if status.get("abort"):
        raise ActionError(f"FeatureFlag '{name}' is aborted: `ramp flags retry {name}` starts its rollout again")
    count = len(steps) if isinstance(steps, list) else 0
    index = int(status.get("currentStepIndex") or 0)
    spec_patch = {"paused": False} if spec.get("paused") else {}
    if full:
        return FlagPromotion({"currentStepIndex": count, "pauseConditions": None, "controllerPause": None}, spec_patch)
    conditions = status.get("pauseConditions") or []
    if conditions or spec_patch:
        patch: dict[str, Any] = {"pauseConditions": None} if conditions else {}
        if any(c.get("reason") == INCONCLUSIVE for c in conditions):
            patch["currentStepIndex"] = min(index + 1, count)
        return FlagPromotion(patch, spec_patch)
    if index >= count:
        raise ActionError(f"FeatureFlag '{name}' has run all its steps: there is nothing to promote")
    return FlagPromotion({"currentStepIndex": index + 1}, {})


async def promote_flag(client: KubeClient, namespace: str, name: str, *, full: bool = False) -> JSON:
    """Promote the flag's rollout; returns the flag as written."""
    async with translate_api_errors("FeatureFlag", namespace, name, "patch"):
        flag = await client.get(FEATURE_FLAGS, name, namespace)
        promotion = plan_flag_promotion(flag, full=full)
        written = flag
        if promotion.spec:
            written = await patch_object(client, FEATURE_FLAGS, namespace, name, {"spec": promotion.spec})
        if promotion.status:
            written = await patch_status_or_object(client, FEATURE_FLAGS, namespace, name, {"status": promotion.status})
        return written


async def abort_flag(client: KubeClient, namespace: str, name: str) -> JSON:
    """Abort the flag's rollout: everyone gets the default variant at once, the flag goes Degraded."""
    async with translate_api_errors("FeatureFlag", namespace, name, "patch"):
        return await patch_status_or_object(client, FEATURE_FLAGS, namespace, name, {"status": {"abort": True}})


async def retry_flag(client: KubeClient, namespace: str, name: str) -> JSON:
    """Retry an aborted rollout: the controller starts the steps again."""
    async with translate_api_errors("FeatureFlag", namespace, name, "patch"):
        return await patch_status_or_object(client, FEATURE_FLAGS, namespace, name, {"status": {"abort": False}})


async def get_flag(client: KubeClient, namespace: str, name: str) -> JSON:
    """The FeatureFlag as the API server has it."""
    async with translate_api_errors("FeatureFlag", namespace, name, "get"):
        return await client.get(FEATURE_FLAGS, name, namespace)
