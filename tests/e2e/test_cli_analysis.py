"""`ramp create analysisrun`, `ramp terminate analysisrun` and AnalysisRuns in `ramp get rollout`, against the local
cluster with no controller running: the tests check the objects the commands leave (and the tree they print),
as upstream's kubectl plugin would.

Given/When/Then: Given templates (and a Rollout with its ReplicaSets and runs) made by hand; When `ramp <verb>`
runs as a subprocess; Then the stored AnalysisRun (or the printed tree) is what it should be.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import Cluster
from tests.e2e.test_cli import given_replica_set, given_rollout, patch_status, ramp

pytestmark = pytest.mark.cluster

QUERY = 'sum(rate(http_requests_total{service="{{args.service}}",code!~"5.."}[1m]))'


def prometheus_metric(name: str, condition: str) -> dict[str, Any]:
    return {
        "name": name,
        "interval": "30s",
        "successCondition": condition,
        "provider": {"prometheus": {"address": "http://prometheus:9090", "query": QUERY}},
    }


def template(name: str, kind: str = "AnalysisTemplate", **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec}


def given_templates(cluster: Cluster, namespace: str) -> None:
    """`rate` (its own metric, two arguments, one with a default) includes `latency` by reference."""
    rate = template(
        "rate",
        metrics=[prometheus_metric("success-rate", "result[0] >= {{args.threshold}}")],
        args=[{"name": "service"}, {"name": "threshold", "value": "0.95"}],
        templates=[{"templateName": "latency"}],
    )
    latency = template("latency", metrics=[prometheus_metric("latency", "result[0] < 0.5")], args=[{"name": "service"}])
    cluster.apply(yaml.safe_dump_all([rate, latency]), namespace)


def runs(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    return cluster.list("analysisrun", namespace)


def test_create_from_a_template_merges_referenced_templates_and_fills_arguments(
    cluster: Cluster, namespace: str
) -> None:
    # Given an AnalysisTemplate that references another
    given_templates(cluster, namespace)
    # When a run is created from it with one argument and a name
    result = ramp(cluster, namespace, "create", "analysisrun", "--from", "rate", "-a", "service=web", "--name", "try-1")
    # Then the run holds both templates' metrics, placeholders intact, and the merged arguments
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "analysisrun.argoproj.io/try-1 created"
    run = cluster.get("analysisrun", "try-1", namespace)
    assert [m["name"] for m in run["spec"]["metrics"]] == ["success-rate", "latency"]
    assert run["spec"]["metrics"][0]["successCondition"] == "result[0] >= {{args.threshold}}"
    assert "{{args.service}}" in run["spec"]["metrics"][1]["provider"]["prometheus"]["query"]
    assert run["spec"]["args"] == [{"name": "service", "value": "web"}, {"name": "threshold", "value": "0.95"}]
    assert "templates" not in run["spec"]
    # When it is terminated
    terminated = ramp(cluster, namespace, "terminate", "analysisrun", "try-1")
    # Then spec.terminate is set, as upstream's plugin leaves it
    assert terminated.stdout.strip() == "analysisRun 'try-1' terminated", terminated.stderr
    assert cluster.get("analysisrun", "try-1", namespace)["spec"]["terminate"] is True


def test_a_missing_argument_is_named_and_nothing_is_created(cluster: Cluster, namespace: str) -> None:
    given_templates(cluster, namespace)
    result = ramp(cluster, namespace, "create", "analysisrun", "--from", "rate")
    assert result.returncode == 1
    assert 'argument "service" has no value' in result.stderr
    assert "-a service=VALUE" in result.stderr
    assert runs(cluster, namespace) == []


def test_a_missing_template_is_named(cluster: Cluster, namespace: str) -> None:
    result = ramp(cluster, namespace, "create", "ar", "--from", "nope")
    assert result.returncode == 1
    assert f'AnalysisTemplate "nope" not found in namespace "{namespace}"' in result.stderr


def test_create_from_a_file_generates_the_name_from_the_template(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    # Given the referenced template in the cluster and the referencing one in a file
    given_templates(cluster, namespace)
    path = tmp_path / "rate.yaml"
    path.write_text(yaml.safe_dump(cluster.get("analysistemplate", "rate", namespace)))
    # When a run is created from the file with no name
    result = ramp(
        cluster,
        namespace,
        "create",
        "analysisrun",
        "--from-file",
        str(path),
        "-a",
        "service=api",
        "-a",
        "threshold=0.9",
    )
    # Then it is named `rate-<random>`, with the supplied values
    assert result.returncode == 0, result.stderr
    (run,) = runs(cluster, namespace)
    assert run["metadata"]["name"].startswith("rate-")
    assert result.stdout.strip() == f"analysisrun.argoproj.io/{run['metadata']['name']} created"
    assert run["spec"]["args"] == [{"name": "service", "value": "api"}, {"name": "threshold", "value": "0.9"}]


def test_create_from_a_cluster_template_with_instance_id(cluster: Cluster, namespace: str) -> None:
    # Given a ClusterAnalysisTemplate (named after the test's namespace: cluster objects are shared)
    name = f"{namespace}-global"
    metric = prometheus_metric("global-rate", "result[0] > 0")
    cluster.apply(json.dumps(template(name, "ClusterAnalysisTemplate", metrics=[metric], args=[{"name": "service"}])))
    try:
        # When a run is created from it with --global
        result = ramp(
            cluster,
            namespace,
            "create",
            "analysisrun",
            "--global",
            "--from",
            name,
            "-a",
            "service=web",
            "--generate-name",
            "by-hand-",
            "--instance-id",
            "blue",
        )
        # Then the run is in the namespace, generated from --generate-name and labelled with the instance id
        assert result.returncode == 0, result.stderr
        (run,) = runs(cluster, namespace)
        assert run["metadata"]["name"].startswith("by-hand-")
        assert run["metadata"]["labels"]["argo-rollouts.argoproj.io/controller-instance-id"] == "blue"
        assert [m["name"] for m in run["spec"]["metrics"]] == ["global-rate"]
    finally:
        cluster.kubectl("delete", "clusteranalysistemplate", name, "--wait=false", check=False)


def test_get_rollout_shows_a_run_under_its_revision_with_its_metrics(cluster: Cluster, namespace: str) -> None:
    # Given a paused canary at revision 2 and a run of revision 2 that has measured twice
    rollout = given_rollout(cluster, namespace, image="nginx:1.26")
    given_replica_set(cluster, namespace, rollout, "aaaa1", 1, "nginx:1.25", replicas=2)
    given_replica_set(cluster, namespace, rollout, "bbbb2", 2, "nginx:1.26", replicas=1)
    generation = str(cluster.get("rollout", "web", namespace)["metadata"]["generation"])
    status = {"observedGeneration": generation, "phase": "Paused", "currentStepIndex": 1}
    patch_status(cluster, namespace, "web", {**status, "stableRS": "aaaa1", "currentPodHash": "bbbb2"})
    owner = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "name": "web",
        "uid": rollout["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    run = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {
            "name": "web-bbbb2-2-2",
            "labels": {"rollouts-pod-template-hash": "bbbb2"},
            "annotations": {"rollout.argoproj.io/revision": "2"},
            "ownerReferences": [owner],
        },
        "spec": {"metrics": [prometheus_metric("success-rate", "result[0] >= 0.95")]},
    }
    cluster.apply(json.dumps(run), namespace)
    measured = [
        {"phase": "Successful", "value": "[0.99]", "startedAt": "2026-01-01T00:00:00Z"},
        {"phase": "Failed", "value": "[0.42]", "startedAt": "2026-01-01T00:00:30Z"},
    ]
    results = [{"name": "success-rate", "phase": "Running", "successful": 1, "failed": 1, "measurements": measured}]
    patch = {"status": {"phase": "Running", "metricResults": results}}
    cluster.kubectl("patch", "analysisrun", "web-bbbb2-2-2", "-n", namespace, "--type=merge", "-p", json.dumps(patch))
    # When the rollout is shown
    result = ramp(cluster, namespace, "get", "rollout", "web")
    # Then the run sits under revision 2 with its counts, and its metric with the last value
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    run_line = next(i for i, line in enumerate(lines) if "web-bbbb2-2-2" in line)
    assert lines.index("├──# revision:2") < run_line < lines.index("└──# revision:1")
    assert "AnalysisRun  ◌ Running" in lines[run_line]
    assert lines[run_line].rstrip().endswith("✔ 1,✖ 1")
    metric = lines[run_line + 1].split()
    assert metric[metric.index("success-rate") :][:4] == ["success-rate", "Metric", "◌", "Running"]
    assert metric[-1] == "1,last:[0.42]"
