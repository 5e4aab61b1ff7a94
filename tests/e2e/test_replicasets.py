"""A Rollout's ReplicaSets: naming and labels, minReadySeconds, revisionHistoryLimit clean-up, hash collisions."""

from __future__ import annotations

import yaml

from ramp.core.hashing import compute_pod_template_hash
from tests.e2e.conftest import ControllerFactory
from tests.e2e.harness import Cluster, wait_until
from tests.e2e.scenario import Scenario

TEMPLATE = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}


def rollout_manifest(**spec: object) -> str:
    body = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": TEMPLATE,
            "strategy": {"canary": {}},
            **spec,
        },
    }
    return yaml.safe_dump(body)


def start(start_controller: ControllerFactory, namespace: str) -> None:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")


def test_replica_sets_carry_name_labels_owner_min_ready_and_history_limit(
    cluster: Cluster, namespace: str, start_controller: ControllerFactory
) -> None:
    # Given a rolling-update Rollout keeping one old revision, with minReadySeconds 1
    start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    s.given(rollout_manifest(revisionHistoryLimit=1, minReadySeconds=1))
    first = s.then_phase("web", "Healthy")
    pod_hash = first["status"]["currentPodHash"]
    rs = cluster.get("replicaset", f"web-{pod_hash}", namespace)
    # Then its ReplicaSet is named and labelled by the hash, owned by the Rollout, with minReadySeconds
    assert rs["metadata"]["labels"]["rollouts-pod-template-hash"] == pod_hash
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "rollouts-pod-template-hash": pod_hash}
    assert rs["spec"]["minReadySeconds"] == 1
    owner = rs["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "Rollout",
        "web",
        first["metadata"]["uid"],
        True,
    )
    assert rs["metadata"]["annotations"]["rollout.argoproj.io/revision"] == "1"
    assert first["metadata"]["annotations"]["rollout.argoproj.io/revision"] == "1"
    # When three more images are rolled out
    for image in ("nginx:1.28", "nginx:1.29", "nginx:1.30"):
        s.when_image("rollout", "web", "app", image)
        s.then_phase("web", "Healthy", timeout=90)
    # Then the current ReplicaSet and one old one remain (revisionHistoryLimit 1), the newest ones
    wait_until(lambda: len(cluster.list("replicasets", namespace)) == 2, 30, "old ReplicaSets to be deleted")
    revisions = sorted(
        int(rs["metadata"]["annotations"]["rollout.argoproj.io/revision"])
        for rs in cluster.list("replicasets", namespace)
    )
    assert revisions == [3, 4]
    s.expect_pods("app=web", count=2, ready=2, image="nginx:1.30")


def test_a_name_taken_by_another_replica_set_bumps_the_collision_count(
    cluster: Cluster, namespace: str, start_controller: ControllerFactory
) -> None:
    # Given a ReplicaSet of someone else's that has the name Ramp would give the Rollout's
    taken = f"web-{compute_pod_template_hash(TEMPLATE, None)}"
    other = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": taken, "labels": {"app": "other"}},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "other"}},
            "template": {
                "metadata": {"labels": {"app": "other"}},
                "spec": {"containers": [{"name": "x", "image": "busybox:1"}]},
            },
        },
    }
    s = Scenario(cluster, namespace)
    s.given(yaml.safe_dump(other))
    # When the Rollout is created
    start(start_controller, namespace)
    s.given(rollout_manifest())
    # Then status.collisionCount is raised and the Rollout gets a ReplicaSet under another name
    healthy = s.then_phase("web", "Healthy")
    assert healthy["status"]["collisionCount"] == 1
    assert f"web-{healthy['status']['currentPodHash']}" != taken
    assert healthy["status"]["currentPodHash"] == compute_pod_template_hash(TEMPLATE, 1)
    untouched = cluster.get("replicaset", taken, namespace)
    assert untouched["metadata"]["labels"] == {"app": "other"}
    assert not untouched["metadata"].get("ownerReferences")
