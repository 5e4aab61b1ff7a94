"""The local cluster is a real control plane: workloads run on kwok nodes as they would on real ones."""

from __future__ import annotations

from tests.e2e.harness import Cluster, wait_until
from tests.e2e.scenario import Scenario

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
"""

JOB = """
apiVersion: batch/v1
kind: Job
metadata:
  name: once
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: once
        image: busybox
        command: ["true"]
"""


def test_deployment_pods_become_ready_on_kwok_nodes(cluster: Cluster, namespace: str) -> None:
    # Given the local cluster with kwok nodes
    nodes = cluster.list("nodes")
    assert nodes, "the local cluster has no nodes"
    # When a Deployment of 3 replicas is applied
    cluster.apply(DEPLOYMENT, namespace)
    # Then its 3 pods are Running and Ready on kwok nodes, and the Deployment reports them available
    deployment = wait_until(
        lambda: (d := cluster.get("deployment", "web", namespace)).get("status", {}).get("readyReplicas") == 3 and d,
        60,
        "deployment web to have 3 ready replicas",
    )
    assert deployment["status"]["availableReplicas"] == 3
    pods = cluster.list("pods", namespace, "app=web")
    assert len(pods) == 3
    kwok_nodes = {node["metadata"]["name"] for node in nodes}
    for pod in pods:
        assert pod["status"]["phase"] == "Running"
        assert pod["spec"]["nodeName"] in kwok_nodes
        ready = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
        assert ready["Ready"] == "True"
        assert pod["status"].get("podIP")


def test_job_completes(cluster: Cluster, namespace: str) -> None:
    # When a Job is created
    cluster.apply(JOB, namespace)
    # Then kwok runs its pod to Succeeded and the Job controller marks it Complete
    job = wait_until(
        lambda: (j := cluster.get("job", "once", namespace)).get("status", {}).get("succeeded") == 1 and j,
        60,
        "job once to succeed",
    )
    conditions = {c["type"]: c["status"] for c in job["status"].get("conditions", [])}
    assert conditions.get("Complete") == "True"
    pods = cluster.list("pods", namespace, "job-name=once")
    assert [pod["status"]["phase"] for pod in pods] == ["Succeeded"]


def test_image_change_rolls_a_deployment_over(cluster: Cluster, namespace: str) -> None:
    s = Scenario(cluster, namespace)
    # Given a Deployment of 3 ready pods
    s.given(DEPLOYMENT)
    s.expect_pods("app=web", count=3, ready=3, image="nginx:1.27")
    # When its image changes
    s.when_image("deployment", "web", "web", "nginx:1.28")
    # Then kube-controller-manager replaces every pod, and kwok makes the new ones ready
    s.expect_pods("app=web", count=3, ready=3, image="nginx:1.28")
    assert "ScalingReplicaSet" in s.event_reasons("web")
