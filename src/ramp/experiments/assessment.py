"""How far an Experiment has come, read from its spec and a status (plain JSON dicts): whether its spec is
valid (upstream's InvalidSpec checks), whether it is terminating, how many pods a template should run, whether
the duration has passed, and the worst template and analysis states that decide its phase.

Follows upstream's rules (utils/experiment/experiment.go, utils/conditions/experiments.go VerifyExperimentSpec,
experiments/experiment.go assessTemplates and assessAnalysisRuns). Pure; used by `ramp.experiments.plan` and
`ramp.experiments.reconciler`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ramp.api.analysis_status import is_completed_phase
from ramp.api.durations import parse_duration
from ramp.core.conditions import (
    INVALID_SPEC,
    INVALID_SPEC_REASON,
    MISSING_FIELD_MESSAGE,
    TRUE,
    get_condition,
    new_condition,
    parse_time,
    remove_condition,
    set_condition,
)
from ramp.core.hashing import POD_TEMPLATE_HASH_LABEL

COMPLETED_TEMPLATE_STATUSES = frozenset({"Successful", "Failed", "Error"})
# Best to worst (upstream's templateStatusOrder and analysisStatusOrder); an unknown word ranks as the best.
TEMPLATE_ORDER = ("Successful", "Running", "Progressing", "Error", "Failed")
ANALYSIS_ORDER = ("Successful", "Running", "Pending", "Inconclusive", "Error", "Failed")
TEMPLATE_TO_PHASE = {
    "Progressing": "Pending",
    "Failed": "Failed",
    "Error": "Error",
    "Successful": "Successful",
    "Running": "Running",
}
REQUIRED_ANALYSES_COMPLETED = "Required AnalysisRuns completed"
DEFAULT_PROGRESS_DEADLINE_SECONDS = 600


def progress_deadline(spec: Mapping[str, Any]) -> int:
    """spec.progressDeadlineSeconds, 600 unless set."""
    value = spec.get("progressDeadlineSeconds")
    return DEFAULT_PROGRESS_DEADLINE_SECONDS if value is None else int(value)


def find(entries: Iterable[Mapping[str, Any]] | None, name: str) -> dict[str, Any] | None:
    """The status entry (template or analysis) named `name`, as a copy."""
    for entry in entries or ():
        if entry.get("name") == name:
            return dict(entry)
    return None


def pod_hash(obj: Mapping[str, Any]) -> str:
    return str(((obj.get("metadata") or {}).get("labels") or {}).get(POD_TEMPLATE_HASH_LABEL) or "")


def has_required_analyses(spec: Mapping[str, Any]) -> bool:
    return any(analysis.get("requiredForCompletion") for analysis in spec.get("analyses") or [])


def are_required_analyses_successful(spec: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """At least one analysis is requiredForCompletion, and every such analysis is Successful."""
    required = [a for a in spec.get("analyses") or [] if a.get("requiredForCompletion")]
    return bool(required) and all(
        (find(status.get("analysisRuns"), str(a.get("name"))) or {}).get("phase") == "Successful" for a in required
    )


def is_terminating(spec: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    """Asked to stop, finished, a template Failed or Error, an analysis Failed, Error or Inconclusive, or every
    required analysis Successful: no new ReplicaSet or run, and everything is scaled down."""
    if spec.get("terminate") or is_completed_phase(status.get("phase")):
        return True
    if any(t.get("status") in ("Failed", "Error") for t in status.get("templateStatuses") or []):
        return True
    if any(r.get("phase") in ("Failed", "Error", "Inconclusive") for r in status.get("analysisRuns") or []):
        return True
    return are_required_analyses_successful(spec, status)


def has_passed_duration(spec: Mapping[str, Any], status: Mapping[str, Any], now: datetime) -> bool:
    """`duration` has elapsed since availableAt (False without either)."""
    available_at = parse_time(status.get("availableAt"))
    if not spec.get("duration") or available_at is None:
        return False
    try:
        return now > available_at + parse_duration(str(spec["duration"]))
    except ValueError:
        return False


def calculate_template_replicas(status: Mapping[str, Any], template: Mapping[str, Any], terminating: bool) -> int:
    """Pods the template's ReplicaSet should run: 0 once the Experiment or the template is done."""
    if terminating or is_completed_phase(status.get("phase")):
        return 0
    current = find(status.get("templateStatuses"), str(template.get("name"))) or {}
    if current.get("status") in COMPLETED_TEMPLATE_STATUSES:
        return 0
    replicas = template.get("replicas")
    return 1 if replicas is None else int(replicas)


