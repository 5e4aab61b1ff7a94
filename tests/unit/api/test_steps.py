"""Canary steps: one action per step (as upstream accepts them), their kind, and pause durations."""

from __future__ import annotations

from typing import Any

import pytest

from ramp.api.rollout import Rollout
from ramp.api.steps import COMPLETION_ORDER, STEP_KINDS, CanaryStep
from ramp.api.validation import ManifestError, parse_manifest


def steps_of(*steps: Any) -> list[CanaryStep]:
    rollout = parse_manifest(Rollout, {"spec": {"strategy": {"canary": {"steps": list(steps)}}}})
    assert rollout.spec.strategy is not None and rollout.spec.strategy.canary is not None
    return rollout.spec.strategy.canary.steps or []


STEP_KIND = {
    "set_weight": ({"setWeight": 20}, "setWeight"),
    "pause": ({"pause": {}}, "pause"),
    "set_canary_scale": ({"setCanaryScale": {"replicas": 1}}, "setCanaryScale"),
    "analysis": ({"analysis": {"templates": [{"templateName": "t"}]}}, "analysis"),
    "experiment": ({"experiment": {"templates": [{"name": "c", "specRef": "canary"}]}}, "experiment"),
    "set_header_route": ({"setHeaderRoute": {"name": "r"}}, "setHeaderRoute"),
    "set_mirror_route": ({"setMirrorRoute": {"name": "r"}}, "setMirrorRoute"),
    "plugin": ({"plugin": {"name": "p"}}, "plugin"),
    # upstream's APISIX example pairs these; the pause decides when the step completes
    "scale_header_and_pause_together": (
        {"setCanaryScale": {"replicas": 1}, "setHeaderRoute": {"name": "r"}, "pause": {"duration": 15}},
        "pause",
    ),
    "scale_and_header_route_together": (
        {"setCanaryScale": {"replicas": 1}, "setHeaderRoute": {"name": "r"}},
        "setCanaryScale",
    ),
}


@pytest.mark.parametrize(("step", "kind"), STEP_KIND.values(), ids=STEP_KIND.keys())
def test_step_kind(step: dict[str, Any], kind: str):
    assert steps_of(step)[0].kind == kind


def test_every_step_key_is_modelled_and_ordered():
    aliases = {field.alias for field in CanaryStep.model_fields.values()}
    assert aliases == set(STEP_KINDS) == set(COMPLETION_ORDER)


def test_step_lists_all_its_keys():
    step = steps_of({"setCanaryScale": {"replicas": 1}, "setHeaderRoute": {"name": "r"}})[0]
    assert step.kinds == ("setCanaryScale", "setHeaderRoute")


@pytest.mark.parametrize(
    "step",
    [
        {"setWeight": 10, "pause": {}},
        {"analysis": {}, "experiment": {"templates": []}},
        {"pause": {}, "analysis": {}},
    ],
    ids=["weight_and_pause", "analysis_and_experiment", "pause_and_analysis"],
)
def test_two_exclusive_actions_in_one_step_are_refused(step: dict[str, Any]):
    with pytest.raises(ManifestError, match="split it into separate steps"):
        steps_of(step)


def test_step_with_null_key_counts_as_empty():
    with pytest.raises(ManifestError, match="empty step"):
        steps_of({"pause": None})


def test_step_built_in_code_with_python_names():
    step = CanaryStep(set_weight=30)
    assert step.kind == "setWeight"


PAUSES = {
    "indefinite_when_no_duration": ({}, None),
    "integer_seconds": ({"duration": 30}, 30),
    "digit_string_seconds": ({"duration": "45"}, 45),
    "seconds_unit": ({"duration": "30s"}, 30),
    "minutes": ({"duration": "5m"}, 300),
    "hours_and_minutes": ({"duration": "1h30m"}, 5400),
    "fractions_truncate": ({"duration": "1500ms"}, 1),
    "zero": ({"duration": 0}, 0),
}


@pytest.mark.parametrize(("pause", "seconds"), PAUSES.values(), ids=PAUSES.keys())
def test_pause_duration_seconds(pause: dict[str, Any], seconds: int | None):
    step = steps_of({"pause": pause})[0]
    assert step.pause is not None
    assert step.pause.duration_seconds == seconds
