"""What Argo Rollouts users' scripts read, as upstream (argoproj/argo-rollouts 1.10) reports it, on the local cluster.

- A paused blue-green counts the pods behind the active Service as ready and available, not the preview ones
  (upstream's syncRolloutStatusBlueGreen).
- On abort the canary Service goes back to the stable pods at once, before the canary is scaled down
  (reconcileStableAndCanaryService).
- A rollout that completed and only waits out scaleDownDelaySeconds is Healthy and never times out
  (isWaitingForReplicaSetScaleDown).
- Blue-green activeMetadata / previewMetadata follow the pods' role as it changes.
- Istio subset-level splitting needs no canaryService / stableService; `routes` naming an HTTP route is ignored
  by a VirtualService that has only TLS routes (upstream's istio.go skips a missing spec.http).
- `abort` with no update in progress does nothing: the Rollout stays Healthy (a fully promoted rollout's abort
  is removed).
- The events of an ordinary canary update carry upstream's reasons in upstream's order (its e2e
  functional_test.go asserts the same sequences).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.gates import RampGates
from tests.e2e.harness import Cluster, ControllerProcess, wait_until
from tests.e2e.routers import istio_host, istio_subset
from tests.e2e.routers import nginx as nginx_case
from tests.e2e.scenario import Scenario, pod_template_hash
from tests.e2e.traffic_cases import Names, install_crds

pytestmark = pytest.mark.cluster

OLD, NEW = "nginx:1.27", "nginx:1.28"
HASH = "rollouts-pod-template-hash"


def _start(start_controller: Callable[..., ControllerProcess], namespace: str) -> ControllerProcess:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    return controller


def _services(s: Scenario, app: str, *names: str) -> None:
    for name in names:
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": 80}]},
        }
        s.given(json.dumps(service))


def _selected(s: Scenario, service: str) -> str:
    return str((s.get("service", service)["spec"].get("selector") or {}).get(HASH, ""))


def _hash_of(s: Scenario, rollout: str, image: str) -> str:
    return pod_template_hash(s.replica_set_for_image(rollout, image))


def _event_reasons_in_order(s: Scenario, name: str) -> list[str]:
    """The Rollout's event reasons in the order they were first recorded (a repeat counts once more each time)."""
    events = [e for e in s.cluster.events(s.namespace, name) if e.get("involvedObject", {}).get("kind") == "Rollout"]
    events.sort(key=lambda e: (e.get("firstTimestamp") or "", e["metadata"]["name"]))
    return [str(e["reason"]) for e in events for _ in range(int(e.get("count") or 1))]


def _blue_green(name: str, replicas: int, image: str, **blue_green: Any) -> str:
    strategy = {"blueGreen": {"activeService": f"{name}-active", "previewService": f"{name}-preview", **blue_green}}
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
            "strategy": strategy,
        },
    }
    return json.dumps(manifest)


# 1. Blue-green counters


