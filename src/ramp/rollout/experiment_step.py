"""A canary `experiment` step as pure decisions: the Experiment to create, what its phase means for the step,
and the traffic its weighted templates take.

Follows upstream's documented behaviour (rollout/experiment.go GetExperimentFromTemplate and
reconcileExperiments, rollout/trafficrouting.go calculateWeightDestinationsFromExperiment):
- the Experiment is `<rollout>-<canary pod hash>-<revision>-<step index>`, owned by the Rollout (controller
  reference), labelled with the Rollout's labels and `rollouts-pod-template-hash` of the canary, annotated with
  the revision; its spec takes the step's duration, dryRun, analysisRunMetadata and scaleDownDelaySeconds and
  the Rollout's progressDeadlineSeconds;
- a template with `specRef: canary` (or `stable`) takes that ReplicaSet's pod template, minReadySeconds and
  selector (or the step's selector); the step's metadata labels go into the pod labels and the selector, its
  annotations into the pod annotations; a template with `weight` or `service` gets a Service;
- analysis arguments are resolved as the Rollout's own runs' (podTemplateHashValue, fieldRef);
- Successful completes the step, Failed or Error aborts the Rollout ("Experiment analysis phase is
  error/failed: <message>"), Inconclusive pauses it (InconclusiveExperiment), anything else waits;
- while the Experiment is Running, each template with a weight sends that weight to its Service.
Ramp adds `rollout-type: Step` and `step-index` labels, as on the step's AnalysisRuns, so the step's Experiment
can be found without the status.

Pure: the canary planner calls these; the rollout reconciler creates and terminates the Experiment.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ramp.api.steps import RolloutExperimentStep
from ramp.rollout.analysis import STEP_INDEX_LABEL, STEP_TYPE, TYPE_LABEL
from ramp.rollout.analysisruns import resolve_rollout_args
from ramp.rollout.replicasets import HASH_LABEL, REVISION_ANNOTATION, owner_reference

Obj = dict[str, Any]
ABORT_MESSAGE = "Experiment analysis phase is error/failed"
INCONCLUSIVE_PAUSE_REASON = "InconclusiveExperiment"


class StepExperimentError(ValueError):
    """The step cannot make an Experiment (a template's specRef is neither canary nor stable)."""


@dataclass(frozen=True)
class StepOutcome:
    """What the step does with its Experiment's phase: `create` (none yet), `wait`, `complete`, `abort` (with
    `message`) or `pause` (reason `InconclusiveExperiment`)."""

    action: str
    message: str = ""


def experiment_name(rollout_name: str, pod_hash: str, revision: int | str, step_index: int) -> str:
    """>>> experiment_name("web", "6b7f9c5d8", 3, 1)
    'web-6b7f9c5d8-3-1'
    """
    return f"{rollout_name}-{pod_hash}-{revision}-{step_index}"


def _step_dict(step: RolloutExperimentStep | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(step, RolloutExperimentStep):
        dumped: Mapping[str, Any] = step.model_dump(mode="json", by_alias=True, exclude_none=True)
        return dumped
    return step


def build_step_experiment(
    rollout: Mapping[str, Any],
    step: RolloutExperimentStep | Mapping[str, Any],
    step_index: int,
    revision: int | str,
    canary_rs: Mapping[str, Any],
    stable_rs: Mapping[str, Any],
    canary_hash: str,
    stable_hash: str,
) -> Obj:
    """The Experiment manifest for the step (`canary_rs`/`stable_rs` are the raw ReplicaSets whose templates
    `specRef` names). Raises StepExperimentError for a bad specRef."""
    meta = rollout.get("metadata") or {}
    spec = rollout.get("spec") or {}
    data = _step_dict(step)
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    labels.update({HASH_LABEL: canary_hash, TYPE_LABEL: STEP_TYPE, STEP_INDEX_LABEL: str(step_index)})
    experiment_spec: Obj = {"templates": [_template(t, canary_rs, stable_rs) for t in data.get("templates") or []]}
    for key in ("duration", "dryRun", "analysisRunMetadata", "scaleDownDelaySeconds"):
        if data.get(key) is not None:
            experiment_spec[key] = copy.deepcopy(data[key])
    if spec.get("progressDeadlineSeconds") is not None:
        experiment_spec["progressDeadlineSeconds"] = spec["progressDeadlineSeconds"]
    analyses = []
    for analysis in data.get("analyses") or []:
        entry: Obj = {
            "name": analysis["name"],
            "templateName": analysis["templateName"],
            "args": resolve_rollout_args(analysis.get("args") or [], rollout, stable_hash, canary_hash),
        }
        for key in ("clusterScope", "requiredForCompletion"):
            if analysis.get(key) is not None:
                entry[key] = analysis[key]
        analyses.append(entry)
    if analyses:
        experiment_spec["analyses"] = analyses
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Experiment",
        "metadata": {
            "name": experiment_name(str(meta.get("name", "")), canary_hash, revision, step_index),
            "namespace": meta.get("namespace"),
            "labels": labels,
            "annotations": {REVISION_ANNOTATION: str(revision)},
            "ownerReferences": [owner_reference(rollout)],
        },
        "spec": experiment_spec,
    }


def _template(step_template: Mapping[str, Any], canary_rs: Mapping[str, Any], stable_rs: Mapping[str, Any]) -> Obj:
    ref = step_template.get("specRef")
    if ref not in ("canary", "stable"):
        raise StepExperimentError(
            f"experiment template {step_template.get('name')!r}: specRef must be canary or stable, not {ref!r}"
        )
    source = (canary_rs if ref == "canary" else stable_rs).get("spec") or {}
    pod_template = copy.deepcopy(dict(source.get("template") or {}))
    selector = copy.deepcopy(dict(step_template.get("selector") or source.get("selector") or {}))
    metadata = step_template.get("metadata") or {}
    pod_meta = pod_template.setdefault("metadata", {})
    if metadata.get("labels"):
        pod_meta["labels"] = {**(pod_meta.get("labels") or {}), **metadata["labels"]}
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}), **metadata["labels"]}
    if metadata.get("annotations"):
        pod_meta["annotations"] = {**(pod_meta.get("annotations") or {}), **metadata["annotations"]}
    template: Obj = {"name": step_template["name"], "selector": selector, "template": pod_template}
    if step_template.get("replicas") is not None:
        template["replicas"] = step_template["replicas"]
    if source.get("minReadySeconds"):
        template["minReadySeconds"] = source["minReadySeconds"]
    if step_template.get("weight") is not None or step_template.get("service") is not None:
        name = (step_template.get("service") or {}).get("name")
        template["service"] = {"name": name} if name else {}
    return template


