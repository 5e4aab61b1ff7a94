"""The status a reconcile writes: replica counters, conditions, phase and message, computed from the plan.

`complete_status` takes the strategy's status (steps, pauses, stableRS ...) and adds what every strategy shares:
the counters of the ReplicaSets, `HPAReplicas` and `selector` for the scale subresource, `observedGeneration`
(a string, as upstream), the Progressing / Available / Paused / Completed / Healthy conditions with upstream's
reasons, and the phase. The progress deadline is decided here too (it may abort; a rollout that only waits out
scaleDownDelaySeconds is owed no progress). Completed is upstream's (stableRS == currentPodHash); its turning
False is reported for the RolloutNotCompleted event. `status_patch` makes the one merge patch. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ramp.api import format_timestamp
from ramp.core import conditions as cond
from ramp.core.phase import HEALTHY, calculate_phase, read_phase_inputs
from ramp.kube.selectors import format_label_selector
from ramp.rollout.replicasets import SCALE_DOWN_DEADLINE_ANNOTATION, ReplicaSetView

Obj = dict[str, Any]


@dataclass(frozen=True)
class StatusInputs:
    raw: Mapping[str, Any]
    sets: Sequence[ReplicaSetView]
    new: ReplicaSetView | None
    replicas: int
    max_unavailable: int
    progress_deadline_seconds: int
    progress_deadline_abort: bool
    paused_by_spec: bool
    selector: Mapping[str, Any]
    now: datetime
    new_set_created: bool = False
    blue_green: bool = False
    """Blue-green: readyReplicas, availableReplicas, HPAReplicas and selector describe the active ReplicaSet (all
    ReplicaSets while none is active), and completion needs the active Service on the new pods (upstream's
    syncRolloutStatusBlueGreen)."""
    abort_message: str | None = None
    """Why the rollout aborted in this reconcile (a failed analysis), appended to the aborted message."""


@dataclass(frozen=True)
class StatusResult:
    status: Obj
    requeue_after: float | None
    timed_out_now: bool
    aborted_now: bool = False
    resumed_now: bool = False
    not_completed_now: bool = False
    """The Completed condition turned False (or was first set False): upstream's RolloutNotCompleted event."""


