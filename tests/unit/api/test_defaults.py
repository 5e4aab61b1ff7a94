"""Upstream's defaults are computed on demand (`effective_*`) and never written into the manifest."""

from __future__ import annotations

from typing import Any

import pytest

from ramp.api import parse_rollout, to_manifest
from ramp.api.analysis import Metric
from ramp.api.experiment import ExperimentSpec, TemplateSpec
from ramp.api.meta import LabelSelector
from ramp.api.providers import DatadogMetric, MetricProvider, WebMetric
from ramp.api.rollout import Rollout
from ramp.api.strategy import BlueGreenStrategy, CanaryStrategy
from ramp.api.traffic import NginxTrafficRouting, RolloutTrafficRouting


def minimal_rollout(strategy: dict[str, Any] | None = None, **spec: Any) -> Rollout:
    body = {"strategy": strategy} if strategy is not None else {}
    return parse_rollout({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "spec": body | spec})


def test_reading_and_writing_adds_no_default_fields():
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "demo"},
        "spec": {"strategy": {"canary": {}}},
    }
    assert to_manifest(parse_rollout(manifest)) == manifest


ROLLOUT_SPEC_DEFAULTS = {
    "replicas_default_to_1": ({}, "effective_replicas", 1),
    "replicas_0_stays_0": ({"replicas": 0}, "effective_replicas", 0),
    "revision_history_limit_defaults_to_10": ({}, "effective_revision_history_limit", 10),
    "revision_history_limit_as_set": ({"revisionHistoryLimit": 2}, "effective_revision_history_limit", 2),
    "progress_deadline_defaults_to_600": ({}, "effective_progress_deadline_seconds", 600),
    "min_ready_seconds_defaults_to_0": ({}, "effective_min_ready_seconds", 0),
    "successful_run_history_defaults_to_5": ({}, "effective_successful_run_history_limit", 5),
    "unsuccessful_run_history_defaults_to_5": ({}, "effective_unsuccessful_run_history_limit", 5),
    "run_history_as_set": (
        {"analysis": {"successfulRunHistoryLimit": 0}},
        "effective_successful_run_history_limit",
        0,
    ),
}


@pytest.mark.parametrize(("spec", "name", "expected"), ROLLOUT_SPEC_DEFAULTS.values(), ids=ROLLOUT_SPEC_DEFAULTS.keys())
def test_rollout_spec_default(spec: dict[str, Any], name: str, expected: int):
    assert getattr(minimal_rollout(**spec).spec, name) == expected


ROUTED = RolloutTrafficRouting(nginx=NginxTrafficRouting(stable_ingress="web"))

CANARY_DEFAULTS = {
    "max_surge_defaults_to_25_percent": (CanaryStrategy(), "effective_max_surge", "25%"),
    "max_surge_as_set": (CanaryStrategy(max_surge=2), "effective_max_surge", 2),
    "max_unavailable_defaults_to_25_percent": (CanaryStrategy(), "effective_max_unavailable", "25%"),
    "max_unavailable_0_stays_0": (CanaryStrategy(max_unavailable=0), "effective_max_unavailable", 0),
    "basic_canary_scales_down_at_once": (CanaryStrategy(), "effective_scale_down_delay_seconds", 0),
    "routed_canary_scale_down_delay_defaults_to_30": (
        CanaryStrategy(traffic_routing=ROUTED),
        "effective_scale_down_delay_seconds",
        30,
    ),
    "routed_canary_scale_down_delay_as_set": (
        CanaryStrategy(traffic_routing=ROUTED, scale_down_delay_seconds=5),
        "effective_scale_down_delay_seconds",
        5,
    ),
    "basic_canary_abort_scales_down_at_once": (
        CanaryStrategy(),
        "effective_abort_scale_down_delay_seconds",
        0,
    ),
    "routed_canary_abort_delay_defaults_to_30": (
        CanaryStrategy(traffic_routing=ROUTED),
        "effective_abort_scale_down_delay_seconds",
        30,
    ),
    "routed_canary_abort_delay_0_means_never": (
        CanaryStrategy(traffic_routing=ROUTED, abort_scale_down_delay_seconds=0),
        "effective_abort_scale_down_delay_seconds",
        None,
    ),
    "max_traffic_weight_defaults_to_100": (CanaryStrategy(), "effective_max_traffic_weight", 100),
    "max_traffic_weight_as_set": (
        CanaryStrategy(traffic_routing=RolloutTrafficRouting(max_traffic_weight=1000)),
        "effective_max_traffic_weight",
        1000,
    ),
    "min_pods_per_replica_set_defaults_to_1": (CanaryStrategy(), "effective_min_pods_per_replica_set", 1),
}


