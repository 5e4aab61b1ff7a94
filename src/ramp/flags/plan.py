"""What a FeatureFlag's rollout does next (pure): walk the steps, hold pauses, start and judge analysis runs,
abort on a failed run, and the status to write.

`plan_flag` takes the parsed flag, its AnalysisRuns (by name, from the cache) and `now`, and returns a `FlagPlan`:
the whole new status, the runs to create and those to terminate, and when to look again. The status uses a
Rollout's fields, so the same actions drive both:

- a change of `spec.rollout` (its hash in `status.currentStepHash`) starts the steps again from 0 at weight 0;
- `status.abort` (set by `ramp flags abort` or by a Failed/Error run): weight 0 at once, phase Degraded;
- retry (`status.abort` false again after an abort, `status.abortedAt` still set): the steps start again,
  and the runs of the earlier attempt are deleted (their verdicts no longer count);
- pause steps add a `PausedStep` pause condition and `controllerPause`; promote clears `pauseConditions`
  (and `spec.paused`), which this plan reads as "go on"; a timed pause goes on by itself once its time is up;
- promote on a running step moves `status.currentStepIndex` on; runs of steps left behind are terminated;
- an Inconclusive run pauses the flag (pause condition `InconclusiveAnalysis`) until promoted;
- all steps done: Healthy, weight 100.

Used by `ramp.flags.reconciler`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ramp.api.featureflag import FeatureFlag, FlagAnalysis, FlagPhase
from ramp.api.meta import format_timestamp
from ramp.api.validation import Problem, to_manifest

Obj = dict[str, Any]

PAUSED_STEP = "PausedStep"
INCONCLUSIVE = "InconclusiveAnalysis"
STEP_RUN_LABEL = "step"
BACKGROUND_RUN_LABEL = "background"
_FAILED = ("Failed", "Error")
_DONE = ("Successful", "Failed", "Error", "Inconclusive")


@dataclass(frozen=True)
class RunRequest:
    """An AnalysisRun to create: its name, what it analyses, and which slot (step or background) it fills."""

    name: str
    analysis: FlagAnalysis
    slot: str


@dataclass
class FlagPlan:
    """The decision of one reconcile."""

    status: Obj
    create: list[RunRequest] = field(default_factory=list)
    terminate: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    """Runs of an earlier attempt (before a retry or a change of spec.rollout): their verdicts no longer count."""
    requeue_after: float | None = None


def rollout_hash(flag: FeatureFlag) -> str:
    """A short hash of spec.rollout and spec.defaultVariant: when either changes, the steps start again."""
    rollout = flag.spec.rollout
    data = {"rollout": None if rollout is None else to_manifest(rollout), "default": flag.spec.default_variant}
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:10]


def run_name(flag_name: str, step_hash: str, slot: str, index: int | None = None) -> str:
    """`<flag>-<hash>-<index>` for a step's run, `<flag>-<hash>-background` for the background run.

    >>> run_name("checkout", "abc", "step", 2)
    'checkout-abc-2'
    """
    suffix = str(index) if slot == STEP_RUN_LABEL else BACKGROUND_RUN_LABEL
    return f"{flag_name}-{step_hash}-{suffix}"


def _phase_of(run: Mapping[str, Any] | None) -> str:
    return str(((run or {}).get("status") or {}).get("phase") or "")


def _condition(kind: str, status: bool, reason: str, message: str, now: datetime, old: list[Obj]) -> Obj:
    previous = next((c for c in old if c.get("type") == kind), None)
    value = "True" if status else "False"
    stamp = format_timestamp(now)
    changed = previous is None or previous.get("status") != value
    return {
        "type": kind,
        "status": value,
        "reason": reason,
        "message": message,
        "lastUpdateTime": stamp if changed or previous is None else previous.get("lastUpdateTime", stamp),
        "lastTransitionTime": stamp if changed or previous is None else previous.get("lastTransitionTime", stamp),
    }


def plan_invalid(flag: FeatureFlag, problems: list[Problem], now: datetime) -> FlagPlan:
    """An invalid spec: the InvalidSpec condition and message; the weight and steps stay as they were."""
    old = to_manifest(flag.status) if flag.status is not None else {}
    message = "; ".join(str(p) for p in problems)
    conditions = [c for c in old.get("conditions") or [] if c.get("type") != "InvalidSpec"]
    conditions.append(_condition("InvalidSpec", True, "InvalidSpec", message, now, old.get("conditions") or []))
    status = {**old, "message": f"InvalidSpec: {message}", "conditions": conditions}
    status["observedGeneration"] = str(flag.metadata.generation or 0)
    return FlagPlan(status=status)


def plan_flag(flag: FeatureFlag, runs: Mapping[str, Mapping[str, Any]], now: datetime) -> FlagPlan:
    """The next status of a valid flag, and the runs to create or terminate (see the module docstring)."""
    old = to_manifest(flag.status) if flag.status is not None else {}
    name = flag.metadata.name or ""
    step_hash = rollout_hash(flag)
    status: Obj = dict(old)
    status["observedGeneration"] = str(flag.metadata.generation or 0)
    plan = FlagPlan(status=status)
    rollout = flag.spec.rollout
    running = {n for n, run in runs.items() if _phase_of(run) not in _DONE}
    if rollout is None:
        _finish(status, step_hash, 0)
        status.pop("weight", None)
        status["message"] = "no rollout: the flag serves its variants and targeting as written"
        plan.terminate = sorted(running)
        return _with_conditions(plan, old, now)
    steps = rollout.steps or []
    if status.get("currentStepHash") != step_hash or (not status.get("abort") and status.get("abortedAt")):
        # a new rollout, a changed one, or a retry after an abort: start from the first step, nobody on `new`
        for key in (
            "abort",
            "abortedAt",
            "pauseConditions",
            "controllerPause",
            "currentStepAnalysisRunStatus",
            "currentBackgroundAnalysisRunStatus",
        ):
            status.pop(key, None)
        status.update(currentStepHash=step_hash, currentStepIndex=0, weight=0)
        status.pop("phase", None)
        plan.delete = sorted(runs)
        runs, running = {}, set()
    if status.get("abort"):
        status["weight"] = 0
        status["phase"] = FlagPhase.DEGRADED
        status.setdefault("abortedAt", format_timestamp(now))
        status.pop("controllerPause", None)
        status.pop("pauseConditions", None)
        if not str(status.get("message") or "").startswith("aborted"):
            status["message"] = "aborted: everyone gets the default variant (`ramp flags retry` starts again)"
        plan.terminate = sorted(running)
        return _with_conditions(plan, old, now)

    index = min(int(status.get("currentStepIndex") or 0), len(steps))
    weight = int(status.get("weight") or 0)
    wanted: set[str] = set()
    paused_by = [c.get("reason") for c in status.get("pauseConditions") or []]
    if INCONCLUSIVE in paused_by or flag.spec.paused:
        status.update(currentStepIndex=index, weight=weight, phase=FlagPhase.PAUSED)
        status["message"] = "paused until promoted" + (" (spec.paused)" if flag.spec.paused else "")
        keep = _current_step_run(status) | {run_name(name, step_hash, BACKGROUND_RUN_LABEL)}
        plan.terminate = sorted(running - keep)
        return _with_conditions(plan, old, now)
    while index < len(steps):
        step = steps[index]
        if step.set_weight is not None:
            weight = step.set_weight
            index += 1
            status.pop("currentStepAnalysisRunStatus", None)
            continue
        if step.pause is not None:
            held = next((c for c in status.get("pauseConditions") or [] if c.get("reason") == PAUSED_STEP), None)
            seconds = step.pause.duration_seconds
            if held is None and status.get("controllerPause"):
                index += 1  # promoted: the pause condition was cleared
                status.pop("controllerPause", None)
                continue
            if held is None:
                held = {"reason": PAUSED_STEP, "startTime": format_timestamp(now)}
                status["pauseConditions"] = [*(status.get("pauseConditions") or []), held]
                status["controllerPause"] = True
            started = datetime.fromisoformat(str(held["startTime"]))
            if seconds is not None:
                left = seconds - (now - started).total_seconds()
                if left <= 0:
                    status.pop("pauseConditions", None)
                    status.pop("controllerPause", None)
                    index += 1
                    continue
                plan.requeue_after = left
            status["phase"] = FlagPhase.PAUSED
            status["message"] = f"step {index}: paused" + ("" if seconds is None else f" for {seconds}s")
            break
        assert step.analysis is not None
        run = run_name(name, step_hash, STEP_RUN_LABEL, index)
        wanted.add(run)
        verdict = _judge(plan, status, runs, run, step.analysis, STEP_RUN_LABEL, "currentStepAnalysisRunStatus")
        if verdict in _FAILED:
            return _abort_on_run(plan, status, runs, run, running, old, now)
        if verdict == "Successful":
            index += 1
            status.pop("currentStepAnalysisRunStatus", None)
            continue
        if verdict == "Inconclusive":
            status["pauseConditions"] = [{"reason": INCONCLUSIVE, "startTime": format_timestamp(now)}]
            status["phase"] = FlagPhase.PAUSED
            status["message"] = f'AnalysisRun "{run}" is Inconclusive: paused until promoted'
        else:
            status["phase"] = FlagPhase.PROGRESSING
            status["message"] = f'step {index}: waiting for AnalysisRun "{run}"'
        break
    background = rollout.analysis
    if background is not None and background.effective_starting_step <= index < len(steps):
        run = run_name(name, step_hash, BACKGROUND_RUN_LABEL)
        wanted.add(run)
        verdict = _judge(
            plan, status, runs, run, background, BACKGROUND_RUN_LABEL, "currentBackgroundAnalysisRunStatus"
        )
        if verdict in _FAILED:
            return _abort_on_run(plan, status, runs, run, running, old, now)
    status.update(currentStepIndex=index, weight=weight)
    if index >= len(steps):
        _finish(status, step_hash, len(steps))
        status["message"] = f'variant "{rollout.variant}" rolled out to everyone'
        wanted.clear()
    elif status.get("phase") not in (FlagPhase.PAUSED, FlagPhase.PROGRESSING) or _is_stale_phase(status):
        status["phase"] = FlagPhase.PROGRESSING
    plan.terminate = sorted(running - wanted)
    plan.create = [request for request in plan.create if request.name in wanted]
    return _with_conditions(plan, old, now)


def _is_stale_phase(status: Obj) -> bool:
    # A Paused phase left over from a pause step that was promoted past.
    return status.get("phase") == FlagPhase.PAUSED and not status.get("pauseConditions")


def _current_step_run(status: Obj) -> set[str]:
    current = (status.get("currentStepAnalysisRunStatus") or {}).get("name")
    return {str(current)} if current else set()


def _finish(status: Obj, step_hash: str, index: int) -> None:
    status.update(currentStepHash=step_hash, currentStepIndex=index, weight=100, phase=FlagPhase.HEALTHY)
    for key in ("pauseConditions", "controllerPause", "currentStepAnalysisRunStatus"):
        status.pop(key, None)
    status.pop("currentBackgroundAnalysisRunStatus", None)


def _judge(
    plan: FlagPlan,
    status: Obj,
    runs: Mapping[str, Mapping[str, Any]],
    run: str,
    analysis: FlagAnalysis,
    slot: str,
    status_field: str,
) -> str:
    """The run's phase ("" while it runs); asks for it to be created when it does not exist yet."""
    found = runs.get(run)
    if found is None:
        plan.create.append(RunRequest(run, analysis, slot))
        status[status_field] = {"name": run, "status": "Pending"}
        return ""
    phase = _phase_of(found) or "Pending"
    entry: Obj = {"name": run, "status": phase}
    message = ((found.get("status") or {}).get("message")) or ""
    if message:
        entry["message"] = str(message)
    status[status_field] = entry
    return phase if phase in _DONE else ""


