"""The canary strategy as one decision: from a `Snapshot`, the ReplicaSet sizes to set, the status to write, the
events to record and when to look again.

Follows upstream's documented canary behaviour: a template or steps change restarts the steps (or skips them when
the template is the stable one: fast rollback); the first deploy skips them; setWeight completes when the pod
counts are reached and available; pause waits for its duration or for a promote (the controllerPause handshake);
abort scales the canary away; promoteFull jumps to the end; after the last step the new ReplicaSet becomes stable
once all its pods are available, and older ReplicaSets are scaled down within maxUnavailable.
Pure: `ramp.rollout.reconciler` carries the plan out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ramp.api import format_timestamp, pause_seconds
from ramp.api.strategy import CanaryStrategy
from ramp.core.hashing import compute_steps_hash
from ramp.core.replicas import (
    ReplicaSetCounts,
    SurgeLimits,
    calculate_basic_canary_counts,
    calculate_older_scale_down,
    resolve_surge_limits,
)
from ramp.core.steps import calculate_set_weight, current_step, describe_step, step_kind
from ramp.rollout.analysis import (
    BACKGROUND_RUN_STATUS,
    STEP_RUN_STATUS,
    AnalysisInputs,
    AnalysisPlan,
    RunRequest,
    is_running,
    name_of,
    plan_analysis,
    run_status,
)
from ramp.rollout.canary_experiment import CURRENT_EXPERIMENT, ExperimentStepPlan, plan_experiment_step
from ramp.rollout.canary_experiment import is_running as is_experiment_running
from ramp.rollout.canary_routed import (
    calculate_routed_scales,
    is_at_routed_counts,
    is_progress_threshold_met,
    to_percent,
)
from ramp.rollout.ephemeral import Metadata, canary_roles, plan_ephemeral_metadata
from ramp.rollout.pauses import CANARY_PAUSE, INCONCLUSIVE_PAUSE, find_pause, pause_by_controller, remove_pause
from ramp.rollout.replicasets import ReplicaSetView
from ramp.rollout.snapshot import Snapshot
from ramp.rollout.traffic import (
    STABLE_PING_PONG,
    TrafficInputs,
    TrafficPlan,
    active_routes,
    calculate_canary_weight,
    service_hashes,
    service_names,
    split_weights,
)
from ramp.traffic.base import Destination

Obj = dict[str, Any]
IMMEDIATE_STEPS = {"setCanaryScale", "setHeaderRoute", "setMirrorRoute", "plugin"}


@dataclass(frozen=True)
class Event:
    type: str
    reason: str
    message: str


@dataclass
class CanaryPlan:
    """What to do: ReplicaSet sizes by name, the new status (without conditions and phase yet), events, requeue."""

    scales: dict[str, int]
    status: Obj
    events: list[Event] = field(default_factory=list)
    requeue_after: float | None = None
    weight: int = 100
    promoted: bool = False
    analysis: AnalysisPlan = field(default_factory=AnalysisPlan)
    abort_message: str | None = None
    """Why the rollout aborted in this reconcile (a failed analysis), for the condition and the event."""
    deadlines: dict[str, str | None] = field(default_factory=dict)
    """ReplicaSet name → the scale-down-deadline annotation to set, or None to remove it (with a router)."""
    experiments: ExperimentStepPlan = field(default_factory=ExperimentStepPlan)
    """The experiment step's Experiment to create, the Experiments to terminate."""
    traffic: TrafficPlan | None = None
    """Weights, managed routes and Service targets (None: no Services or router to drive)."""
    routed: bool = False
    """A traffic router carries the weight."""
    pod_metadata: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    """ReplicaSet name → the canaryMetadata / stableMetadata its pods should carry ({} for none)."""

    def record_created_run(self, request: RunRequest, run: Mapping[str, Any]) -> None:
        """A run the reconciler created for `request` becomes the current one in the status."""
        key = STEP_RUN_STATUS if request.kind == "Step" else BACKGROUND_RUN_STATUS
        canary = dict(self.status.get("canary") or {})
        canary[key] = run_status(run)
        self.status["canary"] = canary

    def requeue_in(self, seconds: float) -> None:
        seconds = max(seconds, 0.05)
        if self.requeue_after is None or seconds < self.requeue_after:
            self.requeue_after = seconds


