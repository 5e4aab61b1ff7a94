"""The rules about objects a Rollout refers to (upstream's validation_references), one row per rule."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from ramp.cli.lint import lint_text
from ramp.rollout.validation_references import check_analysis_templates, check_service_labels

Obj = dict[str, Any]
STEP = "spec.strategy.canary.steps[0].analysis"
BACKGROUND = "spec.strategy.canary.analysis"


def template(*metrics: Obj, args: list[Obj] | None = None) -> tuple[str, Obj]:
    return ("AnalysisTemplate", {"metadata": {"name": "t"}, "spec": {"metrics": list(metrics), "args": args or []}})


PROMETHEUS = {"prometheus": {"address": "http://p", "query": "1"}}

# rule -> (path, templates, background?, rollout args, how the message starts)
RULES: dict[str, tuple[str, list[tuple[str, Obj]], bool, list[Obj], str]] = {
    "step-analysis-metric-runs-indefinitely": (
        STEP,
        [template({"name": "m", "interval": "1m", "provider": PROMETHEUS})],
        False,
        [],
        f'{STEP}.templates: AnalysisTemplate "t" has metric m which runs indefinitely. Invalid value for count',
    ),
    "background-analysis-argument-missing": (
        BACKGROUND,
        [template({"name": "m", "provider": PROMETHEUS}, args=[{"name": "service"}])],
        True,
        [],
        f"{BACKGROUND}.templates: AnalysisTemplate \"t\": missing analysis arguments in rollout spec: 'service'",
    ),
    "template-argument-value-and-value-from": (
        STEP,
        [template(args=[{"name": "a", "value": "x", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}])],
        False,
        [],
        f"{STEP}.templates: AnalysisTemplate \"t\": arg 'a' has both Value and ValueFrom fields",
    ),
    "metric-plugin-not-supported": (
        STEP,
        [template({"name": "m", "count": 1, "provider": {"plugin": {"acme/metric": {}}}})],
        False,
        [],
        f'{STEP}.templates: AnalysisTemplate "t": spec.metrics[0].provider.plugin["acme/metric"]: metric plugin '
        '"acme/metric" is not supported by Ramp',
    ),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_rule(rule: str) -> None:
    path, templates, background, arguments, start = RULES[rule]
    problems = check_analysis_templates(path, templates, background=background, arguments=arguments)
    assert len(problems) == 1, problems
    assert problems[0].startswith(start), problems[0]


def test_a_background_metric_may_run_until_promotion_and_its_arguments_may_come_from_the_rollout() -> None:
    templates = [template({"name": "m", "interval": "1m", "provider": PROMETHEUS}, args=[{"name": "service"}])]
    arguments = [{"name": "service", "value": "web"}]
    assert check_analysis_templates(BACKGROUND, templates, background=True, arguments=arguments) == []


def test_service_selecting_labels_the_pods_lack() -> None:
    service = {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web", "tier": "front"}}}
    problems = check_service_labels("spec.strategy.canary.stableService", service, {"app": "web"})
    assert problems == [
        'spec.strategy.canary.stableService: Service "web" has unmatch label "tier" in rollout; the Service selects '
        "tier=front, the pod template's labels have tier=(none): make them match"
    ]
    managed = {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web", "rollouts-pod-template-hash": "abc"}}}
    assert check_service_labels("spec.strategy.canary.stableService", managed, {"app": "web"}) == []


def test_lint_checks_the_templates_a_rollout_runs_when_the_file_holds_them() -> None:
    rollout = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a", "image": "x"}]}},
            "strategy": {"canary": {"steps": [{"analysis": {"templates": [{"templateName": "t"}]}}]}},
        },
    }
    endless = {"name": "m", "interval": "1m", "provider": PROMETHEUS}
    analysis_template = {"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate"} | template(endless)[1]
    lines = lint_text(yaml.safe_dump_all([analysis_template, rollout]))
    assert lines == [
        'Rollout "web": spec.strategy.canary.steps[0].analysis.templates: AnalysisTemplate "t" has metric m which '
        "runs indefinitely. Invalid value for count: nil; give the metric a count (or use it in "
        "spec.strategy.canary.analysis, which runs in the background)"
    ]
