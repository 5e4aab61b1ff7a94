"""Gateway API through Ramp's native `gatewayAPI` field, with maxTrafficWeight 1000: the same HTTPRoute and
readers as the plugin form (tests/e2e/routers/gatewayapi.py); the shares sum to 1000."""

from __future__ import annotations

from typing import Any

from tests.e2e.routers import gatewayapi
from tests.e2e.traffic_cases import Names, RouterCase


def traffic_routing(names: Names) -> dict[str, Any]:
    return {"gatewayAPI": {"httpRoute": gatewayapi.ROUTE}}


CASE = RouterCase(
    id="gatewayapi_native",
    crds=("gatewayapi.yaml",),
    objects=gatewayapi.objects,
    traffic_routing=traffic_routing,
    read_weights=gatewayapi.read_weights,
    total=1000,
    read_header_route=gatewayapi.read_header_route,
    read_mirror_route=gatewayapi.read_mirror_route,
)