def limits_of(snapshot: Snapshot) -> SurgeLimits:
    canary = snapshot.rollout.spec.strategy.canary if snapshot.rollout.spec.strategy else None
    surge: int | str = canary.effective_max_surge if canary else "25%"
    unavailable: int | str = canary.effective_max_unavailable if canary else "25%"
    return resolve_surge_limits(snapshot.replicas, surge, unavailable)


def _canary_spec(snapshot: Snapshot) -> CanaryStrategy | None:
    strategy = snapshot.rollout.spec.strategy
    return strategy.canary if strategy else None


def is_canary_update_start(snapshot: Snapshot) -> bool:
    """Whether the template or the steps changed since the last status (also true on the first deploy): upstream
    then only resets the status in that reconcile, and acts in the next."""
    status = snapshot.status
    return status.get("currentPodHash") != snapshot.new.pod_hash or status.get("currentStepHash") != (
        compute_steps_hash(snapshot.steps)
    )


def plan_canary_update_start(snapshot: Snapshot) -> CanaryPlan:
    """The reset status of a canary whose template or steps changed (see `is_canary_update_start`); nothing is
    scaled or routed."""
    plan = CanaryPlan(scales={}, status=_base_status(snapshot))
    _reset_on_change(snapshot, plan.status, plan.events)
    return plan


def _base_status(snapshot: Snapshot) -> Obj:
    status: Obj = {k: v for k, v in snapshot.status.items() if k not in ("conditions", "phase", "message")}
    status["conditions"] = list(snapshot.status.get("conditions") or [])
    # Upstream's status structs serialize even when empty: clients see `canary: {}` and `blueGreen: {}`.
    status.setdefault("canary", {})
    status["blueGreen"] = {}  # empty for canary, also after a switch from blue-green (upstream rebuilds it)
    return status


def plan_canary(snapshot: Snapshot) -> CanaryPlan:
    """Decide one reconcile of a canary Rollout."""
    status = _base_status(snapshot)
    steps = snapshot.steps
    count = len(steps)
    now = snapshot.now
    new = snapshot.new
    events: list[Event] = []
    plan = CanaryPlan(scales={}, status=status, events=events)
    spec = _canary_spec(snapshot)
    plan.routed = bool(spec is not None and spec.has_traffic_routing)
    total = spec.effective_max_traffic_weight if spec is not None else 100

    _reset_on_change(snapshot, status, events)
    remove_abort_when_promoted(status, new.pod_hash)
    stable_hash = str(status.get("stableRS") or "")
    stable = snapshot.stable
    if stable is None or not stable_hash:
        # First deploy (or the stable ReplicaSet is gone): the current template is the stable one; no steps.
        _promote(status, new, count, events, "Initial deploy", initial=True)
        stable_hash = new.pod_hash
        stable = new
        plan.promoted = True

    plan.analysis = _plan_analysis(snapshot, status, stable_hash, initial=plan.promoted)
    _apply_analysis(plan, status, now)
    _apply_experiment(plan, snapshot, status, stable)

    aborted = bool(status.get("abort"))
    if aborted:
        if count:
            status["currentStepIndex"] = 0
        status.pop("pauseConditions", None)
        status["controllerPause"] = False
        if not status.get("abortedAt"):
            status["abortedAt"] = format_timestamp(now)
            message = f"Rollout aborted update to revision {new.revision}"
            if plan.abort_message:
                message = f"{message}: {plan.abort_message}"
            events.append(Event("Warning", "RolloutAborted", message))
        status.pop("promoteFull", None)
    else:
        status.pop("abortedAt", None)
    if not aborted and status.get("promoteFull"):
        status.pop("pauseConditions", None)
        status["controllerPause"] = False
        if count:
            status["currentStepIndex"] = count

    index = status.get("currentStepIndex")
    weight = calculate_set_weight(
        steps, index, aborted=aborted, stable_hash=stable_hash, pod_hash=new.pod_hash, total=total
    )
    plan.weight = weight
    limits = limits_of(snapshot)
    desired = snapshot.replicas
    if plan.routed:
        routed = calculate_routed_scales(
            snapshot, status, new, stable if stable.name != new.name else None, to_percent(weight, total), aborted
        )
        plan.scales = routed.scales
        plan.deadlines = routed.deadlines
        if routed.requeue_after is not None:
            plan.requeue_in(routed.requeue_after)
    else:
        plan.scales = _calculate_scales(snapshot, new, stable if stable.name != new.name else None, weight, limits)

    paused_by_spec = bool(snapshot.rollout.spec.paused)
    if not aborted and not paused_by_spec and stable_hash != new.pod_hash:
        started_at = index
        step = current_step(steps, index)
        if (
            step is not None
            and index is not None
            and _is_step_completed(snapshot, step, status, plan, new, stable, to_percent(weight, total), limits)
        ):
            index += 1
            status["currentStepIndex"] = index
            remove_pause(status, CANARY_PAUSE)
            message = f"Rollout step {index}/{count} completed ({describe_step(step)})"
            events.append(Event("Normal", "RolloutStepCompleted", message))
        full = bool(status.get("promoteFull"))
        # Promoted in the reconcile after the last step completed, as upstream (the old pods are scaled down in
        # it first, so RolloutCompleted follows the last ScalingReplicaSet).
        done_steps = count == 0 or (started_at is not None and started_at >= count)
        if (
            (done_steps or full)
            and new.replicas == desired
            and (new.available == desired or is_progress_threshold_met(snapshot, new.available, desired))
        ):
            reason = "Full promotion requested" if full else f"Completed all {count} canary steps"
            _promote(status, new, count, events, reason)
            plan.promoted = True
            _end_current_runs(plan, status)
            _flip_ping_pong(snapshot, status)
    if not status.get("pauseConditions"):
        status.pop("pauseConditions", None)
        if not _pause_pending(steps, status):
            status["controllerPause"] = False
    if plan.promoted:
        _end_experiments(plan, snapshot, status)
    plan.traffic = _plan_traffic(snapshot, plan, stable, total, plan.experiments.additional)
    plan.pod_metadata = _plan_pod_metadata(snapshot, spec, str(status.get("stableRS") or ""))
    return plan


