"""Checks on a Rollout beyond its schema: the rules that make a spec impossible to carry out.

`ramp.api` parses a manifest field by field; this module looks at fields together (selector against template
labels, setCanaryScale against trafficRouting, ...). Each problem names the field and the fix. The reconciler
turns problems into the InvalidSpec condition and changes nothing else; `ramp lint` prints the same problems.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ramp.api import Problem, Rollout
from ramp.api.meta import resolve_int_or_percent
from ramp.api.strategy import CanaryStrategy
from ramp.api.traffic import RolloutTrafficRouting, configured_routers
from ramp.traffic.registry import describe_unsupported, unsupported_routers


def validate_rollout(rollout: Rollout, template: Mapping[str, Any] | None = None) -> list[Problem]:
    """Every semantic problem of a parsed Rollout. `template` is the pod template in effect (the workload's
    when `spec.workloadRef` is used); by default the Rollout's own."""
    spec = rollout.spec
    problems: list[Problem] = []
    raw_template = spec.template
    if spec.workload_ref is not None and raw_template:
        problems.append(Problem("spec.template", "must be empty when spec.workloadRef is set; remove one of them"))
    if spec.workload_ref is None and not raw_template:
        problems.append(Problem("spec.template", "required: give a pod template (or spec.workloadRef)"))
    effective = template if template is not None else raw_template
    problems += _check_selector(rollout, effective)
    problems += _check_containers(effective)
    problems += _check_strategy(rollout)
    if (
        spec.progress_deadline_seconds is not None
        and spec.progress_deadline_seconds <= spec.effective_min_ready_seconds
    ):
        problems.append(
            Problem("spec.progressDeadlineSeconds", "must be greater than spec.minReadySeconds; raise it or lower that")
        )
    if spec.replicas is not None and spec.replicas < 0:
        problems.append(Problem("spec.replicas", f"must be 0 or more, got {spec.replicas}"))
    return problems


def _check_selector(rollout: Rollout, template: Mapping[str, Any] | None) -> list[Problem]:
    selector = rollout.spec.selector
    if selector is None:
        if rollout.spec.workload_ref is not None:
            return []  # the workload's selector is used
        return [Problem("spec.selector", "required: a label selector matching spec.template.metadata.labels")]
    if not selector.match_labels and not selector.match_expressions:
        return [Problem("spec.selector", "empty selector is invalid: give matchLabels matching the pod template")]
    if template is None:
        return []
    labels = ((template.get("metadata") or {}).get("labels")) or {}
    if not is_selector_matching(selector.model_dump(by_alias=True, exclude_none=True), labels):
        return [
            Problem(
                "spec.selector",
                "does not match the template labels (spec.template.metadata.labels); make every matchLabels pair "
                "a template label",
            )
        ]
    return []


