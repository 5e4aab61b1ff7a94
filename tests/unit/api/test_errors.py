"""Bad manifests get one clear message per bad field, naming the field path and what is expected."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ramp.api import ManifestError, parse_analysis_template, parse_experiment, parse_object, parse_rollout


def rollout(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "demo"},
        "spec": spec,
    }


def canary(*steps: Any, **settings: Any) -> dict[str, Any]:
    return rollout(strategy={"canary": {"steps": list(steps), **settings}})


ROLLOUT_ERRORS = {
    "set_weight_above_100": (
        canary({"setWeight": 10}, {"pause": {}}, {"setWeight": 120}),
        [
            "spec.strategy.canary.steps[2].setWeight:"
            " SetWeight needs to be between 0 and 100, got 120; use a whole number 0-100"
        ],
    ),
    "set_weight_negative": (
        canary({"setWeight": -5}),
        [
            "spec.strategy.canary.steps[0].setWeight:"
            " SetWeight needs to be between 0 and 100, got -5; use a whole number 0-100"
        ],
    ),
    "set_weight_as_percent_string": (
        canary({"setWeight": "20%"}),
        [
            "spec.strategy.canary.steps[0].setWeight:"
            ' SetWeight needs to be between 0 and 100, got "20%"; use a whole number 0-100'
        ],
    ),
    "set_weight_bounded_by_max_traffic_weight": (
        canary({"setWeight": 500}, {"setWeight": 1001}, trafficRouting={"maxTrafficWeight": 1000}),
        [
            "spec.strategy.canary.steps[1].setWeight:"
            " SetWeight needs to be between 0 and 1000, got 1001; use a whole number 0-1000"
        ],
    ),
    "step_with_two_exclusive_keys": (
        canary({"setWeight": 20, "pause": {}}),
        [
            "spec.strategy.canary.steps[0]: Step must have one of the following set: experiment, setWeight, "
            "setCanaryScale, plugin or pause; a step has only one of setWeight, pause, experiment, analysis "
            "(found setWeight, pause): split it into separate steps"
        ],
    ),
    "step_with_unknown_key": (
        canary({"setWieght": 20}),
        [
            "spec.strategy.canary.steps[0]: unknown step setWieght; a step is one of: setWeight, pause, "
            "setCanaryScale, analysis, experiment, setHeaderRoute, setMirrorRoute, plugin"
        ],
    ),
    "empty_step": (
        canary({}),
        [
            "spec.strategy.canary.steps[0]: Step must have one of the following set: experiment, setWeight, "
            "setCanaryScale, plugin or pause; empty step: give it one of setWeight, pause, setCanaryScale, "
            "analysis, experiment, setHeaderRoute, setMirrorRoute, plugin"
        ],
    ),
    "step_that_is_not_an_object": (
        canary(20),
        ["spec.strategy.canary.steps[0]: must be an object (a mapping of keys to values), got 20"],
    ),
    "pause_duration_in_words": (
        canary({"pause": {"duration": "5 minutes"}}),
        [
            "spec.strategy.canary.steps[0].pause.duration: must be a number of seconds or a duration "
            'such as "30s", "5m" or "1h", got "5 minutes"'
        ],
    ),
    "negative_pause": (
        canary({"pause": {"duration": -3}}),
        [
            "spec.strategy.canary.steps[0].pause.duration:"
            " Duration needs to be greater than 0 (0 or more, such as 30s; none pauses "
            "until promoted), got -3"
        ],
    ),
    "replicas_as_string": (
        rollout(replicas="3"),
        ['spec.replicas: must be an integer, got "3"'],
    ),
    "max_surge_as_float": (
        canary(maxSurge=1.5),
        ['spec.strategy.canary.maxSurge: must be an integer or a string such as "25%", got 1.5'],
    ),
    "blue_green_without_active_service": (
        rollout(strategy={"blueGreen": {"previewService": "preview"}}),
        ["spec.strategy.blueGreen.activeService: is required"],
    ),
    "label_value_not_a_string": (
        rollout(selector={"matchLabels": {"app": 1}}),
        ["spec.selector.matchLabels.app: must be a string, got 1"],
    ),
    "paused_not_a_boolean": (
        rollout(paused="yes"),
        ['spec.paused: must be true or false, got "yes"'],
    ),
    "restart_at_not_a_time": (
        rollout(restartAt="yesterday"),
        ['spec.restartAt: must be an RFC 3339 time such as "2024-05-01T12:00:00Z", got "yesterday"'],
    ),
    "restart_at_without_time_zone": (
        rollout(restartAt="2024-05-01T12:00:00"),
        ['spec.restartAt: must include a time zone, such as "2024-05-01T12:00:00Z", got "2024-05-01T12:00:00"'],
    ),
    "steps_not_a_list": (
        rollout(strategy={"canary": {"steps": {"setWeight": 5}}}),
        ["spec.strategy.canary.steps: must be a list, got an object"],
    ),
    "gateway_api_plugin_setting_of_wrong_type": (
        canary(trafficRouting={"plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": 5}}}),
        ['spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"].httpRoute: must be a string, got 5'],
    ),
    "istio_destination_rule_without_subsets": (
        canary(trafficRouting={"istio": {"destinationRule": {"name": "dr"}}}),
        [
            "spec.strategy.canary.trafficRouting.istio.destinationRule.canarySubsetName: is required",
            "spec.strategy.canary.trafficRouting.istio.destinationRule.stableSubsetName: is required",
        ],
    ),
    "status_observed_generation_as_number": (
        {**rollout(), "status": {"observedGeneration": 3}},
        ["status.observedGeneration: must be a string, got 3"],
    ),
    "missing_spec": (
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "demo"}},
        ["spec: is required"],
    ),
    "wrong_kind_and_api_version": (
        {**rollout(), "kind": "Deployment", "apiVersion": "apps/v1"},
        [
            'kind: must be Rollout, got "Deployment"',
            'apiVersion: must be argoproj.io/v1alpha1, got "apps/v1"',
        ],
    ),
    "several_bad_fields_all_listed": (
        rollout(replicas=-1.0, paused=1, minReadySeconds="5"),
        [
            "spec.replicas: must be an integer, got -1.0",
            'spec.minReadySeconds: must be an integer, got "5"',
            "spec.paused: must be true or false, got 1",
        ],
    ),
}


@pytest.mark.parametrize(("manifest", "expected"), ROLLOUT_ERRORS.values(), ids=ROLLOUT_ERRORS.keys())
def test_rollout_error_names_the_field(manifest: dict[str, Any], expected: list[str]):
    with pytest.raises(ManifestError) as caught:
        parse_rollout(manifest)
    assert [str(problem) for problem in caught.value.problems] == expected


def template(**metric: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "rate"},
        "spec": {"metrics": [{"name": "rate", "provider": {"prometheus": {"query": "up"}}} | metric]},
    }


ANALYSIS_ERRORS = {
    "metric_without_provider": (
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AnalysisTemplate",
            "metadata": {"name": "rate"},
            "spec": {"metrics": [{"name": "rate"}]},
        },
        ["spec.metrics[0].provider: is required"],
    ),
    "failure_limit_as_boolean": (
        template(failureLimit=True),
        ['spec.metrics[0].failureLimit: must be an integer or a string such as "25%", got true'],
    ),
    "web_metric_without_url": (
        template(provider={"web": {"method": "GET"}}),
        ["spec.metrics[0].provider.web.url: is required"],
    ),
    "datadog_api_version_unknown": (
        template(provider={"datadog": {"apiVersion": "v3", "query": "q"}}),
        ["spec.metrics[0].provider.datadog.apiVersion: must be one of 'v1' or 'v2', got \"v3\""],
    ),
    "kayenta_threshold_incomplete": (
        template(
            provider={
                "kayenta": {
                    "address": "a",
                    "application": "b",
                    "canaryConfigName": "c",
                    "metricsAccountName": "d",
                    "configurationAccountName": "e",
                    "storageAccountName": "f",
                    "threshold": {"pass": 90},
                    "scopes": [],
                }
            }
        ),
        ["spec.metrics[0].provider.kayenta.threshold.marginal: is required"],
    ),
}


@pytest.mark.parametrize(("manifest", "expected"), ANALYSIS_ERRORS.values(), ids=ANALYSIS_ERRORS.keys())
def test_analysis_template_error_names_the_field(manifest: dict[str, Any], expected: list[str]):
    with pytest.raises(ManifestError) as caught:
        parse_analysis_template(manifest)
    assert [str(problem) for problem in caught.value.problems] == expected


def test_experiment_duration_must_be_a_duration():
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Experiment",
        "metadata": {"name": "exp"},
        "spec": {"duration": "ten minutes", "templates": []},
    }
    with pytest.raises(ManifestError) as caught:
        parse_experiment(manifest)
    assert [str(p) for p in caught.value.problems] == [
        'spec.duration: must be a duration such as "30s", "5m" or "1h30m", got "ten minutes"'
    ]


def test_error_text_names_the_object_and_lists_each_problem():
    with pytest.raises(ManifestError) as caught:
        parse_rollout(canary({"setWeight": -1}, maxSurge=1.5))
    assert str(caught.value) == (
        'Rollout "demo" is invalid:\n'
        "  spec.strategy.canary.steps[0].setWeight: SetWeight needs to be between 0 and 100, got -1; use a whole "
        "number 0-100\n"
        '  spec.strategy.canary.maxSurge: must be an integer or a string such as "25%", got 1.5'
    )
    assert caught.value.summary().startswith('Rollout "demo" is invalid: spec.strategy.canary.steps[0].setWeight')


def test_manifest_error_is_a_value_error():
    with pytest.raises(ValueError, match="must be an object"):
        parse_rollout(["not", "a", "rollout"])


def test_unknown_kind_is_refused_with_the_list_of_kinds():
    with pytest.raises(ManifestError) as caught:
        parse_object({"apiVersion": "apps/v1", "kind": "Deployment"})
    assert str(caught.value.problems[0]) == (
        "kind: must be one of Rollout, AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun, Experiment, "
        "FeatureFlag, "
        "got 'Deployment'"
    )


def test_parsing_does_not_change_the_input():
    manifest = canary({"setWeight": 10}, {"pause": {"duration": "1m"}})
    before = copy.deepcopy(manifest)
    parse_rollout(manifest)
    assert manifest == before