def _plan_pod_metadata(snapshot: Snapshot, spec: CanaryStrategy | None, stable_hash: str) -> dict[str, Metadata]:
    """canaryMetadata on the new pods during an update, stableMetadata on the stable ones (the new ones once
    promoted in this very reconcile), none on the others."""
    canary_metadata = spec.canary_metadata if spec is not None else None
    stable_metadata = spec.stable_metadata if spec is not None else None
    roles = canary_roles(
        snapshot.new.name,
        snapshot.new.pod_hash,
        stable_hash,
        canary_metadata.model_dump(exclude_none=True) if canary_metadata is not None else None,
        stable_metadata.model_dump(exclude_none=True) if stable_metadata is not None else None,
    )
    return plan_ephemeral_metadata(snapshot.sets, roles)


def _apply_experiment(plan: CanaryPlan, snapshot: Snapshot, status: Obj, stable: ReplicaSetView) -> None:
    """The experiment step's verdict on the status: an abort, an inconclusive pause (before the abort handling,
    so an abort decided here is carried out in this reconcile)."""
    decided = plan_experiment_step(snapshot, status, stable if stable.name != snapshot.new.name else None)
    plan.experiments = decided
    if decided.abort_message and not status.get("abort"):
        status["abort"] = True
        plan.abort_message = decided.abort_message
    if decided.pause_message:
        plan.events.append(Event("Normal", "RolloutPaused", decided.pause_message))


def _end_experiments(plan: CanaryPlan, snapshot: Snapshot, status: Obj) -> None:
    """Promoted in this reconcile: no experiment step is current any more, and what still runs is stopped."""
    status["canary"] = {k: v for k, v in (status.get("canary") or {}).items() if k != CURRENT_EXPERIMENT}
    plan.experiments.additional = ()
    plan.experiments.terminate = [str(e["metadata"]["name"]) for e in snapshot.experiments if is_experiment_running(e)]


def _flip_ping_pong(snapshot: Snapshot, status: Obj) -> None:
    """With pingPong the Service that served the canary becomes the stable one at promotion."""
    raw_canary = ((snapshot.raw.get("spec") or {}).get("strategy") or {}).get("canary") or {}
    if not raw_canary.get("pingPong"):
        return
    canary = dict(status.get("canary") or {})
    canary[STABLE_PING_PONG] = "ping" if canary.get(STABLE_PING_PONG) == "pong" else "pong"
    status["canary"] = canary


