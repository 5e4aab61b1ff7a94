"""The Ambassador router against the local cluster's API server, called directly (no Ramp controller).

Given the Mapping CRD, the case's base Mapping and a Rollout (the canary Mapping's owner), When the router sets
weights 10 → 33 → 100 → 0 and finally is removed, Then the Mappings read back with kubectl split requests so,
as the case's reader (Ambassador's view of two Mappings of one prefix) interprets them; the canary Mapping is
the Rollout's and goes away at 0 and on removal, while the base Mapping and Mappings of others stay.
"""

from __future__ import annotations

import pytest

from ramp.kube.client import KubeClient
from ramp.traffic.ambassador import AmbassadorRouter
from ramp.traffic.base import RouterError, RouterIO, UnsupportedFeature
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
from tests.e2e.routers.ambassador import CASE, KIND, MAPPING, mappings
from tests.e2e.traffic_cases import HEADER_ROUTE, MIRROR_ROUTE, Names, install_crds

pytestmark = pytest.mark.cluster

CANARY_MAPPING = f"{MAPPING}-canary"


def reconcile(client: KubeClient, names: Names, uid: str) -> AmbassadorRouter:
    """A router as one reconcile builds it (its own RouterIO, so nothing read earlier is remembered)."""
    return AmbassadorRouter(router_context(names, CASE.traffic_routing(names), uid), RouterIO(client, names.namespace))


async def step(client: KubeClient, names: Names, uid: str, canary: int) -> int:
    """One reconcile at this weight; returns the writes it made."""
    return await weigh(reconcile(client, names, uid), weights(names, canary))


def mapping_names(cluster: Cluster, names: Names) -> list[str]:
    return sorted(m["metadata"]["name"] for m in mappings(cluster, names))


async def test_canary_mapping_weights_unsupported_routes_and_removal(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    names = Names(namespace)
    install_crds(cluster, CASE)
    cluster.apply(CASE.objects(names), namespace)
    uid = given_rollout(cluster, names)

    # When the canary gets 10, Then a canary Mapping owned by the Rollout takes 10% of the prefix.
    assert await step(client, names, uid, 10) == 1
    assert CASE.read_weights(cluster, names) == split(names, 10)
    canary = cluster.get(KIND, CANARY_MAPPING, namespace)
    assert canary["spec"] == {"prefix": "/", "service": f"{names.canary_service}:{names.port}", "weight": 10}
    assert [(o["kind"], o["uid"], o["controller"]) for o in canary["metadata"]["ownerReferences"]] == [
        ("Rollout", uid, True)
    ]
    assert await step(client, names, uid, 10) == 0

    await step(client, names, uid, 33)
    assert CASE.read_weights(cluster, names) == split(names, 33)

    # Header and mirror routes are refused with a message naming the step and change nothing.
    router = reconcile(client, names, uid)
    with pytest.raises(UnsupportedFeature, match=f'setHeaderRoute "{HEADER_ROUTE}": ambassador does not support'):
        await router.set_header_route(TO_CANARY)
    with pytest.raises(UnsupportedFeature, match=f'setMirrorRoute "{MIRROR_ROUTE}": ambassador does not support'):
        await router.set_mirror_route(MIRROR_GETS)
    await router.remove_managed_routes()
    assert router.io.writes == 0

    await step(client, names, uid, 100)
    assert CASE.read_weights(cluster, names) == split(names, 100)

    # At 0 the canary Mapping first gets weight 0, then (next reconcile) goes, as upstream; then nothing is written.
    assert await step(client, names, uid, 0) == 1
    assert CASE.read_weights(cluster, names) == split(names, 0)
    assert mapping_names(cluster, names) == [MAPPING, CANARY_MAPPING]
    assert await step(client, names, uid, 0) == 1
    assert mapping_names(cluster, names) == [MAPPING]
    assert await step(client, names, uid, 0) == 0
    assert CASE.read_weights(cluster, names) == split(names, 0)

    # trafficRouting leaves the spec: the canary Mapping goes, the user's base Mapping stays as written.
    await step(client, names, uid, 20)
    await reconcile(client, names, uid).remove()
    assert mapping_names(cluster, names) == [MAPPING]
    assert CASE.read_weights(cluster, names) == split(names, 0)
    assert cluster.get(KIND, MAPPING, namespace)["spec"] == {
        "prefix": "/",
        "service": f"{names.stable_service}:{names.port}",
    }


async def test_a_base_mapping_read_as_v3alpha1_is_the_same_object(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    names = Names(namespace)
    install_crds(cluster, CASE)
    cluster.apply(CASE.objects(names).replace("getambassador.io/v2", "getambassador.io/v3alpha1"), namespace)
    uid = given_rollout(cluster, names)
    await step(client, names, uid, 40)
    assert CASE.read_weights(cluster, names) == split(names, 40)


async def test_a_mapping_of_the_canary_name_owned_by_someone_else_is_never_taken(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    names = Names(namespace)
    install_crds(cluster, CASE)
    cluster.apply(CASE.objects(names), namespace)
    uid = given_rollout(cluster, names)
    # Given a Mapping named like the canary Mapping, controlled by another object and sending elsewhere.
    cluster.kubectl("create", "configmap", "other", "-n", namespace)
    other_uid = cluster.get("configmap", "other", namespace)["metadata"]["uid"]
    cluster.apply(
        f"""
apiVersion: getambassador.io/v2
kind: Mapping
metadata:
  name: {CANARY_MAPPING}
  ownerReferences:
  - {{apiVersion: v1, kind: ConfigMap, name: other, uid: {other_uid}, controller: true}}
spec:
  prefix: /other
  service: other:80
""",
        namespace,
    )
    with pytest.raises(RouterError, match=rf'mappings\[0\]: Mapping "{CANARY_MAPPING}" exists and is not controlled'):
        await step(client, names, uid, 10)
    await reconcile(client, names, uid).remove()
    assert cluster.get(KIND, CANARY_MAPPING, namespace)["spec"] == {"prefix": "/other", "service": "other:80"}


async def test_a_missing_or_weighted_base_mapping_is_an_error_naming_the_field(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    names = Names(namespace)
    install_crds(cluster, CASE)
    uid = given_rollout(cluster, names)
    field = r"trafficRouting\.ambassador\.mappings\[0\]"
    with pytest.raises(RouterError, match=rf'{field}: Mapping "{MAPPING}" not found in namespace {namespace}'):
        await step(client, names, uid, 10)

    cluster.apply(CASE.objects(names) + "  weight: 50\n", namespace)
    with pytest.raises(RouterError, match=rf'{field}: Mapping "{MAPPING}" sets weight 50; remove spec.weight'):
        await step(client, names, uid, 10)
    assert mapping_names(cluster, names) == [MAPPING]
