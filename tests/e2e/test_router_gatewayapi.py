"""The Gateway API router against the local cluster's API server, called directly (no Ramp controller).

Given the Gateway API route CRDs and the case's HTTPRoute, When the router sets weights 10 → 33, header and mirror
routes, 100, removes the managed routes, goes back to 0 and finally is removed, Then the HTTPRoute read back with
kubectl says so, as the case's readers (the data plane's view) interpret it; each step is a fresh reconcile (a new
RouterIO, so managed rules are found again from the route alone), and repeating a step writes nothing. Errors name
the Rollout field and the fix and change nothing; a user's re-apply of the route is never mistaken for Ramp's rules.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ramp.kube.client import KubeClient
from ramp.traffic.base import RouterError, RouterIO
from ramp.traffic.gatewayapi import GatewayAPIRouter
from ramp.traffic.gatewayapi_routes import IN_PROGRESS_LABEL_KEY, MANAGED_ANNOTATION
from tests.e2e.harness import Cluster
from tests.e2e.router_setup import (
    MIRROR_GETS,
    TO_CANARY,
    Reconciles,
    client_fixture,  # noqa: F401 - provides the `client` fixture
    router_context,
    set_weight,
    split,
    weights,
)
from tests.e2e.routers.gatewayapi import CASE, KIND, ROUTE, rules
from tests.e2e.traffic_cases import MIRROR_PERCENTAGE, Names, install_crds

pytestmark = pytest.mark.cluster

PLUGIN_FIELD = r"spec\.strategy\.canary\.trafficRouting\.plugins\.argoproj-labs/gatewayAPI"
TCP_ROUTE = "app-tcp"


def reconciles(client: KubeClient, names: Names, routing: dict[str, Any] | None = None) -> Reconciles[GatewayAPIRouter]:
    context = router_context(names, routing or CASE.traffic_routing(names), "0000-gatewayapi-e2e")
    return Reconciles(GatewayAPIRouter, client, context)


def route(cluster: Cluster, names: Names) -> dict[str, Any]:
    return cluster.get(KIND, ROUTE, names.namespace)


def labels(cluster: Cluster, names: Names) -> dict[str, str]:
    return dict(route(cluster, names)["metadata"].get("labels") or {})


def given_route(cluster: Cluster, names: Names) -> None:
    install_crds(cluster, CASE)
    cluster.apply(CASE.objects(names), names.namespace)


async def test_weights_managed_routes_and_removal(cluster: Cluster, namespace: str, client: KubeClient) -> None:
    names = Names(namespace)
    given_route(cluster, names)
    assert CASE.read_header_route is not None and CASE.read_mirror_route is not None
    reconcile = reconciles(client, names)

    # When the canary gets 10, Then the rule splits 10/90 and the route is marked in progress; again: no write.
    assert await reconcile(set_weight(weights(names, 10))) == 1
    assert CASE.read_weights(cluster, names) == split(names, 10)
    assert labels(cluster, names) == {IN_PROGRESS_LABEL_KEY: "in-progress"}
    assert await reconcile(set_weight(weights(names, 10))) == 0

    await reconcile(set_weight(weights(names, 33)))
    assert CASE.read_weights(cluster, names) == split(names, 33)

    # Header and mirror routes: managed rules after the user's; each again is no write.
    assert await reconcile(lambda r: r.set_header_route(TO_CANARY)) == 1
    assert await reconcile(lambda r: r.set_mirror_route(MIRROR_GETS)) == 1
    assert CASE.read_header_route(cluster, names) == names.canary_service
    assert CASE.read_mirror_route(cluster, names) == (names.canary_service, MIRROR_PERCENTAGE)
    assert await reconcile(lambda r: r.set_header_route(TO_CANARY)) == 0
    assert await reconcile(lambda r: r.set_mirror_route(MIRROR_GETS)) == 0
    assert [rule.get("name") for rule in rules(cluster, names)] == [None, TO_CANARY.name, MIRROR_GETS.name]

    # Weights move with the managed rules in place: plain requests split, the header rule stays on the canary.
    await reconcile(set_weight(weights(names, 100)))
    assert CASE.read_weights(cluster, names) == split(names, 100)
    assert CASE.read_header_route(cluster, names) == names.canary_service
    mirror_rule = rules(cluster, names)[2]
    assert {ref["name"]: ref["weight"] for ref in mirror_rule["backendRefs"]} == split(names, 100)

    # remove_managed_routes leaves the user's rule alone; twice is one write.
    assert await reconcile(lambda r: r.remove_managed_routes()) == 1
    assert CASE.read_header_route(cluster, names) is None
    assert CASE.read_mirror_route(cluster, names) is None
    assert len(rules(cluster, names)) == 1
    assert MANAGED_ANNOTATION not in (route(cluster, names)["metadata"].get("annotations") or {})
    assert await reconcile(lambda r: r.remove_managed_routes()) == 0

    # Back at 0 the in-progress label goes.
    await reconcile(set_weight(weights(names, 0)))
    assert CASE.read_weights(cluster, names) == split(names, 0)
    assert IN_PROGRESS_LABEL_KEY not in labels(cluster, names)

    # trafficRouting leaves the spec: everything to stable, no managed rules, no label; the route stays.
    await reconcile(set_weight(weights(names, 20)))
    await reconcile(lambda r: r.set_header_route(TO_CANARY))
    await reconcile(lambda r: r.remove())
    assert CASE.read_weights(cluster, names) == split(names, 0)
    assert CASE.read_header_route(cluster, names) is None
    kept = route(cluster, names)
    assert kept["spec"]["parentRefs"] == [{"name": "gw"}]
    assert not kept["metadata"].get("labels")
    assert MANAGED_ANNOTATION not in kept["metadata"]["annotations"]


async def test_a_users_reapply_of_the_route_is_left_as_the_user_wrote_it(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    names = Names(namespace)
    given_route(cluster, names)
    reconcile = reconciles(client, names)
    await reconcile(set_weight(weights(names, 10)))
    await reconcile(lambda r: r.set_header_route(TO_CANARY))

    # When the user re-applies their route with an extra rule of their own (the record annotation stays behind),
    admin = {"matches": [{"path": {"type": "PathPrefix", "value": "/admin"}}], "backendRefs": [{"name": "admin"}]}
    reapplied = route(cluster, names)
    reapplied["spec"]["rules"] = [rules(cluster, names)[0], admin]
    cluster.kubectl("replace", "-f", "-", stdin=json.dumps(reapplied))

    # Then Ramp neither weighs nor removes the user's rule, and forgets the stale record.
    await reconcile(set_weight(weights(names, 33)))
    await reconcile(lambda r: r.remove_managed_routes())
    after = rules(cluster, names)
    assert after[1] == admin
    assert CASE.read_weights(cluster, names) == split(names, 33)
    assert MANAGED_ANNOTATION not in (route(cluster, names)["metadata"].get("annotations") or {})


async def test_a_missing_route_or_canary_backend_is_an_error_naming_the_field(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    names = Names(namespace)
    install_crds(cluster, CASE)
    reconcile = reconciles(client, names)
    with pytest.raises(RouterError, match=rf'{PLUGIN_FIELD}\.httpRoute: HTTPRoute "{ROUTE}" not found'):
        await reconcile(set_weight(weights(names, 10)))

    # A rule naming only the stable Service: the error says to add the canary with weight 0; nothing changes.
    only_stable = CASE.objects(names).replace(
        f"    - {{name: {names.canary_service}, port: {names.port}, weight: 0}}\n", ""
    )
    cluster.apply(only_stable, namespace)
    with pytest.raises(RouterError, match=rf'httpRoute: .*none to "{names.canary_service}"; add one .* weight 0'):
        await reconcile(set_weight(weights(names, 10)))
    assert CASE.read_weights(cluster, names) == {names.stable_service: 100}
    assert not labels(cluster, names)


async def test_tcp_routes_and_routes_found_by_label_get_weights_too(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    names = Names(namespace)
    given_route(cluster, names)
    cluster.kubectl("label", KIND, ROUTE, "-n", namespace, "canary=app")
    cluster.apply(
        f"""
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: {{name: {TCP_ROUTE}}}
spec:
  parentRefs: [{{name: gw, sectionName: tcp}}]
  rules:
  - backendRefs:
    - {{name: {names.stable_service}, port: {names.port}}}
    - {{name: {names.canary_service}, port: {names.port}}}
