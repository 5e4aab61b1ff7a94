"""`lint -f FILE`: check Rollout, AnalysisTemplate, ... manifests before applying them.

Every YAML (or JSON) document of the file whose apiVersion is argoproj.io (or ramp.dev: FeatureFlag) is read with
`ramp.api.parse_object`
(the schema, each bad field named) and checked for fields Ramp does not know (typos; upstream's lint rejects
unknown fields too). Rollouts are checked with the controller's own `ramp.rollout.validation`, so lint prints
the very messages of the InvalidSpec condition, and the analysis templates they run are checked as the
controller does when the file holds them (`ramp.rollout.validation_references`). Metrics of AnalysisTemplates,
ClusterAnalysisTemplates and AnalysisRuns are checked for providers Ramp does not have. Other kinds (Services,
Ingresses) are skipped. Problems print as `FILE: Kind "name": field.path: what is wrong`; exit 1 if there is
any, else `✔ FILE is valid`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from ramp.api import (
    GROUP,
    AnalysisRun,
    AnalysisTemplate,
    ClusterAnalysisTemplate,
    FeatureFlag,
    ManifestError,
    Problem,
    Rollout,
    parse_object,
    unknown_fields,
)
from ramp.api.featureflag import RAMP_GROUP, validate_feature_flag
from ramp.cli.kubeargs import fail
from ramp.providers.registry import check_template_providers
from ramp.rollout.validation import validate_rollout
from ramp.rollout.validation_references import BACKGROUND_ANALYSIS, analysis_references, check_analysis_templates

Templates = Mapping[tuple[str, str], Mapping[str, Any]]

_MEASURING_KINDS = {model.KIND for model in (AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun)}


def lint_document(document: Mapping[str, Any], templates: Templates | None = None) -> list[Problem]:
    """The problems of one argoproj.io object (empty when it is valid). `templates` are the analysis templates
    of the same file by (kind, name): a Rollout's references to them are checked as the controller does."""
    # Read from the document as written, so a metric plugin is named even when its settings do not parse.
    providers = check_template_providers(document) if document.get("kind") in _MEASURING_KINDS else []
    try:
        obj = parse_object(document)
    except ManifestError as error:
        return [*error.problems, *providers]
    problems = [Problem(path, "unknown field (a typo, or not supported)") for path in unknown_fields(obj)]
    if isinstance(obj, Rollout):
        problems += validate_rollout(obj)
        problems += _check_references(document, templates or {})
    if isinstance(obj, FeatureFlag):
        problems += validate_feature_flag(obj)
    return problems + providers


def _check_references(rollout: Mapping[str, Any], templates: Templates) -> list[Problem]:
    """What the controller would say about the templates the Rollout runs, for those found in the file."""
    problems: list[Problem] = []
    for path, analysis in analysis_references(rollout):
        found = []
        for ref in analysis.get("templates") or []:
            kind = "ClusterAnalysisTemplate" if ref.get("clusterScope") else "AnalysisTemplate"
            template = templates.get((kind, str(ref.get("templateName"))))
            if template is not None:
                found.append((kind, template))
        background = path == BACKGROUND_ANALYSIS
        messages = check_analysis_templates(path, found, background=background, arguments=analysis.get("args") or [])
        for message in messages:
            where, _, what = message.partition(": ")
            problems.append(Problem(where, what))
    return problems


def describe_document(document: Mapping[str, Any]) -> str:
    """`Rollout "web"` for messages."""
    name = (document.get("metadata") or {}).get("name") or (document.get("metadata") or {}).get("generateName")
    kind = document.get("kind") or "object"
    return f'{kind} "{name}"' if name else str(kind)


def is_argoproj(document: Mapping[str, Any]) -> bool:
    return str(document.get("apiVersion", "")).split("/")[0] in (GROUP, RAMP_GROUP)


def lint_text(text: str) -> list[str]:
    """Every problem of a manifest file's text, one line each (without the file name)."""
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as error:
        return [f"not valid YAML: {error}".replace("\n", " ")]
    templates: Templates = {
        (str(doc.get("kind")), str((doc.get("metadata") or {}).get("name"))): doc
        for doc in documents
        if isinstance(doc, Mapping) and doc.get("kind") in ("AnalysisTemplate", "ClusterAnalysisTemplate")
    }
    lines: list[str] = []
    checked = 0
    for index, document in enumerate(documents):
        if not isinstance(document, Mapping):
            lines.append(f"document {index + 1}: must be an object (a mapping of keys to values)")
            continue
        if not is_argoproj(document):
            continue
        checked += 1
        lines += [f"{describe_document(document)}: {problem}" for problem in lint_document(document, templates)]
    if not checked and not lines:
        lines.append(f"no {GROUP} object (Rollout, AnalysisTemplate, ...) found")
    return lines


def lint(
    filename: Annotated[str, typer.Option("--filename", "-f", help="File to lint.", show_default=False)],
) -> None:
    """Lint and validate Rollouts (and other argoproj.io objects) in a file."""
    path = Path(filename)
    try:
        text = path.read_text()
    except OSError as error:
        fail(f"{filename}: cannot read: {error.strerror}")
    problems = lint_text(text)
    for line in problems:
        typer.echo(f"{filename}: {line}")
    if problems:
        raise typer.Exit(1)
    typer.echo(f"✔ {filename} is valid")
