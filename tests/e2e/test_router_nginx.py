"""The nginx router against the local cluster's API server, called directly (no Ramp controller).

Given the user's Ingress `app-ingress` (tests/e2e/routers/nginx.py) and a Rollout that only owns the canary
Ingress (it carries a controller instance id no controller runs with, so nothing reconciles it),
When the router is asked for 10 → 33 → 100 → 0 percent, a header route, a mirror route, the removal of the
managed routes and its own removal,
Then the Ingresses read back the way ingress-nginx reads them say so: a canary Ingress owned by the Rollout
takes the weight, a request with `x-canary: yes` goes to the canary while the route is set, mirroring is
refused, and in the end the canary Ingress is gone while the user's Ingress is as it was. A call that changes
nothing writes nothing; bad input is a RouterError naming the field and changes nothing.
Behaviour matched: upstream's rollout/trafficrouting/nginx (canary Ingress, annotations, owner).
"""

from __future__ import annotations

from typing import Any

import pytest

from ramp.kube.client import KubeClient
from ramp.traffic.base import Destination, MirrorRoute, RouterError, UnsupportedFeature, Weights
from ramp.traffic.nginx import NginxRouter
from tests.e2e.harness import Cluster
from tests.e2e.router_setup import (
    MIRROR_GETS,
    TO_CANARY,
    Reconciles,
    client_fixture,  # noqa: F401 - provides the `client` fixture
    given_rollout,
    router_context,
    set_weight,
)
from tests.e2e.routers import nginx as case
from tests.e2e.traffic_cases import MIRROR_ROUTE, Names

pytestmark = pytest.mark.cluster

INGRESSES = "ingresses.networking.k8s.io"
CANARY_INGRESS = "app-app-ingress-canary"


def weights(canary: int, total: int = 100) -> Weights:
    return Weights(Destination("app-canary", canary), Destination("app-stable", total - canary), total=total)


def reconciles(client: KubeClient, names: Names, uid: str, routing: dict[str, Any]) -> Reconciles[NginxRouter]:
    """Runs one router call per reconcile (a fresh RouterIO each time) and counts the writes."""
    return Reconciles(NginxRouter, client, router_context(names, routing, uid))


def user_part(ingress: dict[str, Any]) -> tuple[Any, Any]:
    return ingress["spec"], ingress["metadata"].get("annotations")


def exists(cluster: Cluster, namespace: str, name: str) -> bool:
    return bool(cluster.kubectl("get", INGRESSES, name, "-n", namespace, "--ignore-not-found", "-o", "name").strip())


