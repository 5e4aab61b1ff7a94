"""workloadRef: which kinds a Rollout may take its pod template from, and what it reads from each."""

from __future__ import annotations

from typing import Any

import pytest

from ramp.api import parse_rollout
from ramp.rollout.workload import read_workload

TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "nginx"}]}}
SELECTOR = {"matchLabels": {"app": "web"}}


def rollout(ref: dict[str, Any], selector: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"workloadRef": ref, "strategy": {"canary": {}}}
    if selector is not None:
        spec["selector"] = selector
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": spec,
    }


def read(ref: dict[str, Any], found: dict[str, Any] | None, selector: dict[str, Any] | None = None) -> Any:
    raw = rollout(ref, selector)
    return read_workload(raw, parse_rollout(raw), found)


WORKLOADS = {
    "Deployment": {"metadata": {"name": "web", "generation": 3}, "spec": {"selector": SELECTOR, "template": TEMPLATE}},
    "ReplicaSet": {"metadata": {"name": "web", "generation": 2}, "spec": {"selector": SELECTOR, "template": TEMPLATE}},
    "PodTemplate": {"metadata": {"name": "web"}, "template": TEMPLATE},
}


@pytest.mark.parametrize(("kind", "api_version"), [("Deployment", "apps/v1"), ("ReplicaSet", "apps/v1")])
def test_deployments_and_replica_sets_give_their_template_and_selector(kind: str, api_version: str) -> None:
    found = read({"apiVersion": api_version, "kind": kind, "name": "web"}, WORKLOADS[kind])
    assert found.problem is None
    assert found.template == TEMPLATE
    assert found.selector == SELECTOR
    assert found.generation == WORKLOADS[kind]["metadata"]["generation"]
    assert (found.deployment is not None) is (kind == "Deployment")


def test_a_pod_template_gives_its_template_and_the_rollout_its_selector() -> None:
    found = read({"apiVersion": "v1", "kind": "PodTemplate", "name": "web"}, WORKLOADS["PodTemplate"], SELECTOR)
    assert found.problem is None
    assert found.template == TEMPLATE
    assert found.selector == SELECTOR
    assert found.deployment is None


@pytest.mark.parametrize(
    ("ref", "selector", "expected"),
    [
        pytest.param(
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web"}, None, "spec.workloadRef.kind", id="kind"
        ),
        pytest.param(
            {"apiVersion": "v1", "kind": "ReplicaSet", "name": "web"}, None, "spec.workloadRef.apiVersion", id="group"
        ),
        pytest.param(
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "scaleDown": "onsuccess"},
            None,
            "spec.workloadRef.scaleDown: applies to a Deployment only",
            id="scale-down-on-a-replica-set",
        ),
        pytest.param(
            {"apiVersion": "v1", "kind": "PodTemplate", "name": "web", "scaleDown": "progressively"},
            SELECTOR,
            "spec.workloadRef.scaleDown: applies to a Deployment only",
            id="scale-down-on-a-pod-template",
        ),
        pytest.param(
            {"apiVersion": "v1", "kind": "PodTemplate", "name": "web"},
            None,
            "spec.selector: required with a workloadRef to a PodTemplate",
            id="pod-template-without-selector",
        ),
        pytest.param(
            {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "scaleDown": "sometimes"},
            None,
            "spec.workloadRef.scaleDown: must be one of",
            id="unknown-scale-down",
        ),
    ],
)
def test_a_reference_that_cannot_be_used_names_the_field(
    ref: dict[str, Any], selector: dict[str, Any] | None, expected: str
) -> None:
    found = read(ref, WORKLOADS.get(str(ref["kind"])), selector)
    assert found.template is None
    assert found.problem is not None and expected in found.problem


def test_scale_down_never_is_accepted_on_any_kind() -> None:
    ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "scaleDown": "never"}
    assert read(ref, WORKLOADS["ReplicaSet"]).problem is None


def test_a_missing_workload_names_it() -> None:
    found = read({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web"}, None)
    assert (
        found.problem == "spec.workloadRef.name: ReplicaSet 'web' not found in namespace ns; create it or fix the name"
    )