def _plan_traffic(
    snapshot: Snapshot,
    plan: CanaryPlan,
    stable: ReplicaSetView,
    total: int,
    additional: tuple[Destination, ...],
) -> TrafficPlan | None:
    """Weights, routes and Service targets; the weights also go into status.canary.weights (with a router)."""
    status = plan.status
    raw_canary = ((snapshot.raw.get("spec") or {}).get("strategy") or {}).get("canary") or {}
    if raw_canary.get("pingPong") and not (status.get("canary") or {}).get(STABLE_PING_PONG):
        status["canary"] = {**(status.get("canary") or {}), STABLE_PING_PONG: "ping"}
    stable_service, canary_service = service_names(raw_canary, status)
    if not plan.routed and not stable_service and not canary_service:
        return None
    new = snapshot.new
    stable_hash = str(status.get("stableRS") or new.pod_hash)
    fully_promoted = stable_hash == new.pod_hash
    if fully_promoted:
        stable = new
    index = status.get("currentStepIndex")
    aborted = bool(status.get("abort"))
    steps = snapshot.steps
    at_desired = True
    if plan.routed and not fully_promoted:
        current = calculate_set_weight(
            steps, index, aborted=False, stable_hash=stable_hash, pod_hash=new.pod_hash, total=total
        )
        at_desired = is_at_routed_counts(snapshot, status, new, stable, to_percent(current, total))
    previous = ((snapshot.status.get("canary") or {}).get("weights") or {}).get("canary") or {}
    spec = _canary_spec(snapshot)
    weight = calculate_canary_weight(
        TrafficInputs(
            steps=steps,
            index=index,
            total=total,
            replicas=snapshot.replicas,
            aborted=aborted,
            promote_full=bool(status.get("promoteFull")),
            fully_promoted=fully_promoted,
            new_available=new.available,
            stable_available=stable.available,
            at_desired_counts=at_desired,
            previous_canary_weight=int(previous["weight"]) if "weight" in previous else None,
            dynamic_stable_scale=bool(spec is not None and spec.dynamic_stable_scale),
        )
    )
    done = aborted or fully_promoted or bool(status.get("promoteFull"))
    headers, mirrors = ((), ()) if done else active_routes(steps, index)
    weights = split_weights(
        weight,
        total,
        (canary_service or "", new.pod_hash),
        (stable_service or "", stable_hash),
        () if done else additional,
    )
    traffic = TrafficPlan(
        weights=weights,
        header_routes=headers,
        mirror_routes=mirrors,
        remove_routes=done or not (headers or mirrors),
        service_hashes=service_hashes(
            stable_service,
            canary_service,
            stable_hash,
            # Aborted without a router: the canary Service goes back to the stable pods at once (upstream), before
            # the canary is scaled down, so it never selects pods on their way out.
            stable_hash if aborted and not plan.routed else new.pod_hash,
            stable.available if aborted and not plan.routed else new.available,
            stable.available,
        ),
    )
    if plan.routed:
        status["canary"] = {**(status.get("canary") or {}), "weights": traffic.status(None)}
    return traffic


def _plan_analysis(snapshot: Snapshot, status: Obj, stable_hash: str, *, initial: bool) -> AnalysisPlan:
    new = snapshot.new
    spec = snapshot.rollout.spec
    cancel_all = initial or bool(status.get("abort")) or bool(status.get("promoteFull")) or stable_hash == new.pod_hash
    return plan_analysis(
        AnalysisInputs(
            rollout_name=snapshot.name,
            revision=new.revision,
            pod_hash=new.pod_hash,
            steps=snapshot.steps,
            background=snapshot.background_analysis,
            status=status,
            previous=snapshot.status,
            runs=snapshot.runs,
            live_hashes={rs.pod_hash: bool(rs.raw["metadata"].get("deletionTimestamp")) for rs in snapshot.sets},
            successful_limit=spec.effective_successful_run_history_limit,
            unsuccessful_limit=spec.effective_unsuccessful_run_history_limit,
            cancel_all=cancel_all,
        )
    )


def _apply_analysis(plan: CanaryPlan, status: Obj, now: datetime) -> None:
    """The runs' verdicts on the status: which runs are current, an abort, an inconclusive pause."""
    analysis = plan.analysis
    canary = dict(status.get("canary") or {})
    previous = dict(canary)
    for key, run in ((STEP_RUN_STATUS, analysis.step_run), (BACKGROUND_RUN_STATUS, analysis.background_run)):
        shown = run_status(run)
        if shown is None:
            canary.pop(key, None)
        else:
            canary[key] = shown
            _announce_run_phase(plan, previous.get(key), shown, "Step" if key == STEP_RUN_STATUS else "Background")
    status["canary"] = canary
    if analysis.abort_message and not status.get("abort"):
        status["abort"] = True
        plan.abort_message = analysis.abort_message
    elif analysis.pause_inconclusive and find_pause(status, INCONCLUSIVE_PAUSE) is None:
        plan.events.append(Event("Normal", "RolloutPaused", pause_by_controller(status, INCONCLUSIVE_PAUSE, now)))