def _is_worse(order: tuple[str, ...], current: str | None, new: str | None) -> bool:
    rank = {word: index for index, word in enumerate(order)}
    return rank.get(new or "", 0) > rank.get(current or "", 0)


def assess_templates(spec: Mapping[str, Any], status: Mapping[str, Any]) -> tuple[str, str]:
    """The phase the templates give the Experiment (the worst template state), with that template's message."""
    worst, message = "Successful", ""
    for template in spec.get("templates") or []:
        current = find(status.get("templateStatuses"), str(template.get("name")))
        if current is None:
            if _is_worse(TEMPLATE_ORDER, worst, "Progressing"):
                worst = "Progressing"
        elif _is_worse(TEMPLATE_ORDER, worst, current.get("status")):
            worst, message = str(current.get("status")), str(current.get("message") or "")
    return TEMPLATE_TO_PHASE.get(worst, "Running"), message


def assess_analyses(spec: Mapping[str, Any], status: Mapping[str, Any]) -> tuple[str, str]:
    """The phase the analyses give the Experiment: the worst run phase (Pending reads as Running), or
    Successful with "Required AnalysisRuns completed" once every required analysis is Successful and no other
    run is still going. No analyses: Successful."""
    worst, message = "Successful", ""
    for analysis in spec.get("analyses") or []:
        current = find(status.get("analysisRuns"), str(analysis.get("name"))) or {}
        if _is_worse(ANALYSIS_ORDER, worst, current.get("phase")):
            worst, message = str(current.get("phase")), str(current.get("message") or "")
    if are_required_analyses_successful(spec, status) and _is_worse(ANALYSIS_ORDER, worst, "Running"):
        return "Successful", REQUIRED_ANALYSES_COMPLETED
    return ("Running" if worst == "Pending" else worst), message


_COUNTS = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")


def has_progressed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """A template was added, or a template's pod counts changed (upstream's ExperimentProgressing)."""
    before = {str(t.get("name")): t for t in old.get("templateStatuses") or []}
    after = {str(t.get("name")): t for t in new.get("templateStatuses") or []}
    if len(before) < len(after):
        return True
    return any(
        int(before[name].get(key) or 0) != int(after[name].get(key) or 0)
        for name in before
        if name in after
        for key in _COUNTS
    )


def verify_spec(experiment: Mapping[str, Any]) -> str | None:
    """Upstream's InvalidSpec checks, in its order; None when the spec is valid."""
    spec = experiment.get("spec") or {}
    name = (experiment.get("metadata") or {}).get("name", "")
    deadline = progress_deadline(spec)
    seen: set[str] = set()
    for index, template in enumerate(spec.get("templates") or []):
        selector = template.get("selector")
        if selector is None:
            return MISSING_FIELD_MESSAGE.format(field=f".Spec.Templates[{index}].Selector")
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            return f"This experiment is selecting all pods at index {index}. A non-empty selector is required."
        if int(template.get("minReadySeconds") or 0) > deadline:
            return f"MinReadySeconds cannot be longer than ProgressDeadlineSeconds. Check template index {index}"
        if not template.get("name"):
            return f"Experiment {name} has empty template name at index {index}"
        if template["name"] in seen:
            return f"Experiment {name} has repeated template name '{template['name']}' in templates"
        seen.add(template["name"])
    return None


def plan_invalid_spec(experiment: Mapping[str, Any], message: str, now: datetime) -> dict[str, Any]:
    """The status of an Experiment whose spec is invalid: only the InvalidSpec condition changes."""
    status = dict(experiment.get("status") or {})
    conditions = status.get("conditions") or []
    previous = get_condition(conditions, INVALID_SPEC)
    if previous is not None and previous.get("message") != message:
        conditions = remove_condition(conditions, INVALID_SPEC)
    condition = new_condition(INVALID_SPEC, TRUE, INVALID_SPEC_REASON, message, now)
    status["conditions"] = set_condition(conditions, condition, now)
    return status
