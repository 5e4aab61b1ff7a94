"""A person's gates on a canary: abort and retry, a new version mid-rollout, fast rollback, restart, undo.

Each scenario runs twice (the `gates` fixture): with Ramp's CLI and with the exact writes of upstream's kubectl
plugin. Behaviour matched (upstream docs/features/canary.md, restart.md, rollback.md, the contract's "Steps and
transitions"): abort scales the canary to 0 and reports Degraded/RolloutAborted until retry restarts the steps;
a template change resets the steps and scales an intermediate ReplicaSet down; going back to the stable template
skips the steps (SkipSteps); restart replaces every pod at most maxUnavailable at a time; undo puts an older
revision's template back, as a new revision reusing that revision's ReplicaSet.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from tests.e2e.gates import Gates
from tests.e2e.harness import Cluster, ControllerProcess, wait_until
from tests.e2e.scenario import Scenario, is_live, is_ready, pod_template_hash

OLD, NEW, NEWER = "nginx:1.27", "nginx:1.28", "nginx:1.29"
# Two indefinite pauses, so a scenario can stop at 25% or at 50% for as long as it needs.
STEPS = [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}]


def _start(start_controller: Callable[..., ControllerProcess], namespace: str) -> ControllerProcess:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    return controller


def _given_paused_canary(s: Scenario, gates: Gates) -> str:
    """A Healthy rollout at OLD, updated to NEW and paused at step 1 (1 canary + 3 stable); returns stableRS."""
    s.given_rollout("web", image=OLD, replicas=4, canary={"steps": STEPS})
    s.then_phase("web", "Healthy")
    s.then_ready_images("app=web", {OLD: 4})
    stable = str(s.status("web")["stableRS"])
    gates.set_image("web", "app", NEW)
    s.then_phase("web", "Paused")
    s.then_replica_sets("web", {OLD: 3, NEW: 1})
    assert s.status("web")["currentStepIndex"] == 1
    return stable


def test_abort_returns_to_stable_and_retry_restarts_the_steps(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], gates: Gates
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    stable = _given_paused_canary(s, gates)
    # When the update is aborted at the first pause
    gates.abort("web")
    # Then the canary is scaled to 0 and all four pods are stable again
    s.then_replica_sets("web", {OLD: 4, NEW: 0})
    s.then_ready_images("app=web", {OLD: 4})
    # And the rollout is Degraded, saying it aborted revision 2
    rollout = s.then_phase("web", "Degraded")
    status = rollout["status"]
    assert status["abort"] is True
    assert status.get("abortedAt")
    assert "RolloutAborted" in status["message"]
    assert "Rollout aborted update to revision 2" in status["message"]
    progressing = s.then_condition("web", "Progressing", "RolloutAborted", status="False")
    assert "Rollout aborted update to revision 2" in progressing["message"]
    assert status["stableRS"] == stable
    assert status["currentStepIndex"] == 0
    assert not status.get("pauseConditions")
    s.then_event("web", "RolloutAborted")
    # When it is retried
    gates.retry("web")
    # Then the steps start again from 0 and it pauses again at step 1 with one canary pod
    s.then_replica_sets("web", {OLD: 3, NEW: 1})
    s.then_ready_images("app=web", {OLD: 3, NEW: 1})
    rollout = s.then_phase("web", "Paused")
    status = rollout["status"]
    assert not status.get("abort")
    assert status["currentStepIndex"] == 1
    assert [c["reason"] for c in status["pauseConditions"]] == ["CanaryPauseStep"]
    assert status["stableRS"] == stable
    wait_until(
        lambda: (s.condition("web", "Progressing") or {}).get("reason") not in (None, "RolloutAborted"),
        30,
        "the Progressing condition to leave RolloutAborted",
    )


def test_new_image_mid_rollout_restarts_the_steps_and_scales_the_intermediate_down(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], gates: Gates
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    stable = _given_paused_canary(s, gates)
    # Given the update promoted to 50% (2 canary + 2 stable), paused at step 3
    gates.promote("web")
    s.then_replica_sets("web", {OLD: 2, NEW: 2})
    s.then_rollout(
        "web", lambda r: r["status"].get("currentStepIndex") == 3 and r["status"].get("pauseConditions"), "at step 3"
    )
    stable_pods = {pod["metadata"]["uid"] for pod in s.live_pods(f"rollouts-pod-template-hash={stable}")}
    assert len(stable_pods) == 2
    # When yet another image is set mid-rollout
    gates.set_image("web", "app", NEWER)
    # Then a third ReplicaSet is created, the intermediate one is scaled to 0, and the steps restart from 0
    s.then_replica_sets("web", {OLD: 3, NEW: 0, NEWER: 1})
    s.then_ready_images("app=web", {OLD: 3, NEWER: 1})
    rollout = s.then_phase("web", "Paused")
    status = rollout["status"]
    assert status["currentStepIndex"] == 1
    assert len(s.replica_sets("web")) == 3
    newest = s.replica_set_for_image("web", NEWER)
    assert status["currentPodHash"] == s.check_replica_set(newest, "web", revision=3)
    # And the stable ReplicaSet is untouched: same hash, and its pods were only added to, never replaced
    assert status["stableRS"] == stable
    now_stable = {pod["metadata"]["uid"] for pod in s.live_pods(f"rollouts-pod-template-hash={stable}")}
    assert stable_pods <= now_stable


def test_setting_the_stable_image_back_skips_the_steps(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], gates: Gates
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    stable = _given_paused_canary(s, gates)
    # When, paused on the canary, the image is set back to the stable one
    gates.set_image("web", "app", OLD)
    # Then it is Healthy at once, without any promote: the steps are skipped and the canary scaled to 0
    rollout = s.then_phase("web", "Healthy")
    s.then_replica_sets("web", {OLD: 4, NEW: 0})
    s.then_ready_images("app=web", {OLD: 4})
    status = rollout["status"]
    assert status["stableRS"] == status["currentPodHash"] == stable
    assert status["currentStepIndex"] == len(STEPS)
    assert not status.get("pauseConditions")
    s.then_event("web", "SkipSteps")
    assert len(s.replica_sets("web")) == 2, "going back reuses the stable ReplicaSet"


def test_restart_replaces_every_pod_within_max_unavailable(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], gates: Gates
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a Healthy rollout of 4 pods (maxUnavailable defaults to 25%: 1 pod)
    s.given_rollout("web", image=OLD, replicas=4, canary={"steps": STEPS})
    s.then_phase("web", "Healthy")
    s.then_ready_images("app=web", {OLD: 4})
    (rs,) = s.replica_sets("web")
    before = {pod["metadata"]["uid"] for pod in s.live_pods("app=web")}
    time.sleep(1.5)  # restartAt has 1 s resolution: let the pods be strictly older than it

    def at_most_one_unavailable() -> str | None:
        pods = [pod for pod in cluster.list("pods", namespace, "app=web") if is_live(pod)]
        ready = sum(is_ready(pod) for pod in pods)
        return None if ready >= 3 else f"{ready} ready of {len(pods)} live pods"

    # When it is restarted
    with s.sampling(at_most_one_unavailable) as samples:
        gates.restart("web")
        # Then every pod is replaced by one created after restartAt, and status.restartedAt records it
        rollout = s.then_rollout(
            "web",
            _restarted,
            "status.restartedAt == spec.restartAt",
        )

        def all_replaced() -> bool:
            pods = s.live_pods("app=web")
            return (
                len(pods) == 4 and all(is_ready(p) for p in pods) and not before & {p["metadata"]["uid"] for p in pods}
            )

        wait_until(all_replaced, 60, "all 4 pods replaced and ready")
        s.then_phase("web", "Healthy")
    # And never more than one pod was unavailable at a sampled moment
    samples.assert_clean(minimum=1)  # a restart of 4 kwok pods can be over in a few samples
    restart_at = _time(rollout["spec"]["restartAt"])
    for pod in s.live_pods("app=web"):
        assert _time(pod["metadata"]["creationTimestamp"]) >= restart_at
        assert pod["spec"]["containers"][0]["image"] == OLD
    # And no new revision: the same ReplicaSet, still at 4
    (after,) = s.replica_sets("web")
    assert after["metadata"]["uid"] == rs["metadata"]["uid"]
    assert after["spec"]["replicas"] == 4


def test_undo_restores_the_previous_revision_then_a_chosen_one(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], gates: Gates
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    a, b, c = "nginx:1.25", "nginx:1.26", "nginx:1.27"
    steps = [{"setWeight": 50}, {"pause": {}}]
    # Given three revisions, a -> b -> c, each fully promoted
    s.given_rollout("web", image=a, replicas=4, canary={"steps": steps})
    s.then_phase("web", "Healthy")
    for image in (b, c):
        gates.set_image("web", "app", image)
        s.then_phase("web", "Paused")
        gates.promote("web", full=True)
        s.then_phase("web", "Healthy")
        s.then_ready_images("app=web", {image: 4})
    revisions = {rs_image: _revision(s.replica_set_for_image("web", rs_image)) for rs_image in (a, b, c)}
    assert revisions == {a: "1", b: "2", c: "3"}
    b_rs = s.replica_set_for_image("web", b)
    # When undone
    gates.undo("web")
    # Then the template is b's again, as a new revision (4) that reuses b's ReplicaSet
    rollout = s.then_rollout("web", lambda r: _template_image(r) == b, "template back at b")
    assert "rollouts-pod-template-hash" not in rollout["spec"]["template"]["metadata"].get("labels", {})
    s.then_rollout(
        "web", lambda r: r["metadata"].get("annotations", {}).get("rollout.argoproj.io/revision") == "4", "revision 4"
    )
    wait_until(lambda: _revision(s.replica_set_for_image("web", b)) == "4", 30, "b's ReplicaSet at revision 4")
    assert s.replica_set_for_image("web", b)["metadata"]["uid"] == b_rs["metadata"]["uid"]
    assert len(s.replica_sets("web")) == 3
    # (b is not the stable version, so the steps run: promote it fully)
    s.then_phase("web", "Paused")
    gates.promote("web", full=True)
    s.then_phase("web", "Healthy")
    s.then_ready_images("app=web", {b: 4})
    # When undone to revision 1
    gates.undo("web", to_revision=1)
    # Then the template is a's, at revision 5
    s.then_rollout("web", lambda r: _template_image(r) == a, "template back at a")
    wait_until(lambda: _revision(s.replica_set_for_image("web", a)) == "5", 30, "a's ReplicaSet at revision 5")
    s.then_phase("web", "Paused")
    gates.promote("web", full=True)
    rollout = s.then_phase("web", "Healthy")
    s.then_replica_sets("web", {a: 4, b: 0, c: 0})
    s.then_ready_images("app=web", {a: 4})
    assert rollout["status"]["stableRS"] == pod_template_hash(s.replica_set_for_image("web", a))


def _revision(rs: dict) -> str | None:
    return rs["metadata"].get("annotations", {}).get("rollout.argoproj.io/revision")


def _template_image(rollout: dict) -> str:
    return str(rollout["spec"]["template"]["spec"]["containers"][0]["image"])


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _restarted(rollout: dict) -> bool:
    """status.restartedAt records spec.restartAt once every pod is newer than it."""
    wanted, done = rollout["spec"].get("restartAt"), rollout.get("status", {}).get("restartedAt")
    return bool(wanted and done) and _time(done) == _time(wanted)


def test_pause_holds_a_timed_step_until_promote(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], gates: Gates
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a canary on a 10-second pause between 25% and 75% (long enough for the CLI to pause it in time on a
    # loaded machine)
    steps = [{"setWeight": 25}, {"pause": {"duration": "10s"}}, {"setWeight": 75}]
    s.given_rollout("web", image=OLD, replicas=4, canary={"steps": steps})
    s.then_phase("web", "Healthy")
    gates.set_image("web", "app", NEW)
    s.then_replica_sets("web", {OLD: 3, NEW: 1})
    # When it is paused by hand during the timed pause
    gates.pause("web")
    # Then it reports "manually paused" and stays at 25% well past the pause's duration
    paused = s.then_phase("web", "Paused")
    assert paused["status"]["message"] == "manually paused"
    s.then_condition("web", "Paused", "RolloutPaused", status="True")
    time.sleep(12)
    assert s.status("web")["currentStepIndex"] <= 1
    s.then_replica_sets("web", {OLD: 3, NEW: 1})
    # When it is promoted, Then it goes on to the end
    gates.promote("web")
    done = s.then_phase("web", "Healthy")
    assert done["spec"].get("paused") in (None, False)
    s.then_ready_images("app=web", {NEW: 4})
