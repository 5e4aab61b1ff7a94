"""The APISIX router against the local cluster's API server, called directly (no Ramp controller).

Given the ApisixRoute CRD, the case's ApisixRoute and a Rollout (owner of the header routes), When the router sets
weights 10 → 33 → 100 → 0, a header route, removes the managed routes and finally is removed, Then the
ApisixRoutes read back with kubectl say so, as the case's readers (APISIX's choice among matching rules)
interpret them; each step is a fresh reconcile (a new RouterIO), and repeating one writes nothing. Mirror routes
are refused; ApisixRoutes Ramp did not create are never written or deleted.
"""

from __future__ import annotations

import pytest

from ramp.kube.client import KubeClient
from ramp.traffic.apisix import ApisixRouter
from ramp.traffic.base import HeaderRoute, RouterError, RouterIO, UnsupportedFeature
from tests.e2e.harness import Cluster
from tests.e2e.router_setup import (
    MIRROR_GETS,
    TO_CANARY,
    client_fixture,  # noqa: F401 - provides the `client` fixture
    given_rollout,
    router_context,
    split,
    weigh,
    weights,
)
from tests.e2e.routers.apisix import CASE, KIND, ROUTE
from tests.e2e.traffic_cases import HEADER_ROUTE, MIRROR_ROUTE, Names, install_crds

pytestmark = pytest.mark.cluster


def reconcile(client: KubeClient, names: Names, uid: str) -> ApisixRouter:
    """A router as one reconcile builds it (its own RouterIO, so nothing read earlier is remembered)."""
    return ApisixRouter(router_context(names, CASE.traffic_routing(names), uid), RouterIO(client, names.namespace))


async def step(client: KubeClient, names: Names, uid: str, canary: int) -> int:
    """One reconcile at this weight; returns the writes it made."""
    return await weigh(reconcile(client, names, uid), weights(names, canary))


def route_names(cluster: Cluster, names: Names) -> list[str]:
    return sorted(r["metadata"]["name"] for r in cluster.list(KIND, names.namespace))


async def test_weights_header_route_and_removal(cluster: Cluster, namespace: str, client: KubeClient) -> None:
    names = Names(namespace)
    assert CASE.read_header_route is not None
    install_crds(cluster, CASE)
    cluster.apply(CASE.objects(names), namespace)
    uid = given_rollout(cluster, names)

    # When the canary gets 10, Then rule1 splits 10/90; repeating the reconcile writes nothing.
    assert await step(client, names, uid, 10) == 1
    assert CASE.read_weights(cluster, names) == split(names, 10)
    assert await step(client, names, uid, 10) == 0
    assert CASE.read_header_route(cluster, names) is None

    await step(client, names, uid, 33)
    assert CASE.read_weights(cluster, names) == split(names, 33)

    # A header route is an ApisixRoute of the Rollout's whose rule outranks rule1 for x-canary: yes.
    router = reconcile(client, names, uid)
    await router.set_header_route(TO_CANARY)
    assert CASE.read_header_route(cluster, names) == names.canary_service
    header = cluster.get(KIND, HEADER_ROUTE, namespace)
    assert [(o["kind"], o["uid"]) for o in header["metadata"]["ownerReferences"]] == [("Rollout", uid)]
    assert header["spec"]["http"][0]["match"]["hosts"] == ["app.example.com"]
    with pytest.raises(UnsupportedFeature, match=f'setMirrorRoute "{MIRROR_ROUTE}": apisix does not support'):
        await router.set_mirror_route(MIRROR_GETS)
    again = reconcile(client, names, uid)
    await again.set_header_route(TO_CANARY)
    assert again.io.writes == 0

    await step(client, names, uid, 100)
    assert CASE.read_weights(cluster, names) == split(names, 100)
    assert CASE.read_header_route(cluster, names) == names.canary_service

    # The header route goes when set with no matches; set again, it goes with all managed routes.
    await reconcile(client, names, uid).set_header_route(HeaderRoute(HEADER_ROUTE, ()))
    assert CASE.read_header_route(cluster, names) is None
    assert route_names(cluster, names) == [ROUTE]
    await reconcile(client, names, uid).set_header_route(TO_CANARY)
    assert route_names(cluster, names) == sorted([ROUTE, HEADER_ROUTE])
    await reconcile(client, names, uid).remove_managed_routes()
    assert CASE.read_header_route(cluster, names) is None
    assert route_names(cluster, names) == [ROUTE]

    await step(client, names, uid, 0)
    assert CASE.read_weights(cluster, names) == split(names, 0)

    # trafficRouting leaves the spec: all to stable, header routes gone, the user's ApisixRoute kept.
    await step(client, names, uid, 20)
    await reconcile(client, names, uid).set_header_route(TO_CANARY)
    await reconcile(client, names, uid).remove()
    assert CASE.read_weights(cluster, names) == split(names, 0)
    assert route_names(cluster, names) == [ROUTE]
    assert cluster.get(KIND, ROUTE, namespace)["spec"]["http"][0]["match"]["paths"] == ["/*"]


async def test_an_apisix_route_named_like_the_header_route_but_not_ours_is_never_touched(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    names = Names(namespace)
    install_crds(cluster, CASE)
    cluster.apply(CASE.objects(names), namespace)
    uid = given_rollout(cluster, names)
    cluster.apply(CASE.objects(names).replace(f"name: {ROUTE}", f"name: {HEADER_ROUTE}"), namespace)

    with pytest.raises(RouterError, match=rf'managedRoutes: ApisixRoute "{HEADER_ROUTE}" exists and is not controlled'):
        await reconcile(client, names, uid).set_header_route(TO_CANARY)
    await reconcile(client, names, uid).remove_managed_routes()
    await reconcile(client, names, uid).set_header_route(HeaderRoute(HEADER_ROUTE, ()))
    assert route_names(cluster, names) == sorted([ROUTE, HEADER_ROUTE])


async def test_a_missing_route_or_rule_is_an_error_naming_the_field(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    names = Names(namespace)
    install_crds(cluster, CASE)
    uid = given_rollout(cluster, names)
    with pytest.raises(RouterError, match=rf'apisix\.route\.name: ApisixRoute "{ROUTE}" not found in namespace'):
        await step(client, names, uid, 10)

    cluster.apply(CASE.objects(names).replace("name: rule1", "name: renamed"), namespace)
    with pytest.raises(RouterError, match=r'apisix\.route\.rules\[0\]: ApisixRoute "app-route" has no http rule'):
        await step(client, names, uid, 10)
