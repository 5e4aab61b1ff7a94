"""Rules of the canary steps: what each step needs from traffic routing, managed routes, string matches,
experiment weights, analysis arguments, and the step kinds Ramp does not run (plugin steps).

Part of the Rollout validation (`ramp.rollout.validation` is the entry point; `ramp.rollout.validation_canary`
calls `check_steps`). The schema rules of a step (one action, setWeight 0..maxTrafficWeight, pause durations)
are checked when the manifest is parsed (`ramp.api.steps`). Which routers do header and mirror routes comes from
the router registry (`ramp.traffic.registry`), so a new router's abilities count at once. Messages start with
upstream's known string where there is one (pkg/apis/rollouts/validation); the fix follows. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ramp.api import Problem, Rollout
from ramp.api.durations import parse_duration
from ramp.api.rollout_analysis import AnalysisRunArgument
from ramp.api.steps import CanaryStep, StringMatch
from ramp.api.strategy import CanaryStrategy
from ramp.api.traffic import GATEWAY_API_PLUGIN, RolloutTrafficRouting, configured_routers
from ramp.traffic.registry import is_supporting, routers_supporting

CANARY = "spec.strategy.canary"
ROUTING = f"{CANARY}.trafficRouting"
SET_CANARY_SCALE_WITHOUT_ROUTING = "SetCanaryScale requires TrafficRouting to be set"
SET_HEADER_ROUTE_WITHOUT_ROUTING = "SetHeaderRoute requires TrafficRouting"
SET_MIRROR_ROUTE_WITHOUT_ROUTING = "SetMirrorRoute requires TrafficRouting"
MANAGED_ROUTES_MISSING = "Rollout has missing field 'spec.strategy.canary.trafficRouting.managedRoutes'"
ROUTE_NOT_IN_MANAGED_ROUTES = (
    "Steps define a route that does not exist in spec.strategy.canary.trafficRouting.managedRoutes"
)
STRING_MATCH_SEVERAL = "StringMatch match value must have exactly one of the following: exact, regex, prefix"
STRING_MATCH_MISSING = "StringMatch value missed, match value must have one of the following: exact, regex, prefix"
ALB_HEADER_VALUE = "SetHeaderRoute match value invalid. ALB supports 'exact' value only"
EXPERIMENT_WEIGHT_WITHOUT_ROUTING = "Experiment template weight cannot be set unless TrafficRouting is enabled"
EXPERIMENT_WEIGHT_ROUTERS = (
    "Experiment template weight is only available for TrafficRouting with SMI, ALB, Istio and Plugins at this time"
)
ANALYSIS_ARGS_METADATA = "Analyses arguments must refer to valid object metadata supported by downwardAPI"

_FEATURES = {"setHeaderRoute": "set_header_route", "setMirrorRoute": "set_mirror_route"}
_MISSING_ROUTING = {
    "setHeaderRoute": SET_HEADER_ROUTE_WITHOUT_ROUTING,
    "setMirrorRoute": SET_MIRROR_ROUTE_WITHOUT_ROUTING,
}
_WEIGHTED_EXPERIMENT_ROUTERS = ("alb", "smi", "istio", "gatewayAPI", f"plugins/{GATEWAY_API_PLUGIN}")
_METADATA_FIELD = re.compile(
    r"metadata\.(name|namespace|uid|labels|annotations)"
    r"|metadata\.(labels|annotations)\['[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?'\]"
)
_POD_TEMPLATE_HASH_VALUES = ("Stable", "Latest")


def uses_gateway_api(routing: RolloutTrafficRouting) -> bool:
    """True when Gateway API routes traffic: Ramp's native field or upstream's plugin form."""
    return routing.gateway_api is not None or GATEWAY_API_PLUGIN in (routing.plugins or {})


def check_steps(rollout: Rollout, canary: CanaryStrategy) -> list[Problem]:
    """Every problem of `spec.strategy.canary.steps` (and of the background analysis's arguments)."""
    problems: list[Problem] = []
    missing_managed_routes = False
    for index, step in enumerate(canary.steps or []):
        where = f"{CANARY}.steps[{index}]"
        if step.plugin is not None:
            problems.append(
                Problem(
                    f"{where}.plugin",
                    f'step plugin "{step.plugin.name}" is not supported by Ramp (it runs no step plugins); '
                    "remove the step or replace it with a built-in step (setWeight, pause, analysis, ...)",
                )
            )
        if step.set_canary_scale is not None and canary.traffic_routing is None:
            problems.append(
                Problem(
                    f"{where}.setCanaryScale",
                    f"{SET_CANARY_SCALE_WITHOUT_ROUTING}; add {ROUTING} or remove the step",
                )
            )
        route_problems, lacks_managed = _check_routes(canary, step, where)
        problems += route_problems
        missing_managed_routes = missing_managed_routes or lacks_managed
        problems += _check_experiment(canary, step, where)
        for at, arguments in _step_arguments(step, where):
            problems += _check_arguments(arguments, at)
    if missing_managed_routes:
        problems.append(
            Problem(
                f"{ROUTING}.managedRoutes",
                f"{MANAGED_ROUTES_MISSING}; list there the name of each setHeaderRoute and setMirrorRoute step",
            )
        )
    if canary.analysis is not None:
        problems += _check_arguments(canary.analysis.args or [], f"{CANARY}.analysis.args")
    return problems


def _check_routes(canary: CanaryStrategy, step: CanaryStep, where: str) -> tuple[list[Problem], bool]:
    """setHeaderRoute/setMirrorRoute: a router that does them, a managed route of that name, valid matches.
    Also says whether managedRoutes is missing altogether (reported once)."""
    routing = canary.traffic_routing
    problems: list[Problem] = []
    lacks_managed = False
    for kind, route in (("setHeaderRoute", step.set_header_route), ("setMirrorRoute", step.set_mirror_route)):
        if route is None:
            continue
        able = ", ".join(routers_supporting(_FEATURES[kind]))
        if routing is None:
            problems.append(Problem(f"{where}.{kind}", f"{_MISSING_ROUTING[kind]}; add {ROUTING} with one of {able}"))
            continue
        unable = [key for key in configured_routers(routing) if not is_supporting(key, _FEATURES[kind])]
        if unable:
            names = ", ".join(key.replace("plugins/", "plugins.", 1) for key in unable)
            problems.append(
                Problem(
                    f"{where}.{kind}",
                    f"{_MISSING_ROUTING[kind]} with a router that supports it; {names} does not: use one of "
                    f"{able}, or remove the step",
                )
            )
        if routing.managed_routes is None:
            lacks_managed = True
        elif route.name not in {managed.name for managed in routing.managed_routes}:
            problems.append(
                Problem(
                    f"{where}.{kind}.name",
                    f"{ROUTE_NOT_IN_MANAGED_ROUTES}: {route.name!r}; add {{name: {route.name}}} to "
                    f"{ROUTING}.managedRoutes",
                )
            )
    header = step.set_header_route
    if header is not None and routing is not None:
        for index, match in enumerate(header.match or []):
            at = f"{where}.setHeaderRoute.match[{index}].headerValue"
            if routing.alb is not None and match.header_value.regex:
                problems.append(
                    Problem(at, f"{ALB_HEADER_VALUE}; ALB has no regular expressions: use exact (or prefix)")
                )
            else:
                problems += _check_string_match(match.header_value, at)
    mirror = step.set_mirror_route
    if mirror is not None:
        for index, request in enumerate(mirror.match or []):
            at = f"{where}.setMirrorRoute.match[{index}]"
            if request.method is not None:
                problems += _check_string_match(request.method, f"{at}.method")
            if request.path is not None:
                problems += _check_string_match(request.path, f"{at}.path")
            for name, value in (request.headers or {}).items():
                problems += _check_string_match(value, f"{at}.headers.{name}")
        if mirror.percentage is not None and not 0 <= mirror.percentage <= 100:
            problems.append(
                Problem(f"{where}.setMirrorRoute.percentage", f"must be 0-100, got {mirror.percentage}; use 0-100")
            )
    return problems, lacks_managed


def _check_string_match(match: StringMatch, where: str) -> list[Problem]:
    count = sum(1 for value in (match.exact, match.prefix, match.regex) if value)
    if count > 1:
        return [Problem(where, f"{STRING_MATCH_SEVERAL}; keep one of them")]
    if count == 0:
        return [Problem(where, f"{STRING_MATCH_MISSING}; set one of them")]
    return []


def _check_experiment(canary: CanaryStrategy, step: CanaryStep, where: str) -> list[Problem]:
    if step.experiment is None:
        return []
    routing = canary.traffic_routing
    problems: list[Problem] = []
    duration = step.experiment.duration
    if duration and parse_duration(duration).total_seconds() < 0:
        problems.append(
            Problem(
                f"{where}.experiment.duration",
                f"Duration needs to be greater than 0, got {duration!r}; use a duration such as 10m, or none to run "
                "until the analyses finish",
            )
        )
    for index, template in enumerate(step.experiment.templates):
        if template.weight is None:
            continue
        at = f"{where}.experiment.templates[{index}].weight"
        if routing is None:
            problems.append(Problem(at, f"{EXPERIMENT_WEIGHT_WITHOUT_ROUTING}; add {ROUTING} or remove the weight"))
        elif not any(key in _WEIGHTED_EXPERIMENT_ROUTERS for key in configured_routers(routing)):
            problems.append(
                Problem(at, f"{EXPERIMENT_WEIGHT_ROUTERS}; use alb, smi, istio or gatewayAPI, or remove the weight")
            )
    return problems


def _step_arguments(step: CanaryStep, where: str) -> list[tuple[str, list[AnalysisRunArgument]]]:
    """(path, arguments) of the step's analysis and of its experiment's analyses."""
    found = [(f"{where}.analysis.args", list(step.analysis.args or []))] if step.analysis is not None else []
    if step.experiment is not None:
        found += [
            (f"{where}.experiment.analyses[{index}].args", list(analysis.args or []))
            for index, analysis in enumerate(step.experiment.analyses or [])
        ]
    return found


def _check_arguments(arguments: list[AnalysisRunArgument], where: str) -> list[Problem]:
    """Argument sources: one of value and valueFrom; a Rollout field the downward API can read."""
    return list(_argument_problems(arguments, where))


def _argument_problems(arguments: list[AnalysisRunArgument], where: str) -> Iterator[Problem]:
    for argument in arguments:
        source = argument.value_from
        if source is None:
            continue
        if argument.value is not None:
            yield Problem(where, f"argument {argument.name!r} has both value and valueFrom; keep one of them")
        if source.field_ref is not None:
            path = source.field_ref.field_path
            if path.startswith("metadata") and not _METADATA_FIELD.fullmatch(path):
                yield Problem(
                    where,
                    f"{ANALYSIS_ARGS_METADATA}: argument {argument.name!r} reads {path!r}; use metadata.name, "
                    "metadata.namespace, metadata.uid, metadata.labels['key'] or metadata.annotations['key']",
                )
        hash_value = source.pod_template_hash_value
        if hash_value is not None and hash_value not in _POD_TEMPLATE_HASH_VALUES:
            yield Problem(
                where,
                f"argument {argument.name!r}: valueFrom.podTemplateHashValue must be Stable or Latest, "
                f"got {hash_value!r}",
            )
        if source.field_ref is None and hash_value is None:
            yield Problem(where, f"argument {argument.name!r}: valueFrom needs podTemplateHashValue or fieldRef")
