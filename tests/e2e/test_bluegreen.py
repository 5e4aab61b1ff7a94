"""Blue-green rollouts on the local cluster: preview and active Services, promotion, analysis, abort, rollback.

Behaviour matched (upstream docs features/bluegreen.md): the preview Service selects the new pods
(`rollouts-pod-template-hash`) at once while the active Service stays on the old ones; the rollout pauses
(BlueGreenPause) until promoted, or for autoPromotionSeconds; previewReplicaCount runs fewer new pods until
promotion; once all new pods are available the active Service switches and the old ReplicaSet is scaled down after
scaleDownDelaySeconds. Abort keeps (or puts back) the active Service on the stable pods; a failed pre-promotion
analysis aborts before the switch, a failed post-promotion one switches back. Invalid specs only set InvalidSpec.
Throughout a switch the active Service never selects zero ready pods.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.gates import Gates, RampGates
from tests.e2e.harness import Cluster, ControllerProcess, wait_until
from tests.e2e.metrics_source import MetricsSource
from tests.e2e.scenario import Scenario, is_ready, pod_template_hash

OLD, NEW = "nginx:1.27", "nginx:1.28"
HASH = "rollouts-pod-template-hash"
MANAGED_BY = "argo-rollouts.argoproj.io/managed-by-rollouts"


@pytest.fixture
def source() -> Iterator[MetricsSource]:
    serving = MetricsSource()
    serving.set_document({"ratio": 0.99})
    yield serving
    serving.stop()


def _start(start_controller: Callable[..., ControllerProcess], namespace: str) -> ControllerProcess:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    return controller


def _given_services(s: Scenario, *names: str) -> None:
    for name in names:
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80}]},
        }
        s.given(json.dumps(service))


def _given_blue_green(s: Scenario, image: str = OLD, replicas: int = 3, **blue_green: Any) -> None:
    strategy = {"blueGreen": {"activeService": "web-active", "previewService": "web-preview", **blue_green}}
    s.given_rollout("web", image=image, replicas=replicas, spec={"strategy": strategy})


def _given_healthy_blue_green(s: Scenario, **blue_green: Any) -> str:
    _given_services(s, "web-active", "web-preview")
    _given_blue_green(s, **blue_green)
    s.then_phase("web", "Healthy")
    s.then_ready_images("app=web", {OLD: 3})
    return _hash_of(s, OLD)


def _hash_of(s: Scenario, image: str) -> str:
    return pod_template_hash(s.replica_set_for_image("web", image))


def _selected(s: Scenario, service: str) -> str:
    return str((s.get("service", service)["spec"].get("selector") or {}).get(HASH, ""))


def _then_selected(s: Scenario, service: str, pod_hash: str, timeout: float = 60) -> None:
    wait_until(lambda: _selected(s, service) == pod_hash, timeout, f"service {service} to select {pod_hash}")


def _active_has_ready_pods(s: Scenario) -> str | None:
    """The sampled bound: the active Service's selector always matches at least one ready pod."""
    selector = s.get("service", "web-active")["spec"].get("selector") or {}
    pods = s.live_pods(",".join(f"{k}={v}" for k, v in selector.items()))
    if not any(is_ready(pod) for pod in pods):
        return f"active selector {selector} matches no ready pod"
    return None


def _web_template(s: Scenario, source: MetricsSource) -> None:
    metric = {
        "name": "success-ratio",
        "interval": "1s",
        "count": 2,
        "successCondition": "result > 0.95",
        "failureCondition": "result < 0.5",
        "provider": {"web": {"url": f"{source.url}/health", "jsonPath": "{$.ratio}"}},
    }
    template = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "success-ratio"},
        "spec": {"metrics": [metric]},
    }
    s.given(json.dumps(template))


def _run(s: Scenario, prefix: str) -> dict[str, Any] | None:
    runs = [r for r in s.cluster.list("analysisruns", s.namespace) if r["metadata"]["name"].startswith(prefix)]
    return max(runs, key=lambda r: r["metadata"]["creationTimestamp"]) if runs else None


