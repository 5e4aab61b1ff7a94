"""Taking over Rollouts that Argo Rollouts managed: their ReplicaSets are kept, found by template, and a
rollout paused mid-way stays where it was.

The ReplicaSets are made the way Argo Rollouts makes them (`<rollout>-<hash>` with its own hash, the hash label,
a controller ownerReference and the revision annotation), and the status is the one it leaves behind.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from ramp.core.hashing import compute_steps_hash
from tests.e2e.conftest import ControllerFactory
from tests.e2e.harness import Cluster, wait_until
from tests.e2e.scenario import Scenario

STEPS = [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {"duration": "5s"}}]
TEMPLATE = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [{"name": "app", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]},
}
ROLLOUT = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Rollout",
    "metadata": {"name": "web"},
    "spec": {
        "replicas": 4,
        "selector": {"matchLabels": {"app": "web"}},
        "template": TEMPLATE,
        "strategy": {"canary": {"steps": STEPS}},
    },
}


def argo_replica_set(rollout: dict[str, Any], template: dict[str, Any], pod_hash: str, revision: int, size: int) -> str:
    labelled = copy.deepcopy(template)
    labelled["metadata"]["labels"]["rollouts-pod-template-hash"] = pod_hash
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"web-{pod_hash}",
            "labels": labelled["metadata"]["labels"],
            "annotations": {"rollout.argoproj.io/revision": str(revision)},
            "ownerReferences": [
                {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "Rollout",
                    "name": "web",
                    "uid": rollout["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "replicas": size,
            "selector": {"matchLabels": {"app": "web", "rollouts-pod-template-hash": pod_hash}},
            "template": labelled,
        },
    }
    return yaml.safe_dump(rs)


def pod_names(cluster: Cluster, namespace: str) -> set[str]:
    pods = cluster.list("pods", namespace)
    return {p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")}


def test_a_healthy_rollout_keeps_its_replica_sets_and_pods(
    cluster: Cluster, namespace: str, start_controller: ControllerFactory
) -> None:
    # Given a Rollout that Argo Rollouts brought to Healthy (ReplicaSet web-5f8d9c7b6, revision 1)
    s = Scenario(cluster, namespace)
    s.given(yaml.safe_dump(ROLLOUT))
    rollout = s.get("rollout", "web")
    s.given(argo_replica_set(rollout, TEMPLATE, "5f8d9c7b6", 1, 4))
    s.expect_pods("app=web", count=4, ready=4)
    status = {
        "stableRS": "5f8d9c7b6",
        "currentPodHash": "5f8d9c7b6",
        "currentStepHash": compute_steps_hash(STEPS),
        "currentStepIndex": len(STEPS),
        "observedGeneration": "1",
        "phase": "Healthy",
        "replicas": 4,
        "updatedReplicas": 4,
        "readyReplicas": 4,
        "availableReplicas": 4,
    }
    s.when_patched("rollout", "web", {"status": status}, subresource="status")
    before = pod_names(cluster, namespace)
    # When Ramp takes over
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    # Then it reports the rollout Healthy on the same ReplicaSet and pods
    wait_until(lambda: "RolloutAddedToInformer" in s.event_reasons("web"), 30, "the rollout to be seen")
    done = s.then_phase("web", "Healthy")
    assert done["status"]["stableRS"] == "5f8d9c7b6"
    assert done["status"]["currentStepIndex"] == len(STEPS)
    assert [rs["metadata"]["name"] for rs in cluster.list("replicasets", namespace)] == ["web-5f8d9c7b6"]
    assert pod_names(cluster, namespace) == before
    assert "RolloutUpdated" not in s.event_reasons("web")
    # And a new image starts a canary from there: revision 2 next to the kept ReplicaSet
    s.when_image("rollout", "web", "app", "nginx:1.28")
    paused = s.then_phase("web", "Paused")
    assert paused["status"]["stableRS"] == "5f8d9c7b6"
    revisions = {
        rs["metadata"]["name"]: rs["metadata"]["annotations"]["rollout.argoproj.io/revision"]
        for rs in cluster.list("replicasets", namespace)
    }
    assert revisions["web-5f8d9c7b6"] == "1"
    assert sorted(revisions.values()) == ["1", "2"]


def test_a_rollout_paused_mid_way_stays_paused_on_its_step(
    cluster: Cluster, namespace: str, start_controller: ControllerFactory
) -> None:
    # Given a Rollout that Argo Rollouts paused at step 1 (25%: one canary pod of nginx:1.28, three stable)
    s = Scenario(cluster, namespace)
    updated = copy.deepcopy(ROLLOUT)
    updated["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    s.given(yaml.safe_dump(updated))
    rollout = s.get("rollout", "web")
    s.given(argo_replica_set(rollout, TEMPLATE, "5f8d9c7b6", 1, 3))
    s.given(argo_replica_set(rollout, updated["spec"]["template"], "77c4d9f8b", 2, 1))
    s.expect_pods("app=web", count=4, ready=4)
    status = {
        "stableRS": "5f8d9c7b6",
        "currentPodHash": "77c4d9f8b",
        "currentStepHash": compute_steps_hash(STEPS),
        "currentStepIndex": 1,
        "controllerPause": True,
        "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-01-01T00:00:00Z"}],
        "observedGeneration": "1",
        "phase": "Paused",
        "message": "CanaryPauseStep",
    }
    s.when_patched("rollout", "web", {"status": status}, subresource="status")
    before = pod_names(cluster, namespace)
    # When Ramp takes over
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    wait_until(lambda: "RolloutAddedToInformer" in s.event_reasons("web"), 30, "the rollout to be seen")
    # Then it stays paused at step 1 with the same ReplicaSets and pods
    paused = s.then_phase("web", "Paused")
    assert paused["status"]["currentStepIndex"] == 1
    assert sorted(rs["metadata"]["name"] for rs in cluster.list("replicasets", namespace)) == [
        "web-5f8d9c7b6",
        "web-77c4d9f8b",
    ]
    assert pod_names(cluster, namespace) == before
    # And promote carries on to 50% and the end
    s.when_patched("rollout", "web", {"status": {"pauseConditions": None}}, subresource="status")
    done = s.then_phase("web", "Healthy", timeout=90)
    assert done["status"]["stableRS"] == "77c4d9f8b"
    s.expect_pods("app=web", count=4, ready=4, image="nginx:1.28")
    assert done["status"]["currentStepIndex"] == len(STEPS)
