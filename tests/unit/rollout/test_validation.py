"""Every Rollout validation rule, one row each (named after the rule): the field it names and how its message
starts (upstream's message where upstream has one). Rules enforced while parsing (`ramp.api`) and those of
`ramp.rollout.validation` are checked through `check_rollout`, which `ramp lint` and the controller share."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from ramp.api import parse_rollout
from ramp.cli.lint import lint_text
from ramp.providers.registry import check_template_providers
from ramp.rollout.validation import check_rollout, validate_rollout

Obj = dict[str, Any]
Change = Callable[[Obj], None]


def base() -> Obj:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web", "namespace": "ns"},
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
            },
            "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}},
        },
    }


ISTIO = {"istio": {"virtualService": {"name": "vs"}}}


def spec(**fields: Any) -> Change:
    def change(manifest: Obj) -> None:
        for key, value in fields.items():
            if value is None:
                manifest["spec"].pop(key, None)
            else:
                manifest["spec"][key] = value

    return change


def canary(**fields: Any) -> Change:
    def change(manifest: Obj) -> None:
        manifest["spec"]["strategy"]["canary"].update(fields)

    return change


def routed(routing: Obj | None = None, **fields: Any) -> Change:
    """A canary routed by `routing` (Istio by default), with its two Services, and `fields`."""
    settings = {"stableService": "stable", "canaryService": "canary", "trafficRouting": routing or ISTIO}
    return canary(**(settings | fields))


def steps(*items: Obj, routing: Obj | None = None, managed: list[str] | None = None) -> Change:
    def change(manifest: Obj) -> None:
        strategy = manifest["spec"]["strategy"]["canary"]
        strategy["steps"] = list(items)
        if routing is not None:
            strategy.update(stableService="stable", canaryService="canary", trafficRouting=copy.deepcopy(routing))
            if managed is not None:
                strategy["trafficRouting"]["managedRoutes"] = [{"name": name} for name in managed]

    return change


def blue_green(**fields: Any) -> Change:
    def change(manifest: Obj) -> None:
        manifest["spec"]["strategy"] = {"blueGreen": {"activeService": "active", "previewService": "preview", **fields}}

    return change


def pod(**fields: Any) -> Change:
    def change(manifest: Obj) -> None:
        manifest["spec"]["template"]["spec"].update(fields)

    return change


def both(*changes: Change) -> Change:
    def change(manifest: Obj) -> None:
        for each in changes:
            each(manifest)

    return change


HEADER = {"setHeaderRoute": {"name": "h", "match": [{"headerName": "x", "headerValue": {"exact": "1"}}]}}
MIRROR = {"setMirrorRoute": {"name": "m", "match": [{"method": {"exact": "GET"}}], "percentage": 50}}
EXPERIMENT = {"experiment": {"templates": [{"name": "a", "specRef": "canary", "weight": 10}]}}
NGINX = {"nginx": {"stableIngress": "web"}}
ALB = {"alb": {"ingress": "web", "servicePort": 80}}
C = "spec.strategy.canary"
S = f"{C}.steps[0]"

# rule name -> (change to a valid Rollout, the field named, how the message starts)
RULES: dict[str, tuple[Change, str, str]] = {
    # spec
    "replicas-negative": (spec(replicas=-1), "spec.replicas", "must be greater than or equal to 0"),
    "min-ready-seconds-negative": (spec(minReadySeconds=-1), "spec.minReadySeconds", "must be greater than or equal"),
    "revision-history-limit-negative": (
        spec(revisionHistoryLimit=-1),
        "spec.revisionHistoryLimit",
        "must be greater than or equal to 0",
    ),
    "progress-deadline-negative": (
        spec(progressDeadlineSeconds=-5),
        "spec.progressDeadlineSeconds",
        "must be greater than or equal to 0",
    ),
    "progress-deadline-not-above-min-ready": (
        spec(progressDeadlineSeconds=30, minReadySeconds=30),
        "spec.progressDeadlineSeconds",
        "must be greater than minReadySeconds",
    ),
    "progress-deadline-default-not-above-min-ready": (
        spec(minReadySeconds=600),
        "spec.progressDeadlineSeconds",
        "must be greater than minReadySeconds",
    ),
    "selector-missing": (spec(selector=None), "spec.selector", "Rollout has missing field '.spec.selector'"),
    "selector-empty": (spec(selector={}), "spec.selector", "empty selector is invalid for deployment"),
    "selector-unknown-operator": (
        spec(selector={"matchExpressions": [{"key": "app", "operator": "Is", "values": ["web"]}]}),
        "spec.selector.matchExpressions[0].operator",
        "invalid label selector",
    ),
    "selector-in-without-values": (
        spec(selector={"matchExpressions": [{"key": "app", "operator": "In"}]}),
        "spec.selector.matchExpressions[0].values",
        "invalid label selector",
    ),
    "selector-exists-with-values": (
        spec(selector={"matchExpressions": [{"key": "app", "operator": "Exists", "values": ["web"]}]}),
        "spec.selector.matchExpressions[0].values",
        "invalid label selector",
    ),
    "selector-not-matching-template-labels": (
        spec(selector={"matchLabels": {"app": "other"}}),
        "spec.selector",
        "`selector` does not match template `labels`",
    ),
    "template-with-workload-ref": (
        spec(workloadRef={"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}),
        "spec.template",
        "template must be empty for workload reference rollout",
    ),
    "template-missing": (spec(template=None), "spec.template", "required"),
    "template-without-containers": (pod(containers=[]), "spec.template.spec.containers", "must have at least one"),
    "container-without-image": (
        pod(containers=[{"name": "app"}]),
        "spec.template.spec.containers[0].image",
        "required",
    ),
    "container-without-name": (pod(containers=[{"image": "x"}]), "spec.template.spec.containers[0].name", "required"),
    "container-names-duplicated": (
        pod(containers=[{"name": "app", "image": "x"}, {"name": "app", "image": "y"}]),
        "spec.template.spec.containers[1].name",
        "duplicate container name",
    ),
    "restart-policy-not-always": (
        pod(restartPolicy="Never"),
        "spec.template.spec.restartPolicy",
        'Unsupported value: "Never"',
    ),
    "strategy-missing": (
        spec(strategy={}),
        "spec.strategy",
        "Rollout has missing field '.spec.strategy.canary or .spec.strategy.blueGreen'",
    ),
    "strategy-canary-and-blue-green": (
        lambda m: m["spec"]["strategy"].update(blueGreen={"activeService": "active"}),
        "spec.strategy",
        "Multiple Strategies can not be listed",
    ),
    # blue-green
    "blue-green-active-service-missing": (
        lambda m: m["spec"].update(strategy={"blueGreen": {"previewService": "p"}}),
        "spec.strategy.blueGreen.activeService",
        "is required",
    ),
    "blue-green-active-and-preview-the-same": (
        blue_green(previewService="active"),
        "spec.strategy.blueGreen.activeService",
        "This rollout uses the same service for the active and preview services",
    ),
    "blue-green-preview-replica-count-negative": (
        blue_green(previewReplicaCount=-1),
        "spec.strategy.blueGreen.previewReplicaCount",
        "must be greater than or equal to 0",
    ),
    "blue-green-scale-down-revision-limit-above-history": (
        both(blue_green(scaleDownDelayRevisionLimit=3), spec(revisionHistoryLimit=2)),
        "spec.strategy.blueGreen.scaleDownDelayRevisionLimit",
        "This rollout's revision history limit can not be smaller than the rollout's scale down limit",
    ),
    "anti-affinity-preferred-and-required": (
        blue_green(
            antiAffinity={
                "preferredDuringSchedulingIgnoredDuringExecution": {"weight": 50},
                "requiredDuringSchedulingIgnoredDuringExecution": {},
            }
        ),
        "spec.strategy.blueGreen.antiAffinity",
        "AntiAffinity must have exactly one strategy listed",
    ),
    "anti-affinity-neither": (
        canary(antiAffinity={}),
        f"{C}.antiAffinity",
        "AntiAffinity must have exactly one strategy listed",
    ),
    "anti-affinity-weight-out-of-range": (
        canary(antiAffinity={"preferredDuringSchedulingIgnoredDuringExecution": {"weight": 0}}),
        f"{C}.antiAffinity.preferredDuringSchedulingIgnoredDuringExecution.weight",
        "AntiAffinity weight must be between 1-100",
    ),
    # canary
    "max-surge-and-max-unavailable-zero": (
        canary(maxSurge=0, maxUnavailable=0),
        f"{C}.maxSurge",
        "MaxSurge and MaxUnavailable both can not be zero",
    ),
    "max-surge-and-max-unavailable-zero-percent": (
        canary(maxSurge="0%", maxUnavailable=0),
        f"{C}.maxSurge",
        "MaxSurge and MaxUnavailable both can not be zero",
    ),
    "stable-and-canary-service-the-same": (
        canary(stableService="svc", canaryService="svc"),
        f"{C}.stableService",
        "This rollout uses the same service for the stable and canary services",
    ),
    "ping-pong-service-missing": (
        routed(
            ALB | {"alb": ALB["alb"] | {"rootService": "root"}},
            stableService="",
            canaryService="",
            pingPong={"pingService": "ping", "pongService": ""},
        ),
        f"{C}.pingPong.pongService",
        "Ping service and Pong service must to be set to use Ping-Pong feature",
    ),
    "ping-pong-services-the-same": (
        routed(
            {"alb": ALB["alb"] | {"rootService": "root"}},
            stableService="",
            canaryService="",
            pingPong={"pingService": "ping", "pongService": "ping"},
        ),
        f"{C}.pingPong.pingService",
        "This rollout uses the same service for the ping and pong services",
    ),
    "ping-pong-with-stable-and-canary-services": (
        routed({"alb": ALB["alb"] | {"rootService": "root"}}, pingPong={"pingService": "a", "pongService": "b"}),
        f"{C}.pingPong",
        "cannot be used with stableService/canaryService",
    ),
    "ping-pong-with-a-router-other-than-alb-istio-gateway-api": (
        routed({"smi": {}}, stableService="", canaryService="", pingPong={"pingService": "a", "pongService": "b"}),
        f"{C}.trafficRouting.alb",
        "Ping-pong feature works with the ALB, Istio, and plugin-based traffic routers only",
    ),
    "ping-pong-alb-without-root-service": (
        routed(ALB, stableService="", canaryService="", pingPong={"pingService": "a", "pongService": "b"}),
        f"{C}.trafficRouting.alb.rootService",
        "Root service field is required for the configuration with ALB and ping-pong feature enabled",
    ),
    "traffic-routing-without-services": (
        canary(trafficRouting=ISTIO),
        f"{C}.stableService",
        "Canary service and Stable service must to be set to use Traffic Routing",
    ),
    "scale-down-delay-without-traffic-routing": (
        canary(scaleDownDelaySeconds=30),
        f"{C}.scaleDownDelaySeconds",
        "Canary scaleDownDelaySeconds can only be used with traffic routing",
    ),
    "dynamic-stable-scale-without-traffic-routing": (
        canary(dynamicStableScale=True),
        f"{C}.dynamicStableScale",
        "Canary dynamicStableScale can only be used with traffic routing",
    ),
    "dynamic-stable-scale-with-scale-down-delay": (
        routed(dynamicStableScale=True, scaleDownDelaySeconds=10),
        f"{C}.dynamicStableScale",
        "Canary dynamicStableScale cannot be used with scaleDownDelaySeconds",
    ),
    "abort-scale-down-delay-without-traffic-routing": (
        canary(abortScaleDownDelaySeconds=30),
        f"{C}.abortScaleDownDelaySeconds",
        "can only be used with traffic routing",
    ),
    "min-pods-per-replica-set-without-traffic-routing": (
        canary(minPodsPerReplicaSet=2),
        f"{C}.minPodsPerReplicaSet",
        "can only be used with traffic routing",
    ),
    "traffic-routing-without-router": (routed({"managedRoutes": [{"name": "a"}]}), f"{C}.trafficRouting", "names no"),
    "router-not-supported": (
        routed({"appMesh": {}}),
        f"{C}.trafficRouting.appMesh",
        "this router is not supported by Ramp",
    ),
    "router-plugin-not-supported": (
        routed({"plugins": {"acme/router": {}}}),
        f"{C}.trafficRouting.plugins.acme/router",
        'router plugin "acme/router" is not supported by Ramp',
    ),
    "nginx-stable-ingress-and-stable-ingresses": (
        routed({"nginx": {"stableIngress": "a", "stableIngresses": ["b"]}}),
        f"{C}.trafficRouting.nginx",
        "Either StableIngress or StableIngresses must be configured. Both are configured.",
    ),
    "nginx-no-stable-ingress": (
        routed({"nginx": {}}),
        f"{C}.trafficRouting.nginx",
        "Either StableIngress or StableIngresses must be configured. Neither are configured.",
    ),
    "alb-ingress-and-ingresses": (
        routed({"alb": ALB["alb"] | {"ingresses": ["b"]}}),
        f"{C}.trafficRouting.alb",
        "Either Ingress or Ingresses must be configured. Both are configured.",
    ),
    "istio-virtual-service-and-virtual-services": (
        routed({"istio": {"virtualService": {"name": "a"}, "virtualServices": [{"name": "b"}]}}),
        f"{C}.trafficRouting.istio",
        "either VirtualService or VirtualServices must be configured",
    ),
    "managed-route-names-duplicated": (
        routed(ISTIO | {"managedRoutes": [{"name": "h"}, {"name": "h"}]}),
        f"{C}.trafficRouting.managedRoutes[1].name",
        "duplicate managed route name",
    ),
    # steps
    "step-empty": (steps({}), S, "Step must have one of the following set"),
    "step-with-two-actions": (steps({"setWeight": 20, "pause": {}}), S, "Step must have one of the following set"),
    "step-unknown": (steps({"setWieght": 20}), S, "unknown step setWieght"),
    "set-weight-above-100": (steps({"setWeight": 101}), f"{S}.setWeight", "SetWeight needs to be between 0 and 100"),
    "set-weight-negative": (steps({"setWeight": -1}), f"{S}.setWeight", "SetWeight needs to be between 0 and 100"),
    "set-weight-above-max-traffic-weight": (
        steps({"setWeight": 300}, routing=ISTIO | {"maxTrafficWeight": 200}),
        f"{S}.setWeight",
        "SetWeight needs to be between 0 and 200",
    ),
    "pause-duration-negative": (
        steps({"pause": {"duration": -5}}),
        f"{S}.pause.duration",
        "Duration needs to be greater than 0",
    ),
    "pause-duration-invalid": (
        steps({"pause": {"duration": "5 minutes"}}),
        f"{S}.pause.duration",
        "must be a number of seconds or a duration",
    ),
    "set-canary-scale-without-traffic-routing": (
        steps({"setCanaryScale": {"weight": 20}}),
        f"{S}.setCanaryScale",
        "SetCanaryScale requires TrafficRouting to be set",
    ),
    "set-header-route-without-traffic-routing": (
        steps(HEADER),
        f"{S}.setHeaderRoute",
        "SetHeaderRoute requires TrafficRouting",
    ),
    "set-header-route-with-a-router-without-header-routes": (
        steps(HEADER, routing={"smi": {}}, managed=["h"]),
        f"{S}.setHeaderRoute",
        "SetHeaderRoute requires TrafficRouting with a router that supports it; smi does not",
    ),
    "set-mirror-route-without-traffic-routing": (
        steps(MIRROR),
        f"{S}.setMirrorRoute",
        "SetMirrorRoute requires TrafficRouting",
    ),
    "set-mirror-route-with-a-router-without-mirror-routes": (
        steps(MIRROR, routing=NGINX, managed=["m"]),
        f"{S}.setMirrorRoute",
        "SetMirrorRoute requires TrafficRouting with a router that supports it; nginx does not",
    ),
    "route-step-without-managed-routes": (
        steps(HEADER, routing=ISTIO),
        f"{C}.trafficRouting.managedRoutes",
        "Rollout has missing field 'spec.strategy.canary.trafficRouting.managedRoutes'",
    ),
    "header-route-not-in-managed-routes": (
        steps(HEADER, routing=ISTIO, managed=["other"]),
        f"{S}.setHeaderRoute.name",
        "Steps define a route that does not exist in spec.strategy.canary.trafficRouting.managedRoutes",
    ),
    "mirror-route-not-in-managed-routes": (
        steps(MIRROR, routing=ISTIO, managed=["other"]),
        f"{S}.setMirrorRoute.name",
        "Steps define a route that does not exist in spec.strategy.canary.trafficRouting.managedRoutes",
    ),
    "header-match-with-two-values": (
        steps(
            {
                "setHeaderRoute": {
                    "name": "h",
                    "match": [{"headerName": "x", "headerValue": {"exact": "1", "prefix": "2"}}],
                }
            },
            routing=ISTIO,
            managed=["h"],
        ),
        f"{S}.setHeaderRoute.match[0].headerValue",
        "StringMatch match value must have exactly one of the following: exact, regex, prefix",
    ),
    "header-match-without-value": (
        steps(
            {"setHeaderRoute": {"name": "h", "match": [{"headerName": "x", "headerValue": {}}]}},
            routing=ISTIO,
            managed=["h"],
        ),
        f"{S}.setHeaderRoute.match[0].headerValue",
        "StringMatch value missed, match value must have one of the following: exact, regex, prefix",
    ),
    "alb-header-match-regex": (
        steps(
            {"setHeaderRoute": {"name": "h", "match": [{"headerName": "x", "headerValue": {"regex": "a.*"}}]}},
            routing=ALB,
            managed=["h"],
        ),
        f"{S}.setHeaderRoute.match[0].headerValue",
        "SetHeaderRoute match value invalid. ALB supports 'exact' value only",
    ),
    "mirror-match-with-two-values": (
        steps(
            {"setMirrorRoute": {"name": "m", "match": [{"path": {"exact": "/", "regex": "/.*"}}]}},
            routing=ISTIO,
            managed=["m"],
        ),
        f"{S}.setMirrorRoute.match[0].path",
        "StringMatch match value must have exactly one of the following",
    ),
    "mirror-percentage-out-of-range": (
        steps(
            MIRROR | {"setMirrorRoute": MIRROR["setMirrorRoute"] | {"percentage": 101}}, routing=ISTIO, managed=["m"]
        ),
        f"{S}.setMirrorRoute.percentage",
        "must be 0-100",
    ),
    "experiment-duration-invalid": (
        steps({"experiment": {"duration": "ten minutes", "templates": [{"name": "a", "specRef": "canary"}]}}),
        f"{S}.experiment.duration",
        "must be a duration such as",
    ),
    "experiment-duration-negative": (
        steps({"experiment": {"duration": "-5m", "templates": [{"name": "a", "specRef": "canary"}]}}),
        f"{S}.experiment.duration",
        "Duration needs to be greater than 0",
    ),
    "experiment-weight-without-traffic-routing": (
        steps(EXPERIMENT),
        f"{S}.experiment.templates[0].weight",
        "Experiment template weight cannot be set unless TrafficRouting is enabled",
    ),
    "experiment-weight-with-a-router-without-weighted-destinations": (
        steps(EXPERIMENT, routing=NGINX),
        f"{S}.experiment.templates[0].weight",
        "Experiment template weight is only available for TrafficRouting with SMI, ALB, Istio and Plugins",
    ),
    "analysis-argument-reading-unsupported-metadata": (
        steps(
            {
                "analysis": {
                    "templates": [{"templateName": "t"}],
                    "args": [{"name": "a", "valueFrom": {"fieldRef": {"fieldPath": "metadata.generation"}}}],
                }
            }
        ),
        f"{S}.analysis.args",
        "Analyses arguments must refer to valid object metadata supported by downwardAPI",
    ),
    "analysis-argument-value-and-value-from": (
        canary(
            analysis={
                "templates": [{"templateName": "t"}],
                "args": [{"name": "a", "value": "x", "valueFrom": {"podTemplateHashValue": "Stable"}}],
            }
        ),
        f"{C}.analysis.args",
        "argument 'a' has both value and valueFrom",
    ),
    "analysis-argument-unknown-pod-template-hash-value": (
        steps(
            {
                "experiment": {
                    "templates": [{"name": "a", "specRef": "canary"}],
                    "analyses": [
                        {
                            "name": "x",
                            "templateName": "t",
                            "args": [{"name": "a", "valueFrom": {"podTemplateHashValue": "Newest"}}],
                        }
                    ],
                }
            }
        ),
        f"{S}.experiment.analyses[0].args",
        "argument 'a': valueFrom.podTemplateHashValue must be Stable or Latest",
    ),
    "plugin-step": (
        steps({"plugin": {"name": "acme/step", "config": {}}}),
        f"{S}.plugin",
        'step plugin "acme/step" is not supported by Ramp',
    ),
}


def test_the_base_rollout_is_valid() -> None:
    assert check_rollout(base()) == []


@pytest.mark.parametrize("rule", list(RULES))
def test_rule(rule: str) -> None:
    change, field, start = RULES[rule]
    manifest = base()
    change(manifest)
    problems = check_rollout(manifest)
    found = [p for p in problems if p.path == field]
    assert found, (rule, [str(p) for p in problems])
    assert any(p.message.startswith(start) for p in found), (rule, [str(p) for p in found])


@pytest.mark.parametrize(
    "fixed",
    [
        pytest.param(
            routed(pingPong={"pingService": "a", "pongService": "b"}, stableService="", canaryService=""),
            id="ping-pong-with-istio",
        ),
        pytest.param(routed({"plugins": {"argoproj-labs/gatewayAPI": {"httpRoute": "web"}}}), id="gateway-api-plugin"),
        pytest.param(
            steps(HEADER, MIRROR, routing={"gatewayAPI": {"httpRoute": "web"}}, managed=["h", "m"]),
            id="routes-on-gateway-api",
        ),
        pytest.param(steps(EXPERIMENT, routing=ISTIO), id="weighted-experiment-on-istio"),
        pytest.param(routed(NGINX | {"maxTrafficWeight": 1000}), id="max-traffic-weight-on-nginx"),
        pytest.param(
            routed(scaleDownDelaySeconds=10, abortScaleDownDelaySeconds=0, minPodsPerReplicaSet=2), id="routed-delays"
        ),
        pytest.param(canary(maxSurge=0, maxUnavailable=1), id="surge-zero-unavailable-one"),
        pytest.param(
            steps(
                {
                    "analysis": {
                        "templates": [{"templateName": "t"}],
                        "args": [{"name": "a", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}}],
                    }
                }
            ),
            id="argument-from-a-label",
        ),
    ],
)
def test_close_to_a_rule_but_valid(fixed: Change) -> None:
    manifest = base()
    fixed(manifest)
    assert check_rollout(manifest) == []


def test_validate_rollout_checks_the_workload_template_in_effect() -> None:
    manifest = base()
    spec(template=None, workloadRef={"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"})(manifest)
    rollout = parse_rollout(manifest)
    workload_template = {
        "metadata": {"labels": {"app": "other"}},
        "spec": {"containers": [{"name": "a", "image": "x"}]},
    }
    problems = validate_rollout(rollout, workload_template)
    assert [p.path for p in problems] == ["spec.selector"]


def test_lint_prints_the_same_problem_as_the_controller() -> None:
    manifest = base()
    RULES["strategy-canary-and-blue-green"][0](manifest)
    (problem,) = check_rollout(manifest)
    assert lint_text(yaml.safe_dump(manifest)) == [f'Rollout "web": {problem}']


def test_metrics_measured_by_a_provider_ramp_does_not_have_are_named() -> None:
    template = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "t"},
        "spec": {
            "metrics": [
                {"name": "ok", "provider": {"prometheus": {"address": "http://p", "query": "1"}}},
                {"name": "judge", "provider": {"plugin": {"ramp/judge": {}}}},
                {"name": "plugin", "provider": {"plugin": {"acme/metric": {}}}},
                {"name": "kayenta", "provider": {"kayenta": {}}},
                {"name": "apm", "provider": {"newRelicAPM": {}}},
            ]
        },
    }
    problems = [str(p) for p in check_template_providers(template)]
    assert [p.split(":")[0] for p in problems] == [
        'spec.metrics[2].provider.plugin["acme/metric"]',
        "spec.metrics[4].provider.newRelicAPM",
    ]
    assert 'metric plugin "acme/metric" is not supported by Ramp' in problems[0]
    lines = lint_text(yaml.safe_dump(template))
    assert any('metric plugin "acme/metric" is not supported' in line for line in lines)


# -- inputs that used to raise past validation (issue 13): each is a problem naming its field -------------------


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda m: m["spec"].__setitem__("replicas", 2**40), "spec.replicas"),
        (lambda m: m["spec"].__setitem__("revisionHistoryLimit", 2**31), "spec.revisionHistoryLimit"),
        (
            lambda m: m["spec"]["strategy"]["canary"].__setitem__("maxUnavailable", "abc%"),
            "spec.strategy.canary.maxUnavailable",
        ),
        (lambda m: m["spec"]["strategy"]["canary"].__setitem__("maxSurge", "-50%"), "spec.strategy.canary.maxSurge"),
        (lambda m: m["spec"]["template"]["spec"].__setitem__("containers", "nginx"), "spec.template.spec.containers"),
        (lambda m: m["spec"]["template"].__setitem__("spec", "nginx"), "spec.template.spec"),
        (
            lambda m: m["spec"]["template"]["spec"]["containers"][0].__setitem__(
                "resources", {"limits": {"cpu": "1e1000000"}}
            ),
            "spec.template.spec.containers[0].resources.limits.cpu",
        ),
        (
            lambda m: m["spec"]["strategy"]["canary"]["steps"][1].__setitem__("pause", {"duration": "9" * 400 + "h"}),
            "spec",
        ),
    ],
    ids=[
        "replicas-2^40",
        "history-2^31",
        "max-unavailable-abc%",
        "max-surge--50%",
        "containers-string",
        "pod-spec-string",
        "cpu-1e1000000",
        "pause-overflow",
    ],
)
def test_inputs_that_used_to_raise_are_problems_naming_the_field(change: Change, path: str) -> None:
    manifest = base()
    change(manifest)
    problems = check_rollout(manifest)
    assert any(problem.path.startswith(path) for problem in problems), problems


def test_blue_green_max_unavailable_must_be_a_count_or_percentage() -> None:
    manifest = base()
    manifest["spec"]["strategy"] = {"blueGreen": {"activeService": "active", "maxUnavailable": "x%"}}
    assert [p.path for p in check_rollout(manifest)] == ["spec.strategy.blueGreen.maxUnavailable"]


def test_a_count_beyond_int32_says_so_and_the_fix() -> None:
    manifest = base()
    manifest["spec"]["replicas"] = 2**40
    (problem,) = check_rollout(manifest)
    assert problem.path == "spec.replicas"
    assert problem.message.startswith("must fit in 32 bits (-2147483648 to 2147483647)")
