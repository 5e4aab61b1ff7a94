"""A Rollout's pause conditions (`status.pauseConditions`): find, add and remove them by reason.

Shared by the strategies (`ramp.rollout.canary`, `ramp.rollout.bluegreen`) and the analysis decisions
(`ramp.rollout.analysis`). Pure: they read and change a status dict in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ramp.api import format_timestamp

CANARY_PAUSE = "CanaryPauseStep"
BLUE_GREEN_PAUSE = "BlueGreenPause"
INCONCLUSIVE_PAUSE = "InconclusiveAnalysisRun"


def find_pause(status: Mapping[str, Any], reason: str) -> Mapping[str, Any] | None:
    """The pause condition with this reason, if the status has one."""
    return next((c for c in status.get("pauseConditions") or [] if c.get("reason") == reason), None)


def has_pause(status: Mapping[str, Any], reason: str) -> bool:
    return find_pause(status, reason) is not None


def add_pause(status: dict[str, Any], reason: str, now: datetime) -> None:
    """Add a pause condition started now (the caller checks it is not there yet)."""
    status.setdefault("pauseConditions", []).append({"reason": reason, "startTime": format_timestamp(now)})


def remove_pause(status: dict[str, Any], reason: str) -> None:
    """Drop the pause condition with this reason; the field goes when none is left."""
    remaining = [c for c in status.get("pauseConditions") or [] if c.get("reason") != reason]
    if remaining:
        status["pauseConditions"] = remaining
    else:
        status.pop("pauseConditions", None)


def pause_by_controller(status: dict[str, Any], reason: str, now: datetime) -> str:
    """The controller pauses the rollout (a pause step, BlueGreenPause, an inconclusive run): the condition and
    `controllerPause`, whose removal by a user is a promote. Returns the RolloutPaused event's message."""
    add_pause(status, reason, now)
    status["controllerPause"] = True
    return f"Rollout is paused ({reason})"
