"""Canary `canaryMetadata` / `stableMetadata`: labels and annotations on the pods of each side, kept in step as
the roles change, without restarting a pod.

Behaviour matched (upstream docs/features/canary.md "Canary and stable metadata", and its ephemeral-metadata
reconcile): the stable pods carry stableMetadata; during an update the canary pods carry canaryMetadata; when the
canary is promoted its pods get stableMetadata instead (the canary-only labels removed), the same pods, not new
ones; the injected metadata never makes the controller think the template changed (no extra ReplicaSet).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.e2e.gates import RampGates
from tests.e2e.harness import Cluster, ControllerProcess, wait_until
from tests.e2e.scenario import Scenario, pod_template_hash

OLD, NEW = "nginx:1.27", "nginx:1.28"
HASH = "rollouts-pod-template-hash"
CANARY_METADATA = {"labels": {"role": "canary", "canary-only": "yes"}, "annotations": {"side": "canary"}}
STABLE_METADATA = {"labels": {"role": "stable"}, "annotations": {"side": "stable"}}


def _uids(pods: list[dict[str, Any]]) -> set[str]:
    return {str(pod["metadata"]["uid"]) for pod in pods}


def _carry(s: Scenario, pod_hash: str, labels: str, annotation: str, count: int) -> list[dict[str, Any]]:
    """Wait until `count` live pods of `pod_hash` match `labels` and carry the `side` annotation; return them."""

    def found() -> list[dict[str, Any]] | None:
        pods = s.live_pods(f"{labels},{HASH}={pod_hash}")
        matching = [pod for pod in pods if (pod["metadata"].get("annotations") or {}).get("side") == annotation]
        return matching if len(matching) == count else None

    return wait_until(found, 60, f"{count} pods of {pod_hash} with {labels} and side={annotation}")


def test_canary_and_stable_metadata_follow_the_roles_without_restarting_pods(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    s = Scenario(cluster, namespace)
    gates = RampGates(cluster, namespace)
    canary = {
        "steps": [{"setWeight": 50}, {"pause": {}}],
        "canaryMetadata": CANARY_METADATA,
        "stableMetadata": STABLE_METADATA,
    }
    # Given a Healthy canary Rollout with canaryMetadata and stableMetadata
    s.given_rollout("web", image=OLD, replicas=4, canary=canary)
    rollout = s.then_phase("web", "Healthy")
    old_hash = rollout["status"]["stableRS"]
    # Then its pods carry the stable metadata
    stable_pods = _carry(s, old_hash, "role=stable,!canary-only", "stable", 4)
    # When a new version is rolled out and pauses at 50%
    gates.set_image("web", "app", NEW)
    s.then_step("web", 1)
    s.then_phase("web", "Paused")
    new_hash = s.status("web")["currentPodHash"]
    assert new_hash != old_hash
    # Then the canary pods carry the canary metadata and the remaining stable pods still the stable metadata
    canary_pods = _carry(s, new_hash, "role=canary,canary-only=yes", "canary", 2)
    remaining = _carry(s, old_hash, "role=stable,!canary-only", "stable", 2)
    # (the stable pods are the ones that were running: labelled in place, not replaced)
    assert _uids(remaining) <= _uids(stable_pods)
    # When the canary is promoted
    gates.promote("web")
    rollout = s.then_phase("web", "Healthy")
    assert rollout["status"]["stableRS"] == new_hash
    # Then the promoted pods carry the stable metadata, the canary-only label and annotation gone
    promoted = _carry(s, new_hash, "role=stable,!canary-only", "stable", 4)
    # And the two pods that were the canary are still the same pods (patched, not restarted)
    assert _uids(canary_pods) <= _uids(promoted)
    for pod in promoted:
        assert pod_template_hash(pod) == new_hash
    # And the injected metadata is on the ReplicaSet's template too, yet no third ReplicaSet was made for it
    sets = s.replica_sets("web")
    assert len(sets) == 2
    (new_rs,) = [rs for rs in sets if pod_template_hash(rs) == new_hash]
    template_meta = new_rs["spec"]["template"]["metadata"]
    assert template_meta["labels"]["role"] == "stable"
    assert "canary-only" not in template_meta["labels"]
    assert (template_meta.get("annotations") or {}).get("side") == "stable"
