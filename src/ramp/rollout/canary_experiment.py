"""The `experiment` step of a canary, decided: which Experiment to create, what its phase does to the rollout,
which Experiments to stop, and the traffic its weighted templates take.

Uses the step decisions of `ramp.rollout.experiment_step` (names, manifests, outcomes) on the Experiments the
Rollout owns (`Snapshot.experiments`). As upstream: the step's Experiment is created once the step is current
(and a stable ReplicaSet exists); Successful completes the step, Failed or Error aborts the rollout,
Inconclusive pauses it until promote (which completes the step) or abort. Experiments that are no longer the
current step's (the step was promoted past, the rollout was aborted, promoted fully or replaced) are
terminated. `status.canary.currentExperiment` names the step's Experiment while the step is current.
Pure; `ramp.rollout.canary` calls `plan_experiment_step`, the reconciler creates and terminates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ramp.core.steps import current_step, step_kind
from ramp.rollout.experiment_step import (
    INCONCLUSIVE_PAUSE_REASON,
    StepExperimentError,
    additional_destinations,
    assess_step_experiment,
    build_step_experiment,
    experiment_name,
    find_step_experiment,
)
from ramp.rollout.pauses import find_pause, pause_by_controller
from ramp.rollout.replicasets import ReplicaSetView
from ramp.rollout.snapshot import Snapshot
from ramp.traffic.base import Destination

Obj = dict[str, Any]
CURRENT_EXPERIMENT = "currentExperiment"
TERMINAL_PHASES = frozenset({"Successful", "Failed", "Error", "Inconclusive"})


@dataclass
class ExperimentStepPlan:
    """What the experiment step asks of the reconciler, and what it decided."""

    create: Obj | None = None
    terminate: list[str] = field(default_factory=list)
    step_complete: bool = False
    abort_message: str | None = None
    pause_message: str | None = None
    """The RolloutPaused event's message when the step paused the rollout now."""
    additional: tuple[Destination, ...] = ()
    problem: str | None = None
    """The step cannot make its Experiment (names the field)."""


def is_running(experiment: Mapping[str, Any]) -> bool:
    phase = (experiment.get("status") or {}).get("phase")
    return phase not in TERMINAL_PHASES and not (experiment.get("spec") or {}).get("terminate")


def plan_experiment_step(snapshot: Snapshot, status: Obj, stable: ReplicaSetView | None) -> ExperimentStepPlan:
    """Decide the current experiment step (if any) and which other Experiments to stop."""
    plan = ExperimentStepPlan()
    new = snapshot.new
    index = status.get("currentStepIndex")
    step = current_step(snapshot.steps, index)
    stable_hash = str(status.get("stableRS") or "")
    done = bool(status.get("abort")) or bool(status.get("promoteFull")) or stable_hash == new.pod_hash
    current: Mapping[str, Any] | None = None
    canary = dict(status.get("canary") or {})
    if step is not None and index is not None and step_kind(step) == "experiment" and not done and stable is not None:
        found = find_step_experiment(list(snapshot.experiments), snapshot.raw, new.pod_hash, index)
        outcome = assess_step_experiment(found)
        if outcome.action == "create":
            try:
                plan.create = build_step_experiment(
                    snapshot.raw,
                    step["experiment"],
                    index,
                    new.revision,
                    new.raw,
                    stable.raw,
                    new.pod_hash,
                    stable_hash,
                )
            except StepExperimentError as err:
                plan.problem = f"spec.strategy.canary.steps[{index}].experiment: {err}"
                return plan
            canary[CURRENT_EXPERIMENT] = experiment_name(snapshot.name, new.pod_hash, new.revision, index)
        else:
            assert found is not None
            current = found
            canary[CURRENT_EXPERIMENT] = str(found["metadata"]["name"])
            _apply_outcome(plan, status, outcome.action, outcome.message, snapshot)
            plan.additional = tuple(
                Destination(service, weight, pod_hash)
                for service, weight, pod_hash in additional_destinations(found, step["experiment"])
                if service
            )
    else:
        canary.pop(CURRENT_EXPERIMENT, None)
    status["canary"] = canary
    current_name = (current or {}).get("metadata", {}).get("name")
    plan.terminate = [
        str(e["metadata"]["name"])
        for e in snapshot.experiments
        if is_running(e) and e["metadata"].get("name") != current_name
    ]
    return plan


def _apply_outcome(plan: ExperimentStepPlan, status: Obj, action: str, message: str, snapshot: Snapshot) -> None:
    if action == "complete":
        plan.step_complete = True
        status.get("canary", {}).pop(CURRENT_EXPERIMENT, None)
    elif action == "abort":
        plan.abort_message = message
    elif action == "pause" and find_pause(status, INCONCLUSIVE_PAUSE_REASON) is None:
        # Promote (as upstream's) removes the condition and moves past the step; abort ends the update.
        plan.pause_message = pause_by_controller(status, INCONCLUSIVE_PAUSE_REASON, snapshot.now)
