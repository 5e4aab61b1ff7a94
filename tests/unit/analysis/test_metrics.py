"""The analysis series as upstream names and labels them, computed from cached objects."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from ramp.analysis.metrics import AnalysisCollector, dry_run_metric_names, provider_type


class _Cache:
    def __init__(self, *objects: dict[str, Any]) -> None:
        self.objects = list(objects)

    def list(self) -> list[dict[str, Any]]:
        return self.objects


RUN = {
    "metadata": {"namespace": "team", "name": "web-abc-2"},
    "spec": {
        "metrics": [
            {"name": "success-rate", "provider": {"prometheus": {"query": "q"}}},
            {"name": "smoke", "provider": {"job": {"spec": {}}}},
        ],
        "dryRun": [{"metricName": "smo"}],
    },
    "status": {"phase": "Running", "metricResults": [{"name": "success-rate", "phase": "Successful"}]},
}
TEMPLATE = {
    "metadata": {"namespace": "team", "name": "success-rate"},
    "spec": {"metrics": [{"name": "success-rate", "provider": {"web": {"url": "u"}}}]},
}
CLUSTER_TEMPLATE = {
    "metadata": {"name": "shared"},
    "spec": {"metrics": [{"name": "errors", "provider": {"plugin": {"ramp/judge": {}}}}]},
}


def _scrape() -> str:
    collector = AnalysisCollector()
    informers = SimpleNamespace(
        analysis_runs=_Cache(RUN),
        analysis_templates=_Cache(TEMPLATE),
        cluster_analysis_templates=_Cache(CLUSTER_TEMPLATE),
    )
    collector.source = lambda: informers  # type: ignore[assignment,return-value]
    registry = CollectorRegistry()
    registry.register(collector)
    return generate_latest(registry).decode()


def test_run_info_and_phases_carry_upstreams_labels() -> None:
    text = _scrape()
    assert 'analysis_run_info{name="web-abc-2",namespace="team",phase="Running"} 1.0' in text
    assert 'analysis_run_phase{name="web-abc-2",namespace="team",phase="Running"} 1.0' in text
    assert 'analysis_run_phase{name="web-abc-2",namespace="team",phase="Pending"} 0.0' in text


def test_each_metric_has_its_provider_type_phase_and_dry_run_flag() -> None:
    text = _scrape()
    assert 'analysis_run_metric_type{metric="smoke",name="web-abc-2",namespace="team",type="Job"} 1.0' in text
    measured = 'dry_run="false",metric="success-rate",name="web-abc-2",namespace="team"'
    assert f'analysis_run_metric_phase{{{measured},phase="Successful",type="Prometheus"}} 1.0' in text
    # No result yet: Pending, and the dryRun rule's pattern matches "smoke" anywhere in the name.
    pending = 'dry_run="true",metric="smoke",name="web-abc-2",namespace="team",phase="Pending",type="Job"'
    assert f"analysis_run_metric_phase{{{pending}}} 1.0" in text


def test_templates_and_cluster_templates_are_listed_with_their_metrics() -> None:
    text = _scrape()
    assert 'analysis_template_info{name="success-rate",namespace="team"} 1.0' in text
    assert 'analysis_template_info{name="shared",namespace=""} 1.0' in text
    assert 'analysis_template_metric_info{metric="errors",name="shared",namespace="",type="RPCPlugin"} 1.0' in text


def test_no_informers_between_terms_means_no_series() -> None:
    registry = CollectorRegistry()
    registry.register(AnalysisCollector())
    assert "analysis_run_info{" not in generate_latest(registry).decode()


def test_provider_types_and_dry_run_patterns() -> None:
    assert provider_type({"provider": {"cloudWatch": {}}}) == "CloudWatch"
    assert provider_type({}) == "Unknown Provider"
    spec = {
        "metrics": [{"name": "a-latency"}, {"name": "b"}],
        "dryRun": [{"metricName": "latency$"}, {"metricName": "("}],
    }
    assert dry_run_metric_names(spec) == {"a-latency"}