def complete_status(strategy_status: Obj, inputs: StatusInputs) -> StatusResult:
    """Counters, conditions, phase and message on top of the strategy's decisions."""
    status = dict(strategy_status)
    old = inputs.raw.get("status") or {}
    sets = inputs.sets
    new = inputs.new
    status["replicas"] = sum(rs.status_replicas for rs in sets)
    status["updatedReplicas"] = new.status_replicas if new else 0
    status["readyReplicas"] = sum(rs.ready for rs in sets)
    status["availableReplicas"] = sum(rs.available for rs in sets)
    status["HPAReplicas"] = status["replicas"]
    status["selector"] = format_label_selector(inputs.selector)
    active_selector = str((status.get("blueGreen") or {}).get("activeSelector") or "")
    active = next((rs for rs in sets if active_selector and rs.pod_hash == active_selector), None)
    if inputs.blue_green and active is not None:
        # Upstream counts the pods behind the active Service: preview pods are neither ready nor available
        # replicas of the Rollout until they are switched to (with no active ReplicaSet, every pod counts).
        status["readyReplicas"] = active.ready
        status["availableReplicas"] = active.available
        status["HPAReplicas"] = active.status_replicas
        status["selector"] = format_label_selector((active.raw.get("spec") or {}).get("selector") or {})
    generation = (inputs.raw.get("metadata") or {}).get("generation")
    status["observedGeneration"] = str(generation) if generation is not None else ""
    now = inputs.now
    conditions: list[Obj] = cond.remove_condition(status.get("conditions"), cond.INVALID_SPEC)
    requeue: float | None = None
    timed_out_now = False
    aborted_now = False
    resumed_now = False

    aborted = bool(status.get("abort"))
    paused = inputs.paused_by_spec or bool(status.get("pauseConditions"))
    complete = (
        new is not None
        and status.get("stableRS") == new.pod_hash
        and status["updatedReplicas"] == inputs.replicas
        and status["availableReplicas"] >= inputs.replicas
        and (status["replicas"] == inputs.replicas or inputs.blue_green)
        and (not inputs.blue_green or active_selector == new.pod_hash)
    )
    rs_name = new.name if new else ""
    revision = new.revision if new else 0
    progressing = cond.get_condition(conditions, cond.PROGRESSING)

    def progress(state: str, reason: str, message: str) -> list[Obj]:
        return cond.set_condition(conditions, cond.new_condition(cond.PROGRESSING, state, reason, message, now), now)

    if aborted:
        message = cond.ROLLOUT_ABORTED_MESSAGE.format(revision=revision)
        if inputs.abort_message:
            message = f"{message}: {inputs.abort_message}"
        elif (
            progressing is not None
            and progressing.get("reason") == cond.ROLLOUT_ABORTED_REASON
            and str(progressing.get("message") or "").startswith(f"{message}: ")
        ):
            message = str(progressing["message"])  # keep saying why (upstream forgets it on the next reconcile)
        conditions = progress(cond.FALSE, cond.ROLLOUT_ABORTED_REASON, message)
    elif paused:
        conditions = progress(cond.UNKNOWN, cond.ROLLOUT_PAUSED_REASON, cond.ROLLOUT_PAUSED_MESSAGE)
    elif progressing is not None and progressing.get("reason") == cond.ROLLOUT_PAUSED_REASON:
        # Unpaused (promote, or spec.paused cleared): say so once; progress is judged from here on.
        resumed_now = True
        conditions = progress(cond.UNKNOWN, cond.ROLLOUT_RESUMED_REASON, cond.ROLLOUT_RESUMED_MESSAGE)
        requeue = float(inputs.progress_deadline_seconds) + 0.5
    elif complete:
        conditions = progress(
            cond.TRUE, cond.NEW_RS_AVAILABLE_REASON, cond.REPLICA_SET_COMPLETED_MESSAGE.format(name=rs_name)
        )
    elif inputs.new_set_created:
        conditions = progress(cond.TRUE, cond.NEW_REPLICA_SET_REASON, cond.NEW_REPLICA_SET_MESSAGE.format(name=rs_name))
    elif (
        progressing is None or _is_progressing(old, status) or progressing.get("reason") == cond.ROLLOUT_ABORTED_REASON
    ):
        conditions = cond.set_progress_condition(
            conditions,
            cond.new_condition(
                cond.PROGRESSING,
                cond.TRUE,
                cond.REPLICA_SET_UPDATED_REASON,
                cond.REPLICA_SET_PROGRESSING_MESSAGE.format(name=rs_name),
                now,
            ),
            now,
        )
        requeue = float(inputs.progress_deadline_seconds) + 0.5
    elif is_waiting_for_scale_down(sets, new, str(status.get("stableRS") or "")) or (
        new is not None and status.get("stableRS") == new.pod_hash and new.available >= inputs.replicas
    ):
        # Done but for the old pods (waiting out scaleDownDelaySeconds, or going away once it is up): no progress
        # is owed, so no deadline (upstream's isWaitingForReplicaSetScaleDown).
        pass
    elif cond.is_progress_deadline_exceeded(progressing, inputs.progress_deadline_seconds, now):
        if progressing.get("reason") != cond.TIMED_OUT_REASON:
            timed_out_now = True
        conditions = progress(
            cond.FALSE, cond.TIMED_OUT_REASON, cond.REPLICA_SET_TIMED_OUT_MESSAGE.format(name=rs_name)
        )
        if inputs.progress_deadline_abort:
            aborted_now = not status.get("abort")
            status["abort"] = True
            status["abortedAt"] = status.get("abortedAt") or format_timestamp(now)
            conditions = cond.set_condition(
                conditions,
                cond.new_condition(
                    cond.PROGRESSING,
                    cond.FALSE,
                    cond.ROLLOUT_ABORTED_REASON,
                    cond.ROLLOUT_ABORTED_MESSAGE.format(revision=revision),
                    now,
                ),
                now,
            )
    else:
        requeue = _seconds_to_deadline(progressing, inputs.progress_deadline_seconds, now)

    # Blue-green counts the active ReplicaSet (above): it serves, whatever the new one (say, aborted) has.
    available = status["availableReplicas"] >= inputs.replicas - inputs.max_unavailable
    conditions = cond.set_condition(
        conditions,
        cond.new_condition(
            cond.AVAILABLE,
            cond.TRUE if available else cond.FALSE,
            cond.AVAILABLE_REASON,
            cond.AVAILABLE_MESSAGE if available else cond.NOT_AVAILABLE_MESSAGE,
            now,
        ),
        now,
    )
    if paused or cond.get_condition(conditions, cond.PAUSED) is not None:
        conditions = cond.set_condition(
            conditions,
            cond.new_condition(
                cond.PAUSED,
                cond.TRUE if paused else cond.FALSE,
                # Upstream keeps this reason and message whether paused or not; the status tells.
                cond.ROLLOUT_PAUSED_REASON,
                cond.ROLLOUT_PAUSED_MESSAGE,
                now,
            ),
            now,
        )
    # Completed is upstream's RolloutCompleted: the current template is the stable one (pods may still move).
    promoted = bool(status.get("stableRS")) and status.get("stableRS") == status.get("currentPodHash")
    was_completed = cond.get_condition(conditions, cond.COMPLETED)
    not_completed_now = not promoted and (was_completed is None or was_completed.get("status") != cond.FALSE)
    conditions = cond.set_condition(
        conditions,
        cond.new_condition(
            cond.COMPLETED,
            cond.TRUE if promoted else cond.FALSE,
            # Upstream uses this reason and message for both statuses.
            cond.ROLLOUT_COMPLETED_REASON,
            cond.ROLLOUT_COMPLETED_REASON,
            now,
        ),
        now,
    )
    status["conditions"] = conditions
    phase, message = calculate_phase(read_phase_inputs(inputs.raw, status))
    healthy = phase == HEALTHY
    status["conditions"] = cond.set_condition(
        conditions,
        cond.new_condition(
            cond.HEALTHY,
            cond.TRUE if healthy else cond.FALSE,
            cond.ROLLOUT_HEALTHY_REASON,
            cond.ROLLOUT_HEALTHY_MESSAGE if healthy else cond.ROLLOUT_NOT_HEALTHY_MESSAGE,
            now,
        ),
        now,
    )
    status["phase"] = phase
    if message:
        status["message"] = message
    else:
        status.pop("message", None)
    return StatusResult(status, requeue, timed_out_now, aborted_now, resumed_now, not_completed_now)


