"""AnalysisTemplates → AnalysisRun: flattening, argument merging, dryRun/retention, and the errors that name the fix."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ramp.core.analysisruns import (
    AnalysisTemplateError,
    build_analysis_run,
    flatten_templates,
    merge_args,
    merge_template_specs,
)

PROM = {"prometheus": {"address": "http://prom:9090", "query": 'rate{svc="{{args.service}}"}'}}


def template(name: str, *, cluster: bool = False, **spec: Any) -> dict[str, Any]:
    kind = "ClusterAnalysisTemplate" if cluster else "AnalysisTemplate"
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def metric(name: str) -> dict[str, Any]:
    return {"name": name, "interval": "30s", "successCondition": "result[0] >= 0.95", "provider": PROM}


def build(**overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "name": "web-abc-2-1",
        "namespace": "shop",
        "templates": [template("rate", metrics=[metric("success-rate")], args=[{"name": "service"}])],
        "args": [{"name": "service", "value": "web"}],
    }
    return build_analysis_run(**{**options, **overrides})


def test_run_manifest_keeps_placeholders_and_carries_metadata() -> None:
    owner = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "web", "uid": "u1", "controller": True}
    run = build(labels={"rollouts-pod-template-hash": "abc"}, annotations={"a": "b"}, owner_reference=owner)
    assert (run["apiVersion"], run["kind"]) == ("argoproj.io/v1alpha1", "AnalysisRun")
    assert run["metadata"] == {
        "name": "web-abc-2-1",
        "namespace": "shop",
        "labels": {"rollouts-pod-template-hash": "abc"},
        "annotations": {"a": "b"},
        "ownerReferences": [owner],
    }
    assert run["spec"]["metrics"] == [metric("success-rate")]
    assert "{{args.service}}" in run["spec"]["metrics"][0]["provider"]["prometheus"]["query"]
    assert run["spec"]["args"] == [{"name": "service", "value": "web"}]
    assert "dryRun" not in run["spec"] and "measurementRetention" not in run["spec"]


def test_generate_name_is_used_when_no_name_is_given() -> None:
    run = build(name=None, generate_name="rate-")
    assert run["metadata"]["generateName"] == "rate-"
    assert "name" not in run["metadata"]


def test_inputs_are_not_changed() -> None:
    templates = [template("rate", metrics=[metric("m")], args=[{"name": "service"}])]
    before = copy.deepcopy(templates)
    run = build(templates=templates)
    run["spec"]["metrics"][0]["name"] = "changed"
    assert templates == before


@pytest.mark.parametrize(
    ("templates", "cluster_templates", "expected"),
    [
        pytest.param(
            [template("a", metrics=[metric("m1")]), template("b", metrics=[metric("m2")])],
            [],
            ["m1", "m2"],
            id="namespaced templates in order",
        ),
        pytest.param(
            [template("a", metrics=[metric("m1")])],
            [template("c", cluster=True, metrics=[metric("m0")])],
            ["m1", "m0"],
            id="cluster templates after namespaced ones",
        ),
        pytest.param(
            [
                template("parent", metrics=[metric("p")], templates=[{"templateName": "child"}]),
                template("child", metrics=[metric("c")]),
            ],
            [],
            ["p", "c"],
            id="a template and the one it references",
        ),
        pytest.param(
            [
                template("parent", templates=[{"templateName": "child"}, {"templateName": "g", "clusterScope": True}]),
                template("child", metrics=[metric("c")]),
            ],
            [template("g", cluster=True, metrics=[metric("g")])],
            ["c", "g"],
            id="a template of references only",
        ),
        pytest.param(
            [template("a", metrics=[metric("m1")]), template("a", metrics=[metric("m1")])],
            [],
            ["m1"],
            id="a template reached twice counts once",
        ),
    ],
)
def test_flattened_metrics(
    templates: list[dict[str, Any]], cluster_templates: list[dict[str, Any]], expected: list[str]
) -> None:
    flat = flatten_templates(templates, cluster_templates)
    assert [m["name"] for m in flat["metrics"]] == expected
    assert "templates" not in flat


def test_duplicate_metric_names_across_templates_are_an_error() -> None:
    with pytest.raises(AnalysisTemplateError, match='two metrics are named "m"'):
        flatten_templates([template("a", metrics=[metric("m")])], [template("b", cluster=True, metrics=[metric("m")])])


def test_referenced_templates_not_given_are_named() -> None:
    parent = template(
        "parent",
        metrics=[metric("p")],
        templates=[{"templateName": "child"}, {"templateName": "global", "clusterScope": True}],
    )
    with pytest.raises(AnalysisTemplateError) as error:
        build(templates=[parent], args=[])
    assert 'AnalysisTemplate "child"' in str(error.value)
    assert 'ClusterAnalysisTemplate "global"' in str(error.value)


def test_a_reference_without_a_name_is_an_error() -> None:
    with pytest.raises(AnalysisTemplateError, match=r"spec.templates\[0\].templateName is empty"):
        flatten_templates([template("parent", metrics=[metric("p")], templates=[{"clusterScope": True}])])


def test_no_metrics_at_all_is_an_error() -> None:
    with pytest.raises(AnalysisTemplateError, match="define no metrics"):
        build(templates=[template("empty")], args=[])


def test_a_name_or_generate_name_is_required() -> None:
    with pytest.raises(AnalysisTemplateError, match="name"):
        build(name=None, generate_name=None)


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        pytest.param(
            [{"args": [{"name": "x"}]}, {"args": [{"name": "x", "value": "1"}]}],
            [{"name": "x", "value": "1"}],
            id="a default beats no default",
        ),
        pytest.param(
            [{"args": [{"name": "x", "value": "1"}]}, {"args": [{"name": "x"}]}],
            [{"name": "x", "value": "1"}],
            id="no default does not erase a default",
        ),
        pytest.param(
            [{"args": [{"name": "x", "value": "1"}]}, {"args": [{"name": "x", "value": "1"}]}],
            [{"name": "x", "value": "1"}],
            id="the same default twice is one argument",
        ),
        pytest.param(
            [{"args": [{"name": "a"}, {"name": "b"}]}, {"args": [{"name": "c"}]}],
            [{"name": "a"}, {"name": "b"}, {"name": "c"}],
            id="declared order is kept",
        ),
    ],
)
def test_declared_arguments_merge_by_name(specs: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    assert merge_template_specs(specs)["args"] == expected


def test_different_defaults_for_one_argument_are_an_error() -> None:
    with pytest.raises(AnalysisTemplateError, match=r"argument \"x\" has different default values"):
        merge_template_specs([{"args": [{"name": "x", "value": "1"}]}, {"args": [{"name": "x", "value": "2"}]}])


SECRET = {"secretKeyRef": {"name": "creds", "key": "token"}}


@pytest.mark.parametrize(
    ("declared", "supplied", "expected"),
    [
        pytest.param([{"name": "s"}], [{"name": "s", "value": "web"}], [{"name": "s", "value": "web"}], id="filled"),
        pytest.param(
            [{"name": "s", "value": "default"}],
            [{"name": "s", "value": "web"}],
            [{"name": "s", "value": "web"}],
            id="supplied value beats the default",
        ),
        pytest.param([{"name": "s", "value": "default"}], [], [{"name": "s", "value": "default"}], id="default kept"),
        pytest.param(
            [{"name": "token"}],
            [{"name": "token", "valueFrom": SECRET}],
            [{"name": "token", "valueFrom": SECRET}],
            id="valueFrom passed through",
        ),
        pytest.param(
            [{"name": "token", "valueFrom": SECRET}],
            [],
            [{"name": "token", "valueFrom": SECRET}],
            id="template valueFrom kept",
        ),
        pytest.param(
            [{"name": "s", "value": "default"}],
            [{"name": "s", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            [{"name": "s", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            id="supplied valueFrom replaces a default",
        ),
        pytest.param(
            [{"name": "s", "value": "d"}],
            [{"name": "unknown", "value": "x"}],
            [{"name": "s", "value": "d"}],
            id="undeclared arguments are ignored",
        ),
        pytest.param(
            [{"name": "s", "value": "d"}],
            [{"name": "s"}],
            [{"name": "s", "value": "d"}],
            id="a supplied argument without value keeps the default",
        ),
        pytest.param(
            [{"name": "s"}], [{"name": "s", "value": ""}], [{"name": "s", "value": ""}], id="empty string is a value"
        ),
    ],
)
def test_merge_args(
    declared: list[dict[str, Any]], supplied: list[dict[str, Any]], expected: list[dict[str, Any]]
) -> None:
    assert merge_args(declared, supplied) == expected


def test_an_argument_without_a_value_is_named_with_the_fix() -> None:
    with pytest.raises(AnalysisTemplateError) as error:
        merge_args([{"name": "service"}, {"name": "q", "value": "1"}], [{"name": "q", "value": "2"}])
    assert 'argument "service" has no value' in str(error.value)
    assert "-a service=VALUE" in str(error.value)


def test_a_non_string_value_is_refused() -> None:
    with pytest.raises(AnalysisTemplateError, match="must be a string"):
        merge_args([{"name": "n", "value": 5}], [])


def test_dry_run_and_retention_put_the_callers_entries_first() -> None:
    rate = template(
        "rate",
        metrics=[metric("a"), metric("b")],
        dryRun=[{"metricName": "b"}],
        measurementRetention=[{"metricName": "b", "limit": 5}],
    )
    run = build(
        templates=[rate],
        args=[],
        dry_run=[{"metricName": "a"}],
        measurement_retention=[{"metricName": "a", "limit": 20}],
    )
    assert run["spec"]["dryRun"] == [{"metricName": "a"}, {"metricName": "b"}]
    assert run["spec"]["measurementRetention"] == [{"metricName": "a", "limit": 20}, {"metricName": "b", "limit": 5}]


@pytest.mark.parametrize("field", ["dry_run", "measurement_retention"])
def test_a_metric_named_twice_in_dry_run_or_retention_is_an_error(field: str) -> None:
    template_field = {"dry_run": "dryRun", "measurement_retention": "measurementRetention"}[field]
    rate = template("rate", metrics=[metric("a")], **{template_field: [{"metricName": "a", "limit": 1}]})
    with pytest.raises(AnalysisTemplateError, match=f'{template_field} names metric "a" twice'):
        build(templates=[rate], args=[], **{field: [{"metricName": "a", "limit": 2}]})


def test_template_specs_merge_after_templates() -> None:
    run = build(template_specs=[{"metrics": [metric("inline")], "args": [{"name": "extra", "value": "1"}]}])
    assert [m["name"] for m in run["spec"]["metrics"]] == ["success-rate", "inline"]
    assert run["spec"]["args"] == [{"name": "service", "value": "web"}, {"name": "extra", "value": "1"}]
