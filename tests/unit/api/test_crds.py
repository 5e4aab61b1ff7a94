"""The generated CRDs: structural schemas, upstream's names and subresources, deploy/crds/ kept current."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from ramp.api.crds import render_crd_files, render_crds, render_crds_yaml
from ramp.api.kinds import KINDS

DEPLOY_CRDS = Path(__file__).parents[3] / "deploy" / "crds"
CRDS = {crd["spec"]["names"]["kind"]: crd for crd in render_crds()}

# Keywords a structural schema may use (apiextensions.k8s.io/v1 JSONSchemaProps, minus the logical junctors,
# which are allowed only without types and which Ramp never needs).
ALLOWED_KEYWORDS = {
    "type",
    "format",
    "description",
    "properties",
    "required",
    "items",
    "additionalProperties",
    "enum",
    "minimum",
    "maximum",
    "nullable",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
}


def schema_of(kind: str) -> dict[str, Any]:
    schema = CRDS[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert isinstance(schema, dict)
    return schema


def walk(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from walk(child, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}{{}}")


def structural_violations(schema: dict[str, Any]) -> list[str]:
    """Kubernetes' structural-schema rules, checked node by node."""
    found = []
    for path, node in walk(schema):
        where = path or "<root>"
        for keyword in node:
            if keyword not in ALLOWED_KEYWORDS:
                found.append(f"{where}: keyword {keyword} not allowed")
        int_or_string = node.get("x-kubernetes-int-or-string") is True
        preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
        if int_or_string and "type" in node:
            found.append(f"{where}: int-or-string must not have a type")
        if not int_or_string and not preserve and not node.get("type"):
            found.append(f"{where}: no type")
        if node.get("type") == "array" and not isinstance(node.get("items"), dict):
            found.append(f"{where}: array without items")
        if "properties" in node and "additionalProperties" in node:
            found.append(f"{where}: both properties and additionalProperties")
        if "additionalProperties" in node and not isinstance(node["additionalProperties"], dict):
            found.append(f"{where}: additionalProperties must be a schema")
        if ("properties" in node or "additionalProperties" in node) and node.get("type") != "object":
            found.append(f"{where}: properties on a non-object")
        for name in node.get("required", []):
            if name not in node.get("properties", {}):
                found.append(f"{where}: required {name} is not a property")
        if "nullable" in node and not isinstance(node["nullable"], bool):
            found.append(f"{where}: nullable must be a boolean")
    if schema.get("type") != "object":
        found.append("<root>: must be an object")
    if schema["properties"].get("metadata") != {"type": "object"}:
        found.append(".metadata: only `type: object` is allowed at the root metadata")
    return found


@pytest.mark.parametrize("kind", CRDS)
def test_schema_is_structural(kind: str):
    assert structural_violations(schema_of(kind)) == []


def test_checker_catches_a_node_without_type():
    schema = {"type": "object", "properties": {"metadata": {"type": "object"}, "spec": {"description": "x"}}}
    assert structural_violations(schema) == [".spec: no type"]


def test_no_reference_or_union_anywhere():
    text = json.dumps(render_crds())
    for keyword in ('"$ref"', '"anyOf"', '"oneOf"', '"allOf"', '"$defs"', '"default"', '"title"'):
        assert keyword not in text


NAMES = {
    "Rollout": ("rollouts", "rollout", ["ro"], "Namespaced"),
    "AnalysisTemplate": ("analysistemplates", "analysistemplate", ["at"], "Namespaced"),
    "ClusterAnalysisTemplate": ("clusteranalysistemplates", "clusteranalysistemplate", ["cat"], "Cluster"),
    "AnalysisRun": ("analysisruns", "analysisrun", ["ar"], "Namespaced"),
    "Experiment": ("experiments", "experiment", ["exp"], "Namespaced"),
}