def invalid_spec_status(raw: Mapping[str, Any], message: str, now: datetime) -> Obj:
    """The status of a Rollout whose spec cannot be carried out: InvalidSpec, Degraded, nothing else touched."""
    status = dict(raw.get("status") or {})
    existing = cond.get_condition(status.get("conditions"), cond.INVALID_SPEC)
    conditions = list(status.get("conditions") or [])
    if existing is None or existing.get("message") != message:
        conditions = [
            *cond.remove_condition(conditions, cond.INVALID_SPEC),
            cond.new_condition(cond.INVALID_SPEC, cond.TRUE, cond.INVALID_SPEC_REASON, message, now),
        ]
    status["conditions"] = conditions
    status["phase"] = "Degraded"
    status["message"] = f"{cond.INVALID_SPEC}: {message}"
    generation = (raw.get("metadata") or {}).get("generation")
    status["observedGeneration"] = str(generation) if generation is not None else ""
    return status


def status_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> Obj | None:
    """The merge patch turning `old` into `new` (removed keys become null), or None when nothing changed."""
    patch: Obj = {}
    for key, value in new.items():
        before = old.get(key)
        if before == value:
            continue
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            # Objects merge: a field dropped inside one (status.canary.currentStepAnalysisRunStatus, say)
            # must be sent as null, or the merge keeps it.
            patch[key] = status_patch(before, value) or {}
        else:
            patch[key] = value
    for key in old:
        if key not in new:
            patch[key] = None
    return patch or None


def is_waiting_for_scale_down(sets: Sequence[ReplicaSetView], new: ReplicaSetView | None, stable_hash: str) -> bool:
    """Whether a ReplicaSet other than the new and the stable one still waits out its scale-down deadline
    (upstream's isWaitingForReplicaSetScaleDown: such a wait never counts against the progress deadline)."""
    return any(
        rs.replicas > 0 and SCALE_DOWN_DEADLINE_ANNOTATION in ((rs.raw.get("metadata") or {}).get("annotations") or {})
        for rs in sets
        if (new is None or rs.name != new.name) and rs.pod_hash != stable_hash
    )


def _is_progressing(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Progress since the last status (upstream's rule): counts moved, or the step or stable version moved."""
    old_others = int(old.get("replicas") or 0) - int(old.get("updatedReplicas") or 0)
    new_others = int(new.get("replicas") or 0) - int(new.get("updatedReplicas") or 0)
    return (
        new.get("updatedReplicas") != old.get("updatedReplicas")
        or new_others < old_others
        or int(new.get("readyReplicas") or 0) > int(old.get("readyReplicas") or 0)
        or int(new.get("availableReplicas") or 0) > int(old.get("availableReplicas") or 0)
        or new.get("currentStepIndex") != old.get("currentStepIndex")
        or new.get("stableRS") != old.get("stableRS")
        or new.get("currentPodHash") != old.get("currentPodHash")
    )


def _seconds_to_deadline(progressing: Mapping[str, Any] | None, deadline: int, now: datetime) -> float | None:
    if progressing is None or progressing.get("status") != "True":
        return None
    updated = progressing.get("lastUpdateTime")
    if not updated:
        return None
    parsed = cond.parse_time(updated)
    if parsed is None:
        return None
    remaining = parsed + timedelta(seconds=deadline) - now
    return max(remaining.total_seconds(), 0.0) + 0.5
