"""Actions on AnalysisRuns: `create_analysis_run` from a template, and `terminate_analysis_run`.

Creating follows upstream's `create analysisrun`: the template comes from the cluster (an AnalysisTemplate in the
namespace, or a ClusterAnalysisTemplate) or from a manifest file; `NAME=VALUE` arguments fill the template's
arguments; the run is named `--name`, else generated from `--generate-name`, else from `<template>-`;
`--instance-id` labels it for one controller instance. Unlike upstream, which copies the template object as
it is, the run is built by `ramp.core.analysisruns.build_analysis_run`, the same code the rollout reconciler
uses: templates the template references (`spec.templates`) are read and their metrics merged, and an argument
left without a value is refused before anything is created. The template's labels and annotations are carried
over, as upstream does.

Terminating (`{"spec":{"terminate":true}}`, upstream's merge patch) lives in `ramp.actions.experiments` with the
other terminate and is re-exported here. Pure parts (`parse_argument_flags`, `parse_template_manifest`,
`choose_run_name`) take plain values so the CLI and the dashboard share them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from ramp.actions.errors import ActionError, describe_api_error, translate_api_errors
from ramp.actions.experiments import terminate_analysis_run
from ramp.api import ManifestError, parse_analysis_template, parse_cluster_analysis_template
from ramp.core.analysisruns import (
    CLUSTER_KIND,
    NAMESPACED_KIND,
    AnalysisTemplateError,
    build_analysis_run,
    list_template_refs,
)
from ramp.kube.client import JSON, KubeClient
from ramp.kube.errors import ApiError
from ramp.kube.resources import ANALYSIS_RUNS, ANALYSIS_TEMPLATES, CLUSTER_ANALYSIS_TEMPLATES
from ramp.kube.selectors import INSTANCE_ID_LABEL

__all__ = [
    "TemplateSource",
    "choose_run_name",
    "create_analysis_run",
    "parse_argument_flags",
    "parse_template_manifest",
    "terminate_analysis_run",
]

# Server-written or tool-written metadata that describes the template, not the run.
_SKIPPED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


@dataclass(frozen=True)
class TemplateSource:
    """Where the run's template comes from: a name in the cluster, or a manifest already read (`--from-file`)."""

    name: str | None = None
    cluster_scope: bool = False
    manifest: Mapping[str, Any] | None = None


def parse_argument_flags(values: Sequence[str]) -> list[dict[str, str]]:
    """`["service=web", "q=a=b"]` -> `[{"name": "service", "value": "web"}, {"name": "q", "value": "a=b"}]`.

    The value is everything after the first `=`, as upstream; a flag without `=` or without a name is an error.
    """
    args: list[dict[str, str]] = []
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name:
            raise ActionError(f"argument {value!r} is not NAME=VALUE: write it as -a {name or 'NAME'}=VALUE")
        args.append({"name": name, "value": rest})
    return args


def parse_template_manifest(text: str, source: str) -> dict[str, Any]:
    """The AnalysisTemplate or ClusterAnalysisTemplate in a file's text (YAML or JSON), checked field by field."""
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as error:
        raise ActionError(f"{source}: not valid YAML or JSON: {error}".replace("\n", " ")) from error
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise ActionError(f"{source}: must hold exactly one AnalysisTemplate or ClusterAnalysisTemplate")
    manifest: dict[str, Any] = documents[0]
    kind = manifest.get("kind")
    parsers = {NAMESPACED_KIND: parse_analysis_template, CLUSTER_KIND: parse_cluster_analysis_template}
    parse = parsers.get(str(kind))
    if parse is None:
        raise ActionError(
            f"{source}: kind is {kind!r}; --from-file takes an AnalysisTemplate or ClusterAnalysisTemplate"
        )
    try:
        parse(manifest)
    except ManifestError as error:
        raise ActionError(f"{source}: {error.summary()}") from error
    # YAML can hold dates and other non-JSON scalars; the API server takes JSON, so they go as strings.
    plain: dict[str, Any] = json.loads(json.dumps(manifest, default=str))
    return plain