""",
        namespace,
    )
    routing = {
        "plugins": {
            "argoproj-labs/gatewayAPI": {
                "tcpRoute": TCP_ROUTE,
                "httpRouteSelector": {"matchLabels": {"canary": "app"}},
                "disableInProgressLabel": True,
            }
        }
    }
    reconcile = reconciles(client, names, routing)
    await reconcile(set_weight(weights(names, 25)))
    tcp = cluster.get("tcproutes.gateway.networking.k8s.io", TCP_ROUTE, namespace)
    assert {ref["name"]: ref["weight"] for ref in tcp["spec"]["rules"][0]["backendRefs"]} == split(names, 25)
    assert CASE.read_weights(cluster, names) == split(names, 25)
    assert labels(cluster, names) == {"canary": "app"}  # the in-progress label is disabled

    # A route found by label gets no header rules (as the plugin treats selected routes); the TCPRoute has none.
    assert await reconcile(lambda r: r.set_header_route(TO_CANARY)) == 0


async def test_weights_and_a_header_rule_in_one_reconcile(cluster: Cluster, namespace: str, client: KubeClient) -> None:
    """Two calls in one reconcile share one RouterIO: the header rule is written on top of the new weights."""
    names = Names(namespace)
    given_route(cluster, names)
    assert CASE.read_header_route is not None
    context = router_context(names, CASE.traffic_routing(names), "0000-gatewayapi-e2e")
    router = GatewayAPIRouter(context, RouterIO(client, namespace))
    await router.set_weight(weights(names, 40))
    await router.set_header_route(TO_CANARY)
    assert router.io.writes == 2
    assert CASE.read_weights(cluster, names) == split(names, 40)
    assert CASE.read_header_route(cluster, names) == names.canary_service


async def test_a_route_in_another_namespace_is_shifted_and_its_writes_counted(
    cluster: Cluster, namespace: str, client: KubeClient
) -> None:
    names = Names(namespace)
    gateway_namespace = cluster.create_namespace("gatewayapi-routes")
    try:
        elsewhere = Names(gateway_namespace)
        given_route(cluster, elsewhere)
        routing = {"plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": ROUTE, "namespace": gateway_namespace}}}
        reconcile = reconciles(client, names, routing)
        assert await reconcile(set_weight(weights(names, 15))) == 1
        assert CASE.read_weights(cluster, elsewhere) == split(names, 15)
        assert await reconcile(set_weight(weights(names, 15))) == 0
    finally:
        cluster.kubectl("delete", "namespace", gateway_namespace, "--wait=false", check=False)