@pytest.mark.parametrize(("kind", "expected"), NAMES.items(), ids=NAMES.keys())
def test_names_and_scope_follow_upstream(kind: str, expected: tuple[str, str, list[str], str]):
    plural, singular, short_names, scope = expected
    crd = CRDS[kind]
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert crd["metadata"]["name"] == f"{plural}.argoproj.io"
    assert crd["spec"]["group"] == "argoproj.io"
    names = crd["spec"]["names"]
    assert (names["plural"], names["singular"], names["shortNames"], names["listKind"]) == (
        plural,
        singular,
        short_names,
        f"{kind}List",
    )
    assert names["categories"] == ["ramp"]
    assert crd["spec"]["scope"] == scope
    [version] = crd["spec"]["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)


def test_only_rollout_has_status_and_scale_subresources_as_upstream():
    assert CRDS["Rollout"]["spec"]["versions"][0]["subresources"] == {
        "status": {},
        "scale": {
            "specReplicasPath": ".spec.replicas",
            "statusReplicasPath": ".status.HPAReplicas",
            "labelSelectorPath": ".status.selector",
        },
    }
    for kind in ("AnalysisTemplate", "ClusterAnalysisTemplate", "AnalysisRun", "Experiment"):
        assert "subresources" not in CRDS[kind]["spec"]["versions"][0]


PRINTER_COLUMNS = {
    "Rollout": [
        ("Desired", "integer", ".spec.replicas"),
        ("Current", "integer", ".status.replicas"),
        ("Up-to-date", "integer", ".status.updatedReplicas"),
        ("Available", "integer", ".status.availableReplicas"),
        ("Age", "date", ".metadata.creationTimestamp"),
    ],
    "AnalysisTemplate": [("Age", "date", ".metadata.creationTimestamp")],
    "ClusterAnalysisTemplate": [("Age", "date", ".metadata.creationTimestamp")],
    "AnalysisRun": [("Status", "string", ".status.phase"), ("Age", "date", ".metadata.creationTimestamp")],
    "Experiment": [("Status", "string", ".status.phase"), ("Age", "date", ".metadata.creationTimestamp")],
}


@pytest.mark.parametrize(("kind", "expected"), PRINTER_COLUMNS.items(), ids=PRINTER_COLUMNS.keys())
def test_printer_columns_follow_upstream(kind: str, expected: list[tuple[str, str, str]]):
    columns = CRDS[kind]["spec"]["versions"][0]["additionalPrinterColumns"]
    assert [(c["name"], c["type"], c["jsonPath"]) for c in columns] == expected


def node_at(kind: str, path: str) -> dict[str, Any]:
    nodes = dict(walk(schema_of(kind)))
    return nodes[path]


OPAQUE = {
    "rollout_pod_template": ("Rollout", ".spec.template"),
    "experiment_pod_templates": ("Experiment", ".spec.templates[].template"),
    "job_spec": ("AnalysisTemplate", ".spec.metrics[].provider.job.spec"),
    "job_spec_in_run": ("AnalysisRun", ".spec.metrics[].provider.job.spec"),
    "cluster_template_job_spec": ("ClusterAnalysisTemplate", ".spec.metrics[].provider.job.spec"),
    "router_plugins": ("Rollout", ".spec.strategy.canary.trafficRouting.plugins"),
    "step_plugin_config": ("Rollout", ".spec.strategy.canary.steps[].plugin.config"),
    "metric_plugin": ("AnalysisTemplate", ".spec.metrics[].provider.plugin"),
    "web_json_body": ("AnalysisTemplate", ".spec.metrics[].provider.web.jsonBody"),
    "step_plugin_status": ("Rollout", ".status.canary.stepPluginStatuses[].status"),
}


@pytest.mark.parametrize(("kind", "path"), OPAQUE.values(), ids=OPAQUE.keys())
def test_opaque_objects_keep_unknown_fields(kind: str, path: str):
    assert node_at(kind, path) | {"description": ""} == {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
        "description": "",
    }


INT_OR_STRING = {
    "max_surge": ("Rollout", ".spec.strategy.canary.maxSurge"),
    "max_unavailable": ("Rollout", ".spec.strategy.canary.maxUnavailable"),
    "blue_green_max_unavailable": ("Rollout", ".spec.strategy.blueGreen.maxUnavailable"),
    "pause_duration": ("Rollout", ".spec.strategy.canary.steps[].pause.duration"),
    "metric_count": ("AnalysisTemplate", ".spec.metrics[].count"),
    "failure_limit": ("AnalysisRun", ".spec.metrics[].failureLimit"),
    "consecutive_error_limit": ("AnalysisRun", ".spec.metrics[].consecutiveErrorLimit"),
    "cloudwatch_period": (
        "AnalysisTemplate",
        ".spec.metrics[].provider.cloudWatch.metricDataQueries[].period",
    ),
}


@pytest.mark.parametrize(("kind", "path"), INT_OR_STRING.values(), ids=INT_OR_STRING.keys())
def test_int_or_string_fields_have_no_type(kind: str, path: str):
    node = node_at(kind, path)
    assert node.get("x-kubernetes-int-or-string") is True
    assert "type" not in node


UPSTREAM_TYPES = {
    "hpa_replicas": ("Rollout", ".status.HPAReplicas", "integer"),
    "stable_rs": ("Rollout", ".status.stableRS", "string"),
    "observed_generation_is_a_string": ("Rollout", ".status.observedGeneration", "string"),
    "status_selector": ("Rollout", ".status.selector", "string"),
    "restart_at": ("Rollout", ".spec.restartAt", "string"),
    "kayenta_pass": ("AnalysisTemplate", ".spec.metrics[].provider.kayenta.threshold.pass", "integer"),
    "skywalking_lowercase": ("AnalysisTemplate", ".spec.metrics[].provider.skywalking.query", "string"),
}


@pytest.mark.parametrize(("kind", "path", "type_"), UPSTREAM_TYPES.values(), ids=UPSTREAM_TYPES.keys())
def test_field_has_upstream_name_and_type(kind: str, path: str, type_: str):
    assert node_at(kind, path)["type"] == type_


def model_paths(model: type[BaseModel], path: str) -> Iterator[str]:
    """Every field path of a model, following nested models, lists and maps (not opaque JSON)."""
    for name, field in model.model_fields.items():
        child = f"{path}.{field.alias or name}"
        yield child
        for inner, suffix in nested_models(field.annotation):
            yield from model_paths(inner, child + suffix)


def nested_models(annotation: Any, suffix: str = "") -> Iterator[tuple[type[BaseModel], str]]:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, suffix
        return
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin is list:
        yield from nested_models(arguments[0], suffix + "[]")
    elif origin is dict:
        yield from nested_models(arguments[1], suffix + "{}")
    else:
        for argument in arguments:
            yield from nested_models(argument, suffix)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.kind)
