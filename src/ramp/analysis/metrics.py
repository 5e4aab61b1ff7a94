"""AnalysisRun and AnalysisTemplate metrics with upstream's names and labels, computed from the informer cache
when Prometheus scrapes (as `ramp.rollout.metrics` does for rollouts).

- `analysis_run_info{namespace,name,phase}`: 1 per run, with its phase;
- `analysis_run_phase{namespace,name,phase}`: 1 for the run's phase, 0 for the five others (deprecated upstream
  in favour of `analysis_run_info`, still exported there);
- `analysis_run_metric_type{namespace,name,metric,type}`: 1 per metric of the run, `type` being upstream's
  provider type name (Prometheus, Job, Web, NewRelic, CloudWatch, RPCPlugin, ...);
- `analysis_run_metric_phase{namespace,name,metric,type,dry_run,phase}`: 1 for the metric's phase (Pending
  until it has a result), 0 for the others; `dry_run` is "true" or "false";
- `analysis_template_info{namespace,name}` and `analysis_template_metric_info{namespace,name,type,metric}` for
  AnalysisTemplates and ClusterAnalysisTemplates (namespace "" for the cluster ones).

`analysis_run_reconcile` and `analysis_run_reconcile_error` are written by the work queue's reconcile loop
(`ramp.kube.metrics.reconcile_metrics("analysis_run")`). `ramp.manager` points `COLLECTOR.source` at the
current term's informers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ramp.core.patterns import PatternError, compile_pattern
from ramp.kube.caches import Informers

RUN_PHASES = ("Pending", "Error", "Failed", "Successful", "Running", "Inconclusive")
"""The phases upstream exports a 0/1 series for, in its order."""

PROVIDER_TYPES: Mapping[str, str] = {
    "prometheus": "Prometheus",
    "job": "Job",
    "kayenta": "Kayenta",
    "web": "Web",
    "datadog": "Datadog",
    "wavefront": "Wavefront",
    "newRelic": "NewRelic",
    "cloudWatch": "CloudWatch",
    "graphite": "Graphite",
    "influxdb": "Influxdb",
    "skywalking": "skywalking",
    "plugin": "RPCPlugin",
}
"""A metric's provider field → upstream's provider type name, in upstream's order of precedence."""
UNKNOWN_PROVIDER = "Unknown Provider"


def provider_type(metric: Mapping[str, Any]) -> str:
    """Upstream's type name of the metric's provider (the first set, in upstream's order).

    >>> provider_type({"provider": {"newRelic": {"query": "q"}}}), provider_type({"provider": {}})
    ('NewRelic', 'Unknown Provider')
    """
    provider = metric.get("provider") or {}
    for key, name in PROVIDER_TYPES.items():
        if provider.get(key) is not None:
            return name
    return UNKNOWN_PROVIDER


def dry_run_metric_names(spec: Mapping[str, Any]) -> set[str]:
    """Names of the metrics in dry-run mode: each `dryRun[].metricName` is a regular expression matched anywhere
    in the name, as upstream. A pattern that does not compile selects nothing here (the reconciler reports it)."""
    names = [str(m.get("name", "")) for m in spec.get("metrics") or []]
    chosen: set[str] = set()
    for index, rule in enumerate(spec.get("dryRun") or []):
        text = str((rule or {}).get("metricName", ""))
        if text == "*":
            chosen.update(names)
            continue
        try:
            pattern = compile_pattern(text, f"dryRun[{index}].metricName")
        except PatternError:
            continue
        chosen.update(name for name in names if pattern.search(name))
    return chosen


class AnalysisCollector(Collector):
    """Computes the analysis series from `source()`, the current term's informers (None between terms)."""

    def __init__(self) -> None:
        self.source: Callable[[], Informers | None] = lambda: None

    def collect(self) -> Iterator[Metric]:
        families = new_families()
        informers = self.source()
        if informers is not None:
            add_runs(families, informers.analysis_runs.list())
            templates = informers.analysis_templates.list()
            if informers.cluster_analysis_templates is not None:
                templates = [*templates, *informers.cluster_analysis_templates.list()]
            add_templates(families, templates)
        yield from families.values()


def new_families() -> dict[str, GaugeMetricFamily]:
    run = ["namespace", "name"]
    return {
        "info": GaugeMetricFamily("analysis_run_info", "Information about analysis run.", labels=[*run, "phase"]),
        "phase": GaugeMetricFamily(
            "analysis_run_phase",
            "Information on the state of the Analysis Run (DEPRECATED - use analysis_run_info)",
            labels=[*run, "phase"],
        ),
        "metric_type": GaugeMetricFamily(
            "analysis_run_metric_type",
            "Information on the type of a specific metric in the Analysis Runs",
            labels=[*run, "metric", "type"],
        ),
        "metric_phase": GaugeMetricFamily(
            "analysis_run_metric_phase",
            "Information on the duration of a specific metric in the Analysis Run",
            labels=[*run, "metric", "type", "dry_run", "phase"],
        ),
        "template": GaugeMetricFamily("analysis_template_info", "Information about analysis templates.", labels=run),
        "template_metric": GaugeMetricFamily(
            "analysis_template_metric_info",
            "Information on metrics in analysis templates.",
            labels=[*run, "type", "metric"],
        ),
    }


def add_runs(families: Mapping[str, GaugeMetricFamily], runs: Iterable[Mapping[str, Any]]) -> None:
    """The run series of each AnalysisRun (see the module docstring)."""
    for run in runs:
        meta = run.get("metadata") or {}
        key = [str(meta.get("namespace", "")), str(meta.get("name", ""))]
        spec, status = run.get("spec") or {}, run.get("status") or {}
        phase = str(status.get("phase") or "")
        families["info"].add_metric([*key, phase], 1)
        for candidate in RUN_PHASES:
            is_current = candidate == phase or (candidate == "Pending" and phase == "")
            families["phase"].add_metric([*key, candidate], 1 if is_current else 0)
        results = {str(r.get("name")): r for r in status.get("metricResults") or []}
        dry_run = dry_run_metric_names(spec)
        for metric in spec.get("metrics") or []:
            name = str(metric.get("name", ""))
            kind = provider_type(metric)
            families["metric_type"].add_metric([*key, name, kind], 1)
            metric_phase = str((results.get(name) or {}).get("phase") or "")
            flag = "true" if name in dry_run else "false"
            for candidate in RUN_PHASES:
                is_current = candidate == metric_phase or (candidate == "Pending" and metric_phase == "")
                families["metric_phase"].add_metric([*key, name, kind, flag, candidate], 1 if is_current else 0)


def add_templates(families: Mapping[str, GaugeMetricFamily], templates: Iterable[Mapping[str, Any]]) -> None:
    """`analysis_template_info` and `analysis_template_metric_info` of each (cluster) template."""
    for template in templates:
        meta = template.get("metadata") or {}
        key = [str(meta.get("namespace") or ""), str(meta.get("name", ""))]
        families["template"].add_metric(key, 1)
        for metric in (template.get("spec") or {}).get("metrics") or []:
            families["template_metric"].add_metric([*key, provider_type(metric), str(metric.get("name", ""))], 1)


COLLECTOR = AnalysisCollector()
"""The one collector on the default registry; the manager points its `source` at its informers."""
REGISTRY.register(COLLECTOR)
