"""Rules about the pods of a Rollout: the selector, the pod template, and anti-affinity between versions.

Part of the Rollout validation (`ramp.rollout.validation` is the entry point); used by it and by
`ramp.rollout.validation_canary` (canary anti-affinity). Messages start with upstream's (or Kubernetes') known
string where there is one; the fix follows. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ramp.api import Problem, Rollout
from ramp.api.strategy import AntiAffinity
from ramp.core.podtemplate import QuantityError, comparable_template, parse_quantity

MISSING_FIELD = "Rollout has missing field '{}'"
NON_NEGATIVE = "must be greater than or equal to 0"
ANTI_AFFINITY_ONE_STRATEGY = "AntiAffinity must have exactly one strategy listed"
ANTI_AFFINITY_WEIGHT = "AntiAffinity weight must be between 1-100"
_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def check_selector(rollout: Rollout, template: Mapping[str, Any] | None) -> list[Problem]:
    selector = rollout.spec.selector
    if selector is None:
        if rollout.spec.workload_ref is not None:
            return []  # the workload's selector is used
        return [
            Problem(
                "spec.selector",
                f"{MISSING_FIELD.format('.spec.selector')}; add matchLabels matching spec.template.metadata.labels",
            )
        ]
    if not selector.match_labels and not selector.match_expressions:
        return [
            Problem(
                "spec.selector",
                "empty selector is invalid for deployment; give matchLabels matching the pod template's labels",
            )
        ]
    problems: list[Problem] = []
    for index, term in enumerate(selector.match_expressions or []):
        where = f"spec.selector.matchExpressions[{index}]"
        if term.operator not in _SELECTOR_OPERATORS:
            problems.append(
                Problem(
                    f"{where}.operator",
                    f"invalid label selector: {term.operator!r} is not a valid operator; use one of "
                    + ", ".join(_SELECTOR_OPERATORS),
                )
            )
        elif term.operator in ("In", "NotIn") and not term.values:
            problems.append(
                Problem(f"{where}.values", f"invalid label selector: {term.operator} needs values; add at least one")
            )
        elif term.operator in ("Exists", "DoesNotExist") and term.values:
            problems.append(
                Problem(f"{where}.values", f"invalid label selector: {term.operator} takes no values; remove them")
            )
    if problems or template is None:
        return problems
    labels = ((template.get("metadata") or {}).get("labels")) or {}
    if not is_selector_matching(selector.model_dump(by_alias=True, exclude_none=True), labels):
        return [
            Problem(
                "spec.selector",
                "`selector` does not match template `labels`; make every matchLabels pair a label of "
                "spec.template.metadata.labels",
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


def check_template_shape(template: Any) -> list[Problem]:
    """The template's outline the other rules read: an object, with metadata labels and annotations maps of
    strings. Checked first, so no rule trips over a value of the wrong type."""
    if template is None:
        return []
    if not isinstance(template, Mapping):
        return [Problem("spec.template", "must be an object (a pod template with metadata and spec)")]
    metadata = template.get("metadata")
    if metadata is None:
        return []
    if not isinstance(metadata, Mapping):
        return [Problem("spec.template.metadata", "must be an object with labels and annotations")]
    problems: list[Problem] = []
    for key in ("labels", "annotations"):
        values = metadata.get(key)
        if values is not None and (
            not isinstance(values, Mapping)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())
        ):
            problems.append(
                Problem(f"spec.template.metadata.{key}", 'must map strings to strings; quote values such as "true"')
            )
    return problems


def check_template(template: Mapping[str, Any] | None) -> list[Problem]:
    """What Kubernetes refuses in a ReplicaSet's pod template, caught before any ReplicaSet is made."""
    if template is None:
        return []
    pod_spec = template.get("spec") or {}
    if not isinstance(pod_spec, Mapping):
        return [Problem("spec.template.spec", "must be an object (a pod spec with containers)")]
    containers = pod_spec.get("containers") or []
    if not isinstance(containers, list) or not all(isinstance(c, Mapping) for c in containers):
        return [
            Problem(
                "spec.template.spec.containers",
                "must be a list of containers, each an object with a name and an image",
            )
        ]
    if not containers:
        return [Problem("spec.template.spec.containers", "must have at least one container")]
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, container in enumerate(containers):
        where = f"spec.template.spec.containers[{index}]"
        name = container.get("name") if isinstance(container, Mapping) else None
        if not name:
            problems.append(Problem(f"{where}.name", "required: a name for the container"))
        elif not isinstance(name, str):
            problems.append(Problem(f"{where}.name", "must be a string"))
        elif name in seen:
            problems.append(Problem(f"{where}.name", f"duplicate container name {name!r}; give each a unique name"))
        else:
            seen.add(name)
        if not isinstance(container, Mapping) or not container.get("image"):
            problems.append(Problem(f"{where}.image", "required: the container image to run"))
    problems += _check_readable(template, containers)
    policy = pod_spec.get("restartPolicy")
    if policy is not None and policy != "Always":
        problems.append(
            Problem(
                "spec.template.spec.restartPolicy",
                f'Unsupported value: "{policy}": supported values: "Always"; remove it or set Always',
            )
        )
    return problems


