"""Ramp's kwok Stages and how the local cluster hands them to kwok without losing kwokctl's default Stages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ramp.localcluster.cluster import LocalCluster
from ramp.localcluster.paths import CachePaths
from ramp.localcluster.stages import (
    COMPLETE_STAGE,
    FAIL_STAGE,
    SIMULATE_ANNOTATION,
    SIMULATE_DURATION_ANNOTATION,
    build_stages,
)


def stage(name: str) -> dict[str, Any]:
    return next(s for s in build_stages() if s["metadata"]["name"] == name)


def expressions(name: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {
        e["key"]: (e["operator"], tuple(e.get("values", ())))
        for e in stage(name)["spec"]["selector"]["matchExpressions"]
    }


@pytest.fixture
def cluster(tmp_path: Path) -> LocalCluster:
    return LocalCluster(CachePaths(tmp_path), name="ramp-test")


def test_every_stage_is_a_kwok_pod_stage_that_outweighs_the_defaults() -> None:
    for built in build_stages():
        assert (built["apiVersion"], built["kind"]) == ("kwok.x-k8s.io/v1alpha1", "Stage")
        assert built["spec"]["resourceRef"] == {"apiGroup": "v1", "kind": "Pod"}
        # kwok's defaults have weight 0; kwok only chooses among matching Stages with a positive weight.
        assert built["spec"]["weight"] > 0


@pytest.mark.parametrize(
    ("name", "key", "expected"),
    [
        pytest.param(FAIL_STAGE, ".status.phase", ("In", ("Running",)), id="fail_only_running_pods"),
        pytest.param(FAIL_STAGE, ".metadata.deletionTimestamp", ("DoesNotExist", ()), id="fail_not_pods_being_deleted"),
        pytest.param(
            FAIL_STAGE, '.metadata.annotations["ramp.dev/simulate"]', ("In", ("fail",)), id="fail_pods_told_to"
        ),
        pytest.param(
            COMPLETE_STAGE, ".metadata.ownerReferences.[].kind", ("In", ("Job",)), id="complete_only_job_pods"
        ),
        pytest.param(
            COMPLETE_STAGE,
            '.metadata.annotations["ramp.dev/simulate-duration"]',
            ("Exists", ()),
            id="complete_only_pods_with_a_duration",
        ),
        pytest.param(
            COMPLETE_STAGE,
            '.metadata.annotations["ramp.dev/simulate"]',
            ("NotIn", ("fail",)),
            id="complete_never_a_pod_told_to_fail",
        ),
    ],
)
def test_stage_selects(name: str, key: str, expected: tuple[str, tuple[str, ...]]) -> None:
    assert expressions(name)[key] == expected


@pytest.mark.parametrize(
    ("name", "phase", "exit_code"),
    [(FAIL_STAGE, "Failed", "exitCode: 1"), (COMPLETE_STAGE, "Succeeded", "exitCode: 0")],
)
def test_stage_ends_the_pod(name: str, phase: str, exit_code: str) -> None:
    template = stage(name)["spec"]["next"]["statusTemplate"]
    assert f"phase: {phase}" in template
    assert exit_code in template
    assert "@" not in template  # every placeholder filled in


@pytest.mark.parametrize("name", [FAIL_STAGE, COMPLETE_STAGE])
def test_stage_waits_the_simulated_duration_or_not_at_all(name: str) -> None:
    assert stage(name)["spec"]["delay"] == {
        "durationMilliseconds": 0,
        "durationFrom": {"expressionFrom": f'.metadata.annotations["{SIMULATE_DURATION_ANNOTATION}"]'},
    }


def test_annotation_names_are_ramps_own() -> None:
    assert (SIMULATE_ANNOTATION, SIMULATE_DURATION_ANNOTATION) == ("ramp.dev/simulate", "ramp.dev/simulate-duration")


def test_stages_are_written_as_plain_documents_without_yaml_aliases(cluster: LocalCluster) -> None:
    cluster._write_config(None)
    text = (cluster.paths.kwok_workdir / "ramp-test.stages.yaml").read_text()
    assert "&id" not in text and "*id" not in text
    assert list(yaml.safe_load_all(text)) == build_stages()


def test_kwokctl_config_names_no_stage_so_its_defaults_stay(cluster: LocalCluster) -> None:
    written = list(yaml.safe_load_all(cluster._write_config(None).read_text()))
    assert [doc["kind"] for doc in written] == ["KwokctlConfiguration"]


def test_kwok_controller_reads_the_stages_as_a_second_config(cluster: LocalCluster) -> None:
    patches = {patch["name"]: patch for patch in cluster._config(None)["componentsPatches"]}
    assert patches["kwok-controller"]["extraArgs"] == [
        {"key": "config", "value": str(cluster.paths.kwok_workdir / "ramp-test.stages.yaml")}
    ]


@pytest.mark.parametrize(
    ("name", "recorded", "port", "current"),
    [
        ("same settings and stages", lambda c: c._recorded_settings(None), None, True),
        ("created on a chosen port, asked for any", lambda c: c._recorded_settings(40123), None, True),
        ("created before Ramp had stages", lambda c: yaml.safe_dump(c._config(None), sort_keys=False), None, False),
        (
            "created with other stages",
            lambda c: yaml.safe_dump_all([c._config(None), build_stages()[0]], sort_keys=False),
            None,
            False,
        ),
        ("created on another port than asked", lambda c: c._recorded_settings(40123), 40124, False),
    ],
)
def test_cluster_is_recreated_only_when_its_settings_changed(
    cluster: LocalCluster, name: str, recorded: Any, port: int | None, current: bool
) -> None:
    cluster.directory.mkdir(parents=True)
    (cluster.directory / "ramp-config.yaml").write_text(recorded(cluster))
    assert cluster._is_current_config(port) is current