def is_selector_matching(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Kubernetes label-selector semantics over a pod template's labels."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for term in selector.get("matchExpressions") or []:
        key, operator, values = term.get("key"), term.get("operator"), term.get("values") or []
        present = key in labels
        if operator == "In" and (not present or labels[key] not in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _check_containers(template: Mapping[str, Any] | None) -> list[Problem]:
    if template is None:
        return []
    containers = (template.get("spec") or {}).get("containers") or []
    if not containers:
        return [Problem("spec.template.spec.containers", "must have at least one container")]
    return [
        Problem(f"spec.template.spec.containers[{i}].image", "required: the container image to run")
        for i, container in enumerate(containers)
        if not container.get("image")
    ]


def _check_strategy(rollout: Rollout) -> list[Problem]:
    strategy = rollout.spec.strategy
    if strategy is None or (strategy.canary is None and strategy.blue_green is None):
        return [Problem("spec.strategy", "required: set canary or blueGreen")]
    blue_green = strategy.blue_green
    if blue_green is not None and strategy.canary is None:
        return _check_blue_green(rollout)
    canary = strategy.canary
    if canary is None:
        return []
    problems: list[Problem] = []
    replicas = rollout.spec.effective_replicas
    surge = resolve_int_or_percent(canary.effective_max_surge, replicas, round_up=True)
    unavailable = resolve_int_or_percent(canary.effective_max_unavailable, replicas, round_up=False)
    if canary.max_surge is not None and canary.max_unavailable is not None and surge == 0 and unavailable == 0:
        problems.append(
            Problem("spec.strategy.canary.maxUnavailable", "may not be 0 when maxSurge is 0; allow one of them")
        )
    if canary.canary_service and canary.canary_service == canary.stable_service:
        problems.append(
            Problem("spec.strategy.canary.stableService", "must differ from canaryService; use two Services")
        )
    routing = canary.traffic_routing
    routed = routing is not None
    if routing is not None:
        problems.extend(_check_routing(canary, routing))
    managed = {route.name for route in (routing.managed_routes or [])} if routing is not None else set()
    for index, step in enumerate(canary.steps or []):
        where = f"spec.strategy.canary.steps[{index}]"
        if step.set_canary_scale is not None and not routed:
            problems.append(
                Problem(f"{where}.setCanaryScale", "requires spec.strategy.canary.trafficRouting; remove the step")
            )
        for kind, route in (("setHeaderRoute", step.set_header_route), ("setMirrorRoute", step.set_mirror_route)):
            if route is None:
                continue
            if not routed:
                problems.append(Problem(f"{where}.{kind}", "requires spec.strategy.canary.trafficRouting"))
            elif route.name not in managed:
                problems.append(
                    Problem(
                        f"{where}.{kind}.name",
                        f"{route.name!r} is not in spec.strategy.canary.trafficRouting.managedRoutes; add it there",
                    )
                )
    return problems


def _check_routing(canary: CanaryStrategy, routing: RolloutTrafficRouting) -> list[Problem]:
    """A router needs the two Services it shifts traffic between (or pingPong), and must be one Ramp drives."""
    problems: list[Problem] = []
    keys = configured_routers(routing)
    # Istio subset-level splitting routes to DestinationRule subsets of one host: no Services needed (upstream).
    subset_only = keys == ["istio"] and routing.istio is not None and routing.istio.destination_rule is not None
    if canary.ping_pong is None:
        for field_name, value in (("stableService", canary.stable_service), ("canaryService", canary.canary_service)):
            if not value and not subset_only:
                problems.append(
                    Problem(
                        f"spec.strategy.canary.{field_name}",
                        "required with trafficRouting: the Service the router sends the "
                        f"{field_name.removesuffix('Service')} share to (or use pingPong)",
                    )
                )
    elif canary.stable_service or canary.canary_service:
        problems.append(
            Problem("spec.strategy.canary.pingPong", "cannot be used with stableService/canaryService; use one of them")
        )
    if not keys:
        problems.append(Problem("spec.strategy.canary.trafficRouting", "names no router; add one (nginx, istio, ...)"))
    for key in unsupported_routers(keys):
        path, _, message = describe_unsupported(key).partition(": ")
        problems.append(Problem(path, message))
    return problems


def _check_blue_green(rollout: Rollout) -> list[Problem]:
    strategy = rollout.spec.strategy
    blue_green = strategy.blue_green if strategy is not None else None
    if blue_green is None:
        return []
    problems: list[Problem] = []
    if not blue_green.active_service:
        problems.append(Problem("spec.strategy.blueGreen.activeService", "required: the Service that serves traffic"))
    elif blue_green.preview_service == blue_green.active_service:
        problems.append(
            Problem(
                "spec.strategy.blueGreen.previewService",
                "must differ from activeService (preview service and active service cannot be the same); "
                "use two Services",
            )
        )
    count = blue_green.preview_replica_count
    if count is not None and count < 0:
        problems.append(Problem("spec.strategy.blueGreen.previewReplicaCount", f"must be 0 or more, got {count}"))
    return problems