def _end_current_runs(plan: CanaryPlan, status: Obj) -> None:
    """Promoted: the runs of this update are no longer current (a background run still going is cancelled)."""
    canary = dict(status.get("canary") or {})
    for key in (STEP_RUN_STATUS, BACKGROUND_RUN_STATUS):
        canary.pop(key, None)
    status["canary"] = canary
    for run in (plan.analysis.step_run, plan.analysis.background_run):
        if run is not None and is_running(run):
            plan.analysis.terminate.append(name_of(run))


def _announce_run_phase(plan: CanaryPlan, before: Any, now_shown: Mapping[str, Any], kind: str) -> None:
    """Upstream's `AnalysisRun<Phase>` event when a current run's phase changes."""
    phase = str(now_shown.get("status") or "")
    if not phase:
        return
    previous = before if isinstance(before, Mapping) else None
    if previous is not None and (previous.get("name") != now_shown["name"] or previous.get("status") == phase):
        return
    prior = str(previous.get("status") or "") if previous is not None else "NoPreviousStatus"
    message = f"{kind} Analysis Run '{now_shown['name']}' Status New: '{phase}' Previous: '{prior}'"
    event_type = "Warning" if phase in ("Failed", "Error") else "Normal"
    plan.events.append(Event(event_type, f"AnalysisRun{phase}", message))


def remove_abort_when_promoted(status: Obj, pod_hash: str) -> None:
    """An abort with no update in progress (the current template is the stable one) does nothing: the Rollout
    stays Healthy (upstream removes the abort of a fully promoted rollout)."""
    if status.get("abort") and status.get("stableRS") and status.get("stableRS") == pod_hash:
        status["abort"] = False
        status.pop("abortedAt", None)


def _reset_on_change(snapshot: Snapshot, status: Obj, events: list[Event]) -> None:
    """A new template or new steps start the steps again (upstream's status reset; RolloutUpdated is the
    reconciler's, with the Rollout's revision annotation)."""
    steps = snapshot.steps
    count = len(steps)
    new = snapshot.new
    step_hash = compute_steps_hash(steps)
    template_changed = status.get("currentPodHash") != new.pod_hash
    steps_changed = status.get("currentStepHash") != step_hash
    if not template_changed and not steps_changed:
        return
    for key in ("pauseConditions", "abortedAt", "promoteFull", "restartedAt"):
        status.pop(key, None)
    status["controllerPause"] = False
    status["abort"] = False
    canary = dict(status.get("canary") or {})
    canary.pop("currentStepAnalysisRunStatus", None)
    canary.pop("currentBackgroundAnalysisRunStatus", None)
    canary.pop("currentExperiment", None)
    status["canary"] = canary
    if count:
        status["currentStepIndex"] = 0
    else:
        status.pop("currentStepIndex", None)
    status["currentPodHash"] = new.pod_hash
    status["currentStepHash"] = step_hash
    stable_hash = status.get("stableRS")
    if stable_hash and stable_hash == new.pod_hash and count:
        # The stable template again (a rollback), or new steps for a rollout that is fully promoted.
        status["currentStepIndex"] = count
        if template_changed:
            events.append(Event("Normal", "SkipSteps", "Rollback to stable ReplicaSets"))
    elif template_changed and count and snapshot.is_rollback_within_window:
        status["currentStepIndex"] = count
        events.append(Event("Normal", "SkipSteps", "Rollback within the rollback window"))