def choose_run_name(template_name: str, name: str | None, generate_name: str | None) -> tuple[str | None, str | None]:
    """(name, generateName) of the run: `name` if given, else `generate_name`, else `<template>-` (as upstream).

    >>> choose_run_name("rate", None, None)
    (None, 'rate-')
    """
    if name:
        return name, None
    if generate_name:
        return None, generate_name
    if not template_name:
        raise ActionError("the template has no name to derive the run's from: pass --name or --generate-name")
    return None, f"{template_name}-"


async def _get_template(client: KubeClient, namespace: str, name: str, cluster_scope: bool) -> JSON:
    kind = CLUSTER_KIND if cluster_scope else NAMESPACED_KIND
    try:
        if cluster_scope:
            return await client.get(CLUSTER_ANALYSIS_TEMPLATES, name)
        return await client.get(ANALYSIS_TEMPLATES, name, namespace)
    except ApiError as error:
        if error.is_not_found:
            where = "" if cluster_scope else f' in namespace "{namespace}"'
            raise ActionError(
                f'{kind} "{name}" not found{where}: check the name'
                + ("" if cluster_scope else " and the namespace (-n/--namespace), or use --global for a cluster one")
            ) from error
        raise ActionError(describe_api_error(error, kind, namespace, name, "get"), code=error.code) from error


async def fetch_template_tree(
    client: KubeClient, namespace: str, root: Mapping[str, Any], cluster_scope: bool
) -> tuple[list[JSON], list[JSON]]:
    """(AnalysisTemplates, ClusterAnalysisTemplates): `root` and every template it references, nested, each once."""
    templates: list[JSON] = []
    cluster_templates: list[JSON] = []
    root_name = str((root.get("metadata") or {}).get("name") or "")
    seen = {(root_name, cluster_scope)}
    pending: list[tuple[Mapping[str, Any], bool]] = [(root, cluster_scope)]
    while pending:
        template, is_cluster = pending.pop(0)
        (cluster_templates if is_cluster else templates).append(dict(template))
        try:
            refs = list_template_refs(template)
        except AnalysisTemplateError as error:
            raise ActionError(str(error)) from error
        for ref in refs:
            if ref in seen:
                continue
            seen.add(ref)
            pending.append((await _get_template(client, namespace, ref[0], ref[1]), ref[1]))
    return templates, cluster_templates


async def create_analysis_run(
    client: KubeClient,
    namespace: str,
    source: TemplateSource,
    *,
    args: Sequence[Mapping[str, Any]] = (),
    name: str | None = None,
    generate_name: str | None = None,
    instance_id: str = "",
) -> JSON:
    """Create an AnalysisRun from a template and return it as the API server stored it (with its final name)."""
    if source.manifest is not None:
        root: Mapping[str, Any] = source.manifest
        cluster_scope = source.manifest.get("kind") == CLUSTER_KIND
    elif source.name:
        cluster_scope = source.cluster_scope
        root = await _get_template(client, namespace, source.name, cluster_scope)
    else:
        raise ActionError("one of --from or --from-file must be specified")
    meta = root.get("metadata") or {}
    run_name, run_generate_name = choose_run_name(str(meta.get("name") or ""), name, generate_name)
    templates, cluster_templates = await fetch_template_tree(client, namespace, root, cluster_scope)
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    if instance_id:
        labels[INSTANCE_ID_LABEL] = instance_id
    annotations = {str(k): str(v) for k, v in (meta.get("annotations") or {}).items() if k not in _SKIPPED_ANNOTATIONS}
    try:
        run = build_analysis_run(
            name=run_name,
            generate_name=run_generate_name,
            namespace=namespace,
            templates=templates,
            cluster_templates=cluster_templates,
            args=args,
            labels=labels,
            annotations=annotations,
        )
    except AnalysisTemplateError as error:
        raise ActionError(str(error)) from error
    async with translate_api_errors("AnalysisRun", namespace, run_name or f"{run_generate_name}*", "create"):
        return await client.create(ANALYSIS_RUNS, run, namespace)
