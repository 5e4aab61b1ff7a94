"""The FeatureFlag reconciler's pure parts: the status merge patch, `{{flag.*}}` arguments, events."""

from __future__ import annotations

import pytest

from ramp.api.featureflag import parse_feature_flag
from ramp.flags.reconciler import flag_events, flag_values, merge_patch, substitute_flag_values
from ramp.rollout.analysisruns import RunCreationError


def test_the_status_patch_nulls_removed_fields_at_every_depth() -> None:
    old = {"weight": 10, "pauseConditions": [{"reason": "PausedStep"}], "run": {"name": "a", "message": "x"}}
    new = {"weight": 50, "run": {"name": "a"}}
    assert merge_patch(old, new) == {"weight": 50, "run": {"message": None}, "pauseConditions": None}
    assert merge_patch(new, new) == {}


def test_flag_placeholders_are_filled_and_an_unknown_one_is_refused_by_name() -> None:
    flag = parse_feature_flag(
        {
            "metadata": {"name": "checkout", "namespace": "shop"},
            "spec": {
                "key": "new-checkout",
                "variants": {"on": True, "off": False},
                "defaultVariant": "off",
                "rollout": {"variant": "on"},
            },
        }
    )
    values = flag_values(flag)
    text = "{{flag.key}}/{{ flag.variant }}/{{flag.namespace}}/{{args.kept}}"
    assert substitute_flag_values(text, values, "args x") == "new-checkout/on/shop/{{args.kept}}"
    with pytest.raises(RunCreationError, match=r"args x: unknown placeholder \{\{flag.colour\}\}"):
        substitute_flag_values("{{flag.colour}}", values, "args x")


def test_events_name_the_weight_change_and_the_abort() -> None:
    events = flag_events({"weight": 50, "phase": "Progressing"}, {"weight": 0, "phase": "Degraded", "message": "m"})
    assert events == [
        ("Normal", "WeightUpdated", "weight of the new variant: 50% -> 0%"),
        ("Warning", "RolloutAborted", "m"),
    ]
    assert flag_events({"weight": 10, "phase": "Paused"}, {"weight": 10, "phase": "Paused"}) == []
