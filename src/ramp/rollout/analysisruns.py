"""The AnalysisRuns of a Rollout on the cluster: finding them, creating them from templates, cancelling, deleting.

`ramp.rollout.analysis` decides; this module carries the decision out for `ramp.rollout.reconciler`. A run is
built from the referenced AnalysisTemplates and ClusterAnalysisTemplates (nested `templates` followed, each
template once) read from the informer caches, with the Rollout's arguments resolved here: literal values,
`podTemplateHashValue` (Stable or Latest) and `fieldRef` into the Rollout. Metrics keep their `{{args.*}}`
placeholders; the AnalysisRun reconciler (`ramp.analysis`) substitutes them. Created as upstream does: under the
decided name, or `<name>.<n>` when the name is taken by a run that is not this rollout's current one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ramp.core.analysisruns import AnalysisTemplateError, build_analysis_run
from ramp.kube.caches import Informers
from ramp.kube.client import KubeClient
from ramp.kube.errors import ApiError
from ramp.kube.resources import ANALYSIS_RUNS, object_key
from ramp.kube.selectors import inherited_instance_id
from ramp.rollout.analysis import RunRequest, may_adopt_run
from ramp.rollout.replicasets import REVISION_ANNOTATION, owner_reference

log = logging.getLogger("ramp.rollout")
Obj = dict[str, Any]
OWNER_INDEX = "rollout-owner"
TERMINATE_PATCH = {"spec": {"terminate": True}}


class RunCreationError(Exception):
    """A run could not be built (a template is missing, an argument has no value); the message says which."""


def owned_runs(informers: Informers, raw: Mapping[str, Any]) -> list[Obj]:
    """The AnalysisRuns this Rollout controls (by owner UID), from the cache."""
    uid = raw["metadata"].get("uid")
    return [
        run
        for run in informers.analysis_runs.by_index(OWNER_INDEX, object_key(raw))
        if any(ref.get("controller") and ref.get("uid") == uid for ref in run["metadata"].get("ownerReferences") or [])
    ]


def find_templates(
    informers: Informers, namespace: str, refs: Sequence[Mapping[str, Any]], seen: set[tuple[bool, str]] | None = None
) -> tuple[list[Obj], list[Obj]]:
    """The (namespaced, cluster) templates the references name, nested references included, each once.

    Raises RunCreationError naming the first template that does not exist.
    """
    seen = set() if seen is None else seen
    templates: list[Obj] = []
    cluster_templates: list[Obj] = []
    for ref in refs:
        name = str(ref.get("templateName") or "")
        cluster = bool(ref.get("clusterScope"))
        if (cluster, name) in seen:
            continue
        seen.add((cluster, name))
        if cluster:
            cache = informers.cluster_analysis_templates
            found = cache.get(name) if cache is not None else None
            if found is None:
                raise RunCreationError(f'ClusterAnalysisTemplate "{name}" not found')
            cluster_templates.append(found)
        else:
            found = informers.analysis_templates.get(f"{namespace}/{name}")
            if found is None:
                raise RunCreationError(f'AnalysisTemplate "{name}" not found in namespace {namespace}')
            templates.append(found)
        nested = (found.get("spec") or {}).get("templates") or []
        if nested:
            inner, inner_cluster = find_templates(informers, namespace, nested, seen)
            templates.extend(inner)
            cluster_templates.extend(inner_cluster)
    return templates, cluster_templates


def resolve_rollout_args(
    args: Sequence[Mapping[str, Any]], raw: Mapping[str, Any], stable_hash: str, latest_hash: str
) -> list[Obj]:
    """The Rollout's analysis arguments as run arguments: every value resolved (hashes, fields of the Rollout)."""
    resolved: list[Obj] = []
    for arg in args:
        value = arg.get("value")
        source = arg.get("valueFrom") or {}
        if source.get("podTemplateHashValue") == "Stable":
            value = stable_hash
        elif source.get("podTemplateHashValue") == "Latest":
            value = latest_hash
        elif source.get("fieldRef"):
            value = extract_field(raw, str(source["fieldRef"].get("fieldPath") or ""))
        resolved.append({"name": arg["name"], "value": "" if value is None else str(value)})
    return resolved


_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