def test_a_paused_blue_green_counts_the_active_pods_as_ready_and_available_not_the_preview_ones(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a Healthy blue-green rollout of 3 pods that previews one pod before promotion
    _services(s, "bg", "bg-active", "bg-preview")
    s.given(_blue_green("bg", 3, OLD, autoPromotionEnabled=False, previewReplicaCount=1))
    s.then_phase("bg", "Healthy")
    # When a new version is previewed
    RampGates(cluster, namespace).set_image("bg", "app", NEW)
    s.then_phase("bg", "Paused")
    s.then_ready_images("app=bg", {OLD: 3, NEW: 1})

    # Then replicas / updated / ready / available read 4 / 1 / 3 / 3, as under Argo Rollouts
    def counters(rollout: dict[str, Any]) -> bool:
        status = rollout["status"]
        keys = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
        return [status.get(k) for k in keys] == [4, 1, 3, 3]

    rollout = s.then_rollout("bg", counters, "replicas 4, updated 1, ready 3, available 3", timeout=30)
    old_hash = _hash_of(s, "bg", OLD)
    assert rollout["status"]["HPAReplicas"] == 3
    assert rollout["status"]["selector"] == f"app=bg,{HASH}={old_hash}"


# 2. Abort and the canary Service


def test_abort_points_the_canary_service_back_at_the_stable_pods_before_any_scale_down(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    gates = RampGates(cluster, namespace)
    # Given a canary with a stable and a canary Service, paused at 50%
    _services(s, "web", "web-stable", "web-canary")
    canary = {
        "stableService": "web-stable",
        "canaryService": "web-canary",
        "steps": [{"setWeight": 50}, {"pause": {}}],
    }
    s.given_rollout("web", image=OLD, replicas=2, canary=canary)
    s.then_phase("web", "Healthy")
    stable_hash = _hash_of(s, "web", OLD)
    gates.set_image("web", "app", NEW)
    s.then_phase("web", "Paused")
    canary_hash = _hash_of(s, "web", NEW)
    wait_until(lambda: _selected(s, "web-canary") == canary_hash, 30, "the canary Service on the canary pods")

    def canary_service_leaves_first() -> str | None:
        # The ReplicaSet is read first: once it is seen scaled down, the Service must already be on stable.
        replicas = s.replica_set_for_image("web", NEW)["spec"]["replicas"]
        selected = _selected(s, "web-canary")
        if replicas == 0 and selected != stable_hash:
            return f"canary scaled down while web-canary still selects {selected}"
        return None

    # When the update is aborted
    with s.sampling(canary_service_leaves_first, interval=0.1) as samples:
        gates.abort("web")
        # Then the canary Service selects the stable pods, and the canary goes
        wait_until(lambda: _selected(s, "web-canary") == stable_hash, 30, "web-canary back on the stable pods")
        s.then_replica_sets("web", {OLD: 2, NEW: 0})
    samples.assert_clean(minimum=2)
    assert _selected(s, "web-stable") == stable_hash
    s.then_phase("web", "Degraded")


# 3. scaleDownDelaySeconds is not progress


def _events_since(s: Scenario, name: str, reason: str, since: datetime) -> list[str]:
    """Timestamps of `reason` events for `name` last seen at or after `since`."""
    stamps = []
    for event in s.cluster.events(s.namespace, name):
        if event.get("reason") != reason:
            continue
        series = event.get("series") or {}
        stamp = event.get("lastTimestamp") or series.get("lastObservedTime") or event.get("eventTime") or ""
        if stamp and datetime.fromisoformat(str(stamp).replace("Z", "+00:00")) >= since:
            stamps.append(str(stamp))
    return stamps


def test_a_completed_rollout_waiting_out_its_scale_down_delay_is_healthy_and_never_times_out(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    names = Names(namespace)
    # Given an nginx-routed canary whose old pods stay 45 s after promotion, with a 10 s progress deadline
    _services(s, names.rollout, names.stable_service, names.canary_service)
    s.given(nginx_case.objects(names))
    canary = {
        "stableService": names.stable_service,
        "canaryService": names.canary_service,
        "trafficRouting": nginx_case.traffic_routing(names),
        "scaleDownDelaySeconds": 45,
    }
    s.given_rollout(names.rollout, image=OLD, replicas=2, canary=canary, spec={"progressDeadlineSeconds": 10})
    s.then_phase(names.rollout, "Healthy")
    # When a new version rolls out (no steps) and completes
    RampGates(cluster, namespace).set_image(names.rollout, "app", NEW)
    s.then_rollout(
        names.rollout,
        lambda r: r["status"].get("stableRS") == _hash_of(s, names.rollout, NEW),
        "the new version stable",
    )

    def healthy() -> str | None:
        status = s.status(names.rollout)
        reasons = [c.get("reason") for c in status.get("conditions") or []]
        if status.get("phase") != "Healthy" or "ProgressDeadlineExceeded" in reasons:
            return f"phase {status.get('phase')} ({status.get('message')}), condition reasons {reasons}"
        return None

    # Then while the old pods wait out the delay it stays Healthy, past the progress deadline many times over
    # (new pods slow to start on a busy cluster may have timed the update itself out: that is not this wait)
    # Events are timestamped to the second and may reach the API server after a short delay, so only those stamped
    # after the first whole second of this wait count.
    waiting_since = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    with s.sampling(healthy, interval=0.5) as samples:
        wait_until(lambda: s.replica_set_for_image(names.rollout, OLD)["spec"]["replicas"] == 0, 90, "old scaled down")
    samples.assert_clean(minimum=10)
    assert _events_since(s, names.rollout, "ProgressDeadlineExceeded", waiting_since) == []


# 4. Blue-green ephemeral metadata follows the role


def test_blue_green_pods_carry_preview_then_active_metadata_as_their_role_changes(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    gates = RampGates(cluster, namespace)
    # Given a Healthy blue-green rollout that previews one pod, with role labels for active and preview pods
    _services(s, "bg", "bg-active", "bg-preview")
    metadata = {
        "activeMetadata": {"labels": {"role": "active"}},
        "previewMetadata": {"labels": {"role": "preview"}},
    }
    manifest = _blue_green(
        "bg", 3, OLD, autoPromotionEnabled=False, previewReplicaCount=1, scaleDownDelaySeconds=60, **metadata
    )
    # Then the first pods are active pods from the start (upstream): none is ever a preview pod
    with s.sampling(lambda: f"preview pods {len(found)}" if (found := s.live_pods("role=preview")) else None) as first:
        s.given(manifest)
        s.then_phase("bg", "Healthy")
        old_hash = _hash_of(s, "bg", OLD)
        wait_until(lambda: len(s.live_pods(f"role=active,{HASH}={old_hash}")) == 3, 60, "active pods labelled")
    first.assert_clean(minimum=2)
    # When a new version is previewed, Then its one pod is a preview pod
    gates.set_image("bg", "app", NEW)
    s.then_phase("bg", "Paused")
    new_hash = _hash_of(s, "bg", NEW)
    wait_until(lambda: len(s.live_pods(f"role=preview,{HASH}={new_hash}")) == 1, 60, "the preview pod labelled")
    # When promoted (scaled up to 3, then switched), Then all its pods are active ones and no pod is still preview
    gates.promote("bg")
    s.then_phase("bg", "Healthy")
    wait_until(lambda: len(s.live_pods(f"role=active,{HASH}={new_hash}")) == 3, 60, "promoted pods labelled active")
    assert s.live_pods("role=preview") == []
    # And the previous pods, waiting for their scale-down, are no longer labelled active
    wait_until(lambda: s.live_pods(f"role=active,{HASH}={old_hash}") == [], 30, "old pods no longer active")


# 5 and 6. Istio: subsets without Services; routes on a TLS-only VirtualService


def test_istio_subset_level_splitting_needs_no_canary_or_stable_service(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    install_crds(cluster, istio_subset.CASE)
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    names = Names(namespace)
    # Given a DestinationRule with stable and canary subsets and a VirtualService splitting between them
    _services(s, names.rollout, names.root_service)
    s.given(istio_subset.objects(names))
    # And a canary Rollout routing through them with no canaryService / stableService
    canary = {"trafficRouting": istio_subset.traffic_routing(names), "steps": [{"setWeight": 30}, {"pause": {}}]}
    s.given_rollout(names.rollout, image=OLD, replicas=2, canary=canary)
    s.then_phase(names.rollout, "Healthy")
    # When a new version rolls out, Then the canary subset gets 30% and selects the new pods
    RampGates(cluster, namespace).set_image(names.rollout, "app", NEW)
    s.then_phase(names.rollout, "Paused")
    new_hash = _hash_of(s, names.rollout, NEW)
    wait_until(
        lambda: istio_subset.read_weights(cluster, names) == {names.canary_service: 30, names.stable_service: 70},
        30,
        "30% to the canary subset",
    )
    assert istio_subset.read_subset_hashes(cluster, names)[istio_subset.CANARY_SUBSET] == new_hash
    # When promoted, Then all traffic goes to the stable subset, now on the new pods
    RampGates(cluster, namespace).promote(names.rollout, full=True)
    s.then_phase(names.rollout, "Healthy")
    wait_until(
        lambda: istio_subset.read_subset_hashes(cluster, names)[istio_subset.STABLE_SUBSET] == new_hash,
        30,
        "the stable subset on the new pods",
    )
    wait_until(
        lambda: istio_subset.read_weights(cluster, names).get(names.canary_service, 0) == 0, 30, "no canary share"
    )


def _tls_only_virtual_service(names: Names) -> str:
    return f"""
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: {istio_host.VIRTUAL_SERVICE}
  namespace: {names.namespace}
spec:
  hosts:
  - app.example.com
  gateways:
  - mesh
  tls:
  - match:
    - port: 443
      sniHosts:
      - app.example.com
    route:
    - destination:
        host: {names.stable_service}
      weight: 100
    - destination:
        host: {names.canary_service}
      weight: 0
"""


def _tls_shares(cluster: Cluster, names: Names) -> dict[str, int]:
    found = cluster.get("virtualservices.networking.istio.io", istio_host.VIRTUAL_SERVICE, names.namespace)
    route = found["spec"]["tls"][0]["route"]
    return {str(d["destination"]["host"]): int(d.get("weight") or 0) for d in route}


def test_routes_naming_an_http_route_are_ignored_by_a_virtual_service_with_only_tls_routes(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    install_crds(cluster, istio_host.CASE)
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    names = Names(namespace)
    # Given a VirtualService with one TLS route and no HTTP route
    _services(s, names.rollout, names.stable_service, names.canary_service)
    s.given(_tls_only_virtual_service(names))
    # And a Rollout whose istio settings also name an HTTP route (a spec shared with HTTP VirtualServices)
    virtual_service = {
        "name": istio_host.VIRTUAL_SERVICE,
        "routes": ["primary"],
        "tlsRoutes": [{"port": 443, "sniHosts": ["app.example.com"]}],
    }
    canary = {
        "stableService": names.stable_service,
        "canaryService": names.canary_service,
        "trafficRouting": {"istio": {"virtualService": virtual_service}},
        "steps": [{"setWeight": 30}, {"pause": {}}],
    }
    s.given_rollout(names.rollout, image=OLD, replicas=2, canary=canary)
    s.then_phase(names.rollout, "Healthy")
    # When a new version rolls out, Then the TLS route carries the split and the Rollout is not InvalidSpec
    RampGates(cluster, namespace).set_image(names.rollout, "app", NEW)
    s.then_phase(names.rollout, "Paused")
    wait_until(
        lambda: _tls_shares(cluster, names) == {names.stable_service: 70, names.canary_service: 30},
        30,
        "30% to the canary over TLS",
    )
    assert s.condition(names.rollout, "InvalidSpec") is None


# 7. abort with nothing in progress


def test_abort_with_no_update_in_progress_does_nothing(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a Healthy canary with no update in progress
    s.given_rollout("web", image=OLD, replicas=2, canary={"steps": [{"setWeight": 50}, {"pause": {}}]})
    s.then_phase("web", "Healthy")
    # When it is aborted
    RampGates(cluster, namespace).abort("web")
    # Then the controller takes the abort back and the Rollout stays Healthy, its pods untouched
    rollout = s.then_rollout("web", lambda r: not r["status"].get("abort"), "the abort removed", timeout=30)
    assert rollout["status"]["phase"] == "Healthy"
    assert "RolloutAborted" not in s.event_reasons("web")
    s.then_ready_images("app=web", {OLD: 2})


# 8. Events in upstream's order

INITIAL = [
    "RolloutAddedToInformer",
    "RolloutUpdated",
    "NewReplicaSetCreated",
    "RolloutNotCompleted",
    "ScalingReplicaSet",
    "RolloutCompleted",
]


def test_a_canary_update_without_steps_records_upstreams_events_in_upstreams_order(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a canary of one pod without steps, deployed
    s.given_rollout("web", image=OLD, replicas=1, canary={})
    s.then_phase("web", "Healthy")
    # When a new image rolls out to completion
    s.when_image("rollout", "web", "app", NEW)
    s.then_rollout("web", lambda r: r["status"].get("stableRS") == _hash_of(s, "web", NEW), "the new version stable")
    s.then_replica_sets("web", {OLD: 0, NEW: 1})
    # Then the events are upstream's, in upstream's order (functional_test.go's sequences)
    expected = [
        *INITIAL,
        "RolloutUpdated",
        "NewReplicaSetCreated",
        "RolloutNotCompleted",
        "ScalingReplicaSet",  # the new ReplicaSet 0 -> 1
        "ScalingReplicaSet",  # the old one 1 -> 0
        "RolloutCompleted",
    ]
    wait_until(lambda: s.event_count("web", "RolloutCompleted") == 2, 15, "the second RolloutCompleted")
    assert _event_reasons_in_order(s, "web") == expected


def test_a_canary_update_with_a_weight_and_a_pause_records_upstreams_events_in_upstreams_order(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a canary of one pod with steps setWeight 50 and an indefinite pause, deployed
    s.given_rollout("web", image=OLD, replicas=1, canary={"steps": [{"setWeight": 50}, {"pause": {}}]})
    s.then_phase("web", "Healthy")
    # When a new image rolls out, pauses and is promoted
    s.when_image("rollout", "web", "app", NEW)
    s.then_phase("web", "Paused")
    RampGates(cluster, namespace).promote("web")
    s.then_rollout("web", lambda r: r["status"].get("stableRS") == _hash_of(s, "web", NEW), "the new version stable")
    s.then_replica_sets("web", {OLD: 0, NEW: 1})
    # Then the events are upstream's, in upstream's order
    expected = [
        *INITIAL,
        "RolloutUpdated",
        "NewReplicaSetCreated",
        "RolloutNotCompleted",
        "ScalingReplicaSet",  # the canary 0 -> 1
        "RolloutStepCompleted",  # 1/2 setWeight: 50
        "RolloutPaused",
        "RolloutStepCompleted",  # 2/2 pause
        "RolloutResumed",
        "ScalingReplicaSet",  # the old one 1 -> 0
        "RolloutCompleted",
    ]
    wait_until(lambda: s.event_count("web", "RolloutCompleted") == 2, 15, "the second RolloutCompleted")
    assert _event_reasons_in_order(s, "web") == expected


def test_a_blue_green_update_records_upstreams_events_in_upstreams_order(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a blue-green rollout with an active Service only, deployed (upstream's TestBlueGreenUpdate)
    _services(s, "bg", "bg-active")
    manifest = json.loads(_blue_green("bg", 3, OLD))
    del manifest["spec"]["strategy"]["blueGreen"]["previewService"]
    s.given(json.dumps(manifest))
    s.then_phase("bg", "Healthy")
    # When a new image rolls out and is switched to (auto-promotion)
    s.when_image("rollout", "bg", "app", NEW)
    s.then_rollout("bg", lambda r: r["status"].get("stableRS") == _hash_of(s, "bg", NEW), "the new version stable")
    s.then_phase("bg", "Healthy")
    wait_until(lambda: s.event_count("bg", "RolloutCompleted") == 2, 15, "the second RolloutCompleted")
    # Then the events are upstream's, in upstream's order (the old pods wait out the 30 s scale-down delay)
    assert _event_reasons_in_order(s, "bg") == [
        "RolloutAddedToInformer",
        "RolloutUpdated",
        "NewReplicaSetCreated",
        "ScalingReplicaSet",
        "RolloutCompleted",  # Initial deploy
        "SwitchService",
        "RolloutUpdated",
        "NewReplicaSetCreated",
        "RolloutNotCompleted",
        "ScalingReplicaSet",
        "SwitchService",
        "RolloutCompleted",  # Completed blue-green update
    ]
