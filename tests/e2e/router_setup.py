"""What the router-level cluster tests (tests/e2e/test_router_<router>.py) share to build a router by hand.

Those tests call one router directly against the local cluster's API server, with no Ramp controller: each
step is a fresh reconcile (a new `RouterIO`, so nothing read earlier is remembered), as the Rollout reconciler
would build it. This module gives them the API client fixture, a Rollout to own what a router creates, the
`RouterContext` of that Rollout, the routes they ask for, and the weights and splits they compare.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Generic, TypeVar

import pytest

from ramp.api.traffic import RolloutTrafficRouting
from ramp.kube.client import KubeClient
from ramp.kube.config import load_kubeconfig
from ramp.traffic.base import (
    Destination,
    HeaderMatch,
    HeaderRoute,
    MirrorRoute,
    RequestMatch,
    RouterBase,
    RouterContext,
    RouterIO,
    StringMatch,
    Weights,
)
from tests.e2e.harness import Cluster
from tests.e2e.traffic_cases import (
    HEADER_NAME,
    HEADER_ROUTE,
    HEADER_VALUE,
    MIRROR_PERCENTAGE,
    MIRROR_ROUTE,
    Names,
)

MANAGED = (HEADER_ROUTE, MIRROR_ROUTE)
"""trafficRouting.managedRoutes of every router-level test, in precedence order."""
TO_CANARY = HeaderRoute(HEADER_ROUTE, (HeaderMatch(HEADER_NAME, StringMatch("exact", HEADER_VALUE)),))
MIRROR_GETS = MirrorRoute(MIRROR_ROUTE, (RequestMatch(method=StringMatch("exact", "GET")),), MIRROR_PERCENTAGE)
UNWATCHED = {"argo-rollouts.argoproj.io/controller-instance-id": "router-e2e"}
"""A controller instance id no controller runs with, so a Ramp controller in the cluster leaves the Rollout be."""

R = TypeVar("R", bound=RouterBase)


@pytest.fixture(name="client")
async def client_fixture(cluster: Cluster) -> AsyncIterator[KubeClient]:
    """The `client` fixture: a real API client for the routers (a test module imports it to use it)."""
    async with KubeClient(load_kubeconfig([cluster.kubeconfig])) as kube:
        yield kube


def given_rollout(cluster: Cluster, names: Names) -> str:
    """A Rollout to own the objects a router creates (nothing reconciles it, so it stays as written); its uid."""
    rollout = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": names.rollout, "namespace": names.namespace, "labels": UNWATCHED},
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": names.rollout}},
            "template": {
                "metadata": {"labels": {"app": names.rollout}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
            },
            "strategy": {"canary": {"stableService": names.stable_service, "canaryService": names.canary_service}},
        },
    }
    cluster.apply(json.dumps(rollout))
    return str(cluster.get("rollouts.argoproj.io", names.rollout, names.namespace)["metadata"]["uid"])


def router_context(names: Names, routing: dict[str, Any], uid: str) -> RouterContext:
    """The context of the Rollout `names.rollout` with `routing` as its trafficRouting (plus MANAGED routes)."""
    spec = {**routing, "managedRoutes": [{"name": name} for name in MANAGED]}
    return RouterContext(
        namespace=names.namespace,
        rollout_name=names.rollout,
        rollout_uid=uid,
        routing=RolloutTrafficRouting.model_validate(spec),
        stable_service=names.stable_service,
        canary_service=names.canary_service,
        managed_routes=MANAGED,
    )


def weights(names: Names, canary: int, canary_hash: str = "", stable_hash: str = "") -> Weights:
    """`canary` of 100 to the canary Service, the rest to stable."""
    return Weights(
        Destination(names.canary_service, canary, canary_hash),
        Destination(names.stable_service, 100 - canary, stable_hash),
    )


def split(names: Names, canary: int) -> dict[str, int]:
    """The shares a data-plane reader should see for `weights(names, canary)`."""
    return {names.canary_service: canary, names.stable_service: 100 - canary}


async def weigh(router: RouterBase, wanted: Weights) -> int:
    """Set `wanted` with a freshly built router; the writes it made."""
    await router.set_weight(wanted)
    return router.io.writes


def set_weight(wanted: Weights) -> Callable[[RouterBase], Awaitable[None]]:
    """The call `Reconciles` runs to set `wanted`."""

    def call(router: RouterBase) -> Awaitable[None]:
        return router.set_weight(wanted)

    return call


class Reconciles(Generic[R]):
    """Builds the router afresh for every reconcile (a new RouterIO each time) and counts what each writes."""

    def __init__(
        self, factory: Callable[[RouterContext, RouterIO], R], client: KubeClient, context: RouterContext
    ) -> None:
        self.factory, self.client, self.context = factory, client, context

    def router(self) -> R:
        return self.factory(self.context, RouterIO(self.client, self.context.namespace))

    async def __call__(self, call: Callable[[R], Awaitable[Any]]) -> int:
        """Run `call` on a fresh router; the writes it made."""
        router = self.router()
        await call(router)
        return router.io.writes