_UNREADABLE = (ArithmeticError, ValueError, TypeError, RecursionError)
"""What a parser of the template's values (quantities, ...) may raise on a value it cannot read."""


def _check_readable(template: Mapping[str, Any], containers: list[Mapping[str, Any]]) -> list[Problem]:
    """The template must be comparable with the ReplicaSets' (`core.podtemplate`): a quantity such as
    `cpu: "1e1000000"` that cannot be read is refused here, before any ReplicaSet is made, naming its field."""
    for index, container in enumerate(containers):
        resources = container.get("resources")
        for kind, values in resources.items() if isinstance(resources, Mapping) else ():
            for name, value in values.items() if isinstance(values, Mapping) else ():
                if not isinstance(value, str):
                    continue
                try:
                    parse_quantity(value)
                except QuantityError as error:
                    return [
                        Problem(
                            f"spec.template.spec.containers[{index}].resources.{kind}.{name}",
                            f"cannot read quantity {value[:40]!r} ({error}); use a quantity such as 500m or 1Gi",
                        )
                    ]
    try:
        comparable_template(template)
        return []
    except _UNREADABLE as error:
        reason = f"{error} ({type(error).__name__})" if str(error) else type(error).__name__
    for index, container in enumerate(containers):
        resources = container.get("resources")
        for kind, values in resources.items() if isinstance(resources, Mapping) else ():
            for name, value in values.items() if isinstance(values, Mapping) else ():
                probe = {"spec": {"containers": [{"resources": {kind: {name: value}}}]}}
                try:
                    comparable_template(probe)
                except _UNREADABLE:
                    return [
                        Problem(
                            f"spec.template.spec.containers[{index}].resources.{kind}.{name}",
                            f"cannot read quantity {str(value)[:40]!r}; use a quantity such as 500m or 1Gi",
                        )
                    ]
    return [Problem("spec.template", f"a value cannot be read: {reason}; fix it")]


def check_anti_affinity(anti_affinity: AntiAffinity | None, where: str) -> list[Problem]:
    """Exactly one of preferred/required, and a preferred weight of 1-100 (both strategies)."""
    if anti_affinity is None:
        return []
    preferred = anti_affinity.preferred_during_scheduling_ignored_during_execution
    required = anti_affinity.required_during_scheduling_ignored_during_execution
    problems: list[Problem] = []
    if (preferred is None) == (required is None):
        found = "both are set" if preferred is not None else "neither is set"
        problems.append(
            Problem(
                where,
                f"{ANTI_AFFINITY_ONE_STRATEGY} ({found}); keep one of "
                "preferredDuringSchedulingIgnoredDuringExecution and requiredDuringSchedulingIgnoredDuringExecution",
            )
        )
    if preferred is not None and not 1 <= preferred.weight <= 100:
        problems.append(
            Problem(
                f"{where}.preferredDuringSchedulingIgnoredDuringExecution.weight",
                f"{ANTI_AFFINITY_WEIGHT}, got {preferred.weight}; use 1-100",
            )
        )
    return problems