def assess_step_experiment(experiment: Mapping[str, Any] | None) -> StepOutcome:
    """What the step does, given its Experiment (None: not created yet)."""
    if experiment is None:
        return StepOutcome("create")
    status = experiment.get("status") or {}
    phase = status.get("phase")
    if phase == "Successful":
        return StepOutcome("complete")
    if phase in ("Failed", "Error"):
        message = ABORT_MESSAGE + (f": {status['message']}" if status.get("message") else "")
        return StepOutcome("abort", message)
    if phase == "Inconclusive":
        return StepOutcome("pause", INCONCLUSIVE_PAUSE_REASON)
    return StepOutcome("wait")


def additional_destinations(
    experiment: Mapping[str, Any] | None, step: RolloutExperimentStep | Mapping[str, Any]
) -> list[tuple[str, int, str]]:
    """(Service name, weight, pod hash) for each template of the step with a weight, while the Experiment is
    Running (the weights the traffic router adds as additional destinations); [] otherwise."""
    if experiment is None or (experiment.get("status") or {}).get("phase") != "Running":
        return []
    weights = {
        str(t.get("name")): int(t["weight"])
        for t in _step_dict(step).get("templates") or []
        if t.get("weight") is not None
    }
    found: list[tuple[str, int, str]] = []
    for template in (experiment.get("status") or {}).get("templateStatuses") or []:
        weight = weights.get(str(template.get("name")))
        if weight is not None:
            found.append((str(template.get("serviceName") or ""), weight, str(template.get("podTemplateHash") or "")))
    return found


def find_step_experiment(
    experiments: list[Mapping[str, Any]], rollout: Mapping[str, Any], pod_hash: str, step_index: int
) -> Mapping[str, Any] | None:
    """The Experiment of the current step: the one `status.canary.currentExperiment` names, else the newest owned
    one labelled with the canary hash and this step index."""
    current = ((rollout.get("status") or {}).get("canary") or {}).get("currentExperiment")
    uid = (rollout.get("metadata") or {}).get("uid")
    owned = [
        e
        for e in experiments
        if any(
            r.get("controller") and r.get("uid") == uid for r in (e.get("metadata") or {}).get("ownerReferences", [])
        )
    ]
    for experiment in owned:
        if current and (experiment.get("metadata") or {}).get("name") == current:
            return experiment
    matching = [
        e
        for e in owned
        if ((e.get("metadata") or {}).get("labels") or {}).get(HASH_LABEL) == pod_hash
        and ((e.get("metadata") or {}).get("labels") or {}).get(STEP_INDEX_LABEL) == str(step_index)
    ]
    matching.sort(key=lambda e: str((e.get("metadata") or {}).get("creationTimestamp") or ""))
    return matching[-1] if matching else None
