"""The objects a Rollout names, as the keys that re-reconcile it when one of them appears or changes."""

from __future__ import annotations

from ramp.rollout.references import (
    object_reference_key,
    reference_key,
    rollout_reference_keys,
    template_reference_keys,
)


def _rollout(strategy: dict) -> dict:
    return {"metadata": {"namespace": "shop", "name": "web"}, "spec": {"strategy": strategy}}


def test_every_place_a_canary_names_a_template_is_a_reference() -> None:
    rollout = _rollout(
        {
            "canary": {
                "analysis": {"templates": [{"templateName": "background"}]},
                "steps": [
                    {"setWeight": 20},
                    {
                        "analysis": {
                            "templates": [{"templateName": "step"}, {"templateName": "c", "clusterScope": True}]
                        }
                    },
                    {"experiment": {"templates": [], "analyses": [{"name": "a", "templateName": "exp"}]}},
                ],
            }
        }
    )
    assert rollout_reference_keys(rollout) == {
        "AnalysisTemplate:shop/background",
        "AnalysisTemplate:shop/step",
        "ClusterAnalysisTemplate:c",
        "AnalysisTemplate:shop/exp",
    }


def test_blue_green_pre_and_post_promotion_templates_are_references() -> None:
    rollout = _rollout(
        {
            "blueGreen": {
                "activeService": "active",
                "prePromotionAnalysis": {"templates": [{"templateName": "pre"}]},
                "postPromotionAnalysis": {"templates": [{"templateName": "post", "clusterScope": True}]},
            }
        }
    )
    assert rollout_reference_keys(rollout) == {"AnalysisTemplate:shop/pre", "ClusterAnalysisTemplate:post"}


def test_nginx_and_alb_ingresses_are_references() -> None:
    rollout = _rollout(
        {
            "canary": {
                "trafficRouting": {
                    "nginx": {"stableIngress": "one", "stableIngresses": ["two"]},
                    "alb": {"ingress": "three", "ingresses": ["four"]},
                }
            }
        }
    )
    assert rollout_reference_keys(rollout) == {f"Ingress:shop/{n}" for n in ("one", "two", "three", "four")}


def test_malformed_specs_give_no_keys_and_never_raise() -> None:
    for strategy in ({"canary": {"steps": "nope"}}, {"canary": {"steps": [None, 3, {"analysis": "x"}]}}, {"x": 1}):
        assert rollout_reference_keys(_rollout(strategy)) == set()
    assert rollout_reference_keys({}) == set()


def test_an_informer_object_is_keyed_by_the_informer_kind_since_list_items_may_lack_it() -> None:
    assert object_reference_key("AnalysisTemplate", {"metadata": {"namespace": "shop", "name": "a"}}) == (
        reference_key("AnalysisTemplate", "shop", "a")
    )
    assert object_reference_key("ClusterAnalysisTemplate", {"metadata": {"name": "c"}}) == "ClusterAnalysisTemplate:c"


def test_a_template_references_the_templates_it_includes() -> None:
    template = {
        "metadata": {"namespace": "shop", "name": "outer"},
        "spec": {"templates": [{"templateName": "inner"}, {"templateName": "c", "clusterScope": True}]},
    }
    assert template_reference_keys(template) == {"AnalysisTemplate:shop/inner", "ClusterAnalysisTemplate:c"}


def test_routing_objects_of_every_router_are_references() -> None:
    routing = {
        "istio": {
            "virtualService": {"name": "vs"},
            "virtualServices": [{"name": "other.mesh"}, {"name": "far.mesh.cluster.local"}],
            "destinationRule": {"name": "rule", "canarySubsetName": "c", "stableSubsetName": "s"},
        },
        "gatewayAPI": {"httpRoute": "http", "grpcRoutes": [{"name": "grpc"}], "namespace": "gw"},
        "plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": "plugin-http"}},
        "traefik": {"weightedTraefikServiceName": "weighted"},
        "ambassador": {"mappings": ["m1", "m2"]},
        "apisix": {"route": {"name": "apisix"}},
    }
    keys = rollout_reference_keys(_rollout({"canary": {"trafficRouting": routing}}))
    assert keys == {
        "VirtualService:shop/vs",
        "VirtualService:mesh/other",
        "VirtualService:mesh/far",
        "DestinationRule:shop/rule",
        "HTTPRoute:gw/http",
        "GRPCRoute:gw/grpc",
        "HTTPRoute:shop/plugin-http",
        "TraefikService:shop/weighted",
        "Mapping:shop/m1",
        "Mapping:shop/m2",
        "ApisixRoute:shop/apisix",
    }
