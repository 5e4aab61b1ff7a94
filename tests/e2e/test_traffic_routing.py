"""Canary rollouts through each traffic router on the local cluster, with the real Ramp controller.

Given a router's CRDs (minimal ones in tests/fixtures/crds for third-party kinds), the user's routing objects,
a stable and a canary Service and a canary Rollout with steps setWeight 10 → pause → (header route, mirror
route) → setWeight 33 → pause → setWeight 100 → pause,
When a new image is rolled out and promoted step by step,
Then the routing objects, read the way the ingress controller or mesh reads them, send 10, then 33, then 100
percent of requests to the canary Service; header and mirror routes appear for the routers that have them;
at the end the stable Service selects the new pods, the canary share is back to 0 and the managed routes are
gone. When another update is aborted at 10, the share goes back to 0 before the canary is scaled down.
Throughout, a sampler checks that the shares always sum to the total.
Behaviour matched: upstream's features/traffic-management docs and rollout/trafficrouting.go.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.gates import RampGates
from tests.e2e.harness import Cluster, ControllerProcess, wait_until
from tests.e2e.scenario import Scenario, pod_template_hash
from tests.e2e.traffic_cases import (
    HEADER_NAME,
    HEADER_ROUTE,
    HEADER_VALUE,
    MIRROR_PERCENTAGE,
    MIRROR_ROUTE,
    Names,
    RouterCase,
    install_crds,
    load_cases,
)

pytestmark = pytest.mark.cluster

V1, V2, V3 = "nginx:1.27", "nginx:1.28", "nginx:1.29"
HASH = "rollouts-pod-template-hash"
CASES = load_cases()
WAIT = 90.0


def _services(names: Names) -> str:
    items = []
    for service in (names.stable_service, names.canary_service, names.root_service):
        items.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": service},
                "spec": {"selector": {"app": names.rollout}, "ports": [{"port": names.port, "targetPort": 80}]},
            }
        )
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items})


def _steps(case: RouterCase) -> list[dict[str, Any]]:
    total = case.total
    steps: list[dict[str, Any]] = [{"setWeight": total * 10 // 100}, {"pause": {}}]
    if case.read_header_route is not None:
        match = [{"headerName": HEADER_NAME, "headerValue": {"exact": HEADER_VALUE}}]
        steps.append({"setHeaderRoute": {"name": HEADER_ROUTE, "match": match}})
    if case.read_mirror_route is not None:
        match = [{"method": {"exact": "GET"}}]
        steps.append({"setMirrorRoute": {"name": MIRROR_ROUTE, "percentage": MIRROR_PERCENTAGE, "match": match}})
    steps += [{"setWeight": total * 33 // 100}, {"pause": {}}, {"setWeight": total}, {"pause": {}}]
    return steps


def _canary(case: RouterCase, names: Names) -> dict[str, Any]:
    routing = dict(case.traffic_routing(names))
    managed = [
        {"name": n}
        for n, reader in ((HEADER_ROUTE, case.read_header_route), (MIRROR_ROUTE, case.read_mirror_route))
        if reader
    ]
    if managed:
        routing["managedRoutes"] = managed
    if case.total != 100:
        routing["maxTrafficWeight"] = case.total
    return {
        "stableService": names.stable_service,
        "canaryService": names.canary_service,
        "trafficRouting": routing,
        "scaleDownDelaySeconds": 3,
        "abortScaleDownDelaySeconds": 3,
        "steps": _steps(case),
    }


def _canary_share(cluster: Cluster, case: RouterCase, names: Names) -> int:
    return case.read_weights(cluster, names).get(names.canary_service, 0)


def _then_canary_share(cluster: Cluster, case: RouterCase, names: Names, share: int) -> None:
    wait_until(
        lambda: _canary_share(cluster, case, names) == share,
        WAIT,
        f"{case.id}: canary share {share} (now {case.read_weights(cluster, names)})",
    )


def _shares_sum_to_total(cluster: Cluster, case: RouterCase, names: Names) -> Callable[[], str | None]:
    def sample() -> str | None:
        shares = case.read_weights(cluster, names)
        if shares and sum(shares.values()) != case.total:
            return f"shares {shares} sum to {sum(shares.values())}, not {case.total}"
        return None

    return sample


def _selected(s: Scenario, service: str) -> str:
    return str((s.get("service", service)["spec"].get("selector") or {}).get(HASH, ""))


def _hash_of(s: Scenario, image: str) -> str:
    return pod_template_hash(s.replica_set_for_image("app", image))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_router_walks_the_weights_and_aborts_back_to_stable(
    case: RouterCase, cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    # Given the router's kinds, the Services and the user's routing objects
    install_crds(cluster, case)
    names = Names(namespace)
    s = Scenario(cluster, namespace)
    s.given(_services(names))
    if case.extra_services is not None:
        s.given(case.extra_services(names))
    objects = case.objects(names)
    if objects.strip():
        s.given(objects)
    gates = RampGates(cluster, namespace)
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    s.given_rollout(names.rollout, image=V1, replicas=3, canary=_canary(case, names))
    s.then_phase(names.rollout, "Healthy")
    v1 = _hash_of(s, V1)
    wait_until(lambda: _selected(s, names.stable_service) == v1, WAIT, "stable Service on v1")
    _then_canary_share(cluster, case, names, 0)

    with s.sampling(_shares_sum_to_total(cluster, case, names)) as samples:
        # When v2 is rolled out: 10% of requests go to the canary Service, which selects only v2 pods
        gates.set_image(names.rollout, "app", V2)
        _then_canary_share(cluster, case, names, case.total * 10 // 100)
        v2 = _hash_of(s, V2)
        assert _selected(s, names.canary_service) == v2
        assert _selected(s, names.stable_service) == v1
        weights = s.status(names.rollout)["canary"]["weights"]
        assert weights["canary"] == {
            "podTemplateHash": v2,
            "serviceName": names.canary_service,
            "weight": case.total * 10 // 100,
        }
        assert weights["stable"]["weight"] == case.total - case.total * 10 // 100

        # When promoted (once paused at the step): header and mirror routes (where the router has them), then 33%
        s.then_phase(names.rollout, "Paused")
        gates.promote(names.rollout)
        _then_canary_share(cluster, case, names, case.total * 33 // 100)
        if case.read_header_route is not None:
            assert case.read_header_route(cluster, names) == names.canary_service
        if case.read_mirror_route is not None:
            assert case.read_mirror_route(cluster, names) == (names.canary_service, MIRROR_PERCENTAGE)

        # Then 100%, and after the last promotion the stable Service selects v2 and the canary share is 0
        s.then_phase(names.rollout, "Paused")
        gates.promote(names.rollout)
        _then_canary_share(cluster, case, names, case.total)
        s.then_phase(names.rollout, "Paused")
        gates.promote(names.rollout)
        s.then_rollout(
            names.rollout,
            lambda r: r["status"].get("stableRS") == v2 and r["status"].get("phase") == "Healthy",
            "promoted",
        )
        wait_until(lambda: _selected(s, names.stable_service) == v2, WAIT, "stable Service on v2")
        _then_canary_share(cluster, case, names, 0)
        if case.read_header_route is not None:
            wait_until(lambda: case.read_header_route(cluster, names) is None, WAIT, "header route removed")  # type: ignore[misc]
        if case.read_mirror_route is not None:
            wait_until(lambda: case.read_mirror_route(cluster, names) is None, WAIT, "mirror route removed")  # type: ignore[misc]
        # The old stable goes after scaleDownDelaySeconds.
        wait_until(lambda: s.replica_set_for_image("app", V1)["spec"]["replicas"] == 0, WAIT, "v1 scaled down")

        # When v3 reaches 10% and is aborted: the share goes back to 0 first, then the canary is scaled down
        gates.set_image(names.rollout, "app", V3)
        _then_canary_share(cluster, case, names, case.total * 10 // 100)
        gates.abort(names.rollout)
        _then_canary_share(cluster, case, names, 0)
        assert s.replica_set_for_image("app", V3)["spec"]["replicas"] > 0, "canary scaled down before its delay"
        wait_until(lambda: s.replica_set_for_image("app", V3)["spec"]["replicas"] == 0, WAIT, "v3 scaled down")
        s.then_phase(names.rollout, "Degraded")
        assert _selected(s, names.stable_service) == v2
    samples.assert_clean()
    assert controller.alive


def _given_routed(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    case: RouterCase,
    with_objects: bool = True,
    *controller_args: str,
) -> tuple[Scenario, Names]:
    install_crds(cluster, case)
    names = Names(namespace)
    s = Scenario(cluster, namespace)
    s.given(_services(names))
    if with_objects:
        s.given(case.objects(names))
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false", *controller_args)
    controller.wait_for_log("workers started")
    canary = _canary(case, names)
    canary["steps"] = [{"setWeight": 10}, {"pause": {}}]
    s.given_rollout(names.rollout, image=V1, replicas=3, canary=canary)
    s.controller = controller  # type: ignore[attr-defined]  # for scenarios that read its log
    return s, names


def _case(case_id: str) -> RouterCase:
    return next(case for case in CASES if case.id == case_id)


# Routers whose routing objects are of a kind the controller watches when the cluster serves it: a Rollout waiting
# for one is reconciled when it appears, and never polls for it (ALB and nginx: Ingresses, watched always).
WATCHED_ROUTERS = {
    "istio_host": "VirtualService",
    "gatewayapi": "HTTPRoute",
    "traefik": "TraefikService",
    "ambassador": "Mapping",
    "apisix": "ApisixRoute",
}


@pytest.mark.parametrize("case_id", sorted(WATCHED_ROUTERS))
def test_a_missing_routing_object_stops_the_rollout_with_a_clear_message_until_it_exists(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], case_id: str
) -> None:
    # Given a controller that resyncs only hourly, and a Rollout routed through an object that does not exist yet
    case = _case(case_id)
    s, names = _given_routed(cluster, namespace, start_controller, case, False, "--rollout-resync", "3600")
    # Then it is Degraded with a message naming the object and the fix, and no pod was started
    rollout = s.then_phase(names.rollout, "Degraded")
    message = rollout["status"]["message"]
    assert f"{WATCHED_ROUTERS[case_id]} " in message and "not found" in message, message
    if case_id == "istio_host":
        assert "spec.strategy.canary.trafficRouting.istio.virtualService" in message, message
        assert 'VirtualService "app-vsvc" not found' in message, message
    assert all(rs["spec"]["replicas"] == 0 for rs in s.replica_sets(names.rollout))
    # When the user creates it, the rollout goes on by itself: the object's kind is watched (no polling for it)
    watching = s.controller.wait_for_log(r"watching routing objects.*")  # type: ignore[attr-defined]
    assert WATCHED_ROUTERS[case_id] in watching.group(0), watching.group(0)
    s.given(case.objects(names))
    s.then_phase(names.rollout, "Healthy")


def test_removing_traffic_routing_from_the_spec_puts_the_routing_objects_back(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    # Given an nginx-routed Rollout at 10% (Ramp's canary Ingress exists)
    case = _case("nginx")
    s, names = _given_routed(cluster, namespace, start_controller, case)
    s.then_phase(names.rollout, "Healthy")
    RampGates(cluster, namespace).set_image(names.rollout, "app", V2)
    _then_canary_share(cluster, case, names, 10)
    user_ingress = s.get("ingress", "app-ingress")["spec"]
    # When trafficRouting is removed from the spec (with the scale-down delays only routing allows, as upstream)
    s.when_json_patched(
        "rollout",
        names.rollout,
        [
            {"op": "remove", "path": f"/spec/strategy/canary/{field}"}
            for field in ("trafficRouting", "scaleDownDelaySeconds", "abortScaleDownDelaySeconds")
        ],
    )
    # Then the canary Ingress Ramp made is gone, the user's Ingress is as it was, and the rollout goes on by pods
    wait_until(
        lambda: not [i for i in s.cluster.list("ingresses", namespace) if i["metadata"]["name"] != "app-ingress"],
        WAIT,
        "the canary Ingress to be deleted",
    )
    assert s.get("ingress", "app-ingress")["spec"] == user_ingress
    wait_until(
        lambda: (
            "rollouts.ramp.dev/traffic-routing"
            not in (s.get("rollout", names.rollout)["metadata"].get("annotations") or {})
        ),
        WAIT,
        "the record of the routing to be dropped",
    )
    s.then_phase(names.rollout, "Paused")


def test_set_canary_scale_and_dynamic_stable_scale_size_the_replica_sets_apart_from_the_weight(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    # Given an SMI-routed Rollout of 4 pods: setCanaryScale 3 pods at 10%, then 50% with dynamicStableScale
    case = _case("smi")
    install_crds(cluster, case)
    names = Names(namespace)
    s = Scenario(cluster, namespace)
    s.given(_services(names))
    start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false").wait_for_log("workers started")
    canary = _canary(case, names)
    canary["dynamicStableScale"] = True
    del canary["scaleDownDelaySeconds"]  # dynamicStableScale cannot be used with scaleDownDelaySeconds
    canary["steps"] = [
        {"setCanaryScale": {"replicas": 3}},
        {"setWeight": 10},
        {"pause": {}},
        {"setCanaryScale": {"matchTrafficWeight": True}},
        {"setWeight": 50},
        {"pause": {}},
    ]
    s.given_rollout(names.rollout, image=V1, replicas=4, canary=canary)
    s.then_phase(names.rollout, "Healthy")
    # When v2 is rolled out: 3 canary pods carry 10% of the traffic; the stable keeps the pods for its 90%
    RampGates(cluster, namespace).set_image(names.rollout, "app", V2)
    _then_canary_share(cluster, case, names, 10)
    wait_until(
        lambda: s.replica_set_for_image("app", V2)["status"].get("availableReplicas") == 3, WAIT, "3 canary pods"
    )
    assert s.replica_set_for_image("app", V1)["spec"]["replicas"] == 4
    # When promoted to 50%: the canary matches the weight (2 pods) and the stable shrinks to its share (2 pods)
    s.then_phase(names.rollout, "Paused")
    RampGates(cluster, namespace).promote(names.rollout)
    _then_canary_share(cluster, case, names, 50)
    wait_until(lambda: s.replica_set_for_image("app", V1)["spec"]["replicas"] == 2, WAIT, "stable scaled to its share")
    assert s.replica_set_for_image("app", V2)["spec"]["replicas"] == 2
    # When aborted: traffic back to stable, and the stable grows back before the canary goes
    RampGates(cluster, namespace).abort(names.rollout)
    _then_canary_share(cluster, case, names, 0)
    wait_until(lambda: s.replica_set_for_image("app", V1)["spec"]["replicas"] == 4, WAIT, "stable back to 4")
