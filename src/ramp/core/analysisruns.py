"""AnalysisTemplates → AnalysisRun: flatten the templates, merge the arguments, build the run manifest.

Pure and shared: `ramp.rollout.analysisruns` builds the runs of canary steps, background and blue-green
analysis with it, and `ramp.actions.analysis` the runs of `ramp create analysisrun`. Both read the templates
(nested `spec.templates` references included) and pass them in; nothing here reads the cluster.

Follows upstream's documented behaviour (NewAnalysisRunFromTemplates and MergeArgs):
- metrics are the templates' metrics in order, AnalysisTemplates first, then ClusterAnalysisTemplates; two metrics
  with one name are an error. Metrics keep their `{{args.x}}` placeholders: the AnalysisRun reconciler
  (`ramp.analysis`) substitutes them, so a Secret's value never lands in the run's spec;
- arguments declared by several templates merge by name (a default value beats none; two different defaults
  are an error); supplied arguments fill in the declared ones and undeclared ones are ignored; an argument
  left without `value` or `valueFrom` is an error naming it;
- dryRun and measurementRetention: the caller's entries first, then the templates'; a metric named twice is an
  error.
Where Ramp differs, it says so: a supplied argument replaces the template's `value`/`valueFrom` as a whole
(upstream could leave both set), a template that references one that was not passed in, and a run with no metric
at all, are refused here instead of producing a run that fails later.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

API_VERSION = "argoproj.io/v1alpha1"
KIND = "AnalysisRun"
NAMESPACED_KIND = "AnalysisTemplate"
CLUSTER_KIND = "ClusterAnalysisTemplate"

Obj = dict[str, Any]


class AnalysisTemplateError(ValueError):
    """The templates or arguments cannot make a run; the message names the field and the fix."""


def _spec(template: Mapping[str, Any]) -> Mapping[str, Any]:
    return template.get("spec") or {}


def _name(template: Mapping[str, Any]) -> str:
    return str((template.get("metadata") or {}).get("name") or "")


def describe_template(name: str, cluster_scope: bool) -> str:
    """`AnalysisTemplate "x"` or `ClusterAnalysisTemplate "x"`, as messages name them."""
    return f'{CLUSTER_KIND if cluster_scope else NAMESPACED_KIND} "{name}"'


def list_template_refs(template: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """The (name, cluster scope) of each template `spec.templates` references, in order."""
    refs: list[tuple[str, bool]] = []
    for index, ref in enumerate(_spec(template).get("templates") or []):
        name = str((ref or {}).get("templateName") or "")
        if not name:
            raise AnalysisTemplateError(
                f"{describe_template(_name(template), False)}: spec.templates[{index}].templateName is empty; "
                "name the AnalysisTemplate (or, with clusterScope: true, the ClusterAnalysisTemplate) to include"
            )
        refs.append((name, bool(ref.get("clusterScope"))))
    return refs


def find_missing_refs(
    templates: Sequence[Mapping[str, Any]], cluster_templates: Sequence[Mapping[str, Any]]
) -> list[tuple[str, bool]]:
    """The nested references, among all the templates given, to templates that were not given."""
    given = {(_name(t), False) for t in templates} | {(_name(t), True) for t in cluster_templates}
    missing: list[tuple[str, bool]] = []
    for template in [*templates, *cluster_templates]:
        for ref in list_template_refs(template):
            if ref not in given and ref not in missing:
                missing.append(ref)
    return missing


def _unique_by_name(templates: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    # A template reached twice (a diamond of nested references) counts once, as upstream's FilterUniqueTemplates.
    seen: set[str] = set()
    unique: list[Mapping[str, Any]] = []
    for template in templates:
        name = _name(template)
        if name and name in seen:
            continue
        seen.add(name)
        unique.append(template)
    return unique


def flatten_templates(
    templates: Sequence[Mapping[str, Any]], cluster_templates: Sequence[Mapping[str, Any]] = ()
) -> Obj:
    """One template spec (`metrics`, `args`, `dryRun`, `measurementRetention`) from the given templates.

    Every template named in a `spec.templates` of one of them must be among those given (the caller reads them);
    each template counts once. Raises AnalysisTemplateError naming the missing templates or the clashing field.
    """
    missing = find_missing_refs(templates, cluster_templates)
    if missing:
        names = ", ".join(describe_template(name, cluster) for name, cluster in missing)
        raise AnalysisTemplateError(
            f"referenced in spec.templates but not found: {names}; create them (AnalysisTemplates in the run's "
            "namespace) or remove the references"
        )
    specs = [_spec(t) for t in _unique_by_name(templates)] + [_spec(t) for t in _unique_by_name(cluster_templates)]
    return merge_template_specs(specs)


def merge_template_specs(specs: Sequence[Mapping[str, Any]]) -> Obj:
    """Merge template specs in order: metrics and dryRun/measurementRetention entries appended, arguments merged
    by name. Nested `templates` references are not followed (see `flatten_templates`).

    >>> merged = merge_template_specs([{"metrics": [{"name": "a"}], "args": [{"name": "x"}]},
    ...                                 {"metrics": [{"name": "b"}], "args": [{"name": "x", "value": "1"}]}])
    >>> merged["metrics"], merged["args"]
    ([{'name': 'a'}, {'name': 'b'}], [{'name': 'x', 'value': '1'}])
    """
    metrics = [copy.deepcopy(dict(m)) for spec in specs for m in spec.get("metrics") or []]
    check_unique_metric_names(metrics)
    args: list[Obj] = []
    for spec in specs:
        for arg in spec.get("args") or []:
            _add_declared_arg(args, arg)
    dry_run = [copy.deepcopy(dict(entry)) for spec in specs for entry in spec.get("dryRun") or []]
    retention = [copy.deepcopy(dict(entry)) for spec in specs for entry in spec.get("measurementRetention") or []]
    check_unique_metric_rules(dry_run, "dryRun")
    check_unique_metric_rules(retention, "measurementRetention")
    return {"metrics": metrics, "args": args, "dryRun": dry_run, "measurementRetention": retention}


def check_unique_metric_names(metrics: Sequence[Mapping[str, Any]]) -> None:
    """Raise AnalysisTemplateError when two metrics share a name (or one has none)."""
    seen: set[str] = set()
    for index, metric in enumerate(metrics):
        name = metric.get("name")
        if not name:
            raise AnalysisTemplateError(f"metrics[{index}].name is empty; give every metric a unique name")
        if name in seen:
            raise AnalysisTemplateError(
                f'two metrics are named "{name}"; metric names must be unique across all the templates of a run: '
                "rename one of them"
            )
        seen.add(str(name))


def check_unique_metric_rules(entries: Sequence[Mapping[str, Any]], field: str) -> None:
    """Raise AnalysisTemplateError when a dryRun or measurementRetention list names a metric twice."""
    seen: set[str] = set()
    for entry in entries:
        name = str(entry.get("metricName") or "")
        if name in seen:
            raise AnalysisTemplateError(
                f'{field} names metric "{name}" twice (from the templates or the rollout); keep one entry'
            )
        seen.add(name)


def _add_declared_arg(args: list[Obj], arg: Mapping[str, Any]) -> None:
    name = str(arg.get("name") or "")
    if not name:
        raise AnalysisTemplateError("an argument in spec.args has no name; give every argument a name")
    new = _copy_arg(arg)
    for index, previous in enumerate(args):
        if previous["name"] != name:
            continue
        if "value" in previous and "value" in new and previous["value"] != new["value"]:
            raise AnalysisTemplateError(
                f'argument "{name}" has different default values in two templates '
                f"({previous['value']!r} and {new['value']!r}); give it one value or remove one default"
            )
        if "value" not in previous:
            args[index] = new
        return
    args.append(new)


def _copy_arg(arg: Mapping[str, Any]) -> Obj:
    name = str(arg.get("name") or "")
    copied: Obj = {"name": name}
    value = arg.get("value")
    if value is not None:
        if not isinstance(value, str):
            raise AnalysisTemplateError(
                f'argument "{name}": value must be a string, not {value!r}; quote it in the manifest'
            )
        copied["value"] = value
    if arg.get("valueFrom") is not None:
        copied["valueFrom"] = copy.deepcopy(dict(arg["valueFrom"]))
    return copied


def merge_args(template_args: Sequence[Mapping[str, Any]], supplied_args: Sequence[Mapping[str, Any]]) -> list[Obj]:
    """The run's arguments: those the templates declare, with the supplied values (or valueFrom) filled in.

    Supplied arguments the templates do not declare are ignored, as upstream. Raises AnalysisTemplateError naming
    the first argument left without a value.

    >>> merge_args([{"name": "svc"}, {"name": "q", "value": "0.9"}], [{"name": "svc", "value": "web"}])
    [{'name': 'svc', 'value': 'web'}, {'name': 'q', 'value': '0.9'}]
    """
    merged = [_copy_arg(arg) for arg in template_args]
    for supplied in supplied_args:
        for index, arg in enumerate(merged):
            if arg["name"] != supplied.get("name"):
                continue
            replacement = _copy_arg(supplied)
            if "value" in replacement or "valueFrom" in replacement:
                merged[index] = replacement
    for arg in merged:
        if "value" not in arg and "valueFrom" not in arg:
            raise AnalysisTemplateError(
                f'argument "{arg["name"]}" has no value: supply it (a rollout\'s analysis args, or '
                f"`ramp create analysisrun -a {arg['name']}=VALUE`) or give it a default value in the template"
            )
    return merged


def build_analysis_run(
    *,
    name: str | None,
    generate_name: str | None = None,
    namespace: str,
    templates: Sequence[Mapping[str, Any]] = (),
    cluster_templates: Sequence[Mapping[str, Any]] = (),
    template_specs: Sequence[Mapping[str, Any]] = (),
    args: Sequence[Mapping[str, Any]] = (),
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    owner_reference: Mapping[str, Any] | None = None,
    dry_run: Sequence[Mapping[str, Any]] = (),
    measurement_retention: Sequence[Mapping[str, Any]] = (),
) -> Obj:
    """The AnalysisRun manifest (a new dict) for the templates and arguments.

    `templates` / `cluster_templates` are whole AnalysisTemplate / ClusterAnalysisTemplate objects (nested
    references among them are checked, see `flatten_templates`); `template_specs` are bare template specs merged
    after them (already flattened, or inline). `args` are the caller's values (`{"name", "value"}` or
    `{"name", "valueFrom": {"secretKeyRef"|"fieldRef": ...}}`); `dry_run` and `measurement_retention` are the
    caller's entries, put before the templates'. `name` wins over `generate_name`; one of them is required.
    """
    if not name and not generate_name:
        raise AnalysisTemplateError("the run needs a name: pass a name or a generateName")
    flat = flatten_templates(templates, cluster_templates)
    if template_specs:
        flat = merge_template_specs([flat, *template_specs])
    if not flat["metrics"]:
        raise AnalysisTemplateError(
            "the templates define no metrics; add spec.metrics to a template (or reference one that has them)"
        )
    run_dry_run = [copy.deepcopy(dict(entry)) for entry in dry_run] + flat["dryRun"]
    run_retention = [copy.deepcopy(dict(entry)) for entry in measurement_retention] + flat["measurementRetention"]
    check_unique_metric_rules(run_dry_run, "dryRun")
    check_unique_metric_rules(run_retention, "measurementRetention")
    metadata: Obj = {"name": name} if name else {"generateName": generate_name}
    metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    if owner_reference is not None:
        metadata["ownerReferences"] = [copy.deepcopy(dict(owner_reference))]
    spec: Obj = {"metrics": flat["metrics"]}
    run_args = merge_args(flat["args"], args)
    if run_args:
        spec["args"] = run_args
    if run_dry_run:
        spec["dryRun"] = run_dry_run
    if run_retention:
        spec["measurementRetention"] = run_retention
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": spec}
