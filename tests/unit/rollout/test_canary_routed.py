"""The canary decision with a traffic router: pod counts from the weight, stable at full size, scale-down delays,
an aborted canary kept for its delay, and the weights the router is given."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ramp.api import format_timestamp
from ramp.core.hashing import compute_steps_hash
from ramp.rollout.canary import plan_canary
from ramp.rollout.replicasets import SCALE_DOWN_DEADLINE_ANNOTATION, ReplicaSetView
from tests.unit.rollout.test_canary_plan import NOW, replica_set, rollout, snapshot

STEPS: list[dict[str, Any]] = [{"setWeight": 10}, {"pause": {}}, {"setWeight": 33}, {"pause": {}}]
ROUTING = {"smi": {}}


def routed(status: dict[str, Any], steps: list[dict[str, Any]] = STEPS, **canary: Any) -> dict[str, Any]:
    raw = rollout(status, steps)
    raw["spec"]["strategy"]["canary"].update(
        {"stableService": "web-stable", "canaryService": "web-canary", "trafficRouting": ROUTING, **canary}
    )
    return raw


def mid(index: int, steps: list[dict[str, Any]] = STEPS, **status: Any) -> dict[str, Any]:
    return {
        "stableRS": "old",
        "currentPodHash": "new",
        "currentStepHash": compute_steps_hash(steps),
        "currentStepIndex": index,
        **status,
    }


def with_deadline(rs: ReplicaSetView, deadline: str) -> ReplicaSetView:
    raw = dict(rs.raw)
    meta = dict(raw["metadata"])
    meta["annotations"] = {**meta["annotations"], SCALE_DOWN_DEADLINE_ANNOTATION: deadline}
    raw["metadata"] = meta
    return ReplicaSetView.of(raw)


def test_the_canary_gets_the_pods_for_its_weight_and_the_stable_stays_full() -> None:
    old, new = replica_set("old", 1, 4), replica_set("new", 2, 0)
    plan = plan_canary(snapshot(routed(mid(0)), [old, new], new))
    assert plan.scales == {"web-new": 1}  # ceil(4 * 10%) = 1; the stable keeps 4
    assert plan.traffic is not None
    assert plan.traffic.weights.canary.weight == 0  # no canary pod available yet: no traffic
    assert plan.traffic.service_hashes == {"web-stable": "old"}


def test_a_set_weight_step_completes_once_its_pods_are_available_and_the_weight_follows() -> None:
    old, new = replica_set("old", 1, 4), replica_set("new", 2, 1)
    plan = plan_canary(snapshot(routed(mid(0)), [old, new], new))
    assert plan.status["currentStepIndex"] == 1
    assert plan.traffic is not None
    assert plan.traffic.weights.canary.weight == 10
    assert plan.traffic.weights.stable.weight == 90
    assert plan.traffic.service_hashes == {"web-stable": "old", "web-canary": "new"}
    assert plan.status["canary"]["weights"]["canary"] == {
        "podTemplateHash": "new",
        "serviceName": "web-canary",
        "weight": 10,
    }


def test_the_next_weight_waits_for_its_pods() -> None:
    old, new = replica_set("old", 1, 4), replica_set("new", 2, 1)
    plan = plan_canary(snapshot(routed(mid(2)), [old, new], new))
    assert plan.scales == {"web-new": 2}
    assert plan.traffic is not None and plan.traffic.weights.canary.weight == 10


def test_max_traffic_weight_scales_the_pods_by_the_share_of_the_total() -> None:
    steps = [{"setWeight": 100}, {"pause": {}}]
    old, new = replica_set("old", 1, 4), replica_set("new", 2, 0)
    raw = routed(mid(0, steps), steps, trafficRouting={"smi": {}, "maxTrafficWeight": 1000})
    plan = plan_canary(snapshot(raw, [old, new], new))
    assert plan.scales == {"web-new": 1}  # 100 of 1000 is 10%


def test_set_canary_scale_overrides_the_weight() -> None:
    steps = [{"setCanaryScale": {"replicas": 3}}, {"setWeight": 10}, {"pause": {}}]
    old, new = replica_set("old", 1, 4), replica_set("new", 2, 0)
    plan = plan_canary(snapshot(routed(mid(1, steps), steps), [old, new], new))
    assert plan.scales == {"web-new": 3}


def test_dynamic_stable_scale_shrinks_the_stable_as_its_traffic_leaves() -> None:
    steps = [{"setWeight": 50}, {"pause": {}}]
    old, new = replica_set("old", 1, 4), replica_set("new", 2, 2)
    weights = {"canary": {"weight": 50}, "stable": {"weight": 50}}
    raw = routed(mid(1, steps, canary={"weights": weights}), steps, dynamicStableScale=True)
    plan = plan_canary(snapshot(raw, [old, new], new))
    assert plan.scales == {"web-old": 2}


def test_the_old_stable_waits_for_its_scale_down_delay_after_promotion() -> None:
    old, new = replica_set("old", 1, 4), replica_set("new", 2, 4)
    plan = plan_canary(snapshot(routed(mid(4)), [old, new], new))
    assert plan.status["stableRS"] == "new"
    after = plan_canary(snapshot(routed(mid(4, stableRS="new")), [old, new], new))
    assert "web-old" not in after.scales
    assert after.deadlines == {"web-old": format_timestamp(NOW + timedelta(seconds=30))}
    assert after.requeue_after == 30
    assert plan.traffic is not None
    assert plan.traffic.weights.canary.weight == 0
    assert plan.traffic.service_hashes == {"web-stable": "new", "web-canary": "new"}


def test_the_old_stable_goes_once_its_deadline_passed() -> None:
    old = with_deadline(replica_set("old", 1, 4), format_timestamp(NOW - timedelta(seconds=1)))
    new = replica_set("new", 2, 4)
    status = mid(4, stableRS="new")
    plan = plan_canary(snapshot(routed(status), [old, new], new))
    assert plan.scales == {"web-old": 0}
    assert plan.deadlines == {"web-old": None}


def test_an_aborted_canary_loses_its_traffic_at_once_and_its_pods_after_the_delay() -> None:
    old, new = replica_set("old", 1, 4), replica_set("new", 2, 2)
    status = mid(1, abort=True, abortedAt=format_timestamp(NOW - timedelta(seconds=10)))
    plan = plan_canary(snapshot(routed(status), [old, new], new))
    assert plan.traffic is not None and plan.traffic.weights.canary.weight == 0
    assert plan.traffic.remove_routes
    assert "web-new" not in plan.scales
    assert plan.requeue_after == 20
    later = plan_canary(snapshot(routed(status), [old, new], new, NOW + timedelta(seconds=21)))
    assert later.scales == {"web-new": 0}


def test_abort_scale_down_delay_zero_keeps_the_canary() -> None:
    old, new = replica_set("old", 1, 4), replica_set("new", 2, 2)
    status = mid(1, abort=True, abortedAt=format_timestamp(NOW - timedelta(hours=1)))
    plan = plan_canary(snapshot(routed(status, abortScaleDownDelaySeconds=0), [old, new], new))
    assert "web-new" not in plan.scales


def test_header_routes_of_the_steps_reached_are_asked_for() -> None:
    route = {"name": "h", "match": [{"headerName": "x-canary", "headerValue": {"exact": "yes"}}]}
    steps = [{"setWeight": 10}, {"setHeaderRoute": route}, {"pause": {}}]
    old, new = replica_set("old", 1, 4), replica_set("new", 2, 1)
    raw = routed(mid(2, steps), steps, trafficRouting={"smi": {}, "managedRoutes": [{"name": "h"}]})
    plan = plan_canary(snapshot(raw, [old, new], new))
    assert plan.traffic is not None
    assert [r.name for r in plan.traffic.header_routes] == ["h"]
    assert not plan.traffic.remove_routes


def test_ping_pong_swaps_the_stable_service_at_promotion() -> None:
    old, new = replica_set("old", 1, 4), replica_set("new", 2, 4)
    raw = routed(mid(4, canary={"stablePingPong": "ping"}), pingPong={"pingService": "ping", "pongService": "pong"})
    del raw["spec"]["strategy"]["canary"]["stableService"], raw["spec"]["strategy"]["canary"]["canaryService"]
    plan = plan_canary(snapshot(raw, [old, new], new))
    assert plan.status["canary"]["stablePingPong"] == "pong"
    assert plan.traffic is not None
    assert plan.traffic.weights.stable.service == "pong"
    assert plan.traffic.weights.canary.weight == 0


def test_without_a_router_services_still_follow_their_pods() -> None:
    old, new = replica_set("old", 1, 3), replica_set("new", 2, 1)
    raw = rollout(mid(1, steps=None))
    raw["spec"]["strategy"]["canary"].update({"stableService": "s", "canaryService": "c"})
    raw["status"]["currentStepHash"] = compute_steps_hash(raw["spec"]["strategy"]["canary"]["steps"])
    plan = plan_canary(snapshot(raw, [old, new], new))
    assert plan.traffic is not None
    assert plan.traffic.service_hashes == {"s": "old", "c": "new"}
    assert "weights" not in plan.status["canary"]


def test_a_set_weight_step_of_max_traffic_weight_completes_at_its_share_of_pods() -> None:
    steps = [{"setWeight": 100}, {"pause": {}}]
    raw = routed(mid(0, steps), steps, trafficRouting={"smi": {}, "maxTrafficWeight": 1000})
    old, new = replica_set("old", 1, 4), replica_set("new", 2, 1)
    plan = plan_canary(snapshot(raw, [old, new], new))
    assert plan.status["currentStepIndex"] == 1  # 100 of 1000 needs 1 of 4 pods
    assert plan.traffic is not None and plan.traffic.weights.canary.weight == 100
