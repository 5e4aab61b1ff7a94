"""Canary rollouts without traffic routing: steps, pauses, promotion, progress deadlines and metrics.

Behaviour matched (upstream docs/features/canary.md, specification.md, the contract's "Canary replica arithmetic"
and "Steps and transitions"): the very first deploy ignores the steps; a setWeight step is approximated with
replica counts (25% of 4 = 1 canary + 3 stable); `pause: {}` waits for a promote, `pause: {duration}` for the
time; after the last step the canary becomes stable and the old ReplicaSet is scaled to 0. promote --full skips
the remaining steps. A canary whose pods never become available past progressDeadlineSeconds is Degraded with
ProgressDeadlineExceeded, and with progressDeadlineAbort also aborted.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.e2e.gates import Gates
from tests.e2e.harness import Cluster, ControllerProcess, wait_until
from tests.e2e.scenario import Scenario, is_ready, pod_template_hash

OLD, NEW = "nginx:1.27", "nginx:1.28"
STEPS = [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {"duration": 10}}]


def _start(start_controller: Callable[..., ControllerProcess], namespace: str) -> ControllerProcess:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    return controller


def _given_healthy_canary(s: Scenario, steps: list[dict] | None = None, **spec: object) -> dict:
    s.given_rollout("web", image=OLD, replicas=4, canary={"steps": STEPS if steps is None else steps}, spec=spec)
    rollout = s.then_phase("web", "Healthy")
    s.then_ready_images("app=web", {OLD: 4})
    return rollout


def test_first_deploy_goes_straight_to_healthy_without_steps(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a new canary Rollout with steps, When it is first created
    s.given_rollout("web", image=OLD, replicas=4, canary={"steps": STEPS})
    # Then it skips the steps: Healthy, with all 4 pods from one ReplicaSet that is stable at once
    rollout = s.then_phase("web", "Healthy")
    s.then_ready_images("app=web", {OLD: 4})
    status = s.status("web")
    (rs,) = s.replica_sets("web")
    template_hash = s.check_replica_set(rs, "web", revision=1)
    assert status["stableRS"] == status["currentPodHash"] == template_hash
    assert status["currentStepIndex"] == len(STEPS)
    assert isinstance(status["observedGeneration"], str)
    assert status["observedGeneration"] == str(rollout["metadata"]["generation"])
    assert (status["replicas"], status["updatedReplicas"], status["readyReplicas"]) == (4, 4, 4)
    assert status["availableReplicas"] == 4
    assert not status.get("pauseConditions")
    assert rollout["metadata"]["annotations"]["rollout.argoproj.io/revision"] == "1"
    assert rs["spec"]["replicas"] == 4
    for pod in s.live_pods("app=web"):
        assert pod_template_hash(pod) == template_hash
    # Conditions settle over a reconcile or two, as upstream's do
    s.then_condition("web", "Available", "AvailableReason", status="True")
    s.then_condition("web", "Progressing", "NewReplicaSetAvailable", status="True")
    s.then_condition("web", "Healthy", "RolloutHealthy", status="True")
    s.then_condition("web", "Completed", "RolloutCompleted", status="True")
    s.then_event("web", "NewReplicaSetCreated", timeout=10)
    s.then_event("web", "ScalingReplicaSet", timeout=10)


def test_canary_pauses_on_steps_and_completes_after_promote(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], gates: Gates
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a Healthy canary at nginx:1.27
    _given_healthy_canary(s)
    stable_hash = s.status("web")["stableRS"]
    # When the image changes
    gates.set_image("web", "app", NEW)
    # Then one canary pod runs beside three stable ones, paused on the indefinite pause step
    s.then_replica_sets("web", {OLD: 3, NEW: 1})
    s.then_ready_images("app=web", {OLD: 3, NEW: 1})
    rollout = s.then_phase("web", "Paused")
    status = rollout["status"]
    assert status["currentStepIndex"] == 1
    assert [c["reason"] for c in status["pauseConditions"]] == ["CanaryPauseStep"]
    assert status["message"] == "CanaryPauseStep"
    assert status["stableRS"] == stable_hash
    new_rs = s.replica_set_for_image("web", NEW)
    canary_hash = s.check_replica_set(new_rs, "web", revision=2)
    assert status["currentPodHash"] == canary_hash != stable_hash
    assert rollout["metadata"]["annotations"]["rollout.argoproj.io/revision"] == "2"
    assert (status["replicas"], status["updatedReplicas"]) == (4, 1)
    s.then_condition("web", "Paused", "RolloutPaused", status="True")
    s.then_condition("web", "Progressing", "RolloutPaused", status="Unknown")
    s.then_condition("web", "Completed", "RolloutCompleted", status="False")
    for reason in (
        "RolloutUpdated",
        "NewReplicaSetCreated",
        "ScalingReplicaSet",
        "RolloutStepCompleted",
        "RolloutPaused",
    ):
        s.then_event("web", reason, timeout=10)
    # When it is promoted
    gates.promote("web")
    # Then it moves to 50% (2 + 2) and the timed pause
    s.then_replica_sets("web", {OLD: 2, NEW: 2})
    s.then_ready_images("app=web", {OLD: 2, NEW: 2})
    s.then_event("web", "RolloutResumed")
    # And after the 10 s pause it completes by itself: all pods new, the old ReplicaSet at 0, the canary stable
    rollout = s.then_phase("web", "Healthy")
    s.then_replica_sets("web", {OLD: 0, NEW: 4})
    s.then_ready_images("app=web", {NEW: 4})
    status = s.status("web")
    assert status["stableRS"] == status["currentPodHash"] == canary_hash
    assert status["currentStepIndex"] == len(STEPS)
    assert not status.get("pauseConditions")
    wait_until(
        lambda: s.event_count("web", "RolloutStepCompleted") >= len(STEPS), 10, "a RolloutStepCompleted per step"
    )
    s.then_event("web", "RolloutCompleted")
    assert s.replica_set_for_image("web", OLD)["spec"]["replicas"] == 0


def test_timed_pause_holds_the_weight_until_it_elapses(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    """A `pause: {duration}` step is Paused with CanaryPauseStep while it runs, then moves on by itself."""
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    _given_healthy_canary(s, steps=[{"setWeight": 50}, {"pause": {"duration": "8s"}}])
    # When the image changes
    s.when_image("rollout", "web", "app", NEW)
    # Then it waits at 50% on the timed pause, Paused with a pause condition
    rollout = s.then_phase("web", "Paused")
    assert rollout["status"]["currentStepIndex"] == 1
    assert [c["reason"] for c in rollout["status"]["pauseConditions"]] == ["CanaryPauseStep"]
    assert rollout["status"]["pauseConditions"][0]["startTime"]
    s.then_ready_images("app=web", {OLD: 2, NEW: 2})
    # And then, with nobody acting, it completes
    s.then_phase("web", "Healthy", timeout=45)
    s.then_ready_images("app=web", {NEW: 4})
    assert s.status("web")["currentStepIndex"] == 2


def test_promote_full_skips_the_remaining_steps(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], gates: Gates
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    _given_healthy_canary(s)
    gates.set_image("web", "app", NEW)
    s.then_phase("web", "Paused")
    s.then_replica_sets("web", {OLD: 3, NEW: 1})
    # When it is fully promoted from the first pause
    gates.promote("web", full=True)
    # Then all four pods are new at once, the remaining steps (50%, the timed pause) are skipped, and it is Healthy
    s.then_phase("web", "Healthy")
    s.then_replica_sets("web", {OLD: 0, NEW: 4})
    s.then_ready_images("app=web", {NEW: 4})
    status = s.status("web")
    assert status["stableRS"] == status["currentPodHash"] == pod_template_hash(s.replica_set_for_image("web", NEW))
    assert status["currentStepIndex"] == len(STEPS)
    assert not status.get("pauseConditions")
    assert not status.get("promoteFull"), "promoteFull is cleared once the rollout is fully promoted"
    # Only the first step completed one by one; the pause on step 3 never happened
    s.then_event("web", "RolloutCompleted", timeout=10)
    assert s.event_count("web", "RolloutStepCompleted") == 1
    assert s.event_count("web", "RolloutPaused") == 1


def _never_ready_patch(image: str) -> list[dict]:
    """A new template whose pods can never be scheduled, so kwok never makes them Ready.

    kwok's default stages (kwokctl's `pod-ready`) mark every *scheduled* pod Ready, readiness gates included, and
    the local cluster installs no per-test Stage API; a nodeSelector no node matches keeps the pods Pending instead.
    """
    return [
        {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": image},
        {"op": "add", "path": "/spec/template/spec/nodeSelector", "value": {"ramp.test/never": "true"}},
    ]


def test_progress_deadline_exceeded_marks_the_rollout_degraded(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a Healthy canary with a 10 s progress deadline (the step after the update is a setWeight, which counts)
    _given_healthy_canary(s, steps=[{"setWeight": 50}, {"pause": {}}], progressDeadlineSeconds=10)
    # When the new version's pods never become ready
    s.when_json_patched("rollout", "web", _never_ready_patch(NEW))
    # Then the Progressing condition turns False with ProgressDeadlineExceeded and the rollout is Degraded
    condition = s.then_condition("web", "Progressing", "ProgressDeadlineExceeded", status="False", timeout=60)
    rollout = s.then_phase("web", "Degraded")
    assert rollout["status"]["message"].startswith("ProgressDeadlineExceeded")
    assert "timed out progressing" in condition["message"]
    assert not rollout["status"].get("abort")
    # And nothing is rolled back: the stable pods keep serving, the unready canary pods stay
    stable = s.ready_images("app=web")
    assert set(stable) == {OLD} and stable[OLD] >= 3
    canary_rs = s.replica_set_for_image("web", NEW)
    assert canary_rs["spec"]["replicas"] >= 1
    canary_pods = s.live_pods(f"rollouts-pod-template-hash={pod_template_hash(canary_rs)}")
    assert canary_pods and not any(is_ready(pod) for pod in canary_pods)


def test_progress_deadline_abort_scales_the_canary_down(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    _given_healthy_canary(
        s, steps=[{"setWeight": 50}, {"pause": {}}], progressDeadlineSeconds=10, progressDeadlineAbort=True
    )
    # When the new version's pods never become ready
    s.when_json_patched("rollout", "web", _never_ready_patch(NEW))
    # Then the rollout is aborted: Degraded, abort set, the canary scaled to 0 and all 4 stable pods back
    rollout = s.then_rollout("web", lambda r: r["status"].get("abort") is True, "aborted", timeout=60)
    s.then_condition("web", "Progressing", "RolloutAborted", status="False")
    rollout = s.then_phase("web", "Degraded")
    assert rollout["status"]["message"].startswith("RolloutAborted")
    s.then_replica_sets("web", {OLD: 4, NEW: 0})
    s.then_ready_images("app=web", {OLD: 4})
    s.then_event("web", "RolloutAborted")


# -- metrics ------------------------------------------------------------------------------------------------
_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _series(text: str, metric: str) -> list[tuple[dict[str, str], float]]:
    found = []
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and match["name"] == metric:
            found.append((dict(_LABEL.findall(match["labels"] or "")), float(match["value"])))
    return found


def _value(text: str, metric: str, **labels: str) -> float | None:
    for series_labels, value in _series(text, metric):
        if all(series_labels.get(k) == v for k, v in labels.items()):
            return value
    return None


def test_rollout_metrics_report_phase_and_replicas(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    controller = _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a Healthy canary
    _given_healthy_canary(s)
    ours = {"namespace": namespace, "name": "web"}
    # Then rollout_info says so, with upstream's labels, and the replica gauges match the status
    wait_until(
        lambda: _value(controller.metrics(), "rollout_info", **ours, strategy="canary", phase="Healthy") == 1,
        30,
        "rollout_info{phase=Healthy}",
    )
    (labels, _), *_ = [
        series for series in _series(controller.metrics(), "rollout_info") if series[0].get("name") == "web"
    ]
    assert {"namespace", "name", "strategy", "traffic_router", "phase"} <= set(labels)
    text = controller.metrics()
    assert _value(text, "rollout_info_replicas_available", **ours) == 4
    assert _value(text, "rollout_info_replicas_desired", **ours) == 4
    assert _value(text, "rollout_info_replicas_updated", **ours) == 4
    # When a new version pauses on the first pause step
    s.when_image("rollout", "web", "app", NEW)
    s.then_phase("web", "Paused")
    s.then_ready_images("app=web", {OLD: 3, NEW: 1})

    # Then the series follow: one phase series (Paused), one updated replica
    def paused() -> bool:
        text = controller.metrics()
        phases = [lbl["phase"] for lbl, value in _series(text, "rollout_info") if lbl.get("name") == "web" and value]
        return phases == ["Paused"] and _value(text, "rollout_info_replicas_updated", **ours) == 1

    wait_until(paused, 30, "rollout_info{phase=Paused} and 1 updated replica")
    text = controller.metrics()
    assert _value(text, "rollout_info_replicas_desired", **ours) == 4
    assert _value(text, "rollout_info_replicas_available", **ours) == 4