def test_every_modelled_field_is_in_the_crd(kind: Any):
    schema_paths = {path for path, _ in walk(schema_of(kind.kind))}
    missing = [
        path for path in model_paths(kind.model, "") if path not in schema_paths and not path.startswith(".metadata.")
    ]
    assert missing == []


@pytest.mark.parametrize("kind", CRDS)
def test_crd_is_well_under_the_client_side_apply_limit(kind: str):
    # kubectl apply keeps the whole object in an annotation limited to 256 KiB
    assert len(json.dumps(CRDS[kind], separators=(",", ":"))) < 128 * 1024


def test_yaml_is_deterministic_and_reads_back_to_the_crds():
    text = render_crds_yaml()
    assert text == render_crds_yaml()
    assert [document for document in yaml.safe_load_all(text) if document] == render_crds()


def test_deploy_crds_are_current():
    expected = render_crd_files()
    actual = {path.name: path.read_text() for path in sorted(DEPLOY_CRDS.glob("*.yaml"))}
    stale = sorted(name for name in expected.keys() | actual.keys() if expected.get(name) != actual.get(name))
    assert not stale, f"deploy/crds/ is stale ({', '.join(stale)}): run `make crds` and commit the result"


@pytest.mark.parametrize(
    "path",
    [
        ".spec.replicas",
        ".spec.minReadySeconds",
        ".spec.revisionHistoryLimit",
        ".spec.progressDeadlineSeconds",
        ".spec.strategy.canary.scaleDownDelaySeconds",
        ".spec.strategy.canary.steps[].setWeight",
        ".spec.strategy.blueGreen.previewReplicaCount",
    ],
)
def test_rollout_counts_carry_int32_bounds_so_the_api_server_refuses_larger(path: str):
    nodes = dict(walk(schema_of("Rollout")))
    assert nodes[path]["format"] == "int32"
    assert (nodes[path]["minimum"], nodes[path]["maximum"]) == (-(2**31), 2**31 - 1)