def _abort_on_run(
    plan: FlagPlan,
    status: Obj,
    runs: Mapping[str, Mapping[str, Any]],
    run: str,
    running: set[str],
    old: Obj,
    now: datetime,
) -> FlagPlan:
    """A Failed or Error run: weight 0 at once, Degraded, the message naming the run."""
    phase = _phase_of(runs.get(run))
    detail = str(((runs.get(run) or {}).get("status") or {}).get("message") or "").strip()
    status.update(abort=True, weight=0, phase=FlagPhase.DEGRADED, abortedAt=format_timestamp(now))
    status.pop("pauseConditions", None)
    status.pop("controllerPause", None)
    status["message"] = f'aborted: AnalysisRun "{run}" {phase}' + (f": {detail}" if detail else "")
    plan.create = []
    plan.terminate = sorted(running - {run})
    return _with_conditions(plan, old, now)


def _with_conditions(plan: FlagPlan, old: Obj, now: datetime) -> FlagPlan:
    status = plan.status
    previous = old.get("conditions") or []
    phase = status.get("phase")
    message = str(status.get("message") or "")
    status["conditions"] = [
        _condition(
            "Progressing",
            phase in (FlagPhase.PROGRESSING, FlagPhase.PAUSED),
            "RolloutAborted" if phase == FlagPhase.DEGRADED else str(phase or "Progressing"),
            message,
            now,
            previous,
        ),
        _condition("Paused", phase == FlagPhase.PAUSED, "Paused", message, now, previous),
        _condition("Healthy", phase == FlagPhase.HEALTHY, str(phase or ""), message, now, previous),
    ]
    return plan
