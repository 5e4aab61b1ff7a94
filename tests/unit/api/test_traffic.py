"""Traffic routing settings: every router upstream supports, and Gateway API in its plugin form."""

from __future__ import annotations

from typing import Any

import pytest

from ramp.api import parse_rollout, to_manifest
from ramp.api.providers import PROVIDER_FIELDS, MetricProvider, configured_providers
from ramp.api.traffic import (
    ROUTER_FIELDS,
    RolloutTrafficRouting,
    configured_routers,
    gateway_api_routing,
)


def routed(routing: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "demo"},
        "spec": {"strategy": {"canary": {"trafficRouting": routing, "steps": [{"setWeight": 10}]}}},
    }


ROUTERS = {
    "nginx": {"nginx": {"stableIngresses": ["a", "b"]}},
    "istio": {"istio": {"virtualService": {"name": "vs", "routes": ["primary"]}}},
    "alb": {
        "alb": {
            "ingress": "web",
            "servicePort": 443,
            "rootService": "root",
            "annotationPrefix": "custom.alb",
            "stickinessConfig": {"enabled": True, "durationSeconds": 3600},
            "ingresses": ["web", "web-internal"],
        }
    },
    "smi": {"smi": {"rootService": "root", "trafficSplitName": "split"}},
    "ambassador": {"ambassador": {"mappings": ["web-mapping"]}},
    "appMesh": {
        "appMesh": {
            "virtualService": {"name": "vsvc", "routes": ["primary"]},
            "virtualNodeGroup": {
                "canaryVirtualNodeRef": {"name": "canary-vn"},
                "stableVirtualNodeRef": {"name": "stable-vn"},
            },
        }
    },
    "traefik": {"traefik": {"weightedTraefikServiceName": "weighted"}},
    "apisix": {"apisix": {"route": {"name": "route", "rules": ["rule-1"]}}},
    "gatewayAPI": {"gatewayAPI": {"httpRoute": "web", "namespace": "shop"}},
}


def test_every_router_key_has_a_table_case():
    assert set(ROUTERS) == set(ROUTER_FIELDS)


@pytest.mark.parametrize(("name", "routing"), ROUTERS.items(), ids=ROUTERS.keys())
def test_router_settings_round_trip_and_are_recognised(name: str, routing: dict[str, Any]):
    manifest = routed(routing)
    rollout = parse_rollout(manifest)
    assert to_manifest(rollout) == manifest
    assert rollout.spec.strategy is not None and rollout.spec.strategy.canary is not None
    assert rollout.spec.strategy.canary.traffic_routing is not None
    assert configured_routers(rollout.spec.strategy.canary.traffic_routing) == [name]


def test_router_fields_are_every_modelled_router():
    aliases = {field.alias for field in RolloutTrafficRouting.model_fields.values()}
    assert aliases - set(ROUTER_FIELDS) == {"managedRoutes", "plugins", "maxTrafficWeight"}


def test_gateway_api_plugin_form_is_read_natively():
    routing = RolloutTrafficRouting.model_validate(
        {
            "plugins": {
                "argoproj-labs/gatewayAPI": {
                    "httpRoute": "web",
                    "namespace": "shop",
                    "httpRoutes": [{"name": "web-2", "useHeaderRoutes": True}],
                }
            }
        }
    )
    settings = gateway_api_routing(routing)
    assert settings is not None
    assert (settings.http_route, settings.namespace) == ("web", "shop")
    assert settings.http_routes is not None and settings.http_routes[0].use_header_routes is True
    assert configured_routers(routing) == ["plugins/argoproj-labs/gatewayAPI"]


def test_gateway_api_native_field_is_read_like_the_plugin_form():
    routing = RolloutTrafficRouting.model_validate({"gatewayAPI": {"httpRoute": "web"}})
    settings = gateway_api_routing(routing)
    assert settings is not None and settings.http_route == "web"
    assert configured_routers(routing) == ["gatewayAPI"]


def test_no_gateway_api_settings_without_the_plugin():
    assert gateway_api_routing(RolloutTrafficRouting(plugins={"example.com/other": {}})) is None


def test_every_provider_key_is_modelled():
    aliases = {field.alias for field in MetricProvider.model_fields.values()}
    assert aliases == set(PROVIDER_FIELDS)


def test_configured_providers_names_plugins():
    provider = MetricProvider.model_validate({"plugin": {"example.com/metric": {"q": 1}}})
    assert configured_providers(provider) == ["plugin/example.com/metric"]
    assert configured_providers(MetricProvider.model_validate({"newRelic": {"query": "q"}})) == ["newRelic"]
