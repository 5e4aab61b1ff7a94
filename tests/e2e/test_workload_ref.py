"""A Rollout that takes its pod template from a Deployment, a ReplicaSet or a PodTemplate (`workloadRef`), and
scales a Deployment down.

Behaviour matched (upstream docs/migrating.md "Reference Deployment From Rollout"): the Rollout has no template
of its own; it creates its own ReplicaSet from the Deployment's template and runs beside the Deployment's pods
without adopting them; `scaleDown: never` leaves the Deployment alone, `onsuccess` scales it to 0 once the
Rollout is Healthy, `progressively` scales it down as the Rollout's pods become ready. The Rollout is annotated
`rollout.argoproj.io/workload-generation` with the Deployment's generation.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from tests.e2e.harness import Cluster, ControllerProcess, wait_until
from tests.e2e.scenario import Scenario, is_live, is_ready, rs_image

IMAGE = "nginx:1.27"
REPLICAS = 3

DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web"},
    "spec": {
        "replicas": REPLICAS,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": IMAGE}]},
        },
    },
}


def _deployment_replicas(s: Scenario) -> int:
    return int(s.get("deployment", "web")["spec"]["replicas"])


@pytest.mark.parametrize("scale_down", ["never", "onsuccess", "progressively"])
def test_rollout_runs_the_deployment_template_and_scales_it_down(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], scale_down: str
) -> None:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    s = Scenario(cluster, namespace)
    # Given a Deployment `web` with 3 ready pods
    s.given(json.dumps(DEPLOYMENT))
    wait_until(
        lambda: s.get("deployment", "web").get("status", {}).get("availableReplicas") == REPLICAS,
        60,
        "Deployment web available",
    )
    deployment_pods = "app=web,!rollouts-pod-template-hash"
    rollout_pods = "app=web,rollouts-pod-template-hash"

    def enough_ready() -> str | None:
        ready = sum(is_ready(pod) for pod in cluster.list("pods", namespace, "app=web") if is_live(pod))
        return None if ready >= REPLICAS - 1 else f"only {ready} ready pods of app=web"

    # When a Rollout references it, with no template of its own
    workload_ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "scaleDown": scale_down}
    with s.sampling(enough_ready) as samples:
        s.given_rollout(
            "web",
            replicas=REPLICAS,
            canary={"steps": [{"setWeight": 50}, {"pause": {}}]},
            spec={"template": None, "workloadRef": workload_ref},
        )
        # Then it creates its own ReplicaSet from the Deployment's template and becomes Healthy
        rollout = s.then_phase("web", "Healthy")
        s.expect_pods(rollout_pods, count=REPLICAS, ready=REPLICAS, image=IMAGE)
        if scale_down != "never":
            # And the Deployment is scaled to 0 (at success, or step by step as the Rollout's pods became ready)
            wait_until(lambda: _deployment_replicas(s) == 0, 60, "Deployment web scaled to 0")
            s.expect_pods(deployment_pods, count=0)
    # And (sampled) the Deployment's and the Rollout's pods together never fell below replicas-1 ready
    samples.assert_clean(minimum=1)  # kwok readies pods within a second: the handover can take few samples

    (rs,) = s.replica_sets("web")
    s.check_replica_set(rs, "web", revision=1)
    assert rs_image(rs) == IMAGE
    assert rs["spec"]["replicas"] == REPLICAS
    assert rs["spec"]["template"]["metadata"]["labels"]["app"] == "web"
    assert "template" not in s.get("rollout", "web")["spec"] or not s.get("rollout", "web")["spec"]["template"]
    # The Rollout records which generation of the Deployment it runs (re-read on every reconcile upstream)
    wait_until(
        lambda: (
            s.get("rollout", "web")["metadata"].get("annotations", {}).get("rollout.argoproj.io/workload-generation")
            == str(s.get("deployment", "web")["metadata"]["generation"])
        ),
        30,
        "annotation rollout.argoproj.io/workload-generation == the Deployment's generation",
    )
    status = rollout["status"]
    assert status["stableRS"] == status["currentPodHash"]
    if scale_down == "never":
        # The Deployment keeps its 3 replicas (and its pods) after the Rollout is Healthy
        time.sleep(3)
        assert _deployment_replicas(s) == REPLICAS
        s.expect_pods(deployment_pods, count=REPLICAS, ready=REPLICAS)
    # The Deployment's pods were never adopted by the Rollout's ReplicaSet, nor the other way round
    for pod in s.live_pods(rollout_pods):
        owner = next(ref for ref in pod["metadata"]["ownerReferences"] if ref.get("controller"))
        assert owner["name"] == rs["metadata"]["name"]


NEW_IMAGE = "nginx:1.28"
# Upstream's other workload reference kinds (rollout/templateref.go): an apps/v1 ReplicaSet (spec.template,
# spec.selector) and a core v1 PodTemplate (template; no selector, so the Rollout gives one). scaleDown applies
# to a Deployment only, so it is left out here (and refused on these kinds, see tests/unit/rollout/test_workload.py).
WORKLOADS = {
    "ReplicaSet": (
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "web-source"},
            "spec": {"replicas": 0, **{k: v for k, v in DEPLOYMENT["spec"].items() if k != "replicas"}},
        },
        "/spec/template/spec/containers/0/image",
        {},
    ),
    "PodTemplate": (
        {
            "apiVersion": "v1",
            "kind": "PodTemplate",
            "metadata": {"name": "web-source"},
            "template": DEPLOYMENT["spec"]["template"],
        },
        "/template/spec/containers/0/image",
        {"selector": {"matchLabels": {"app": "web"}}},
    ),
}


@pytest.mark.parametrize("kind", list(WORKLOADS))
def test_rollout_runs_the_template_of_a_replica_set_or_pod_template_and_follows_its_changes(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], kind: str
) -> None:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    s = Scenario(cluster, namespace)
    workload, image_path, extra_spec = WORKLOADS[kind]
    api_version = workload["apiVersion"]
    rollout_pods = "app=web,rollouts-pod-template-hash"
    # Given a ReplicaSet (scaled to 0) or a PodTemplate `web-source` with the pod template
    s.given(json.dumps(workload))
    # When a Rollout references it, with no template of its own
    workload_ref = {"apiVersion": api_version, "kind": kind, "name": "web-source"}
    s.given_rollout(
        "web",
        replicas=REPLICAS,
        canary={"steps": []},
        spec={"template": None, "workloadRef": workload_ref, **extra_spec},
    )
    # Then it creates its own ReplicaSet from that template and becomes Healthy
    first = s.then_phase("web", "Healthy")["status"]["stableRS"]
    s.expect_pods(rollout_pods, count=REPLICAS, ready=REPLICAS, image=IMAGE)
    # When the workload's template changes
    s.when_json_patched(kind.lower(), "web-source", [{"op": "replace", "path": image_path, "value": NEW_IMAGE}])
    # Then the Rollout rolls out the new template (the change alone brings it: the workload is watched)
    rollout = s.then_rollout(
        "web", lambda r: r["status"].get("stableRS") not in (None, first), "the new template stable", timeout=60
    )
    s.then_phase("web", "Healthy")
    s.expect_pods(rollout_pods, count=REPLICAS, ready=REPLICAS, image=NEW_IMAGE)
    assert len(s.replica_sets("web")) == 2
    assert rollout["metadata"]["annotations"]["rollout.argoproj.io/revision"] == "2"
    # And the referenced workload itself is left alone
    if kind == "ReplicaSet":
        assert s.get("replicaset", "web-source")["spec"]["replicas"] == 0