def _calculate_scales(
    snapshot: Snapshot, new: ReplicaSetView, stable: ReplicaSetView | None, weight: int, limits: SurgeLimits
) -> dict[str, int]:
    replicas = snapshot.replicas
    older = sorted(
        (rs for rs in snapshot.sets if rs.name != new.name and (stable is None or rs.name != stable.name)),
        key=lambda rs: -rs.revision,
    )
    all_counts = [rs.counts for rs in snapshot.sets]
    older_scales = calculate_older_scale_down(replicas, limits, all_counts, [rs.counts for rs in older])
    older_after = [ReplicaSetCounts(rs.name, older_scales.get(rs.name, rs.replicas), rs.available) for rs in older]
    canary_count, stable_count = calculate_basic_canary_counts(
        replicas, weight, limits, new.counts, stable.counts if stable else None, older_after
    )
    scales = dict(older_scales)
    scales[new.name] = canary_count
    if stable is not None:
        scales[stable.name] = stable_count
    changes = {name: count for name, count in scales.items() if count != _spec(snapshot.sets, name)}
    if any(rs.status_replicas > rs.replicas for rs in snapshot.sets):
        # A ReplicaSet scaled down earlier still has the pods it is removing. The room for a scale-up was
        # computed from sizes, so growing now could briefly run more pods than replicas + maxSurge; wait for them.
        changes = {name: count for name, count in changes.items() if count < _spec(snapshot.sets, name)}
    return changes


def _spec(sets: Sequence[ReplicaSetView], name: str) -> int:
    return next(rs.replicas for rs in sets if rs.name == name)


def _is_step_completed(
    snapshot: Snapshot,
    step: Mapping[str, Any],
    status: Obj,
    plan: CanaryPlan,
    new: ReplicaSetView,
    stable: ReplicaSetView,
    weight: int,
    limits: SurgeLimits,
) -> bool:
    kind = step_kind(step)
    if kind == "setWeight":
        if plan.routed:
            return is_at_routed_counts(snapshot, status, new, stable, weight)
        return _is_at_desired_counts(snapshot, new, stable, weight, limits)
    if kind == "pause":
        if _is_pause_completed(snapshot, step, status, plan):
            status["controllerPause"] = False
            return True
        return False
    if kind == "analysis":
        return plan.analysis.is_step_successful
    if kind == "experiment":
        return plan.experiments.step_complete
    return kind in IMMEDIATE_STEPS


def _is_at_desired_counts(
    snapshot: Snapshot, new: ReplicaSetView, stable: ReplicaSetView, weight: int, limits: SurgeLimits
) -> bool:
    from ramp.core.replicas import approximate_weighted_counts

    canary_want, stable_want = approximate_weighted_counts(snapshot.replicas, weight, limits.max_surge)
    if new.replicas != canary_want:
        return False
    if new.available != canary_want and not is_progress_threshold_met(snapshot, new.available, canary_want):
        return False
    if stable.name != new.name and (stable.replicas != stable_want or stable.available != stable_want):
        return False
    return all(rs.available == 0 for rs in snapshot.older)


def _is_pause_completed(snapshot: Snapshot, step: Mapping[str, Any], status: Obj, plan: CanaryPlan) -> bool:
    pause = step.get("pause") or {}
    condition = find_pause(status, CANARY_PAUSE)
    if status.get("controllerPause") and condition is None:
        return True  # promoted: the user removed the pause condition the controller had added
    duration = pause.get("duration")
    if condition is None:
        plan.events.append(Event("Normal", "RolloutPaused", pause_by_controller(status, CANARY_PAUSE, snapshot.now)))
        if duration is not None:
            plan.requeue_in(float(pause_seconds(duration)))
        return False
    if duration is None:
        return False
    started = datetime.fromisoformat(str(condition["startTime"]))
    remaining = started + timedelta(seconds=pause_seconds(duration)) - snapshot.now
    if remaining <= timedelta(0):
        return True
    plan.requeue_in(remaining.total_seconds())
    return False


def _pause_pending(steps: Sequence[Mapping[str, Any]], status: Obj) -> bool:
    step = current_step(steps, status.get("currentStepIndex"))
    return step is not None and step_kind(step) == "pause"


def _promote(
    status: Obj, new: ReplicaSetView, count: int, events: list[Event], reason: str, *, initial: bool = False
) -> None:
    """The new ReplicaSet becomes stable."""
    if status.get("stableRS") == new.pod_hash:
        return
    status["stableRS"] = new.pod_hash
    status.pop("promoteFull", None)
    status.pop("pauseConditions", None)
    status["controllerPause"] = False
    if count:
        status["currentStepIndex"] = count
    events.append(
        Event(
            "Normal",
            "RolloutCompleted",
            f"Rollout completed update to revision {new.revision} ({new.pod_hash}): {reason}",
        )
    )
    del initial
