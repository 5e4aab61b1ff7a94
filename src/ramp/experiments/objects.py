"""The objects an Experiment owns, as bodies to create: one ReplicaSet per template, its Service, and the
AnalysisRuns of its analyses; and how to recognise the ones that already exist.

Follows upstream's documented shapes (experiments/replicaset.go, service.go, experiment.go):
- ReplicaSet `<experiment>-<template>`: the template's pod template with `rollouts-pod-template-hash` added to
  its labels and selector, the pod template's labels (hash included) as its own, the annotations
  `experiment.argoproj.io/name` and `experiment.argoproj.io/template-name` (which is how a ReplicaSet is matched
  to its template), a controller reference to the Experiment; created at 0 replicas and scaled afterwards;
- Service `<experiment>-<template>` (or `service.name`): selects the ReplicaSet's labels, one port per container
  port, the same two annotations and owner;
- AnalysisRun `<experiment>-<analysis>`: the referenced templates' metrics, the Experiment's arguments with
  `{{templates.<name>.podTemplateHash}}`, `{{templates.<name>.replicaset.name}}`, `{{experiment.availableAt}}`
  and `{{experiment.finishedAt}}` resolved, its dryRun, measurementRetention and analysisRunMetadata.

Pure: `ramp.experiments.plan` builds the bodies, `ramp.experiments.reconciler` sends them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ramp.api.meta import format_timestamp
from ramp.core.analysisruns import AnalysisTemplateError, build_analysis_run
from ramp.core.hashing import POD_TEMPLATE_HASH_LABEL, compute_pod_template_hash
from ramp.kube.selectors import inherited_instance_id

Obj = dict[str, Any]

EXPERIMENT_NAME_ANNOTATION = "experiment.argoproj.io/name"
TEMPLATE_NAME_ANNOTATION = "experiment.argoproj.io/template-name"
API_VERSION = "argoproj.io/v1alpha1"


@dataclass(frozen=True)
class TemplatesFound:
    """The AnalysisTemplates an analysis references (nested ones included), or why they cannot be read."""

    templates: Sequence[Mapping[str, Any]] = ()
    cluster_templates: Sequence[Mapping[str, Any]] = ()
    error: str | None = None


@dataclass(frozen=True)
class RunBody:
    """An AnalysisRun to create for one analysis, or the reason it cannot be built."""

    body: Obj | None
    error: str | None = None


def owner_reference(experiment: Mapping[str, Any]) -> Obj:
    meta = experiment.get("metadata") or {}
    return {
        "apiVersion": API_VERSION,
        "kind": "Experiment",
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def is_owned(obj: Mapping[str, Any], experiment: Mapping[str, Any]) -> bool:
    """Controlled by this Experiment (by UID) and annotated with its name, as upstream claims objects."""
    meta = obj.get("metadata") or {}
    exp_meta = experiment.get("metadata") or {}
    controlled = any(
        ref.get("controller") and ref.get("uid") == exp_meta.get("uid") for ref in meta.get("ownerReferences") or []
    )
    annotations = meta.get("annotations") or {}
    return controlled and annotations.get(EXPERIMENT_NAME_ANNOTATION) == exp_meta.get("name")


def template_of(obj: Mapping[str, Any]) -> str:
    """The template name an owned ReplicaSet or Service was made for."""
    return str(((obj.get("metadata") or {}).get("annotations") or {}).get(TEMPLATE_NAME_ANNOTATION) or "")


def map_by_template(
    objects: Sequence[Mapping[str, Any]], experiment: Mapping[str, Any], names: Sequence[str]
) -> dict[str, Mapping[str, Any]]:
    """The owned objects by the template they belong to (templates no longer in the spec are left out)."""
    found: dict[str, Mapping[str, Any]] = {}
    for obj in sorted(objects, key=lambda o: str((o.get("metadata") or {}).get("creationTimestamp") or "")):
        template = template_of(obj)
        if template in names and template not in found and is_owned(obj, experiment):
            found[template] = obj
    return found


def replica_set_name(experiment: Mapping[str, Any], template: Mapping[str, Any]) -> str:
    return f"{(experiment.get('metadata') or {}).get('name', '')}-{template.get('name', '')}"


def build_template_replica_set(
    experiment: Mapping[str, Any], template: Mapping[str, Any], collision_count: int | None
) -> Obj:
    """The body of a template's ReplicaSet, at 0 replicas."""
    meta = experiment.get("metadata") or {}
    pod_template = copy.deepcopy(dict(template.get("template") or {}))
    pod_meta = pod_template.setdefault("metadata", {})
    labels = {k: v for k, v in (pod_meta.get("labels") or {}).items() if k != POD_TEMPLATE_HASH_LABEL}
    pod_meta["labels"] = labels
    pod_hash = compute_pod_template_hash(pod_template, collision_count)
    labels[POD_TEMPLATE_HASH_LABEL] = pod_hash
    selector = copy.deepcopy(dict(template.get("selector") or {}))
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), POD_TEMPLATE_HASH_LABEL: pod_hash}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": replica_set_name(experiment, template),
            "namespace": meta.get("namespace"),
            "labels": dict(labels),
            "annotations": {
                EXPERIMENT_NAME_ANNOTATION: str(meta.get("name", "")),
                TEMPLATE_NAME_ANNOTATION: str(template.get("name", "")),
            },
            "ownerReferences": [owner_reference(experiment)],
        },
        "spec": {
            "replicas": 0,
            "minReadySeconds": int(template.get("minReadySeconds") or 0),
            "selector": selector,
            "template": pod_template,
        },
    }


