"""Manifests written for Argo Rollouts (tests/fixtures/argo) are read and written back unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ramp.api import parse_object, to_manifest, unknown_fields
from ramp.api.analysis import AnalysisTemplate
from ramp.api.experiment import Experiment
from ramp.api.rollout import Rollout

FIXTURES = Path(__file__).parents[2] / "fixtures" / "argo"
FIXTURE_FILES = sorted(FIXTURES.glob("*.yaml"))


def load(name: str) -> dict[str, Any]:
    document = yaml.safe_load((FIXTURES / name).read_text())
    assert isinstance(document, dict)
    return document


def test_fixtures_cover_every_kind():
    kinds = {load(path.name)["kind"] for path in FIXTURE_FILES}
    assert kinds == {"Rollout", "AnalysisTemplate", "ClusterAnalysisTemplate", "AnalysisRun", "Experiment"}


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda path: path.stem)
def test_manifest_comes_back_unchanged(path: Path):
    manifest = yaml.safe_load(path.read_text())
    assert to_manifest(parse_object(manifest)) == manifest


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda path: path.stem)
def test_manifest_written_for_argo_has_no_unknown_fields(path: Path):
    assert unknown_fields(parse_object(yaml.safe_load(path.read_text()))) == []


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda path: path.stem)
def test_reading_twice_gives_equal_models(path: Path):
    model = parse_object(yaml.safe_load(path.read_text()))
    assert parse_object(to_manifest(model)) == model


def test_pod_template_is_kept_byte_for_byte_with_unknown_fields():
    manifest = load("rollout-canary-analysis.yaml")
    rollout = parse_object(manifest)
    assert isinstance(rollout, Rollout)
    written = to_manifest(rollout)["spec"]["template"]
    # same keys, same order, same values: json.dumps without sort_keys compares all three
    assert json.dumps(written) == json.dumps(manifest["spec"]["template"])
    assert written["spec"]["futureField"] == {"enabled": True}
    assert written["spec"]["containers"][0]["x-vendor-hint"] == "keep-me"


def test_object_read_from_the_api_server_comes_back_unchanged():
    # server-owned metadata, owner references, managed fields and a null in the pod template
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {
            "name": "checkout",
            "namespace": "shop",
            "uid": "0c8f3a64-1f2b-4a71-9a55-2d4b0e0c9a11",
            "resourceVersion": "48211",
            "generation": 7,
            "creationTimestamp": "2024-05-01T08:00:00Z",
            "ownerReferences": [
                {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "Example",
                    "name": "owner",
                    "uid": "2f0b7d1e-5d1b-4f1e-8f2e-93a6d1c0b111",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
            "managedFields": [{"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:spec": {}}}],
        },
        "spec": {
            "selector": {"matchLabels": {"app": "checkout"}},
            "template": {"metadata": {"creationTimestamp": None, "labels": {"app": "checkout"}}, "spec": {}},
        },
    }
    rollout = parse_object(manifest)
    assert to_manifest(rollout) == manifest
    assert unknown_fields(rollout) == []
    assert rollout.metadata.generation == 7
    assert rollout.metadata.owner_references is not None
    assert rollout.metadata.owner_references[0].controller is True


def test_job_spec_is_kept_byte_for_byte_with_unknown_fields():
    manifest = load("analysistemplate-prometheus-job.yaml")
    template = parse_object(manifest)
    assert isinstance(template, AnalysisTemplate)
    job = to_manifest(template)["spec"]["metrics"][1]["provider"]["job"]["spec"]
    original = manifest["spec"]["metrics"][1]["provider"]["job"]["spec"]
    assert json.dumps(job) == json.dumps(original)
    assert job["template"]["spec"]["containers"][0]["futureKnob"] == 3


def test_experiment_templates_are_kept_byte_for_byte():
    manifest = load("experiment-baseline-canary.yaml")
    experiment = parse_object(manifest)
    assert isinstance(experiment, Experiment)
    written = to_manifest(experiment)["spec"]["templates"]
    for index, template in enumerate(written):
        assert json.dumps(template["template"]) == json.dumps(manifest["spec"]["templates"][index]["template"])


def test_unknown_fields_are_kept_and_listed():
    manifest = load("rollout-nginx.yaml")
    manifest["spec"]["strategy"]["canary"]["maxsurge"] = "50%"  # a typo of maxSurge
    manifest["spec"]["newUpstreamField"] = {"x": 1}
    rollout = parse_object(manifest)
    assert to_manifest(rollout) == manifest
    assert unknown_fields(rollout) == ["spec.newUpstreamField", "spec.strategy.canary.maxsurge"]


def test_status_keeps_upstream_field_names():
    status = to_manifest(parse_object(load("rollout-istio.yaml")))["status"]
    assert status["HPAReplicas"] == 6
    assert status["stableRS"] == "7d4c5b9f8"
    assert status["observedGeneration"] == "7"


def test_rollout_status_reads_into_typed_fields():
    rollout = parse_object(load("rollout-istio.yaml"))
    assert isinstance(rollout, Rollout)
    assert rollout.status is not None
    assert rollout.status.hpa_replicas == 6
    assert rollout.status.stable_rs == "7d4c5b9f8"
    assert rollout.status.pause_conditions is not None
    start = rollout.status.pause_conditions[0].start_time
    assert start is not None
    assert start.isoformat() == "2024-05-01T08:01:10+00:00"


def test_models_built_in_code_serialize_with_camel_case_names():
    from ramp.api.rollout_status import RolloutStatus

    status = RolloutStatus(hpa_replicas=3, stable_rs="abc", observed_generation="2", current_step_index=0)
    assert to_manifest(status) == {
        "HPAReplicas": 3,
        "stableRS": "abc",
        "observedGeneration": "2",
        "currentStepIndex": 0,
    }


def test_top_level_object_built_in_code_gets_api_version_and_kind():
    from ramp.api.analysis import AnalysisRun, AnalysisRunSpec, Metric
    from ramp.api.meta import ObjectMeta
    from ramp.api.providers import MetricProvider, WebMetric

    run = AnalysisRun(
        metadata=ObjectMeta(name="demo"),
        spec=AnalysisRunSpec(metrics=[Metric(name="up", provider=MetricProvider(web=WebMetric(url="http://x")))]),
    )
    assert to_manifest(run) == {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {"name": "demo"},
        "spec": {"metrics": [{"name": "up", "provider": {"web": {"url": "http://x"}}}]},
    }


def test_timestamps_are_written_as_kubernetes_writes_them():
    manifest = load("analysisrun-with-status.yaml")
    manifest["status"]["startedAt"] = "2024-05-01T10:02:00.123456+02:00"
    written = to_manifest(parse_object(manifest))
    assert written["status"]["startedAt"] == "2024-05-01T08:02:00Z"


def test_models_are_frozen():
    rollout = parse_object(load("rollout-nginx.yaml"))
    with pytest.raises(ValueError, match="frozen"):
        rollout.kind = "Other"
