"""What the traffic-routing scenario needs to know about one router: its CRDs, its objects, and how its data
plane reads the weights and the managed routes from them.

Each module in `tests/e2e/routers` defines `CASE = RouterCase(...)`; `tests/e2e/test_traffic_routing.py` walks
every case through 10 → 33 → 100 and an abort back to 0 on the local cluster, with the real Ramp controller.
The readers parse the routing objects the way the ingress controller or mesh would (which Service gets what
share; where a request with header `x-canary: yes` goes; what is mirrored), never the patches Ramp sent.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.harness import Cluster

CRD_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "crds"
HEADER_NAME = "x-canary"
HEADER_VALUE = "yes"
HEADER_ROUTE = "header-route"
MIRROR_ROUTE = "mirror-route"
MIRROR_PERCENTAGE = 50


@dataclass(frozen=True)
class Names:
    """The objects of one scenario: all in `namespace`; Services exist before the routing objects."""

    namespace: str
    rollout: str = "app"
    stable_service: str = "app-stable"
    canary_service: str = "app-canary"
    root_service: str = "app-root"
    """A Service selecting every pod of the app (SMI's root service, ALB's root service)."""
    port: int = 80


@dataclass(frozen=True)
class RouterCase:
    """One router in the traffic-routing scenario."""

    id: str
    crds: tuple[str, ...]
    """File names under tests/fixtures/crds of the CRDs the router's kinds need (none for Ingress)."""
    objects: Callable[[Names], str]
    """YAML of the routing objects (Ingress, VirtualService, ...) a user creates before the Rollout."""
    traffic_routing: Callable[[Names], dict[str, Any]]
    """`spec.strategy.canary.trafficRouting` (without managedRoutes: the scenario adds them)."""
    read_weights: Callable[[Cluster, Names], dict[str, int]]
    """Share per Service as the data plane reads it, e.g. {"app-canary": 10, "app-stable": 90}; Services with no
    share are left out or 0."""
    total: int = 100
    """What the shares sum to (maxTrafficWeight when set)."""
    read_header_route: Callable[[Cluster, Names], str | None] | None = None
    """The Service a request carrying `x-canary: yes` is sent to by the managed header route `header-route`,
    None when there is no such route. None here: the router does not support header routes."""
    read_mirror_route: Callable[[Cluster, Names], tuple[str, int] | None] | None = None
    """(Service, percentage) the managed mirror route `mirror-route` copies GET requests to, None when there is no
    such route. None here: the router does not support mirror routes."""
    extra_services: Callable[[Names], str] | None = None
    """YAML of more Services the router needs, if any."""


def load_cases() -> list[RouterCase]:
    """Every `CASE` in tests/e2e/routers, sorted by id."""
    package = importlib.import_module("tests.e2e.routers")
    cases: list[RouterCase] = []
    for module in pkgutil.iter_modules(package.__path__):
        loaded = importlib.import_module(f"tests.e2e.routers.{module.name}")
        case = getattr(loaded, "CASE", None)
        if isinstance(case, RouterCase):
            cases.append(case)
    return sorted(cases, key=lambda c: c.id)


def install_crds(cluster: Cluster, case: RouterCase) -> None:
    """Apply the case's CRDs (idempotent) and wait until they are served."""
    for file_name in case.crds:
        manifest = (CRD_FIXTURES / file_name).read_text()
        cluster.apply(manifest, server_side=True)
        for line in manifest.splitlines():
            if line.startswith("  name: ") and "." in line:
                cluster.kubectl("wait", "--for=condition=Established", f"crd/{line.split()[1]}", "--timeout=60s")
