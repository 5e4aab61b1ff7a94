"""One reconcile of an Experiment as a pure decision: from the Experiment, the ReplicaSets, Services and
AnalysisRuns it owns, the analysis templates and `now`, what to create, scale, delete and terminate, the new
status, the events and when to look again.

Follows upstream's documented lifecycle (docs/features/experiment.md, experiments/experiment.go):
1. each template gets a ReplicaSet (created at 0, then scaled to `replicas`, default 1) and, with `service`,
   a Service; a template is Progressing until all its pods are available, then Running; Failed when it makes no
   progress for progressDeadlineSeconds (default 600);
2. once every template is Running the Experiment is Running and `availableAt` is set; only then are the
   AnalysisRuns created (their templates are checked before: a missing one is an Error);
3. the templates become Successful once `duration` has passed since availableAt (or on spec.terminate);
   a Failed, Error or Inconclusive analysis ends the Experiment with its phase; when every analysis with
   `requiredForCompletion` is Successful the Experiment is Successful ("Required AnalysisRuns completed");
4. a finished or terminating Experiment terminates its unfinished runs, marks its ReplicaSets with the
   `scale-down-deadline` annotation (now + scaleDownDelaySeconds, default 30; 0 removes it), scales them to 0
   once that time has passed, and deletes each Service when its ReplicaSet has no available pod left.
Ramp differs in one place, and says so: while terminating, a run that has finished still has its phase copied
into the status (upstream leaves the last phase it saw), so the status never shows a finished run as Running.

`ramp.experiments.reconciler` gathers the inputs, sends the writes and the status (one merge patch).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ramp.api.analysis_status import is_completed_phase
from ramp.api.durations import parse_duration
from ramp.api.meta import format_timestamp
from ramp.core.conditions import (
    FALSE,
    INVALID_SPEC,
    NEW_RS_AVAILABLE_REASON,
    PROGRESSING,
    REPLICA_SET_UPDATED_REASON,
    TRUE,
    new_condition,
    parse_time,
    remove_condition,
    set_condition,
    set_progress_condition,
)
from ramp.experiments import assessment as assess
from ramp.experiments.objects import (
    TemplatesFound,
    build_experiment_run,
    build_template_replica_set,
    build_template_service,
    experiment_placeholders,
    find_unresolvable_argument,
)

Obj = dict[str, Any]

SCALE_DOWN_DEADLINE_ANNOTATION = "scale-down-deadline"
DEFAULT_SCALE_DOWN_DELAY_SECONDS = 30
MIN_REQUEUE_SECONDS = 1.0
EXPERIMENT_PROGRESSING_MESSAGE = 'Experiment "{name}" is progressing.'
EXPERIMENT_RUNNING_MESSAGE = 'Experiment "{name}" is running.'
EXPERIMENT_COMPLETED_MESSAGE = 'Experiment "{name}" has successfully ran and completed.'
EXPERIMENT_COMPLETE_REASON = "ExperimentCompleted"
NORMAL, WARNING = "Normal", "Warning"


@dataclass(frozen=True)
class Event:
    event_type: str
    reason: str
    message: str
    on_rollout: bool = False
    """Also recorded on the Rollout that owns the Experiment (analysis transitions, as upstream)."""


@dataclass(frozen=True)
class Scale:
    template: str
    name: str
    replicas: int
    previous: int


@dataclass(frozen=True)
class Inputs:
    """What one reconcile reads. Maps are keyed by template name (ReplicaSets, Services), run name (runs) and
    analysis name (templates). `failures` (keyed `template:<name>`, `service:<name>`, `analysis:<name>`) and
    `run_names` (analysis → the name its run was created under) report writes of this reconcile, so the status
    can be decided again once they are known."""

    experiment: Mapping[str, Any]
    replica_sets: Mapping[str, Mapping[str, Any]]
    services: Mapping[str, Mapping[str, Any]]
    runs: Mapping[str, Mapping[str, Any]]
    analysis_templates: Mapping[str, TemplatesFound]
    now: datetime
    failures: Mapping[str, str] = field(default_factory=dict)
    run_names: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Plan:
    status: Obj
    create_replica_sets: list[tuple[str, Obj]] = field(default_factory=list)
    set_deadlines: list[tuple[str, str | None]] = field(default_factory=list)
    """(ReplicaSet name, scale-down-deadline value, or None to remove it)."""
    scale: list[Scale] = field(default_factory=list)
    create_services: list[tuple[str, Obj]] = field(default_factory=list)
    delete_services: list[tuple[str, str]] = field(default_factory=list)
    create_runs: list[tuple[str, Obj]] = field(default_factory=list)
    terminate_runs: list[tuple[str, str]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    requeue_after: float | None = None

    def requeue_within(self, seconds: float) -> None:
        seconds = max(seconds, MIN_REQUEUE_SECONDS)
        self.requeue_after = seconds if self.requeue_after is None else min(self.requeue_after, seconds)


def plan_experiment(inputs: Inputs) -> Plan:
    """Decide one reconcile of a valid Experiment."""
    experiment = inputs.experiment
    spec = experiment.get("spec") or {}
    old = experiment.get("status") or {}
    plan = Plan(status={})
    terminating = assess.is_terminating(spec, old)
    template_statuses = [
        _plan_template(inputs, plan, template, terminating) for template in spec.get("templates") or []
    ]
    run_statuses = [_plan_analysis(inputs, plan, analysis, terminating) for analysis in spec.get("analyses") or []]
    status: Obj = {**old, "templateStatuses": template_statuses}
    if run_statuses:
        status["analysisRuns"] = run_statuses
    else:
        status.pop("analysisRuns", None)
    _decide_phase(spec, old, status, inputs.now)
    status["conditions"] = _conditions(experiment, status, inputs.now)
    plan.status = {key: value for key, value in status.items() if value not in (None, "", [])}
    if old.get("phase") != status.get("phase"):
        bad = status.get("phase") in ("Error", "Failed", "Inconclusive")
        message = f"Experiment transitioned from {old.get('phase', '')} -> {status.get('phase')}"
        plan.events.append(Event(WARNING if bad else NORMAL, f"Experiment{status.get('phase')}", message))
    _plan_requeue(spec, status, inputs.now, plan)
    return plan


def _plan_template(inputs: Inputs, plan: Plan, template: Mapping[str, Any], terminating: bool) -> Obj:
    experiment, now = inputs.experiment, inputs.now
    spec, old = experiment.get("spec") or {}, experiment.get("status") or {}
    name = str(template.get("name"))
    previous = assess.find(old.get("templateStatuses"), name) or {"name": name}
    current = dict(previous)
    desired = assess.calculate_template_replicas(old, template, terminating)
    rs = inputs.replica_sets.get(name)
    counts = {"replicas": 0, "updatedReplicas": 0, "readyReplicas": 0, "availableReplicas": 0}
    if rs is None:
        failure = inputs.failures.get(f"template:{name}")
        if failure is not None:
            current["status"] = "Error"
            current["message"] = f"Failed to create ReplicaSet for template '{name}': {failure}"
        else:
            plan.create_replica_sets.append(
                (name, build_template_replica_set(experiment, template, _collisions(previous)))
            )
            current["lastTransitionTime"] = format_timestamp(now)
    else:
        _plan_service(inputs, plan, template, rs, desired, current)
        rs_meta, rs_status = rs.get("metadata") or {}, rs.get("status") or {}
        replicas = int((rs.get("spec") or {}).get("replicas", 1))
        if replicas != desired:
            target = desired
            if desired == 0:
                remaining = _scale_down_remaining(spec, rs_meta, now, plan)
                if remaining is not None:
                    target = int(template.get("replicas", 1) if template.get("replicas") is not None else 1)
                    plan.requeue_within(remaining)
            if target != replicas:
                plan.scale.append(Scale(name, str(rs_meta.get("name")), target, replicas))
                direction = "up" if target > replicas else "down"
                message = f"Scaled {direction} ReplicaSet {rs_meta.get('name')} from {replicas} to {target}"
                plan.events.append(Event(NORMAL, "ScalingReplicaSet", message))
            current["lastTransitionTime"] = format_timestamp(now)
        elif desired == 0:
            _scale_down_remaining(spec, rs_meta, now, plan)
        replicas_now = int(rs_status.get("replicas") or 0)
        counts = {
            "replicas": replicas_now,
            "updatedReplicas": replicas_now,
            "readyReplicas": int(rs_status.get("readyReplicas") or 0),
            "availableReplicas": int(rs_status.get("availableReplicas") or 0),
        }
    if any(int(previous.get(key) or 0) != value for key, value in counts.items()):
        current["lastTransitionTime"] = format_timestamp(now)
    current.update(counts)
    if current.get("status") not in assess.COMPLETED_TEMPLATE_STATUSES:
        _assess_template(spec, old, current, desired, terminating, now)
    if previous.get("status") != current.get("status"):
        message = f"Template '{name}' transitioned from {previous.get('status', '')} -> {current.get('status')}"
        if current.get("message"):
            message += f": {current['message']}"
        bad = current.get("status") in ("Failed", "Error")
        plan.events.append(Event(WARNING if bad else NORMAL, f"Template{current.get('status')}", message))
    return {key: value for key, value in current.items() if value not in (None, "")}


def _assess_template(
    spec: Mapping[str, Any], old: Mapping[str, Any], current: Obj, desired: int, terminating: bool, now: datetime
) -> None:
    if desired == current["availableReplicas"]:
        passed = assess.has_passed_duration(spec, old, now)
        current["status"] = "Successful" if passed or terminating else "Running"
        return
    since = parse_time(current.get("lastTransitionTime")) or now
    deadline = assess.progress_deadline(spec)
    if now > since + timedelta(seconds=deadline):
        current["status"] = "Failed"
        current["message"] = f"Template '{current['name']}' exceeded its progressDeadlineSeconds ({deadline})"
    else:
        current["status"] = "Successful" if terminating else "Progressing"


def _plan_service(
    inputs: Inputs, plan: Plan, template: Mapping[str, Any], rs: Mapping[str, Any], desired: int, current: Obj
) -> None:
    name = str(template.get("name"))
    service = inputs.services.get(name)
    available = int((rs.get("status") or {}).get("availableReplicas") or 0)
    if template.get("service") is not None and desired != 0:
        if service is not None:
            current["serviceName"] = (service.get("metadata") or {}).get("name")
            current["podTemplateHash"] = assess.pod_hash(rs)
            return
        failure = inputs.failures.get(f"service:{name}")
        body = build_template_service(inputs.experiment, template, rs)
        if body is None:
            return
        if failure is not None:
            current["status"] = "Error"
            current["message"] = f"Failed to create Service {body['metadata']['name']} for template '{name}': {failure}"
            return
        plan.create_services.append((name, body))
        current["serviceName"] = body["metadata"]["name"]
        current["podTemplateHash"] = assess.pod_hash(rs)
        return
    if service is not None and (template.get("service") is None or available == 0):
        plan.delete_services.append((name, str((service.get("metadata") or {}).get("name"))))
        current.pop("serviceName", None)
        current.pop("podTemplateHash", None)


def _scale_down_remaining(
    spec: Mapping[str, Any], rs_meta: Mapping[str, Any], now: datetime, plan: Plan
) -> float | None:
    """Mark the ReplicaSet for scale-down (upstream's addScaleDownDelay) and return the seconds left before it
    may be scaled to 0; None when it may be now."""
    delay = spec.get("scaleDownDelaySeconds")
    delay = DEFAULT_SCALE_DOWN_DELAY_SECONDS if delay is None else int(delay)
    annotation = (rs_meta.get("annotations") or {}).get(SCALE_DOWN_DEADLINE_ANNOTATION)
    name = str(rs_meta.get("name"))
    if delay == 0:
        if annotation is not None:
            plan.set_deadlines.append((name, None))
        return None
    if annotation is None:
        annotation = format_timestamp(now + timedelta(seconds=delay))
        plan.set_deadlines.append((name, annotation))
    deadline = parse_time(annotation)
    if deadline is None or deadline <= now:
        return None
    return (deadline - now).total_seconds()


def _plan_analysis(inputs: Inputs, plan: Plan, analysis: Mapping[str, Any], terminating: bool) -> Obj:
    experiment = inputs.experiment
    old = experiment.get("status") or {}
    name = str(analysis.get("name"))
    previous = assess.find(old.get("analysisRuns"), name) or {"name": name}
    current = dict(previous)
    found = inputs.analysis_templates.get(name, TemplatesFound())
    if old.get("availableAt") is None:
        if found.error is not None:
            kind = "ClusterAnalysisTemplate" if analysis.get("clusterScope") else "AnalysisTemplate"
            current["phase"] = "Error"
            current["message"] = f"{kind} verification failed for analysis '{name}': {found.error}"
        elif (unresolvable := find_unresolvable_argument(experiment, analysis)) is not None:
            # An argument naming a placeholder no template can ever give fails now, not once the templates
            # are up (upstream finds it only then): nothing is scaled for an Experiment that cannot succeed.
            current["phase"] = "Error"
            current["message"] = f"Failed to create AnalysisRun for analysis '{name}': {unresolvable}"
    elif not previous.get("analysisRun"):
        if not terminating:
            _plan_new_run(inputs, plan, analysis, current)
    elif not is_completed_phase(previous.get("phase")):
        run = inputs.runs.get(str(previous["analysisRun"]))
        run_status = (run or {}).get("status") or {}
        if run is None:
            current["phase"] = "Error"
            current["message"] = f'analysisruns.argoproj.io "{previous["analysisRun"]}" not found'
        elif terminating and not is_completed_phase(run_status.get("phase")):
            if not (run.get("spec") or {}).get("terminate"):
                plan.terminate_runs.append((name, str(previous["analysisRun"])))
                plan.events.append(
                    Event(NORMAL, "AnalysisRunTerminating", f"Terminating {name} ({previous['analysisRun']})")
                )
        else:
            current["phase"] = run_status.get("phase") or previous.get("phase") or "Pending"
            current["message"] = run_status.get("message")
    if previous.get("phase") != current.get("phase") and current.get("phase"):
        message = f"AnalysisRun '{name}' transitioned from {previous.get('phase', '')} -> {current['phase']}"
        if current.get("message"):
            message += f": {current['message']}"
        bad = current["phase"] in ("Failed", "Error", "Inconclusive")
        plan.events.append(
            Event(WARNING if bad else NORMAL, f"AnalysisRun{current['phase']}", message, on_rollout=True)
        )
    return {key: value for key, value in current.items() if value not in (None, "")}


def _plan_new_run(inputs: Inputs, plan: Plan, analysis: Mapping[str, Any], current: Obj) -> None:
    experiment = inputs.experiment
    spec, old = experiment.get("spec") or {}, experiment.get("status") or {}
    name = str(analysis.get("name"))
    available_at = parse_time(old.get("availableAt"))
    duration = parse_duration(spec["duration"]) if spec.get("duration") else None
    placeholders = experiment_placeholders(experiment, inputs.replica_sets, available_at, duration)
    run = build_experiment_run(
        experiment, analysis, inputs.analysis_templates.get(name, TemplatesFound()), placeholders
    )
    problem = run.error if run.body is None else inputs.failures.get(f"analysis:{name}")
    if problem is not None or run.body is None:
        current["phase"] = "Error"
        current["message"] = f"Failed to create AnalysisRun for analysis '{name}': {problem}"
        return
    plan.create_runs.append((name, run.body))
    current["phase"] = "Pending"
    current["analysisRun"] = inputs.run_names.get(name, run.body["metadata"]["name"])
    current.pop("message", None)


def _decide_phase(spec: Mapping[str, Any], old: Mapping[str, Any], status: Obj, now: datetime) -> None:
    phase = old.get("phase") or ""
    if phase == "":
        status["phase"] = "Pending"
        return
    if phase not in ("Pending", "Running"):
        return
    template_phase, template_message = assess.assess_templates(spec, status)
    analysis_phase, analysis_message = assess.assess_analyses(spec, status)
    if template_phase == "Running" and not status.get("availableAt"):
        status["availableAt"] = format_timestamp(now)
    if is_completed_phase(template_phase):
        analyses_done = is_completed_phase(analysis_phase) or assess.has_required_analyses(spec)
        if template_phase == "Successful" and analyses_done:
            status["phase"], status["message"] = analysis_phase, analysis_message
        else:
            status["phase"], status["message"] = template_phase, template_message
    elif (is_completed_phase(analysis_phase) and analysis_phase != "Successful") or (
        assess.are_required_analyses_successful(spec, status)
    ):
        # An analysis ended the Experiment early, or every required one succeeded.
        status["phase"], status["message"] = analysis_phase, analysis_message
    else:
        status["phase"], status["message"] = template_phase, template_message


def _conditions(experiment: Mapping[str, Any], status: Mapping[str, Any], now: datetime) -> list[Obj]:
    name = (experiment.get("metadata") or {}).get("name", "")
    spec, old = experiment.get("spec") or {}, experiment.get("status") or {}
    conditions = remove_condition(status.get("conditions"), INVALID_SPEC)
    if status.get("phase") == "Successful":
        message = EXPERIMENT_COMPLETED_MESSAGE.format(name=name)
        done = new_condition(PROGRESSING, FALSE, EXPERIMENT_COMPLETE_REASON, message, now)
        return set_condition(conditions, done, now)
    if assess.has_progressed(old, status):
        message = EXPERIMENT_PROGRESSING_MESSAGE.format(name=name)
        progressing = new_condition(PROGRESSING, TRUE, REPLICA_SET_UPDATED_REASON, message, now)
        return set_progress_condition(conditions, progressing, now)
    if old.get("availableAt") and not assess.has_passed_duration(spec, old, now):
        message = EXPERIMENT_RUNNING_MESSAGE.format(name=name)
        running = new_condition(PROGRESSING, TRUE, NEW_RS_AVAILABLE_REASON, message, now)
        return set_condition(conditions, running, now)
    return conditions


def _plan_requeue(spec: Mapping[str, Any], status: Mapping[str, Any], now: datetime, plan: Plan) -> None:
    """Come back when the duration ends or a template's progress deadline passes (upstream's
    calculateEnqueueDuration); scale-down deadlines were added while planning the templates."""
    if assess.is_terminating(spec, status):
        return
    available_at = parse_time(status.get("availableAt"))
    if available_at is not None and spec.get("duration") and not assess.has_passed_duration(spec, status, now):
        # Times have whole seconds: at the exact end the duration has not passed yet, so come back.
        plan.requeue_within((available_at + parse_duration(spec["duration"]) - now).total_seconds())
    deadline = assess.progress_deadline(spec)
    for template in spec.get("templates") or []:
        current = assess.find(status.get("templateStatuses"), str(template.get("name")))
        if current is None or current.get("status") not in ("Progressing", "Running"):
            continue
        desired = assess.calculate_template_replicas(status, template, False)
        since = parse_time(current.get("lastTransitionTime"))
        if int(current.get("availableReplicas") or 0) != desired and since is not None:
            plan.requeue_within((since + timedelta(seconds=deadline) - now).total_seconds())


def _collisions(template_status: Mapping[str, Any]) -> int | None:
    value = template_status.get("collisionCount")
    return None if value is None else int(value)