def extract_field(obj: Mapping[str, Any], path: str) -> str | None:
    """A field of an object by a fieldRef path: `metadata.name`, `metadata.labels['app']`, `spec.replicas`,
    `spec.template.spec.containers[0].image`. None when absent.

    >>> extract_field({"metadata": {"labels": {"app": "web"}}}, "metadata.labels['app']")
    'web'
    """
    current: Any = obj
    for match in _SEGMENT.finditer(path):
        key, index, quoted, double_quoted = match.groups()
        if index is not None:
            if not isinstance(current, list) or int(index) >= len(current):
                return None
            current = current[int(index)]
            continue
        name = key if key is not None else (quoted if quoted is not None else double_quoted)
        if not isinstance(current, Mapping) or name not in current:
            return None
        current = current[name]
    if current is None or isinstance(current, (dict, list)):
        return None if current is None else str(current)
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def build_rollout_run(
    informers: Informers,
    raw: Mapping[str, Any],
    request: RunRequest,
    revision: int,
    stable_hash: str,
    latest_hash: str,
) -> Obj:
    """The AnalysisRun manifest for a request; raises RunCreationError when it cannot be built."""
    meta = raw["metadata"]
    namespace = str(meta["namespace"])
    analysis = request.analysis
    templates, cluster_templates = find_templates(informers, namespace, analysis.get("templates") or [])
    args = resolve_rollout_args(analysis.get("args") or [], raw, stable_hash, latest_hash)
    run_meta = analysis.get("analysisRunMetadata") or {}
    labels = {**request.labels, **(run_meta.get("labels") or {})}
    selector = ((raw.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    labels.update({str(k): str(v) for k, v in selector.items()})
    labels.update(inherited_instance_id(raw))  # last: the run must reach the controller that serves the Rollout
    annotations = {REVISION_ANNOTATION: str(revision), **(run_meta.get("annotations") or {})}
    try:
        return build_analysis_run(
            name=request.name,
            generate_name=None,
            namespace=namespace,
            templates=templates,
            cluster_templates=cluster_templates,
            args=args,
            labels=labels,
            annotations=annotations,
            owner_reference=owner_reference(raw),
            dry_run=analysis.get("dryRun") or [],
            measurement_retention=analysis.get("measurementRetention") or [],
        )
    except AnalysisTemplateError as err:
        raise RunCreationError(str(err)) from err


async def create_run(client: KubeClient, informers: Informers, run: Obj, replaces: str | None = None) -> Obj:
    """Create the run; when its name is taken by this very run (made by an earlier reconcile whose status write never
    landed, see `may_adopt_run`) take that one, else try `<name>.1`, `<name>.2`, ... as upstream."""
    namespace = str(run["metadata"]["namespace"])
    base = str(run["metadata"]["name"])
    for collision in range(0, 100):
        name = base if collision == 0 else f"{base}.{collision}"
        run["metadata"]["name"] = name
        try:
            created = await client.create(ANALYSIS_RUNS, run, namespace)
        except ApiError as err:
            if not err.is_already_exists:
                raise
            existing = await client.get(ANALYSIS_RUNS, name, namespace)
            if may_adopt_run(existing, run, replaces):
                informers.analysis_runs.observe(existing)
                log.info("adopted AnalysisRun", extra={"analysisrun": f"{namespace}/{name}"})
                return existing
            continue
        informers.analysis_runs.observe(created)
        return created
    raise RunCreationError(f"no free name for AnalysisRun {base} after 100 attempts")


async def terminate_runs(client: KubeClient, informers: Informers, namespace: str, names: Sequence[str]) -> None:
    """Ask each run to stop (`spec.terminate: true`, upstream's patch); runs already gone are skipped."""
    for name in names:
        try:
            updated = await client.patch(ANALYSIS_RUNS, name, TERMINATE_PATCH, namespace)
        except ApiError as err:
            if err.is_not_found:
                continue
            raise
        informers.analysis_runs.observe(updated)


async def delete_runs(client: KubeClient, informers: Informers, namespace: str, names: Sequence[str]) -> None:
    for name in names:
        try:
            await client.delete(ANALYSIS_RUNS, name, namespace)
        except ApiError as err:
            if not err.is_not_found:
                raise
        informers.analysis_runs.forget(f"{namespace}/{name}")
