"""Canary `replicaProgressThreshold`: a setWeight step completes once that many canary pods are available.

Behaviour matched (upstream specification.md `replicaProgressThreshold`, utils/replicaset ReplicaProgressThresholdMet
as used for step completion): by default every canary pod of the step must be available; with
`{type: Pods, value: N}` N available pods are enough, so a canary whose last pod cannot be scheduled still moves on
to the next step (here the pause).

The new template's pods avoid each other per node (their own required pod anti-affinity), so on a cluster of N
nodes at most N of them run; the step asks for N + 1.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.harness import Cluster, ControllerProcess, wait_until
from tests.e2e.scenario import Scenario, is_ready, pod_template_hash

OLD, NEW = "nginx:1.27", "nginx:1.28"


def _one_per_node() -> dict[str, Any]:
    """Pod spec fields: at most one pod labelled version=new per node."""
    term = {"labelSelector": {"matchLabels": {"version": "new"}}, "topologyKey": "kubernetes.io/hostname"}
    return {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}}


@pytest.mark.parametrize("threshold", [True, False], ids=["with-threshold", "without-threshold"])
def test_a_step_completes_once_the_threshold_of_canary_pods_is_available(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], threshold: bool
) -> None:
    nodes = len(
        [
            node
            for node in cluster.list("nodes")
            if not node["spec"].get("unschedulable")
            and not any(t.get("effect") in ("NoSchedule", "NoExecute") for t in node["spec"].get("taints") or [])
        ]
    )
    assert nodes >= 1
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    s = Scenario(cluster, namespace)
    replicas = 2 * (nodes + 1)
    canary: dict[str, Any] = {"steps": [{"setWeight": 50}, {"pause": {}}]}
    if threshold:
        canary["replicaProgressThreshold"] = {"type": "Pods", "value": nodes}
    # Given a Healthy canary Rollout of 2 x (nodes + 1) pods (with, or without, a threshold of `nodes` pods)
    s.given_rollout("web", image=OLD, replicas=replicas, canary=canary)
    s.then_phase("web", "Healthy")
    # When a new version whose pods run at most one per node is rolled out: the 50% step wants nodes + 1
    s.given_rollout(
        "web",
        image=NEW,
        replicas=replicas,
        canary=canary,
        spec={
            "template": {
                "metadata": {"labels": {"app": "web", "version": "new"}},
                "spec": {"containers": [{"name": "app", "image": NEW}], **_one_per_node()},
            }
        },
    )

    def canary_state() -> tuple[int, int] | None:
        rs = next(
            (r for r in s.replica_sets("web") if r["spec"]["template"]["metadata"]["labels"].get("version")), None
        )
        if rs is None:
            return None
        pods = s.live_pods(f"rollouts-pod-template-hash={pod_template_hash(rs)}")
        return int(rs["spec"]["replicas"]), sum(is_ready(pod) for pod in pods)

    # Then the canary gets nodes + 1 pods, of which only `nodes` are ready
    wait_until(lambda: canary_state() == (nodes + 1, nodes), 90, f"canary at {nodes + 1} pods, {nodes} ready")
    if threshold:
        # And with the threshold the step completes and the rollout pauses at the next step
        s.then_step("web", 1)
        s.then_phase("web", "Paused")
        assert s.status("web").get("pauseConditions")
    else:
        # And without it the step keeps waiting for the last pod (given a few reconciles to move on, it does not)
        time.sleep(3)
        status = s.status("web")
        assert status.get("currentStepIndex") == 0
        assert not status.get("pauseConditions")
        assert status.get("phase") == "Progressing"