def build_template_service(
    experiment: Mapping[str, Any], template: Mapping[str, Any], replica_set: Mapping[str, Any]
) -> Obj | None:
    """The Service of a template with `service`, selecting its ReplicaSet's pods; None when the pods expose no
    container port (upstream creates no Service then)."""
    meta = experiment.get("metadata") or {}
    rs_meta = replica_set.get("metadata") or {}
    containers = (((replica_set.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    ports: list[Obj] = []
    for container in containers:
        for port in container.get("ports") or []:
            number = int(port.get("containerPort") or 0)
            entry: Obj = {"protocol": port.get("protocol") or "TCP", "port": number, "targetPort": number}
            if port.get("name"):
                entry["name"] = port["name"]
            ports.append(entry)
    if not ports:
        return None
    service = template.get("service") or {}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": service.get("name") or rs_meta.get("name"),
            "namespace": meta.get("namespace"),
            "annotations": {
                EXPERIMENT_NAME_ANNOTATION: str(meta.get("name", "")),
                TEMPLATE_NAME_ANNOTATION: str(template.get("name", "")),
            },
            "ownerReferences": [owner_reference(experiment)],
        },
        "spec": {"selector": dict(rs_meta.get("labels") or {}), "ports": ports},
    }


_OPEN, _CLOSE = "{{", "}}"


def resolve_experiment_value(text: str, placeholders: Mapping[str, str]) -> str:
    """Substitute `{{name}}` placeholders (spaces inside the braces ignored), as upstream's
    ResolveExperimentArgsValue; an unknown one raises AnalysisTemplateError("failed to resolve {{name}}").

    >>> resolve_experiment_value("{{ templates.a.podTemplateHash }}", {"templates.a.podTemplateHash": "x1"})
    'x1'
    """

    # One pass with str.find (linear in the text: "{{" * 20000 takes no longer than its length to read).
    parts: list[str] = []
    position = 0
    while (start := text.find(_OPEN, position)) >= 0:
        end = text.find(_CLOSE, start + len(_OPEN))
        if end < 0:
            break
        tag = text[start + len(_OPEN) : end]
        if tag.strip() not in placeholders:
            raise AnalysisTemplateError(f"failed to resolve {{{{{_shorten(tag)}}}}}")
        parts.append(text[position:start])
        parts.append(placeholders[tag.strip()])
        position = end + len(_CLOSE)
    parts.append(text[position:])
    return "".join(parts)


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def experiment_placeholders(
    experiment: Mapping[str, Any],
    replica_sets: Mapping[str, Mapping[str, Any]],
    available_at: datetime | None,
    duration: timedelta | None,
) -> dict[str, str]:
    """The values an Experiment's analysis arguments may use."""
    values: dict[str, str] = {}
    if available_at is not None:
        values["experiment.availableAt"] = format_timestamp(available_at)
        if duration is not None:
            values["experiment.finishedAt"] = format_timestamp(available_at + duration)
    for template in (experiment.get("spec") or {}).get("templates") or []:
        rs = replica_sets.get(str(template.get("name")))
        if rs is not None:
            rs_meta = rs.get("metadata") or {}
            name = template.get("name")
            values[f"templates.{name}.podTemplateHash"] = str(
                (rs_meta.get("labels") or {}).get(POD_TEMPLATE_HASH_LABEL)
            )
            values[f"templates.{name}.replicaset.name"] = str(rs_meta.get("name", ""))
    return values


def find_unresolvable_argument(experiment: Mapping[str, Any], analysis: Mapping[str, Any]) -> str | None:
    """Why an analysis argument of `experiment` can never resolve (a placeholder no template or timestamp of this
    Experiment gives), or None.

    >>> experiment = {"spec": {"templates": [{"name": "a"}]}}
    >>> find_unresolvable_argument(experiment, {"args": [{"name": "h", "value": "{{templates.a.podTemplateHash}}"}]})
    >>> find_unresolvable_argument(experiment, {"args": [{"name": "h", "value": "{{templates.b.podTemplateHash}}"}]})
    'failed to resolve {{templates.b.podTemplateHash}}'
    """
    spec = experiment.get("spec") or {}
    possible = {"experiment.availableAt": "", "experiment.finishedAt": ""}
    for template in spec.get("templates") or []:
        name = template.get("name")
        possible[f"templates.{name}.podTemplateHash"] = ""
        possible[f"templates.{name}.replicaset.name"] = ""
    for arg in analysis.get("args") or []:
        if arg.get("value") is None:
            continue
        try:
            resolve_experiment_value(str(arg["value"]), possible)
        except AnalysisTemplateError as error:
            return str(error)
    return None


def build_experiment_run(
    experiment: Mapping[str, Any],
    analysis: Mapping[str, Any],
    found: TemplatesFound,
    placeholders: Mapping[str, str],
) -> RunBody:
    """The AnalysisRun of one analysis, or the reason it cannot be built (upstream's message follows
    "Failed to create AnalysisRun for analysis '<name>': ")."""
    if found.error is not None:
        return RunBody(None, found.error)
    meta = experiment.get("metadata") or {}
    spec = experiment.get("spec") or {}
    run_meta = spec.get("analysisRunMetadata") or {}
    labels = {str(k): str(v) for k, v in (run_meta.get("labels") or {}).items()}
    labels.update(inherited_instance_id(experiment))  # last: the run must reach the Experiment's controller
    annotations = {str(k): str(v) for k, v in (run_meta.get("annotations") or {}).items()}
    try:
        args: list[Obj] = []
        for arg in analysis.get("args") or []:
            resolved: Obj = {"name": arg.get("name")}
            if arg.get("value") is not None:
                resolved["value"] = resolve_experiment_value(str(arg["value"]), placeholders)
            elif arg.get("valueFrom") is not None:
                # Upstream drops valueFrom here; Ramp passes it on, so the run reads the Secret or field itself.
                resolved["valueFrom"] = copy.deepcopy(arg["valueFrom"])
            args.append(resolved)
        body = build_analysis_run(
            name=f"{meta.get('name', '')}-{analysis.get('name', '')}",
            namespace=str(meta.get("namespace") or ""),
            templates=found.templates,
            cluster_templates=found.cluster_templates,
            args=args,
            labels=labels,
            annotations=annotations,
            owner_reference=owner_reference(experiment),
            dry_run=spec.get("dryRun") or [],
            measurement_retention=spec.get("measurementRetention") or [],
        )
    except AnalysisTemplateError as problem:
        return RunBody(None, str(problem))
    return RunBody(body)
