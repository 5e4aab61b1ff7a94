"""`antiAffinity` (canary and blue-green): the new pods keep off the nodes of the stable pods.

Behaviour matched (upstream docs/features/anti-affinity): with `requiredDuringSchedulingIgnoredDuringExecution`
the new ReplicaSet's pod template gets a pod anti-affinity term on the stable pods' rollouts-pod-template-hash per
node (kubernetes.io/hostname), beside the template's own rules, so the scheduler places no canary pod on a node
that runs a stable pod. Once the canary is stable the term is taken off its template (there is nothing left to
avoid), without restarting its pods, and without a new ReplicaSet. Blue-green's
`preferredDuringSchedulingIgnoredDuringExecution: {weight}` puts the same term, weighted, on the preview pods.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.e2e.gates import RampGates
from tests.e2e.harness import Cluster, ControllerProcess, wait_until
from tests.e2e.scenario import Scenario, is_ready, pod_template_hash

OLD, NEW = "nginx:1.27", "nginx:1.28"
HASH = "rollouts-pod-template-hash"


def _anti_affinity_terms(rs: dict[str, Any]) -> list[dict[str, Any]]:
    affinity = rs["spec"]["template"]["spec"].get("affinity") or {}
    return list((affinity.get("podAntiAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or [])


def test_canary_pods_keep_off_the_stable_pods_nodes_until_promoted(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    s = Scenario(cluster, namespace)
    gates = RampGates(cluster, namespace)
    canary = {
        "steps": [{"setWeight": 50}, {"pause": {}}],
        "antiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}},
    }
    # Given a Healthy canary Rollout of 2 pods with required anti-affinity
    s.given_rollout("web", image=OLD, replicas=2, canary=canary)
    old_hash = s.then_phase("web", "Healthy")["status"]["stableRS"]
    (first,) = s.replica_sets("web")
    assert not _anti_affinity_terms(first), "the first ReplicaSet has no stable pods to avoid"
    # When a new version is rolled out and pauses at 50%
    gates.set_image("web", "app", NEW)
    s.then_step("web", 1)
    s.then_phase("web", "Paused")
    new_hash = s.status("web")["currentPodHash"]
    # Then the canary ReplicaSet's template avoids the stable pods, per node, in the rollout's namespace
    new_rs = next(rs for rs in s.replica_sets("web") if pod_template_hash(rs) == new_hash)
    (term,) = _anti_affinity_terms(new_rs)
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchExpressions"] == [{"key": HASH, "operator": "In", "values": [old_hash]}]
    # And the scheduler put the ready canary pod on a node with no stable pod
    (canary_pod,) = wait_until(
        lambda: [p for p in s.live_pods(f"{HASH}={new_hash}") if is_ready(p)] or None, 60, "ready canary pod"
    )
    stable_nodes = {pod["spec"]["nodeName"] for pod in s.live_pods(f"{HASH}={old_hash}")}
    assert stable_nodes
    assert canary_pod["spec"]["nodeName"] not in stable_nodes
    # When the canary is promoted
    gates.promote("web")
    rollout = s.then_phase("web", "Healthy")
    assert rollout["status"]["stableRS"] == new_hash
    # Then its template no longer avoids anything, its pod was not restarted, and no ReplicaSet was added
    wait_until(
        lambda: not _anti_affinity_terms(next(rs for rs in s.replica_sets("web") if pod_template_hash(rs) == new_hash)),
        30,
        "anti-affinity term taken off the promoted ReplicaSet",
    )
    assert canary_pod["metadata"]["uid"] in {pod["metadata"]["uid"] for pod in s.live_pods(f"{HASH}={new_hash}")}
    assert len(s.replica_sets("web")) == 2
    s.then_phase("web", "Healthy")


def test_blue_green_preview_prefers_other_nodes_and_the_preference_goes_once_active(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    s = Scenario(cluster, namespace)
    gates = RampGates(cluster, namespace)
    # Given a Healthy blue-green Rollout with a preferred anti-affinity of weight 50, paused before each switch
    for name in ("web-active", "web-preview"):
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80}]},
        }
        s.given(json.dumps(service))
    blue_green = {
        "activeService": "web-active",
        "previewService": "web-preview",
        "autoPromotionEnabled": False,
        "antiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": {"weight": 50}},
    }
    s.given_rollout("web", image=OLD, replicas=2, spec={"strategy": {"blueGreen": blue_green}})
    old_hash = s.then_phase("web", "Healthy")["status"]["stableRS"]
    # When a new version is previewed
    gates.set_image("web", "app", NEW)
    s.then_phase("web", "Paused")
    new_hash = s.status("web")["currentPodHash"]
    # Then the preview ReplicaSet's template prefers (weight 50) nodes without the active pods
    new_rs = next(rs for rs in s.replica_sets("web") if pod_template_hash(rs) == new_hash)
    rules = new_rs["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    (weighted,) = rules["preferredDuringSchedulingIgnoredDuringExecution"]
    assert weighted["weight"] == 50
    assert weighted["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"
    expressions = weighted["podAffinityTerm"]["labelSelector"]["matchExpressions"]
    assert expressions == [{"key": HASH, "operator": "In", "values": [old_hash]}]
    # When it is promoted, Then the preference is taken off once it is the stable version
    gates.promote("web")
    s.then_rollout("web", lambda r: r["status"].get("stableRS") == new_hash, "promoted")
    wait_until(
        lambda: (
            "affinity"
            not in next(rs for rs in s.replica_sets("web") if pod_template_hash(rs) == new_hash)["spec"]["template"][
                "spec"
            ]
        ),
        30,
        "preferred anti-affinity taken off the promoted ReplicaSet",
    )
    assert len(s.replica_sets("web")) == 2