async def test_nginx_router_walks_the_weights_routes_a_header_and_removes_its_ingress(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    # Given the user's Ingress and the owning Rollout
    names = Names(namespace)
    cluster.apply(case.objects(names))
    stable_before = user_part(cluster.get(INGRESSES, case.INGRESS, namespace))
    uid = given_rollout(cluster, names)
    reconcile = reconciles(client, names, uid, case.traffic_routing(names))
    assert case.read_weights(cluster, names) == {"app-canary": 0, "app-stable": 100}

    # When the weights walk 10 → 33 → 100 → 0, Then ingress-nginx reads each, from a canary Ingress Ramp owns
    for share in (10, 33, 100, 0):
        assert await reconcile(set_weight(weights(share))) == 1
        assert case.read_weights(cluster, names) == {"app-canary": share, "app-stable": 100 - share}
        assert await reconcile(set_weight(weights(share))) == 0, "an unchanged weight is written"
    canary = cluster.get(INGRESSES, CANARY_INGRESS, namespace)
    assert [(o["kind"], o["uid"], o.get("controller")) for o in canary["metadata"]["ownerReferences"]] == [
        ("Rollout", uid, True)
    ]
    assert canary["spec"]["ingressClassName"] == "nginx"
    assert user_part(cluster.get(INGRESSES, case.INGRESS, namespace)) == stable_before

    # When a header route is set at 33%, Then x-canary: yes goes to the canary and the weight still holds
    await reconcile(lambda r: r.set_weight(weights(33)))
    assert case.read_header_route(cluster, names) is None
    await reconcile(lambda r: r.set_header_route(TO_CANARY))
    assert case.read_header_route(cluster, names) == "app-canary"
    assert await reconcile(lambda r: r.set_header_route(TO_CANARY)) == 0
    await reconcile(lambda r: r.set_weight(weights(100)))
    assert case.read_header_route(cluster, names) == "app-canary"
    assert case.read_weights(cluster, names) == {"app-canary": 100, "app-stable": 0}

    # When a mirror route is asked for, Then it is refused (and removing one is nothing to do)
    with pytest.raises(UnsupportedFeature, match="setMirrorRoute"):
        await reconcile(lambda r: r.set_mirror_route(MIRROR_GETS))
    assert await reconcile(lambda r: r.set_mirror_route(MirrorRoute(MIRROR_ROUTE, ()))) == 0

    # When the managed routes are removed, Then the header no longer picks the canary
    await reconcile(lambda r: r.remove_managed_routes())
    assert case.read_header_route(cluster, names) is None
    assert case.read_weights(cluster, names) == {"app-canary": 100, "app-stable": 0}

    # When the router is removed, Then the canary Ingress is gone and the user's Ingress is as it was
    await reconcile(lambda r: r.remove())
    assert not exists(cluster, namespace, CANARY_INGRESS)
    assert case.read_weights(cluster, names) == {"app-canary": 0, "app-stable": 100}
    assert user_part(cluster.get(INGRESSES, case.INGRESS, namespace)) == stable_before


async def test_nginx_router_keeps_one_canary_ingress_per_stable_ingress(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    # Given two stable Ingresses and maxTrafficWeight 1000
    names = Names(namespace)
    cluster.apply(case.objects(names))
    cluster.apply(
        case.objects(names).replace(case.INGRESS, "api-ingress").replace("app.example.com", "api.example.com")
    )
    uid = given_rollout(cluster, names)
    routing = {"nginx": {"stableIngresses": [case.INGRESS, "api-ingress"]}, "maxTrafficWeight": 1000}
    reconcile = reconciles(client, names, uid, routing)

    # When 250 of 1000 go to the canary, Then both canary Ingresses say so
    assert await reconcile(lambda r: r.set_weight(weights(250, 1000))) == 2
    assert case.read_weights(cluster, names) == {"app-canary": 250, "app-stable": 750}
    api = cluster.get(INGRESSES, "app-api-ingress-canary", namespace)
    assert api["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"] == "250"
    assert api["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight-total"] == "1000"
    assert api["spec"]["rules"][0]["host"] == "api.example.com"

    # When removed, Then both are gone
    await reconcile(lambda r: r.remove())
    assert not exists(cluster, namespace, CANARY_INGRESS)
    assert not exists(cluster, namespace, "app-api-ingress-canary")


async def test_nginx_router_bad_input_names_the_field_and_changes_nothing(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    names = Names(namespace)
    uid = given_rollout(cluster, names)
    reconcile = reconciles(client, names, uid, case.traffic_routing(names))

    # Given no stable Ingress: the error names stableIngress and nothing is created
    with pytest.raises(RouterError, match=r"trafficRouting\.nginx\.stableIngress: Ingress \"app-ingress\" not found"):
        await reconcile(lambda r: r.set_weight(weights(10)))
    assert not exists(cluster, namespace, CANARY_INGRESS)

    # Given an Ingress of the canary's name that the user made: it is neither taken over nor deleted
    cluster.apply(case.objects(names))
    user_made = case.objects(names).replace(f"name: {case.INGRESS}", f"name: {CANARY_INGRESS}")
    cluster.apply(user_made.replace("app.example.com", "other.example.com"))
    before = cluster.get(INGRESSES, CANARY_INGRESS, namespace)
    with pytest.raises(RouterError, match="not controlled by Rollout"):
        await reconcile(lambda r: r.set_weight(weights(10)))
    await reconcile(lambda r: r.remove())
    after = cluster.get(INGRESSES, CANARY_INGRESS, namespace)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
