"""The blue-green strategy as one decision: from a `Snapshot`, the ReplicaSet sizes, which pod hash the active and
preview Services should select, the scale-down deadlines to annotate, the promotion analyses, the status to write,
the events and when to look again.

Follows upstream's documented blue-green behaviour: the preview Service selects the new pods at once; the new
ReplicaSet runs at previewReplicaCount (or full size) beside the active one; once its pods are available the
rollout pauses (BlueGreenPause) until promoted when autoPromotionEnabled is false, or for autoPromotionSeconds;
prePromotionAnalysis must succeed too. Then the new ReplicaSet is scaled to full size (scaleUpPreviewCheckPoint)
and, once all its pods are available, the active Service is switched; the previously active ReplicaSet gets a
`scale-down-deadline` annotation (scaleDownDelaySeconds, at most scaleDownDelayRevisionLimit of them wait) and is
scaled to 0 after it. After postPromotionAnalysis succeeds the new ReplicaSet becomes stable; a failed one (or
an abort) puts the active Service back on the stable pods and scales the new ones down after
abortScaleDownDelaySeconds. A first deploy, promote --full and a fast rollback (to a ReplicaSet still waiting
for its scale-down, or one of the spec.rollbackWindow.revisions made before the stable one) skip the pause and
the analyses. The active Service is only ever pointed at a ReplicaSet whose pods are all available, so it never
selects zero ready pods.
Pure: `ramp.rollout.reconciler` carries the plan out (`ramp.rollout.services` for the selectors).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ramp.api import format_timestamp
from ramp.api.strategy import BlueGreenStrategy
from ramp.core.conditions import parse_time
from ramp.core.replicas import SurgeLimits, resolve_surge_limits
from ramp.rollout.analysis import (
    POST_PROMOTION_TYPE,
    POST_RUN_STATUS,
    PRE_PROMOTION_TYPE,
    PRE_RUN_STATUS,
    AnalysisPlan,
    PromotionRunInputs,
    PromotionRunPlan,
    RunRequest,
    name_of,
    plan_promotion_run,
    run_status,
    select_runs_to_delete,
    should_cancel,
)
from ramp.rollout.canary import Event, remove_abort_when_promoted
from ramp.rollout.ephemeral import plan_ephemeral_metadata
from ramp.rollout.pauses import BLUE_GREEN_PAUSE, INCONCLUSIVE_PAUSE, find_pause, pause_by_controller, remove_pause
from ramp.rollout.replicasets import SCALE_DOWN_DEADLINE_ANNOTATION, ReplicaSetView
from ramp.rollout.services import selected_hash
from ramp.rollout.snapshot import Snapshot

Obj = dict[str, Any]
COMPLETED_REASON = "Completed blue-green update"


@dataclass
class BlueGreenPlan:
    """What to do: sizes by ReplicaSet name, Service targets, deadline annotations, status, events, requeue."""

    scales: dict[str, int]
    status: Obj
    events: list[Event] = field(default_factory=list)
    requeue_after: float | None = None
    active_hash: str | None = None
    """The pod hash the active Service must select (None: leave it)."""
    preview_hash: str | None = None
    deadlines: dict[str, str | None] = field(default_factory=dict)
    """ReplicaSet name → the scale-down-deadline annotation to set, or None to remove it."""
    analysis: AnalysisPlan = field(default_factory=AnalysisPlan)
    abort_message: str | None = None
    pod_metadata: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    """ReplicaSet name → the activeMetadata / previewMetadata its pods should carry ({} for none)."""

    def record_created_run(self, request: RunRequest, run: Mapping[str, Any]) -> None:
        """A run the reconciler created for `request` becomes the current one in the status."""
        key = PRE_RUN_STATUS if request.kind == PRE_PROMOTION_TYPE else POST_RUN_STATUS
        blue = dict(self.status.get("blueGreen") or {})
        blue[key] = run_status(run)
        self.status["blueGreen"] = blue

    def requeue_in(self, seconds: float) -> None:
        seconds = max(seconds, 0.05)
        if self.requeue_after is None or seconds < self.requeue_after:
            self.requeue_after = seconds


def strategy_of(snapshot: Snapshot) -> BlueGreenStrategy:
    strategy = snapshot.rollout.spec.strategy
    assert strategy is not None and strategy.blue_green is not None
    return strategy.blue_green


def limits_of(snapshot: Snapshot) -> SurgeLimits:
    """Blue-green never surges within a ReplicaSet; maxUnavailable bounds restarts and the Available condition."""
    return resolve_surge_limits(snapshot.replicas, 0, strategy_of(snapshot).effective_max_unavailable)


def scale_down_deadline(rs: ReplicaSetView) -> datetime | None:
    value = ((rs.raw.get("metadata") or {}).get("annotations") or {}).get(SCALE_DOWN_DEADLINE_ANNOTATION)
    return parse_time(value) if value else None


def has_scale_down_deadline(rs: ReplicaSetView) -> bool:
    return SCALE_DOWN_DEADLINE_ANNOTATION in ((rs.raw.get("metadata") or {}).get("annotations") or {})


def is_update_start(snapshot: Snapshot) -> bool:
    """Whether the template changed since the last status (not on the first deploy): upstream then only resets
    the status in that reconcile, and acts in the next."""
    current = snapshot.status.get("currentPodHash")
    return bool(current) and current != snapshot.new.pod_hash


def plan_update_start(snapshot: Snapshot) -> BlueGreenPlan:
    """The reset status of a blue-green Rollout whose template changed; nothing is scaled or switched."""
    plan = BlueGreenPlan(scales={}, status=_base_status(snapshot))
    blue: Obj = dict(plan.status.get("blueGreen") or {})
    _reset_on_change(snapshot, plan.status, blue)
    plan.status["blueGreen"] = blue
    return plan


def _base_status(snapshot: Snapshot) -> Obj:
    status: Obj = {k: v for k, v in snapshot.status.items() if k not in ("conditions", "phase", "message")}
    status["conditions"] = list(snapshot.status.get("conditions") or [])
    status["canary"] = {}
    for key in ("currentStepIndex", "currentStepHash"):
        status.pop(key, None)  # canary-only fields, left over when the strategy was switched
    return status


def plan_blue_green(snapshot: Snapshot) -> BlueGreenPlan:
    """Decide one reconcile of a blue-green Rollout."""
    bg = strategy_of(snapshot)
    status = _base_status(snapshot)
    plan = BlueGreenPlan(scales={}, status=status)
    new = snapshot.new
    now = snapshot.now
    replicas = snapshot.replicas
    blue: Obj = dict(status.get("blueGreen") or {})
    _reset_on_change(snapshot, status, blue)
    remove_abort_when_promoted(status, new.pod_hash)

    by_hash = {rs.pod_hash: rs for rs in snapshot.sets}
    active_service = snapshot.services.get(bg.active_service)
    active_now = selected_hash(active_service)
    initial = active_now not in by_hash  # first deploy, or the strategy was just switched to blue-green
    aborted = bool(status.get("abort"))
    full = bool(status.get("promoteFull")) and not aborted
    # Back to a ReplicaSet still waiting for its scale-down, or within spec.rollbackWindow: no pause, no analysis.
    recent = has_scale_down_deadline(new) or snapshot.is_rollback_within_window
    fast_rollback = recent and not initial and active_now != new.pod_hash
    if initial and not aborted and snapshot.stable is None:
        # Upstream marks the first template stable at once (its active Service has nothing to select yet), so the
        # Rollout is Completed from its first status: RolloutCompleted follows the first ScalingReplicaSet.
        _make_stable(status, new, plan.events, "Initial deploy")
    promoted = active_now == new.pod_hash
    skip_gates = initial or full or fast_rollback or promoted

    preview_size = replicas
    if bg.preview_replica_count is not None and not skip_gates and not blue.get("scaleUpPreviewCheckPoint"):
        preview_size = min(bg.preview_replica_count, replicas)
    ready_for_pause = new.replicas == preview_size and new.is_fully_available

    pause_done = _reconcile_pause(snapshot, bg, status, plan, ready_for_pause, skip_gates or aborted)
    pre = plan_promotion_run(
        PromotionRunInputs(
            kind=PRE_PROMOTION_TYPE,
            analysis=_dump(bg.pre_promotion_analysis),
            rollout_name=snapshot.name,
            revision=new.revision,
            pod_hash=new.pod_hash,
            shown=blue.get(PRE_RUN_STATUS),
            previous=snapshot.status,
            runs=snapshot.runs,
            wanted=ready_for_pause,
            skipped=skip_gates,
            aborted=aborted,
        )
    )
    pre_done = pre.is_successful or skip_gates or not _has_templates(bg.pre_promotion_analysis)
    _apply_run(plan, status, blue, PRE_RUN_STATUS, pre, now)
    aborted = bool(status.get("abort"))

    may_promote = not aborted and pause_done and pre_done and not snapshot.rollout.spec.paused
    if bg.preview_replica_count is not None and not skip_gates and may_promote:
        blue["scaleUpPreviewCheckPoint"] = True
        preview_size = replicas
    new_size = replicas if (skip_gates or blue.get("scaleUpPreviewCheckPoint")) else preview_size

    stable = snapshot.stable
    active_target = active_now
    if aborted:
        if stable is not None and stable.name != new.name and stable.is_fully_available:
            active_target = stable.pod_hash
    elif (may_promote or skip_gates) and new.replicas == replicas and new.is_fully_available:
        active_target = new.pod_hash
    if active_service is not None and active_target and active_target != active_now:
        plan.active_hash = active_target
        previous = by_hash.get(active_now)
        if previous is not None and previous.replicas > 0:
            deadline = now + timedelta(seconds=bg.effective_scale_down_delay_seconds)
            plan.deadlines[previous.name] = format_timestamp(deadline)
    if active_target and by_hash.get(active_target) is not None and has_scale_down_deadline(by_hash[active_target]):
        plan.deadlines[by_hash[active_target].name] = None  # active again (fast rollback): no longer waiting
    if bg.preview_service and new.pod_hash != selected_hash(snapshot.services.get(bg.preview_service)):
        plan.preview_hash = new.pod_hash
    blue["activeSelector"] = active_target if active_service is not None else active_now
    if bg.preview_service:
        blue["previewSelector"] = plan.preview_hash or selected_hash(snapshot.services.get(bg.preview_service))
    else:
        blue.pop("previewSelector", None)

    switched = active_target == new.pod_hash
    if switched:
        blue["scaleUpPreviewCheckPoint"] = False
        status.pop("pauseConditions", None)
        status["controllerPause"] = False
    post = plan_promotion_run(
        PromotionRunInputs(
            kind=POST_PROMOTION_TYPE,
            analysis=_dump(bg.post_promotion_analysis),
            rollout_name=snapshot.name,
            revision=new.revision,
            pod_hash=new.pod_hash,
            shown=blue.get(POST_RUN_STATUS),
            previous=snapshot.status,
            runs=snapshot.runs,
            wanted=switched and active_now == new.pod_hash and status.get("stableRS") != new.pod_hash,
            skipped=initial or full or fast_rollback or not status.get("stableRS"),
            aborted=aborted,
        )
    )
    _apply_run(plan, status, blue, POST_RUN_STATUS, post, now)
    aborted = bool(status.get("abort"))
    back = aborted and stable is not None and stable.name != new.name and stable.is_fully_available
    if back and stable is not None and active_now != stable.pod_hash:
        plan.active_hash = stable.pod_hash
        blue["activeSelector"] = stable.pod_hash
        plan.deadlines.pop(new.name, None)
        if has_scale_down_deadline(stable):
            plan.deadlines[stable.name] = None  # active again: no longer waiting to be scaled down
    post_done = (
        post.is_successful
        or initial
        or full
        or fast_rollback
        or not status.get("stableRS")
        or not _has_templates(bg.post_promotion_analysis)
    )
    if not aborted and switched and post_done and new.is_fully_available and new.replicas == replicas:
        reason = "Full promotion requested" if full else "Fast rollback" if fast_rollback else COMPLETED_REASON
        _make_stable(status, new, plan.events, reason)
    status["blueGreen"] = blue
    _abort_bookkeeping(status, plan, new, now)
    plan.scales = _calculate_scales(snapshot, bg, plan, new_size, aborted)
    _plan_pod_metadata(snapshot, bg, plan)
    _plan_other_runs(snapshot, plan, pre, post)
    return plan


def _plan_pod_metadata(snapshot: Snapshot, bg: BlueGreenStrategy, plan: BlueGreenPlan) -> None:
    """activeMetadata on the pods the active Service selects (and on a first deploy's), previewMetadata on the
    new ones before they are switched to, none on the others (no longer behind the active Service, and an undo
    must not copy the labels back)."""
    active_metadata = _dump(bg.active_metadata)
    preview_metadata = _dump(bg.preview_metadata)
    active = str((plan.status.get("blueGreen") or {}).get("activeSelector") or "")
    stable_hash = str(plan.status.get("stableRS") or "")

    def wanted_for(rs: ReplicaSetView) -> Mapping[str, Any] | None:
        # The first template is active from its first pod (upstream: a fully rolled out ReplicaSet is the active
        # one), not a preview until the active Service is switched to it.
        first = rs.name == snapshot.new.name and stable_hash in ("", rs.pod_hash)
        if rs.pod_hash == active or first:
            return active_metadata
        return preview_metadata if rs.name == snapshot.new.name else None

    plan.pod_metadata = plan_ephemeral_metadata(snapshot.sets, wanted_for)


def _reconcile_pause(
    snapshot: Snapshot, bg: BlueGreenStrategy, status: Obj, plan: BlueGreenPlan, ready: bool, skipped: bool
) -> bool:
    """Whether the pause before the switch is over (upstream's reconcileBlueGreenPause and its completion)."""
    if skipped:
        remove_pause(status, BLUE_GREEN_PAUSE)
        return True
    condition = find_pause(status, BLUE_GREEN_PAUSE)
    if snapshot.rollout.spec.paused or not ready:
        return False
    seconds = bg.effective_auto_promotion_seconds
    if bg.effective_auto_promotion_enabled and seconds <= 0:
        return condition is None
    if condition is None:
        if status.get("controllerPause"):
            return True  # promoted: the user removed the pause condition the controller had added
        plan.events.append(
            Event("Normal", "RolloutPaused", pause_by_controller(status, BLUE_GREEN_PAUSE, snapshot.now))
        )
        if bg.effective_auto_promotion_enabled:
            plan.requeue_in(float(seconds))
        return False
    if not bg.effective_auto_promotion_enabled:
        return False
    started = parse_time(condition.get("startTime"))
    remaining = (started or snapshot.now) + timedelta(seconds=seconds) - snapshot.now
    if remaining <= timedelta(0):
        remove_pause(status, BLUE_GREEN_PAUSE)
        return True
    plan.requeue_in(remaining.total_seconds())
    return False


def _apply_run(plan: BlueGreenPlan, status: Obj, blue: Obj, key: str, run: PromotionRunPlan, now: datetime) -> None:
    if run.create is not None:
        plan.analysis.create.append(run.create)
    plan.analysis.terminate.extend(name for name in run.terminate if name not in plan.analysis.terminate)
    shown = run_status(run.run)
    if shown is None and run.create is None:
        blue.pop(key, None)
    elif shown is not None:
        blue[key] = shown
    if run.abort_message and not status.get("abort"):
        status["abort"] = True
        plan.abort_message = run.abort_message
    elif run.pause_inconclusive and find_pause(status, INCONCLUSIVE_PAUSE) is None:
        plan.events.append(Event("Normal", "RolloutPaused", pause_by_controller(status, INCONCLUSIVE_PAUSE, now)))


def _abort_bookkeeping(status: Obj, plan: BlueGreenPlan, new: ReplicaSetView, now: datetime) -> None:
    if status.get("abort"):
        status.pop("pauseConditions", None)
        status["controllerPause"] = False
        status.pop("promoteFull", None)
        if not status.get("abortedAt"):
            status["abortedAt"] = format_timestamp(now)
            message = f"Rollout aborted update to revision {new.revision}"
            if plan.abort_message:
                message = f"{message}: {plan.abort_message}"
            plan.events.append(Event("Warning", "RolloutAborted", message))
    else:
        status.pop("abortedAt", None)
    if not status.get("pauseConditions"):
        status.pop("pauseConditions", None)


def _calculate_scales(
    snapshot: Snapshot, bg: BlueGreenStrategy, plan: BlueGreenPlan, new_size: int, aborted: bool
) -> dict[str, int]:
    """New at its size (down after the abort delay), active and stable at full size, the rest down once their
    scale-down deadline passed (beyond scaleDownDelayRevisionLimit at once)."""
    now = snapshot.now
    new = snapshot.new
    replicas = snapshot.replicas
    blue = plan.status.get("blueGreen") or {}
    active = str(blue.get("activeSelector") or "")
    stable_hash = str(plan.status.get("stableRS") or "")
    wanted: dict[str, int] = {new.name: new_size}
    if aborted and new.pod_hash not in (active, stable_hash):
        wanted[new.name] = _aborted_size(snapshot, bg, plan, new)
    waiting = 0
    for rs in sorted(snapshot.sets, key=lambda r: -r.revision):
        if rs.name == new.name:
            continue
        if rs.pod_hash in (active, stable_hash):
            if rs.pod_hash == active or rs.replicas > 0:
                wanted[rs.name] = replicas
            continue
        deadline_text = plan.deadlines.get(rs.name, _annotation(rs))
        if rs.replicas == 0:
            if deadline_text is not None and rs.name not in plan.deadlines:
                plan.deadlines[rs.name] = None
            continue
        if deadline_text is not None:
            waiting += 1
            deadline = parse_time(deadline_text)
            limit = bg.scale_down_delay_revision_limit
            if deadline is not None and deadline > now and (limit is None or waiting <= limit):
                plan.requeue_in((deadline - now).total_seconds())
                continue
            plan.deadlines[rs.name] = None
        wanted[rs.name] = 0
    return {name: size for name, size in wanted.items() if size != _spec(snapshot, name)}


def _aborted_size(snapshot: Snapshot, bg: BlueGreenStrategy, plan: BlueGreenPlan, new: ReplicaSetView) -> int:
    delay = bg.effective_abort_scale_down_delay_seconds
    if delay is None:
        return new.replicas  # abortScaleDownDelaySeconds: 0 keeps the preview up
    aborted_at = parse_time(plan.status.get("abortedAt")) or snapshot.now
    remaining = aborted_at + timedelta(seconds=delay) - snapshot.now
    if remaining > timedelta(0):
        plan.requeue_in(remaining.total_seconds())
        return new.replicas
    return 0


def _annotation(rs: ReplicaSetView) -> str | None:
    value = ((rs.raw.get("metadata") or {}).get("annotations") or {}).get(SCALE_DOWN_DEADLINE_ANNOTATION)
    return str(value) if value is not None else None


def _spec(snapshot: Snapshot, name: str) -> int:
    return next(rs.replicas for rs in snapshot.sets if rs.name == name)


def _plan_other_runs(snapshot: Snapshot, plan: BlueGreenPlan, *current: PromotionRunPlan) -> None:
    """Runs that are not current are cancelled, and deleted with their ReplicaSet or beyond the history limits."""
    keep = {name_of(run.run) for run in current if run.run is not None}
    keep |= {run.create.name for run in current if run.create is not None}
    others = [run for run in snapshot.runs if name_of(run) not in keep]
    for run in others:
        if should_cancel(run, snapshot.new.pod_hash) and name_of(run) not in plan.analysis.terminate:
            plan.analysis.terminate.append(name_of(run))
    spec = snapshot.rollout.spec
    plan.analysis.delete = select_runs_to_delete(
        others,
        {rs.pod_hash: bool(rs.raw["metadata"].get("deletionTimestamp")) for rs in snapshot.sets},
        spec.effective_successful_run_history_limit,
        spec.effective_unsuccessful_run_history_limit,
    )


def _reset_on_change(snapshot: Snapshot, status: Obj, blue: Obj) -> None:
    """A new template starts the update again: no pause, abort or promotion carried over (RolloutUpdated is the
    reconciler's, with the Rollout's revision annotation)."""
    new = snapshot.new
    if status.get("currentPodHash") == new.pod_hash:
        return
    for key in ("pauseConditions", "abortedAt", "promoteFull", "restartedAt"):
        status.pop(key, None)
    status["controllerPause"] = False
    status["abort"] = False
    for key in (PRE_RUN_STATUS, POST_RUN_STATUS):
        blue.pop(key, None)
    blue["scaleUpPreviewCheckPoint"] = False
    status["currentPodHash"] = new.pod_hash


def _make_stable(status: Obj, new: ReplicaSetView, events: list[Event], reason: str) -> None:
    if status.get("stableRS") == new.pod_hash:
        return
    status["stableRS"] = new.pod_hash
    status.pop("promoteFull", None)
    status.pop("pauseConditions", None)
    status["controllerPause"] = False
    events.append(
        Event(
            "Normal",
            "RolloutCompleted",
            f"Rollout completed update to revision {new.revision} ({new.pod_hash}): {reason}",
        )
    )


def _dump(analysis: Any) -> Mapping[str, Any] | None:
    if analysis is None:
        return None
    dumped = analysis.model_dump(by_alias=True, exclude_none=True)
    return dumped if isinstance(dumped, Mapping) else None


def _has_templates(analysis: Any) -> bool:
    dumped = _dump(analysis)
    return bool(dumped and dumped.get("templates"))
