"""The flagd definition of a FeatureFlag: the rollout's split (new variant first), user targeting first,
weight 0 and Degraded without a split, Healthy at 100%, and the monotone shape as the weight rises."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from ramp.api.featureflag import parse_feature_flag
from ramp.flags.definition import combine_targeting, flag_definition, rollout_weight, split_rule
from ramp.flags.plan import rollout_hash

USER_RULE = {"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "new", None]}


def definition(status: dict[str, Any] | None, targeting: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "variants": {"new": "blue", "old": "grey"},
        "defaultVariant": "old",
        "rollout": {"variant": "new", "steps": [{"setWeight": 10}, {"setWeight": 50}]},
    }
    if targeting is not None:
        spec["targeting"] = targeting
    raw: dict[str, Any] = {"metadata": {"name": "theme"}, "spec": spec}
    if status is not None:
        # the status of the flag's current rollout, unless the test names another
        raw["status"] = {"currentStepHash": rollout_hash(parse_feature_flag(raw)), **status}
    return flag_definition(parse_feature_flag(raw))


def test_a_weight_splits_with_the_new_variant_first() -> None:
    found = definition({"weight": 10, "phase": "Progressing", "currentStepIndex": 1})
    assert found["targeting"] == {"fractional": [["new", 10], ["old", 90]]}
    assert found["defaultVariant"] == "old"
    assert found["state"] == "ENABLED"
    assert found["variants"] == {"new": "blue", "old": "grey"}


@pytest.mark.parametrize(
    "status",
    [
        None,
        {"weight": 0, "phase": "Progressing"},
        {"weight": 50, "phase": "Degraded"},
        {"weight": 50, "phase": "Progressing", "abort": True},
        {"weight": 100, "phase": "Healthy", "currentStepIndex": 2, "currentStepHash": "an-earlier-rollout"},
    ],
    ids=["not-reconciled-yet", "weight-0", "degraded", "aborted", "status-of-an-earlier-rollout"],
)
def test_no_split_sends_everyone_to_the_default(status: dict[str, Any] | None) -> None:
    assert "targeting" not in definition(status)


def test_healthy_after_the_last_step_gives_everyone_the_new_variant() -> None:
    assert definition({"weight": 50, "phase": "Healthy", "currentStepIndex": 2})["targeting"] == "new"


def test_user_targeting_decides_first_and_the_split_takes_what_falls_through() -> None:
    found = definition({"weight": 10, "phase": "Progressing"}, USER_RULE)
    assert found["targeting"] == {"if": [USER_RULE, USER_RULE, {"fractional": [["new", 10], ["old", 90]]}]}
    assert definition({"weight": 0}, USER_RULE)["targeting"] == USER_RULE


def test_without_a_rollout_the_flag_is_served_as_written() -> None:
    flag = parse_feature_flag(
        {"metadata": {"name": "f"}, "spec": {"variants": {"a": 1, "b": 2.5}, "defaultVariant": "a"}}
    )
    assert rollout_weight(flag) is None
    assert flag_definition(flag) == {"state": "ENABLED", "variants": {"a": 1, "b": 2.5}, "defaultVariant": "a"}
    assert combine_targeting(None, None) is None


def _bucket(key: str, rule: Any) -> str:
    """A cumulative walk over the listed weights, as flagd's fractional does (any uniform hash shows the shape)."""
    if isinstance(rule, str):
        return rule
    if rule is None:
        return "old"
    buckets = rule["fractional"]
    point = int(hashlib.sha256(key.encode()).hexdigest(), 16) % sum(weight for _, weight in buckets)
    for variant, weight in buckets:
        if point < weight:
            return str(variant)
        point -= weight
    raise AssertionError("unreachable")


def test_raising_the_weight_never_moves_a_user_back_to_the_default() -> None:
    keys = [f"user-{n}" for n in range(2000)]
    previous = {key: "old" for key in keys}
    for weight in (0, 1, 10, 20, 50, 99, 100):
        rule = split_rule("new", "old", weight)
        now = {key: _bucket(key, rule) for key in keys}
        assert all(now[key] == "new" for key in keys if previous[key] == "new"), f"a user flipped back at {weight}%"
        previous = now
    assert set(previous.values()) == {"new"}
