"""A real HorizontalPodAutoscaler scales a canary Rollout while it is paused on a step.

Behaviour matched (upstream docs/features/hpa-support.md, the contract's scale subresource): the HPA writes
spec.replicas through the Rollout's scale subresource (statusReplicasPath .status.HPAReplicas, labelSelectorPath
.status.selector); the Rollout keeps its step and applies the step's weight to the new total; promotion then
completes with every pod new.

kube-controller-manager's HPA controller runs for real on the local cluster. With no metrics server it cannot
compute a metric-based size, but it clamps a target below minReplicas up to minReplicas before reading any
metric ("Current number of replicas below Spec.MinReplicas"), so a minReplicas above the current size makes it
act (checked on this cluster: it rescales within its 15 s sync period).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.e2e.gates import Gates
from tests.e2e.harness import Cluster, ControllerProcess
from tests.e2e.scenario import Scenario

OLD, NEW = "nginx:1.27", "nginx:1.28"
STEPS = [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {"duration": 5}}]


def _hpa(min_replicas: int, max_replicas: int) -> str:
    return json.dumps(
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "web"},
                "minReplicas": min_replicas,
                "maxReplicas": max_replicas,
            },
        }
    )


def test_hpa_scales_a_paused_canary_which_keeps_its_step_and_weight(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], gates: Gates
) -> None:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    s = Scenario(cluster, namespace)
    # Given a canary of 4 paused at step 1 (25%: 1 canary + 3 stable)
    s.given_rollout("web", image=OLD, replicas=4, canary={"steps": STEPS})
    s.then_phase("web", "Healthy")
    gates.set_image("web", "app", NEW)
    s.then_phase("web", "Paused")
    s.then_replica_sets("web", {OLD: 3, NEW: 1})
    # When an HPA with minReplicas 8 targets it
    s.given(_hpa(8, 10))
    # Then the HPA scales the Rollout to 8 through the scale subresource
    s.then_rollout("web", lambda r: r["spec"]["replicas"] == 8, "spec.replicas 8 (set by the HPA)", timeout=60)
    # And the rollout stays paused at step 1 and applies 25% to the new total: 2 canary + 6 stable
    s.then_replica_sets("web", {OLD: 6, NEW: 2})
    s.then_ready_images("app=web", {OLD: 6, NEW: 2})
    rollout = s.then_phase("web", "Paused")
    status = rollout["status"]
    assert status["currentStepIndex"] == 1
    assert [c["reason"] for c in status["pauseConditions"]] == ["CanaryPauseStep"]
    assert status["HPAReplicas"] == 8
    assert status["selector"] == "app=web"
    scale = json.loads(
        cluster.kubectl("get", "--raw", f"/apis/argoproj.io/v1alpha1/namespaces/{namespace}/rollouts/web/scale")
    )
    assert scale["spec"]["replicas"] == 8
    assert scale["status"]["replicas"] == 8
    assert scale["status"]["selector"] == "app=web"
    # When promoted
    gates.promote("web")
    # Then 50% of 8 (4 + 4), and after the timed pause every pod is new
    s.then_replica_sets("web", {OLD: 4, NEW: 4})
    s.then_phase("web", "Healthy")
    s.then_replica_sets("web", {OLD: 0, NEW: 8})
    s.then_ready_images("app=web", {NEW: 8})
    status = s.status("web")
    assert status["stableRS"] == status["currentPodHash"]
    assert status["HPAReplicas"] == 8
    assert s.get("rollout", "web")["spec"]["replicas"] == 8
