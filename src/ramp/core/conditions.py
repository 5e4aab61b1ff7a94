"""Rollout status conditions: the upstream reasons and messages, and pure helpers to set, find and remove them.

Role: conditions are plain JSON dicts (type, status, reason, message, lastUpdateTime, lastTransitionTime, times
as RFC 3339 strings) because they are read from and written to `status.conditions` as they are. The reasons and
messages are Argo Rollouts' own (utils/conditions/conditions.go), so dashboards and scripts that match on them
keep working. Message templates use `str.format` fields; where upstream formats a name with Go's `%q`, the
template already holds the double quotes (Kubernetes names need no escaping). Time is passed in (`now`).
Collaborators: `phase` (reads the Degraded reasons), the rollout status calculation (sets them each reconcile).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from ramp.api.meta import format_timestamp

# Condition types
INVALID_SPEC = "InvalidSpec"
AVAILABLE = "Available"
PROGRESSING = "Progressing"
REPLICA_FAILURE = "ReplicaFailure"
PAUSED = "Paused"
COMPLETED = "Completed"
HEALTHY = "Healthy"

# Condition statuses
TRUE = "True"
FALSE = "False"
UNKNOWN = "Unknown"

# InvalidSpec
INVALID_SPEC_REASON = "InvalidSpec"
MISSING_FIELD_MESSAGE = "Rollout has missing field '{field}'"
SELECT_ALL_MESSAGE = "This rollout is selecting all pods. A non-empty selector is required."

# Available (upstream's reason really is "AvailableReason")
AVAILABLE_REASON = "AvailableReason"
AVAILABLE_MESSAGE = "Rollout has minimum availability"
NOT_AVAILABLE_MESSAGE = "Rollout does not have minimum availability"

# Progressing
REPLICA_SET_UPDATED_REASON = "ReplicaSetUpdated"
ROLLOUT_PROGRESSING_MESSAGE = 'Rollout "{name}" is progressing.'
REPLICA_SET_PROGRESSING_MESSAGE = 'ReplicaSet "{name}" is progressing.'
REPLICA_SET_NOT_AVAILABLE_REASON = "ReplicaSetNotAvailable"
FAILED_RS_CREATE_REASON = "ReplicaSetCreateError"
FAILED_RS_CREATE_MESSAGE = 'Failed to create new replica set "{name}": {error}'
NEW_REPLICA_SET_REASON = "NewReplicaSetCreated"
NEW_REPLICA_SET_MESSAGE = 'Created new replica set "{name}"'
NEW_REPLICA_SET_DETAILED_MESSAGE = "Created ReplicaSet {name} (revision {revision})"
FOUND_NEW_RS_REASON = "FoundNewReplicaSet"
FOUND_NEW_RS_MESSAGE = 'Found new replica set "{name}"'
NEW_RS_AVAILABLE_REASON = "NewReplicaSetAvailable"
REPLICA_SET_COMPLETED_MESSAGE = 'ReplicaSet "{name}" has successfully progressed.'
TIMED_OUT_REASON = "ProgressDeadlineExceeded"
ROLLOUT_TIMED_OUT_MESSAGE = 'Rollout "{name}" has timed out progressing.'
REPLICA_SET_TIMED_OUT_MESSAGE = 'ReplicaSet "{name}" has timed out progressing.'
ROLLOUT_UPDATED_REASON = "RolloutUpdated"
ROLLOUT_UPDATED_MESSAGE = "Rollout updated to revision {revision}"
ROLLOUT_ABORTED_REASON = "RolloutAborted"
ROLLOUT_ABORTED_MESSAGE = "Rollout aborted update to revision {revision}"  # upstream appends ": <why>" when known
ROLLOUT_RETRY_REASON = "RolloutRetry"
ROLLOUT_RETRY_MESSAGE = "Retrying Rollout after abort"
ROLLOUT_PAUSED_REASON = "RolloutPaused"
ROLLOUT_PAUSED_MESSAGE = "Rollout is paused"
ROLLOUT_RESUMED_REASON = "RolloutResumed"
ROLLOUT_RESUMED_MESSAGE = "Rollout is resumed"
RECONCILIATION_ERROR_REASON = "ReconciliationError"
RECONCILIATION_ERROR_MESSAGE = "Reconciliation failed with error: {error}"

# Completed (upstream's Completed condition carries the reason as its message too)
ROLLOUT_COMPLETED_REASON = "RolloutCompleted"
ROLLOUT_COMPLETED_MESSAGE = "Rollout completed update to revision {revision} ({pod_hash}): {detail}"  # event text
ROLLOUT_NOT_COMPLETED_REASON = "RolloutNotCompleted"
ROLLOUT_NOT_COMPLETED_MESSAGE = "Rollout not completed, started update to revision {revision} ({pod_hash})"

# Healthy
ROLLOUT_HEALTHY_REASON = "RolloutHealthy"
ROLLOUT_HEALTHY_MESSAGE = "Rollout is healthy"
ROLLOUT_NOT_HEALTHY_MESSAGE = "Rollout is not healthy"

# Analysis, experiments, services (conditions and events)
ANALYSIS_RUN_FAILED_REASON = "AnalysisRunFailed"
ANALYSIS_RUN_FAILED_MESSAGE = "AnalysisRun '{run}' owned by the Rollout '\"{rollout}\"' failed."
EXPERIMENT_FAILED_REASON = "ExperimentFailed"
EXPERIMENT_FAILED_MESSAGE = "Experiment '{experiment}' owned by the Rollout '\"{rollout}\"' has timed out."
SERVICE_REFERENCE_REASON = "ServiceReferenceError"
SERVICE_MANAGED_BY_OTHER_MESSAGE = 'Service "{service}" is managed by another Rollout'

# Event reasons and messages of the canary path
ROLLOUT_STEP_COMPLETED_REASON = "RolloutStepCompleted"
ROLLOUT_STEP_COMPLETED_MESSAGE = "Rollout step {step}/{steps} completed ({detail})"
TRAFFIC_WEIGHT_UPDATED_REASON = "TrafficWeightUpdated"
TRAFFIC_WEIGHT_UPDATED_MESSAGE = "Traffic weight updated {detail}"
SCALING_REPLICA_SET_REASON = "ScalingReplicaSet"
SCALING_REPLICA_SET_MESSAGE = "Scaled {direction} ReplicaSet {name} (revision {revision}) from {old} to {new}"

# A Progressing condition with one of these reasons never times out (the clock restarts on retry / resume).
_DEADLINE_PAUSED_REASONS = frozenset({ROLLOUT_ABORTED_REASON, ROLLOUT_PAUSED_REASON})


def new_condition(condition_type: str, status: str, reason: str, message: str, now: datetime) -> dict[str, Any]:
    """Return a condition stamped with `now` as both its update and transition time."""
    stamp = format_timestamp(now)
    return {
        "type": condition_type,
        "status": status,
        "reason": reason,
        "message": message,
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
    }


def get_condition(conditions: Iterable[Mapping[str, Any]] | None, condition_type: str) -> dict[str, Any] | None:
    """Return (a copy of) the condition of `condition_type`, or None."""
    for condition in conditions or ():
        if condition.get("type") == condition_type:
            return dict(condition)
    return None


def set_condition(
    conditions: Iterable[Mapping[str, Any]] | None, new: Mapping[str, Any], now: datetime
) -> list[dict[str, Any]]:
    """Return the conditions with `new` set in place of any condition of its type, following upstream's rule.

    - Same status and reason as the existing one: nothing changes (not even the message or lastUpdateTime).
    - Same status, another reason: replaced, keeping the existing lastTransitionTime.
    - Status changed (or no existing one): replaced, both times `now`.
    Times missing from `new` are filled with `now`. The replaced condition moves to the end, as upstream.
    """
    current = [dict(condition) for condition in conditions or ()]
    existing = get_condition(current, str(new.get("type")))
    if (
        existing is not None
        and existing.get("status") == new.get("status")
        and existing.get("reason") == new.get("reason")
    ):
        return current
    stamped = _stamped(new, now)
    if existing is not None and existing.get("status") == new.get("status"):
        stamped["lastTransitionTime"] = existing.get("lastTransitionTime", stamped["lastTransitionTime"])
    return [*remove_condition(current, str(new.get("type"))), stamped]


def set_progress_condition(
    conditions: Iterable[Mapping[str, Any]] | None, new: Mapping[str, Any], now: datetime
) -> list[dict[str, Any]]:
    """Record progress: always replace the condition with `new` stamped `now` (lastUpdateTime moves on).

    Upstream's special case for Progressing=True/ReplicaSetUpdated: unlike `set_condition`, a repeated reason
    still refreshes lastUpdateTime, which restarts the progress-deadline clock; lastTransitionTime is kept when
    the existing condition was already True.
    """
    current = [dict(condition) for condition in conditions or ()]
    existing = get_condition(current, str(new.get("type")))
    stamped = _stamped(new, now)
    stamped["lastUpdateTime"] = format_timestamp(now)
    if existing is not None and existing.get("status") == TRUE:
        stamped["lastTransitionTime"] = existing.get("lastTransitionTime", stamped["lastTransitionTime"])
    return [*remove_condition(current, str(new.get("type"))), stamped]


def remove_condition(conditions: Iterable[Mapping[str, Any]] | None, condition_type: str) -> list[dict[str, Any]]:
    """Return the conditions without any of `condition_type`."""
    return [dict(condition) for condition in conditions or () if condition.get("type") != condition_type]


def is_progress_deadline_exceeded(
    progressing_condition: Mapping[str, Any] | None, progress_deadline_seconds: int, now: datetime
) -> bool:
    """Whether the rollout has made no progress for longer than `progress_deadline_seconds` (upstream's rule).

    No Progressing condition, or one with reason RolloutAborted or RolloutPaused: False (a retried or resumed
    rollout is not judged on the time it spent aborted or paused). Reason NewReplicaSetAvailable: False (the
    last update completed). Reason ProgressDeadlineExceeded: True (it
    already timed out). Otherwise True when lastUpdateTime + deadline is strictly before `now`.
    """
    if progressing_condition is None:
        return False
    reason = progressing_condition.get("reason")
    if reason in _DEADLINE_PAUSED_REASONS:
        return False
    if reason == NEW_RS_AVAILABLE_REASON:
        # The last update completed: nothing is owed until a new one starts (upstream), e.g. while the old pods of
        # a finished update are still going away after their scale-down delay.
        return False
    if reason == TIMED_OUT_REASON:
        return True
    last_update = parse_time(progressing_condition.get("lastUpdateTime"))
    if last_update is None:
        return False
    return last_update + timedelta(seconds=progress_deadline_seconds) < now


def parse_time(value: Any) -> datetime | None:
    """Read an RFC 3339 time ("2024-05-01T12:00:00Z"); None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _stamped(condition: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    stamp = format_timestamp(now)
    stamped = dict(condition)
    stamped.setdefault("lastUpdateTime", stamp)
    stamped.setdefault("lastTransitionTime", stamp)
    return stamped
