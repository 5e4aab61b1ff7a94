"""The SMI router against the local cluster's API server, called directly (no Ramp controller).

Given the TrafficSplit CRD and a Rollout, When the router sets weights 10 → 33 → 100 → 0, Then the TrafficSplit it
created (owned by the Rollout) splits the root Service so, as the case's reader (the mesh's view) interprets it;
each step is a fresh reconcile (a new RouterIO), and repeating one writes nothing. Header and mirror routes are
refused; removal deletes Ramp's TrafficSplit. A TrafficSplit of that name the Rollout does not control is an error
naming the field, and it is never changed or deleted.
"""

from __future__ import annotations

import pytest

from ramp.kube.client import KubeClient
from ramp.traffic.base import Destination, RouterError, UnsupportedFeature, Weights
from ramp.traffic.smi import SMIRouter
from tests.e2e.harness import Cluster
from tests.e2e.router_setup import (
    MIRROR_GETS,
    TO_CANARY,
    Reconciles,
    client_fixture,  # noqa: F401 - provides the `client` fixture
    given_rollout,
    router_context,
    set_weight,
    split,
    weights,
)
from tests.e2e.routers.smi import CASE, SPLIT
from tests.e2e.traffic_cases import HEADER_ROUTE, MIRROR_ROUTE, Names, install_crds

pytestmark = pytest.mark.cluster

KIND = "trafficsplits.split.smi-spec.io"


def reconciles(client: KubeClient, names: Names, uid: str) -> Reconciles[SMIRouter]:
    return Reconciles(SMIRouter, client, router_context(names, CASE.traffic_routing(names), uid))


def split_names(cluster: Cluster, names: Names) -> list[str]:
    return [item["metadata"]["name"] for item in cluster.list(KIND, names.namespace)]


async def test_weights_unsupported_routes_and_removal(cluster: Cluster, namespace: str, client: KubeClient) -> None:
    names = Names(namespace)
    install_crds(cluster, CASE)
    uid = given_rollout(cluster, names)
    reconcile = reconciles(client, names, uid)

    # When the canary gets 10, Then Ramp creates the TrafficSplit, owned by the Rollout; again: no write.
    assert await reconcile(set_weight(weights(names, 10))) == 1
    assert CASE.read_weights(cluster, names) == split(names, 10)
    created = cluster.get(KIND, SPLIT, namespace)
    [owner] = created["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == ("Rollout", names.rollout, uid, True)
    assert await reconcile(set_weight(weights(names, 10))) == 0

    await reconcile(set_weight(weights(names, 33)))
    assert CASE.read_weights(cluster, names) == split(names, 33)

    # Header and mirror routes are refused with a message naming the step; removing them is a no-op.
    router = reconcile.router()
    with pytest.raises(UnsupportedFeature, match=f'setHeaderRoute "{HEADER_ROUTE}": smi does not support'):
        await router.set_header_route(TO_CANARY)
    with pytest.raises(UnsupportedFeature, match=f'setMirrorRoute "{MIRROR_ROUTE}": smi does not support'):
        await router.set_mirror_route(MIRROR_GETS)
    await router.remove_managed_routes()
    assert router.io.writes == 0

    # An experiment's Service takes its own share while it runs.
    with_experiment = Weights(
        Destination(names.canary_service, 20),
        Destination(names.stable_service, 70),
        (Destination("app-experiment", 10),),
    )
    await reconcile(set_weight(with_experiment))
    assert CASE.read_weights(cluster, names) == {
        names.canary_service: 20,
        names.stable_service: 70,
        "app-experiment": 10,
    }

    await reconcile(set_weight(weights(names, 100)))
    assert CASE.read_weights(cluster, names) == split(names, 100)
    await reconcile(set_weight(weights(names, 0)))
    assert CASE.read_weights(cluster, names) == split(names, 0)

    # trafficRouting leaves the spec: Ramp's TrafficSplit goes.
    await reconcile(lambda r: r.remove())
    assert SPLIT not in split_names(cluster, names)
    assert await reconcile(lambda r: r.remove()) == 0


async def test_a_users_traffic_split_of_that_name_is_an_error_and_kept(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    names = Names(namespace)
    install_crds(cluster, CASE)
    uid = given_rollout(cluster, names)
    cluster.apply(
        f"""
apiVersion: split.smi-spec.io/v1alpha3
kind: TrafficSplit
metadata: {{name: {SPLIT}}}
spec:
  service: {names.root_service}
  backends:
  - {{service: {names.stable_service}, weight: 100}}
""",
        namespace,
    )
    reconcile = reconciles(client, names, uid)
    field = r"spec\.strategy\.canary\.trafficRouting\.smi\.trafficSplitName"
    with pytest.raises(RouterError, match=rf'{field}: TrafficSplit "{SPLIT}" exists and is not controlled by'):
        await reconcile(set_weight(weights(names, 10)))
    assert await reconcile(lambda r: r.remove()) == 0
    assert CASE.read_weights(cluster, names) == {names.stable_service: 100}