@pytest.mark.parametrize(("strategy", "name", "expected"), CANARY_DEFAULTS.values(), ids=CANARY_DEFAULTS.keys())
def test_canary_default(strategy: CanaryStrategy, name: str, expected: object):
    assert getattr(strategy, name) == expected


BLUE_GREEN_DEFAULTS = {
    "auto_promotion_enabled_by_default": ({}, "effective_auto_promotion_enabled", True),
    "auto_promotion_disabled_when_false": (
        {"auto_promotion_enabled": False},
        "effective_auto_promotion_enabled",
        False,
    ),
    "auto_promotion_seconds_default_to_0": ({}, "effective_auto_promotion_seconds", 0),
    "scale_down_delay_defaults_to_30": ({}, "effective_scale_down_delay_seconds", 30),
    "scale_down_delay_0_stays_0": ({"scale_down_delay_seconds": 0}, "effective_scale_down_delay_seconds", 0),
    "abort_delay_defaults_to_30": ({}, "effective_abort_scale_down_delay_seconds", 30),
    "abort_delay_0_means_never": (
        {"abort_scale_down_delay_seconds": 0},
        "effective_abort_scale_down_delay_seconds",
        None,
    ),
    "max_unavailable_defaults_to_25_percent": ({}, "effective_max_unavailable", "25%"),
}


@pytest.mark.parametrize(("fields", "name", "expected"), BLUE_GREEN_DEFAULTS.values(), ids=BLUE_GREEN_DEFAULTS.keys())
def test_blue_green_default(fields: dict[str, Any], name: str, expected: object):
    assert getattr(BlueGreenStrategy(active_service="active", **fields), name) == expected


PROMETHEUS = MetricProvider.model_validate({"prometheus": {"query": "up"}})

METRIC_DEFAULTS = {
    "no_count_no_interval_measures_once": ({}, "effective_count", 1),
    "interval_alone_measures_until_terminated": ({"interval": "1m"}, "effective_count", None),
    "count_as_set": ({"count": 3, "interval": "1m"}, "effective_count", 3),
    "count_as_numeric_string": ({"count": "4", "interval": "1m"}, "effective_count", 4),
    "count_0_counts_as_unset": ({"count": 0}, "effective_count", 1),
    "failure_limit_defaults_to_0": ({}, "effective_failure_limit", 0),
    "failure_limit_minus_1_disables": ({"failure_limit": -1}, "effective_failure_limit", -1),
    "inconclusive_limit_defaults_to_0": ({}, "effective_inconclusive_limit", 0),
    "consecutive_error_limit_defaults_to_4": ({}, "effective_consecutive_error_limit", 4),
    "consecutive_error_limit_as_set": (
        {"consecutive_error_limit": 0},
        "effective_consecutive_error_limit",
        0,
    ),
    "consecutive_success_limit_defaults_to_off": ({}, "effective_consecutive_success_limit", 0),
}


@pytest.mark.parametrize(("fields", "name", "expected"), METRIC_DEFAULTS.values(), ids=METRIC_DEFAULTS.keys())
def test_metric_default(fields: dict[str, Any], name: str, expected: object):
    assert getattr(Metric(name="m", provider=PROMETHEUS, **fields), name) == expected


def test_metric_limit_left_as_argument_is_reported_not_guessed():
    metric = Metric(name="m", provider=PROMETHEUS, failure_limit="{{args.limit}}")
    with pytest.raises(ValueError, match="not a whole number"):
        _ = metric.effective_failure_limit


def test_provider_defaults():
    web = WebMetric(url="http://x")
    assert (web.effective_method, web.effective_timeout_seconds, web.effective_json_path) == (
        "GET",
        10,
        "{$}",
    )
    datadog = DatadogMetric(query="q")
    assert (datadog.effective_interval, datadog.effective_api_version, datadog.effective_request_timeout) == (
        "5m",
        "v1",
        "10s",
    )


def test_experiment_defaults():
    template = TemplateSpec(name="t", selector=LabelSelector(), template={})
    spec = ExperimentSpec(templates=[template])
    assert template.effective_replicas == 1
    assert spec.effective_progress_deadline_seconds == 600
    assert spec.effective_scale_down_delay_seconds == 30


def test_nginx_annotation_prefix_default():
    assert NginxTrafficRouting().effective_annotation_prefix == "nginx.ingress.kubernetes.io"
    assert NginxTrafficRouting(annotation_prefix="x.org").effective_annotation_prefix == "x.org"


def test_background_analysis_starts_at_step_0_by_default():
    rollout = minimal_rollout({"canary": {"analysis": {"templates": [{"templateName": "t"}]}}})
    assert rollout.spec.strategy is not None and rollout.spec.strategy.canary is not None
    assert rollout.spec.strategy.canary.analysis is not None
    assert rollout.spec.strategy.canary.analysis.effective_starting_step == 0
