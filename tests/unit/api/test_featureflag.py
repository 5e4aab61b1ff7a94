"""FeatureFlag validation: each bad field named, with the fix."""

from __future__ import annotations

from typing import Any

import pytest

from ramp.api import ManifestError
from ramp.api.featureflag import parse_feature_flag, validate_feature_flag
from ramp.cli.lint import lint_text


def _flag(**rollout: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ramp.dev/v1alpha1",
        "kind": "FeatureFlag",
        "metadata": {"name": "checkout"},
        "spec": {
            "variants": {"new": True, "old": False},
            "defaultVariant": "old",
            "rollout": {"variant": "new", **rollout},
        },
    }


def _problems(raw: dict[str, Any]) -> list[str]:
    try:
        return [str(p) for p in validate_feature_flag(parse_feature_flag(raw))]
    except ManifestError as error:
        return [str(p) for p in error.problems]


def test_a_valid_flag_has_no_problems() -> None:
    assert _problems(_flag(steps=[{"setWeight": 10}, {"pause": {"duration": "1m"}}])) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"variant": "newer"}, 'spec.rollout.variant: no variant "newer"; variants are: new, old'),
        ({"variant": "old"}, "spec.rollout.variant: is the defaultVariant; name the new variant to roll out"),
        ({"steps": [{"setWeight": 101}]}, "spec.rollout.steps[0].setWeight: must be a whole number 0-100, got 101"),
        ({"steps": [{"setWeight": -1}]}, "spec.rollout.steps[0].setWeight: must be a whole number 0-100, got -1"),
        (
            {"steps": [{"experiment": {}}]},
            "spec.rollout.steps[0]: Ramp does not act on step experiment in a FeatureFlag; a flag step is one of: "
            "setWeight, pause, analysis",
        ),
        (
            {"steps": [{"setWeight": 5, "pause": {}}]},
            "spec.rollout.steps[0]: a flag step has exactly one of setWeight, pause, analysis (found setWeight, "
            "pause): split it into separate steps",
        ),
    ],
)
def test_bad_rollouts_are_refused_naming_the_field(change: dict[str, Any], expected: str) -> None:
    raw = _flag(steps=[])
    raw["spec"]["rollout"].update(change)
    assert expected in _problems(raw)


def test_an_unknown_default_variant_and_a_null_value_are_named() -> None:
    raw = _flag()
    raw["spec"]["defaultVariant"] = "off"
    raw["spec"]["variants"]["broken"] = None
    problems = _problems(raw)
    assert 'spec.defaultVariant: no variant "off"; variants are: new, old, broken' in problems
    assert "spec.variants.broken: must be a boolean, string, number or object, got null" in problems


def test_lint_reads_feature_flags() -> None:
    text = """
apiVersion: ramp.dev/v1alpha1
kind: FeatureFlag
metadata: {name: checkout}
spec:
  variants: {"new": true, "old": false}
  defaultVariant: old
  rollout: {variant: neww}
"""
    assert lint_text(text) == [
        'FeatureFlag "checkout": spec.rollout.variant: no variant "neww"; variants are: new, old'
    ]