def _then_run_phase(s: Scenario, prefix: str, phase: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        run = _run(s, prefix)
        return run if run is not None and run.get("status", {}).get("phase") == phase else None

    try:
        return wait_until(reached, 90, f"AnalysisRun {prefix}* to be {phase}")
    except AssertionError as failure:
        names = [r["metadata"]["name"] for r in s.cluster.list("analysisruns", s.namespace)]
        raise AssertionError(f"{failure}; runs: {names}; rollout status: {s.status('web')}") from None


def test_manual_promotion_switches_the_active_service_and_scales_the_old_pods_down_after_the_delay(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], gates: Gates
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a Healthy blue-green rollout that waits for a promote, with a 5 s scale-down delay
    old_hash = _given_healthy_blue_green(s, autoPromotionEnabled=False, scaleDownDelaySeconds=5)
    active = s.get("service", "web-active")
    assert active["spec"]["selector"] == {"app": "web", HASH: old_hash}
    assert active["metadata"]["annotations"][MANAGED_BY] == "web"
    status = s.status("web")
    assert status["stableRS"] == old_hash
    assert status["blueGreen"]["activeSelector"] == status["blueGreen"]["previewSelector"] == old_hash
    with s.sampling(lambda: _active_has_ready_pods(s)) as samples:
        # When the image changes
        gates.set_image("web", "app", NEW)
        # Then the new pods run beside the old ones, previewed but not active, paused on BlueGreenPause
        rollout = s.then_phase("web", "Paused")
        new_hash = _hash_of(s, NEW)
        assert [c["reason"] for c in rollout["status"]["pauseConditions"]] == ["BlueGreenPause"]
        s.then_ready_images("app=web", {OLD: 3, NEW: 3})
        assert _selected(s, "web-preview") == new_hash
        assert _selected(s, "web-active") == old_hash
        blue = s.status("web")["blueGreen"]
        assert (blue["activeSelector"], blue["previewSelector"]) == (old_hash, new_hash)
        # When it is promoted
        gates.promote("web")
        # Then the active Service switches to the new pods; the old ones stay up for the delay, then go
        _then_selected(s, "web-active", new_hash)
        rollout = s.then_phase("web", "Healthy")
        assert rollout["status"]["stableRS"] == new_hash
        assert rollout["status"]["blueGreen"]["activeSelector"] == new_hash
        old_rs = s.replica_set_for_image("web", OLD)
        assert old_rs["spec"]["replicas"] == 3
        assert "scale-down-deadline" in old_rs["metadata"]["annotations"]
        s.then_replica_sets("web", {NEW: 3, OLD: 0}, timeout=30)
        s.then_ready_images("app=web", {NEW: 3})
    samples.assert_clean()
    s.then_event("web", "SwitchService", timeout=10)


def test_auto_promotion_switches_after_the_configured_seconds(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a Healthy blue-green rollout promoting itself 6 s after the new pods are ready
    old_hash = _given_healthy_blue_green(s, autoPromotionSeconds=6, scaleDownDelaySeconds=2)
    # When the image changes
    s.when_image("rollout", "web", "app", NEW)
    # Then it pauses on BlueGreenPause, with the active Service on the old pods
    rollout = s.then_phase("web", "Paused")
    paused_at = time.monotonic()
    assert [c["reason"] for c in rollout["status"]["pauseConditions"]] == ["BlueGreenPause"]
    assert _selected(s, "web-active") == old_hash
    # And without anyone promoting, it switches once the seconds passed
    new_hash = _hash_of(s, NEW)
    _then_selected(s, "web-active", new_hash)
    assert time.monotonic() - paused_at >= 4.5
    s.then_phase("web", "Healthy")
    s.then_replica_sets("web", {NEW: 3, OLD: 0}, timeout=30)


def test_preview_replica_count_then_promote_full(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], gates: Gates
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a blue-green rollout previewing a new version on 1 pod, waiting for a promote
    old_hash = _given_healthy_blue_green(s, autoPromotionEnabled=False, previewReplicaCount=1, scaleDownDelaySeconds=2)
    # When the image changes
    gates.set_image("web", "app", NEW)
    # Then one new pod runs in preview, paused; the active Service stays on the old pods
    s.then_phase("web", "Paused")
    s.then_ready_images("app=web", {OLD: 3, NEW: 1})
    assert _selected(s, "web-active") == old_hash
    assert _selected(s, "web-preview") == _hash_of(s, NEW)
    # When it is promoted in full
    with s.sampling(lambda: _active_has_ready_pods(s)) as samples:
        gates.promote("web", full=True)
        # Then the new version scales to 3, takes the active Service, and the old one goes
        _then_selected(s, "web-active", _hash_of(s, NEW))
        s.then_phase("web", "Healthy")
        s.then_replica_sets("web", {NEW: 3, OLD: 0}, timeout=30)
    samples.assert_clean()
    assert s.status("web")["blueGreen"].get("scaleUpPreviewCheckPoint") is False


def test_abort_before_promotion_keeps_the_old_version_active_and_scales_the_preview_down(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], gates: Gates
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a paused blue-green update whose aborted preview is scaled down after 2 s
    old_hash = _given_healthy_blue_green(s, autoPromotionEnabled=False, abortScaleDownDelaySeconds=2)
    gates.set_image("web", "app", NEW)
    s.then_phase("web", "Paused")
    s.then_ready_images("app=web", {OLD: 3, NEW: 3})
    # When it is aborted
    gates.abort("web")
    # Then it is Degraded, the active Service never left the old pods, and the new ReplicaSet goes to 0
    s.then_phase("web", "Degraded")
    assert _selected(s, "web-active") == old_hash
    s.then_replica_sets("web", {OLD: 3, NEW: 0}, timeout=30)
    s.then_event("web", "RolloutAborted", timeout=10)
    # When it is retried, Then it previews the new version again and pauses
    gates.retry("web")
    s.then_phase("web", "Paused")
    s.then_ready_images("app=web", {OLD: 3, NEW: 3})
    assert _selected(s, "web-active") == old_hash


def test_pre_promotion_analysis_failing_aborts_and_passing_promotes(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], source: MetricsSource
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a pre-promotion analysis on a web metric that reads 0.1 (failing)
    _web_template(s, source)
    source.set_document({"ratio": 0.1})
    analysis = {"templates": [{"templateName": "success-ratio"}]}
    old_hash = _given_healthy_blue_green(s, prePromotionAnalysis=analysis, scaleDownDelaySeconds=2)
    # When the image changes
    s.when_image("rollout", "web", "app", NEW)
    # Then the pre-promotion run fails, the rollout aborts, and the active Service stays on the old pods
    run = _then_run_phase(s, "web-", "Failed")
    new_hash = _hash_of(s, NEW)
    assert run["metadata"]["name"] == f"web-{new_hash}-2-pre"
    assert run["metadata"]["labels"]["rollout-type"] == "PrePromotion"
    rollout = s.then_phase("web", "Degraded")
    assert rollout["status"]["blueGreen"]["prePromotionAnalysisRunStatus"]["status"] == "Failed"
    assert _selected(s, "web-active") == old_hash
    # When the metric recovers and the update is retried
    source.set_document({"ratio": 0.99})
    s.when_patched("rollout", "web", {"status": {"abort": False}}, subresource="status")
    # Then a new run passes and the new version is promoted
    _then_selected(s, "web-active", new_hash, timeout=90)
    rollout = s.then_phase("web", "Healthy")
    assert rollout["status"]["blueGreen"]["prePromotionAnalysisRunStatus"]["status"] == "Successful"


def test_post_promotion_analysis_failing_switches_the_active_service_back(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], source: MetricsSource
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a post-promotion analysis whose metric will read 0.1 (failing), and a long scale-down delay
    _web_template(s, source)
    source.set_document({"ratio": 0.1})
    analysis = {"templates": [{"templateName": "success-ratio"}]}
    old_hash = _given_healthy_blue_green(s, postPromotionAnalysis=analysis, scaleDownDelaySeconds=60)
    with s.sampling(lambda: _active_has_ready_pods(s)) as samples:
        # When the image changes
        s.when_image("rollout", "web", "app", NEW)
        # Then the active Service switches, the post-promotion run fails, and the active Service goes back
        new_hash = wait_until(lambda: len(s.replica_sets("web")) == 2 and _hash_of(s, NEW), 60, "a new ReplicaSet")
        run = _then_run_phase(s, f"web-{new_hash}-2-post", "Failed")
        assert run["metadata"]["labels"]["rollout-type"] == "PostPromotion"
        _then_selected(s, "web-active", old_hash)
        rollout = s.then_phase("web", "Degraded")
        assert rollout["status"]["stableRS"] == old_hash
        assert rollout["status"]["blueGreen"]["activeSelector"] == old_hash
    samples.assert_clean(minimum=2)
    switches = s.event_messages("web", "SwitchService")
    assert any("'web-active'" in m and m.endswith(f"to '{new_hash}'") for m in switches), switches
    assert any("'web-active'" in m and m.endswith(f"to '{old_hash}'") for m in switches), (
        switches
    )  # the switch and the switch back take only seconds


def test_switching_blue_green_to_canary_and_back(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a Healthy blue-green rollout
    _given_healthy_blue_green(s, scaleDownDelaySeconds=2)
    # When it becomes a canary (no steps) with a new image
    s.when_json_patched(
        "rollout",
        "web",
        [
            {"op": "replace", "path": "/spec/strategy", "value": {"canary": {}}},
            {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": NEW},
        ],
    )
    # Then the canary rolls the new version out
    rollout = s.then_rollout("web", lambda r: r["status"].get("stableRS") == _hash_of(s, NEW), "canary promoted")
    s.then_phase("web", "Healthy")
    s.then_ready_images("app=web", {NEW: 3})
    assert rollout["status"]["blueGreen"] == {}
    # When it becomes blue-green again
    strategy = {"blueGreen": {"activeService": "web-active", "previewService": "web-preview"}}
    s.when_json_patched("rollout", "web", [{"op": "replace", "path": "/spec/strategy", "value": strategy}])
    # Then the active Service is switched to the running version, and it is Healthy
    _then_selected(s, "web-active", _hash_of(s, NEW))
    s.then_phase("web", "Healthy")
    s.then_ready_images("app=web", {NEW: 3})


@pytest.mark.parametrize(
    ("blue_green", "services", "expected"),
    [
        ({"activeService": "", "previewService": "web-preview"}, ["web-preview"], "activeService"),
        ({"activeService": "web-missing"}, [], 'Service "web-missing" not found'),
        (
            {"activeService": "web-active", "previewService": "web-active"},
            ["web-active"],
            "uses the same service for the active and preview services",
        ),
    ],
    ids=["no-active-service", "service-does-not-exist", "active-equals-preview"],
)
def test_invalid_blue_green_specs_set_invalid_spec_and_change_nothing(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    blue_green: dict[str, Any],
    services: list[str],
    expected: str,
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given the Services that exist
    _given_services(s, *services)
    # When a blue-green Rollout with an invalid spec is created
    s.given_rollout("web", image=OLD, replicas=2, spec={"strategy": {"blueGreen": blue_green}})
    # Then it is Degraded with InvalidSpec naming the problem, and nothing was created or switched
    condition = s.then_condition("web", "InvalidSpec", "InvalidSpec", status="True")
    assert expected in condition["message"]
    assert s.status("web")["phase"] == "Degraded"
    assert s.replica_sets("web") == []
    for name in services:
        assert HASH not in (s.get("service", name)["spec"].get("selector") or {})


def test_undo_within_the_scale_down_delay_rolls_back_at_once_and_pods_carry_active_and_preview_metadata(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    gates = RampGates(cluster, namespace)
    # Given a Healthy blue-green rollout with active and preview pod labels and a long scale-down delay
    old_hash = _given_healthy_blue_green(
        s,
        autoPromotionEnabled=False,
        scaleDownDelaySeconds=120,
        activeMetadata={"labels": {"role": "active"}},
        previewMetadata={"labels": {"role": "preview"}},
    )
    # Then the active pods carry the active label
    wait_until(lambda: len(s.live_pods(f"role=active,{HASH}={old_hash}")) == 3, 60, "active pods labelled")
    # When a new version is previewed
    gates.set_image("web", "app", NEW)
    s.then_phase("web", "Paused")
    new_hash = _hash_of(s, NEW)
    # Then its pods carry the preview label
    wait_until(lambda: len(s.live_pods(f"role=preview,{HASH}={new_hash}")) == 3, 60, "preview pods labelled")
    # When it is promoted, Then its pods carry the active label instead
    gates.promote("web")
    _then_selected(s, "web-active", new_hash)
    wait_until(lambda: len(s.live_pods(f"role=active,{HASH}={new_hash}")) == 3, 60, "promoted pods labelled")
    s.then_phase("web", "Healthy")
    assert len(s.replica_sets("web")) == 2  # template matching ignores the injected labels
    # When the update is undone while the old pods wait for their scale-down
    with s.sampling(lambda: _active_has_ready_pods(s)) as samples:
        gates.undo("web")
        # Then the active Service goes straight back to them, without a pause, and the rollout is Healthy
        _then_selected(s, "web-active", old_hash, timeout=30)
        rollout = s.then_rollout("web", lambda r: r["status"].get("stableRS") == old_hash, "rolled back")
        assert not rollout["status"].get("pauseConditions")
        s.then_phase("web", "Healthy")
    samples.assert_clean(minimum=2)
    assert len(s.replica_sets("web")) == 2
