"""Durations parse in linear time and refuse what Go would refuse or overflow with a ValueError, never anything
else: long text, out-of-range hours, pause seconds beyond int32 (upstream reads a pause as int32 seconds)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ramp.api.durations import MAX_DURATION_LENGTH, parse_duration, pause_seconds
from ramp.api.rollout import parse_rollout
from ramp.api.steps import CanaryStep
from ramp.api.validation import ManifestError


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("11s" * 26 + "x", "must be a duration"),
        ("9" * 400 + "h", "characters long"),
        ("99999999999999h", "out of range"),
        ("11s" * 200, "characters long"),
    ],
)
def test_bad_durations_end_in_a_value_error(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


def test_the_largest_go_duration_still_parses() -> None:
    assert parse_duration("2562047h47m16s") == timedelta(hours=2562047, minutes=47, seconds=16)


@pytest.mark.parametrize("text", ["9" * 400, "2147483648", "-2147483649"])
def test_pause_seconds_beyond_int32_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="out of range"):
        pause_seconds(text)


def test_pause_seconds_at_int32_max_are_accepted() -> None:
    assert pause_seconds("2147483647") == 2**31 - 1
    with pytest.raises(ValueError, match="out of range"):
        pause_seconds(2**40)


def test_a_pause_step_names_the_range_problem() -> None:
    with pytest.raises(ValueError, match="out of range"):
        CanaryStep.model_validate({"pause": {"duration": "9" * 40}})
    with pytest.raises(ValueError, match="must be a number of seconds or a duration"):
        CanaryStep.model_validate({"pause": {"duration": "11s" * 26 + "x"}})


DURATION_ALPHABET = st.sampled_from(list("0123456789.+-smhnuµμ x"))


@settings(max_examples=300, deadline=None)
@given(st.text(DURATION_ALPHABET, max_size=MAX_DURATION_LENGTH + 20))
def test_random_duration_text_raises_only_value_errors(text: str) -> None:
    try:
        seconds = pause_seconds(text)
    except ValueError:
        return
    assert abs(seconds) <= 2**31 - 1


@pytest.mark.parametrize(
    ("duration", "message"),
    [
        ("9" * 400 + "h", "duration is 401 characters long"),
        ("11s" * 26 + "x", "must be a number of seconds or a duration"),
        (2**40, "out of range"),
    ],
)
def test_a_rollout_with_a_hostile_pause_is_a_manifest_error_naming_the_field(duration: object, message: str) -> None:
    rollout = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "r", "namespace": "n"},
        "spec": {
            "selector": {"matchLabels": {"app": "a"}},
            "template": {
                "metadata": {"labels": {"app": "a"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
            "strategy": {"canary": {"steps": [{"pause": {"duration": duration}}]}},
        },
    }
    with pytest.raises(ManifestError) as caught:
        parse_rollout(rollout)
    assert "spec.strategy.canary.steps[0].pause.duration: " in str(caught.value)
    assert message in str(caught.value)
