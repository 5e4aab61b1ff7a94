"""The Traefik router against the local cluster's API server, called directly (no Ramp controller).

Given the TraefikService CRD and the case's TraefikService, When the router sets weights 10 → 33 → 100 → 0 and
finally is removed, Then the TraefikService read back with kubectl splits requests so (as the case's reader, the
data plane's view, interprets it); each step is a fresh reconcile (a new RouterIO), and repeating one writes
nothing. Header and mirror routes are refused with a clear message and change nothing.
"""

from __future__ import annotations

import pytest

from ramp.kube.client import KubeClient
from ramp.traffic.base import RouterError, RouterIO, UnsupportedFeature
from ramp.traffic.traefik import TraefikRouter
from tests.e2e.harness import Cluster
from tests.e2e.router_setup import (
    MIRROR_GETS,
    TO_CANARY,
    client_fixture,  # noqa: F401 - provides the `client` fixture
    router_context,
    split,
    weigh,
    weights,
)
from tests.e2e.routers.traefik import CASE, TRAEFIK_SERVICE
from tests.e2e.traffic_cases import HEADER_ROUTE, MIRROR_ROUTE, Names, install_crds

pytestmark = pytest.mark.cluster

LEGACY_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: traefikservices.traefik.containo.us
spec:
  group: traefik.containo.us
  scope: Namespaced
  names: {plural: traefikservices, singular: traefikservice, kind: TraefikService, listKind: TraefikServiceList}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
"""


def reconcile(client: KubeClient, names: Names) -> TraefikRouter:
    """A router as one reconcile builds it (its own RouterIO, so nothing read earlier is remembered)."""
    context = router_context(names, CASE.traffic_routing(names), "0000-traefik-e2e")
    return TraefikRouter(context, RouterIO(client, names.namespace))


async def step(client: KubeClient, names: Names, canary: int) -> int:
    """One reconcile at this weight; returns the writes it made."""
    return await weigh(reconcile(client, names), weights(names, canary))


async def test_weights_unsupported_routes_and_removal(cluster: Cluster, namespace: str, client: KubeClient) -> None:
    names = Names(namespace)
    install_crds(cluster, CASE)
    cluster.apply(CASE.objects(names), namespace)

    # When the canary gets 10, Then Traefik splits 10/90; repeating the reconcile writes nothing.
    assert await step(client, names, 10) == 1
    assert CASE.read_weights(cluster, names) == split(names, 10)
    assert await step(client, names, 10) == 0

    await step(client, names, 33)
    assert CASE.read_weights(cluster, names) == split(names, 33)

    # Header and mirror routes are refused with a message naming the step and change nothing.
    router = reconcile(client, names)
    with pytest.raises(UnsupportedFeature, match=f'setHeaderRoute "{HEADER_ROUTE}": traefik does not support'):
        await router.set_header_route(TO_CANARY)
    with pytest.raises(UnsupportedFeature, match=f'setMirrorRoute "{MIRROR_ROUTE}": traefik does not support'):
        await router.set_mirror_route(MIRROR_GETS)
    await router.remove_managed_routes()
    assert router.io.writes == 0
    assert CASE.read_weights(cluster, names) == split(names, 33)

    await step(client, names, 100)
    assert CASE.read_weights(cluster, names) == split(names, 100)
    await step(client, names, 0)
    assert CASE.read_weights(cluster, names) == split(names, 0)

    # trafficRouting leaves the spec: all to stable, the user's TraefikService kept.
    await step(client, names, 20)
    await reconcile(client, names).remove()
    assert CASE.read_weights(cluster, names) == split(names, 0)
    kept = cluster.get("traefikservices.traefik.io", TRAEFIK_SERVICE, namespace)
    assert [s["port"] for s in kept["spec"]["weighted"]["services"]] == [names.port, names.port]


async def test_a_traefik_v2_service_is_found_in_the_legacy_group(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    names = Names(namespace)
    install_crds(cluster, CASE)
    cluster.apply(LEGACY_CRD, server_side=True)
    cluster.kubectl("wait", "--for=condition=Established", "crd/traefikservices.traefik.containo.us", "--timeout=60s")
    cluster.apply(CASE.objects(names).replace("traefik.io/v1alpha1", "traefik.containo.us/v1alpha1"), namespace)

    await step(client, names, 25)
    legacy = cluster.get("traefikservices.traefik.containo.us", TRAEFIK_SERVICE, namespace)
    assert {s["name"]: s["weight"] for s in legacy["spec"]["weighted"]["services"]} == split(names, 25)


async def test_a_missing_canary_entry_or_traefik_service_is_an_error_naming_the_field(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    names = Names(namespace)
    install_crds(cluster, CASE)
    field = r"traefik\.weightedTraefikServiceName"
    with pytest.raises(RouterError, match=rf'{field}: TraefikService "{TRAEFIK_SERVICE}" not found'):
        await step(client, names, 10)

    cluster.apply(CASE.objects(names).replace(names.canary_service, "someone-else"), namespace)
    with pytest.raises(RouterError, match=rf'{field}: .*no weighted service "{names.canary_service}"'):
        await step(client, names, 10)
    kept = cluster.get("traefikservices.traefik.io", TRAEFIK_SERVICE, namespace)
    assert [s["weight"] for s in kept["spec"]["weighted"]["services"]] == [100, 0]
