"""Rules about the objects a Rollout refers to: its Services and its analysis templates (upstream's
validation_references).

The reconciler looks the objects up in the informer caches (`ramp lint` finds them in the same file) and calls
these pure functions before it creates or scales anything; each problem names the Rollout field that refers to
the object, then the object, then what is wrong and the fix. Messages start with upstream's known string where
there is one. Used by `ramp.rollout.reconciler` and `ramp.cli.lint`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ramp.providers.registry import check_template_providers

POD_TEMPLATE_HASH_LABEL = "rollouts-pod-template-hash"
MISSING_ARGUMENTS = "missing analysis arguments in rollout spec"
BACKGROUND_ANALYSIS = "spec.strategy.canary.analysis"


def analysis_references(raw: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(field path, analysis) of every analysis a Rollout runs from templates: blue-green pre- and post-promotion,
    the canary's background analysis (at BACKGROUND_ANALYSIS) and its analysis steps."""
    strategy = (raw.get("spec") or {}).get("strategy") or {}
    canary = strategy.get("canary") or {}
    blue_green = strategy.get("blueGreen") or {}
    found: list[tuple[str, Mapping[str, Any]]] = [
        (f"spec.strategy.blueGreen.{key}", blue_green[key])
        for key in ("prePromotionAnalysis", "postPromotionAnalysis")
        if isinstance(blue_green.get(key), Mapping)
    ]
    if isinstance(canary.get("analysis"), Mapping):
        found.append((BACKGROUND_ANALYSIS, canary["analysis"]))
    for index, step in enumerate(canary.get("steps") or []):
        if isinstance(step, Mapping) and isinstance(step.get("analysis"), Mapping):
            found.append((f"spec.strategy.canary.steps[{index}].analysis", step["analysis"]))
    return found


def check_service_labels(path: str, service: Mapping[str, Any], labels: Mapping[str, str]) -> list[str]:
    """A Service must select the Rollout's pods: each selector label (but the pod-template hash, which Ramp
    sets) must be a label of the pod template."""
    name = (service.get("metadata") or {}).get("name")
    selector = (service.get("spec") or {}).get("selector") or {}
    return [
        f'{path}: Service "{name}" has unmatch label "{key}" in rollout; the Service selects {key}={value}, the pod '
        f"template's labels have {key}={labels.get(key) or '(none)'}: make them match"
        for key, value in selector.items()
        if key != POD_TEMPLATE_HASH_LABEL and labels.get(key) != value
    ]


def check_analysis_templates(
    path: str,
    templates: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    background: bool,
    arguments: Sequence[Mapping[str, Any]],
) -> list[str]:
    """The templates (kind, object) an analysis of the Rollout at `path` combines.

    A step, pre- or post-promotion analysis must end: a metric with an interval and no count would run
    forever. A background analysis must give each template argument that has no value of its own. Metrics
    must use a provider Ramp has.
    """
    given = {str(argument.get("name")) for argument in arguments}
    problems: list[str] = []
    for kind, template in templates:
        name = (template.get("metadata") or {}).get("name")
        where = f'{path}.templates: {kind} "{name}"'
        spec = template.get("spec") or {}
        for argument in spec.get("args") or []:
            if not isinstance(argument, Mapping):
                continue
            if argument.get("value") is not None and argument.get("valueFrom") is not None:
                problems.append(f"{where}: arg '{argument.get('name')}' has both Value and ValueFrom fields; keep one")
            missing = argument.get("value") is None and argument.get("valueFrom") is None
            if background and missing and str(argument.get("name")) not in given:
                problems.append(f"{where}: {MISSING_ARGUMENTS}: {argument.get('name')!r}; add it to {path}.args")
        if not background:
            for metric in spec.get("metrics") or []:
                if isinstance(metric, Mapping) and metric.get("interval") and metric.get("count") is None:
                    problems.append(
                        f"{where} has metric {metric.get('name')} which runs indefinitely. Invalid value for count: "
                        f"nil; give the metric a count (or use it in spec.strategy.canary.analysis, which runs in "
                        "the background)"
                    )
        problems += [f"{where}: {problem}" for problem in check_template_providers(template)]
    return problems
