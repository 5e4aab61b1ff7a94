"""The ALB router against the local cluster's API server, called directly (no Ramp controller, no AWS).

Given the user's Ingress `app-ingress` whose rule sends app.example.com/ to the action `app-root`
(tests/e2e/routers/alb.py),
When the router is asked for 10 → 33 → 100 → 0 percent, a share for an experiment Service, a header route, a
mirror route, the removal of the managed routes and its own removal,
Then the Ingress read back the way the AWS Load Balancer Controller reads it says so: the action's target
groups carry the weights, a request with `x-canary: yes` goes to the canary while the route is set (a `/*` path
ahead of the weighted one), mirroring is refused, and in the end everything goes to stable, the header route's
path and annotations are gone and the Ingress itself stays. A call that changes nothing writes nothing; bad
input is a RouterError naming the field and changes nothing.
Behaviour matched: upstream's rollout/trafficrouting/alb (actions, conditions, managed-alb-annotations).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ramp.kube.client import KubeClient
from ramp.traffic.alb import MANAGED_ANNOTATIONS, ALBRouter
from ramp.traffic.base import Destination, MirrorRoute, RouterError, UnsupportedFeature, Weights
from tests.e2e.harness import Cluster
from tests.e2e.router_setup import (
    MIRROR_GETS,
    TO_CANARY,
    Reconciles,
    client_fixture,  # noqa: F401 - provides the `client` fixture
    router_context,
    set_weight,
)
from tests.e2e.routers import alb as case
from tests.e2e.traffic_cases import HEADER_ROUTE, MIRROR_ROUTE, Names

pytestmark = pytest.mark.cluster

INGRESSES = "ingresses.networking.k8s.io"


def weights(canary: int, *additional: tuple[str, int]) -> Weights:
    extra = tuple(Destination(service, weight) for service, weight in additional)
    stable = 100 - canary - sum(d.weight for d in extra)
    return Weights(Destination("app-canary", canary), Destination("app-stable", stable), extra)


def reconciles(client: KubeClient, names: Names, routing: dict[str, Any]) -> Reconciles[ALBRouter]:
    """Runs one router call per reconcile (a fresh RouterIO each time) and counts the writes."""
    return Reconciles(ALBRouter, client, router_context(names, routing, "not-used"))


def paths(ingress: dict[str, Any]) -> list[str]:
    return [p["backend"]["service"]["name"] for p in ingress["spec"]["rules"][0]["http"]["paths"]]


async def test_alb_router_walks_the_weights_routes_a_header_and_restores_stable(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    # Given the user's Ingress with the action backend
    names = Names(namespace)
    cluster.apply(case.objects(names))
    given = cluster.get(INGRESSES, case.INGRESS, namespace)
    reconcile = reconciles(client, names, case.traffic_routing(names))
    assert case.read_weights(cluster, names) == {}

    # When the weights walk 10 → 33 → 100 → 0, Then the action's target groups carry each
    for share in (10, 33, 100, 0):
        assert await reconcile(set_weight(weights(share))) == 1
        assert case.read_weights(cluster, names) == {"app-canary": share, "app-stable": 100 - share}
        assert await reconcile(set_weight(weights(share))) == 0, "an unchanged weight is written"
    found = cluster.get(INGRESSES, case.INGRESS, namespace)
    managed = json.loads(found["metadata"]["annotations"][MANAGED_ANNOTATIONS])
    assert managed == {"app": ["alb.ingress.kubernetes.io/actions.app-root"]}
    assert found["metadata"]["annotations"]["alb.ingress.kubernetes.io/scheme"] == "internet-facing"

    # When an experiment Service takes 20, Then it is a target group of its own
    await reconcile(lambda r: r.set_weight(weights(10, ("app-exp", 20))))
    assert case.read_weights(cluster, names) == {"app-canary": 10, "app-exp": 20, "app-stable": 70}

    # When a header route is set at 33%, Then x-canary: yes goes to the canary ahead of the weighted rule
    await reconcile(lambda r: r.set_weight(weights(33)))
    assert case.read_header_route(cluster, names) is None
    await reconcile(lambda r: r.set_header_route(TO_CANARY))
    assert case.read_header_route(cluster, names) == "app-canary"
    assert paths(cluster.get(INGRESSES, case.INGRESS, namespace)) == [HEADER_ROUTE, names.root_service]
    assert await reconcile(lambda r: r.set_header_route(TO_CANARY)) == 0
    await reconcile(lambda r: r.set_weight(weights(100)))
    assert case.read_header_route(cluster, names) == "app-canary"
    assert case.read_weights(cluster, names) == {"app-canary": 100, "app-stable": 0}

    # When a mirror route is asked for, Then it is refused (and removing one is nothing to do)
    with pytest.raises(UnsupportedFeature, match="setMirrorRoute"):
        await reconcile(lambda r: r.set_mirror_route(MIRROR_GETS))
    assert await reconcile(lambda r: r.set_mirror_route(MirrorRoute(MIRROR_ROUTE, ()))) == 0

    # When the managed routes are removed, Then the header route's path and annotations are gone
    await reconcile(lambda r: r.remove_managed_routes())
    found = cluster.get(INGRESSES, case.INGRESS, namespace)
    assert case.read_header_route(cluster, names) is None
    assert found["spec"] == given["spec"]
    assert not any(HEADER_ROUTE in key for key in found["metadata"]["annotations"])
    assert case.read_weights(cluster, names) == {"app-canary": 100, "app-stable": 0}

    # When the router is removed, Then everything goes to stable and the Ingress stays
    await reconcile(lambda r: r.set_header_route(TO_CANARY))
    await reconcile(lambda r: r.remove())
    found = cluster.get(INGRESSES, case.INGRESS, namespace)
    assert case.read_weights(cluster, names) == {"app-canary": 0, "app-stable": 100}
    assert case.read_header_route(cluster, names) is None
    assert found["spec"] == given["spec"]
    assert await reconcile(lambda r: r.remove()) == 0


async def test_alb_router_bad_input_names_the_field_and_changes_nothing(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    names = Names(namespace)
    reconcile = reconciles(client, names, case.traffic_routing(names))

    # Given no Ingress: the error names the ingress field
    with pytest.raises(RouterError, match=r"trafficRouting\.alb\.ingress: Ingress \"app-ingress\" not found"):
        await reconcile(lambda r: r.set_weight(weights(10)))

    # Given an Ingress whose rules do not use the root Service: the error says which backend to add
    cluster.apply(case.objects(names).replace(f"name: {names.root_service}", f"name: {names.stable_service}"))
    before = cluster.get(INGRESSES, case.INGRESS, namespace)
    with pytest.raises(RouterError, match=r'no rule backend for Service "app-root"; add a path'):
        await reconcile(lambda r: r.set_weight(weights(10)))
    after = cluster.get(INGRESSES, case.INGRESS, namespace)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]

    # Given a stickiness duration AWS refuses: the error names it
    routing = case.traffic_routing(names)
    routing["alb"]["stickinessConfig"] = {"enabled": True, "durationSeconds": 700000}
    with pytest.raises(RouterError, match=r"stickinessConfig\.durationSeconds"):
        await reconciles(client, names, routing)(lambda r: r.set_weight(weights(10)))
