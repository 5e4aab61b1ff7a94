"""Blue-green `spec.rollbackWindow.revisions`: going back to a recent revision is fast.

Behaviour matched (upstream docs/features/rollback.md "Rollback Windows"): re-applying one of the last N
revisions whose ReplicaSet still exists skips the pause (and the analyses) even after its pods were scaled down:
the old ReplicaSet is scaled up again, the active Service switches to it as soon as its pods are available, and it
is stable at once. (Without the window, only a ReplicaSet still within its scaleDownDelay is rolled back fast.)
"""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.e2e.gates import RampGates
from tests.e2e.harness import Cluster, ControllerProcess, wait_until
from tests.e2e.scenario import Scenario, pod_template_hash

OLD, NEW = "nginx:1.27", "nginx:1.28"
HASH = "rollouts-pod-template-hash"


def _selected(s: Scenario, service: str) -> str:
    return str((s.get("service", service)["spec"].get("selector") or {}).get(HASH, ""))


def test_undo_to_a_scaled_down_revision_within_the_window_skips_the_pause(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    s = Scenario(cluster, namespace)
    gates = RampGates(cluster, namespace)
    # Given the active and preview Services, and a Healthy blue-green Rollout that pauses before each switch,
    # scales the old pods down 1 s after it, and has a rollback window of 1 revision
    for name in ("web-active", "web-preview"):
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80}]},
        }
        s.given(json.dumps(service))
    strategy = {
        "blueGreen": {
            "activeService": "web-active",
            "previewService": "web-preview",
            "autoPromotionEnabled": False,
            "scaleDownDelaySeconds": 1,
        }
    }
    s.given_rollout("web", image=OLD, replicas=2, spec={"strategy": strategy, "rollbackWindow": {"revisions": 1}})
    s.then_phase("web", "Healthy")
    old_hash = pod_template_hash(s.replica_set_for_image("web", OLD))
    # And a second revision, promoted by hand, after which the first one's pods are gone
    gates.set_image("web", "app", NEW)
    s.then_phase("web", "Paused")
    new_hash = pod_template_hash(s.replica_set_for_image("web", NEW))
    gates.promote("web")
    s.then_rollout("web", lambda r: r["status"].get("stableRS") == new_hash, "second revision stable")
    s.then_phase("web", "Healthy")

    def old_scaled_down() -> bool:
        rs = s.replica_set_for_image("web", OLD)
        annotations = rs["metadata"].get("annotations") or {}
        return rs["spec"]["replicas"] == 0 and "scale-down-deadline" not in annotations

    wait_until(old_scaled_down, 60, "first revision scaled to 0, no scale-down deadline left")
    wait_until(lambda: not s.live_pods(f"{HASH}={old_hash}"), 60, "first revision's pods gone")
    # When the update is undone (back to the first revision, within the window)
    with s.sampling(lambda: "paused" if s.status("web").get("pauseConditions") else None) as samples:
        gates.undo("web")
        # Then the first revision's ReplicaSet is scaled up again and goes straight behind the active Service
        wait_until(lambda: _selected(s, "web-active") == old_hash, 60, f"web-active to select {old_hash}")
        # And it is stable and Healthy without ever pausing
        rollout = s.then_rollout("web", lambda r: r["status"].get("stableRS") == old_hash, "rolled back")
        s.then_phase("web", "Healthy")
    samples.assert_clean(minimum=2)
    assert not rollout["status"].get("pauseConditions")
    assert len(s.replica_sets("web")) == 2  # the first revision's ReplicaSet was used again, not a new one
