"""The Istio router against the local cluster's API server, called directly (no Ramp controller).

Given the Istio CRDs and a case's VirtualService (and DestinationRule), When the router sets weights 10 → 33 →
100 → 0, header and mirror routes, removes the managed routes and finally is removed, Then the objects read back
with kubectl say so, as the case's readers (the data plane's view) interpret them; each step is a fresh
reconcile (a new RouterIO), and repeating a step writes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from ramp.kube.client import KubeClient
from ramp.traffic.base import HeaderRoute, RouterError, RouterIO, Weights
from ramp.traffic.istio import MANAGED_BY_ANNOTATION, IstioRouter
from tests.e2e import router_setup
from tests.e2e.harness import Cluster
from tests.e2e.router_setup import (
    MIRROR_GETS,
    TO_CANARY,
    client_fixture,  # noqa: F401 - provides the `client` fixture
    router_context,
    split,
    weigh,
)
from tests.e2e.routers import istio_host, istio_subset
from tests.e2e.routers.istio_subset import read_subset_hashes
from tests.e2e.traffic_cases import HEADER_ROUTE, MIRROR_PERCENTAGE, MIRROR_ROUTE, Names, RouterCase, install_crds

pytestmark = pytest.mark.cluster

CANARY_HASH, STABLE_HASH = "c0ffee01", "5ab1e001"


def reconcile(client: KubeClient, case: RouterCase, names: Names, routing: dict[str, Any] | None = None) -> IstioRouter:
    """A router as one reconcile builds it (its own RouterIO, so nothing read earlier is remembered)."""
    context = router_context(names, routing or case.traffic_routing(names), "0000-istio-e2e")
    return IstioRouter(context, RouterIO(client, names.namespace))


def weights(names: Names, canary: int, canary_hash: str = CANARY_HASH) -> Weights:
    return router_setup.weights(names, canary, canary_hash, STABLE_HASH)


async def step(client: KubeClient, case: RouterCase, names: Names, canary: int, canary_hash: str = CANARY_HASH) -> int:
    """One reconcile at this weight, as `ramp.rollout.routing` runs it; returns the writes it made."""
    router = reconcile(client, case, names)
    await router.update_hash(canary_hash, STABLE_HASH, ())
    return await weigh(router, weights(names, canary, canary_hash))


def http_route_names(cluster: Cluster, names: Names) -> list[str | None]:
    return [route.get("name") for route in istio_host.http_routes(cluster, names)]


def given_objects(cluster: Cluster, case: RouterCase, names: Names) -> None:
    install_crds(cluster, case)
    cluster.apply(case.objects(names), names.namespace)


async def test_host_level_weights_managed_routes_and_removal(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    await walk(cluster, client, istio_host.CASE, Names(namespace))


async def test_subset_level_weights_managed_routes_and_removal(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    await walk(cluster, client, istio_subset.CASE, Names(namespace))


async def walk(cluster: Cluster, client: KubeClient, case: RouterCase, names: Names) -> None:
    """10 → 33 → header and mirror routes → 100 → routes removed → 0 → removal (the namespace's fixture names
    tests after their function, so each case has a function of its own)."""
    namespace = names.namespace
    assert case.read_header_route is not None and case.read_mirror_route is not None
    given_objects(cluster, case, names)

    # When the canary gets 10, Then the route says 10/90 (and, by subset, the subsets select the pod hashes).
    assert await step(client, case, names, 10) >= 1
    assert case.read_weights(cluster, names) == split(names, 10)
    if case is istio_subset.CASE:
        assert read_subset_hashes(cluster, names) == {"canary": CANARY_HASH, "stable": STABLE_HASH}
        rule = cluster.get("destinationrules.networking.istio.io", "app-rule", namespace)
        assert rule["metadata"]["annotations"][MANAGED_BY_ANNOTATION] == names.rollout
        assert rule["spec"]["trafficPolicy"] == {"loadBalancer": {"simple": "ROUND_ROBIN"}}

    # Repeating the reconcile writes nothing.
    assert await step(client, case, names, 10) == 0

    await step(client, case, names, 33)
    assert case.read_weights(cluster, names) == split(names, 33)

    # Header and mirror routes come before the weighted route, in managedRoutes order.
    router = reconcile(client, case, names)
    await router.set_mirror_route(MIRROR_GETS)
    await router.set_header_route(TO_CANARY)
    assert case.read_header_route(cluster, names) == names.canary_service
    assert case.read_mirror_route(cluster, names) == (names.canary_service, MIRROR_PERCENTAGE)
    assert http_route_names(cluster, names) == [HEADER_ROUTE, MIRROR_ROUTE, "primary"]
    again = reconcile(client, case, names)
    await again.set_header_route(TO_CANARY)
    await again.set_mirror_route(MIRROR_GETS)
    assert again.io.writes == 0

    await step(client, case, names, 100)
    assert case.read_weights(cluster, names) == split(names, 100)
    assert case.read_header_route(cluster, names) == names.canary_service

    # One managed route goes when set with no matches; then all managed routes go.
    router = reconcile(client, case, names)
    await router.set_header_route(HeaderRoute(HEADER_ROUTE, ()))
    assert case.read_header_route(cluster, names) is None
    assert case.read_mirror_route(cluster, names) == (names.canary_service, MIRROR_PERCENTAGE)
    await reconcile(client, case, names).remove_managed_routes()
    assert case.read_mirror_route(cluster, names) is None
    assert http_route_names(cluster, names) == ["primary"]

    await step(client, case, names, 0)
    assert case.read_weights(cluster, names) == split(names, 0)

    # trafficRouting leaves the spec: all to stable, managed routes gone, the user's objects kept.
    await step(client, case, names, 20)
    await reconcile(client, case, names).set_header_route(TO_CANARY)
    await reconcile(client, case, names).remove()
    assert case.read_weights(cluster, names) == split(names, 0)
    assert http_route_names(cluster, names) == ["primary"]
    if case is istio_host.CASE:
        assert istio_host.http_routes(cluster, names)[0]["retries"] == {"attempts": 3}
    else:
        assert read_subset_hashes(cluster, names) == {"canary": None, "stable": None}
        rule = cluster.get("destinationrules.networking.istio.io", "app-rule", namespace)
        assert MANAGED_BY_ANNOTATION not in (rule["metadata"].get("annotations") or {})


async def test_a_new_canary_hash_moves_the_subset_only_once_the_canary_gets_nothing(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    case, names = istio_subset.CASE, Names(namespace)
    given_objects(cluster, case, names)
    await step(client, case, names, 30)
    assert case.read_weights(cluster, names) == split(names, 30)

    # When a new canary ReplicaSet replaces the one at 30%, the canary's share goes to stable before the
    # canary subset selects the new pods.
    router = reconcile(client, case, names)
    await router.update_hash("newcanary", STABLE_HASH, ())
    assert case.read_weights(cluster, names) == split(names, 0)
    assert read_subset_hashes(cluster, names) == {"canary": "newcanary", "stable": STABLE_HASH}

    await router.set_weight(weights(names, 10, "newcanary"))
    assert case.read_weights(cluster, names) == split(names, 10)


async def test_a_virtual_service_in_another_namespace_is_named_name_dot_namespace(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    case, names = istio_host.CASE, Names(namespace)
    install_crds(cluster, case)
    mesh = cluster.create_namespace("test-istio-mesh")
    try:
        cluster.apply(case.objects(Names(mesh)), mesh)
        routing = {"istio": {"virtualService": {"name": f"app-vsvc.{mesh}", "routes": ["primary"]}}}
        router = reconcile(client, case, names, routing)
        await router.set_weight(weights(names, 25))
        assert router.io.writes == 1
        assert case.read_weights(cluster, Names(mesh)) == split(names, 25)
    finally:
        cluster.kubectl("delete", "namespace", mesh, "--wait=false", check=False)


async def test_a_missing_virtual_service_is_an_error_naming_the_field(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    install_crds(cluster, istio_host.CASE)
    router = reconcile(client, istio_host.CASE, Names(namespace))
    with pytest.raises(RouterError, match=r'istio\.virtualService\.name: VirtualService "app-vsvc" not found'):
        await router.set_weight(weights(Names(namespace), 10))
