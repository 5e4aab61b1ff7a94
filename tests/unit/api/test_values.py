"""Value types: Go durations, IntOrString scaling, timestamps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ramp.api.durations import parse_duration, pause_seconds
from ramp.api.meta import int_value, resolve_int_or_percent

DURATIONS = {
    "seconds": ("30s", timedelta(seconds=30)),
    "minutes": ("5m", timedelta(minutes=5)),
    "hours": ("1h", timedelta(hours=1)),
    "compound": ("2h45m10s", timedelta(hours=2, minutes=45, seconds=10)),
    "fraction": ("1.5h", timedelta(minutes=90)),
    "milliseconds": ("300ms", timedelta(milliseconds=300)),
    "microseconds_micro_sign": ("5\u00b5s", timedelta(microseconds=5)),
    "negative": ("-5s", timedelta(seconds=-5)),
    "bare_zero": ("0", timedelta(0)),
}


@pytest.mark.parametrize(("text", "expected"), DURATIONS.values(), ids=DURATIONS.keys())
def test_parse_duration(text: str, expected: timedelta):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["30", "", "5 m", "1d", "m5", "1h 30m", "abc", "1.2.3s"])
def test_parse_duration_refuses_what_go_refuses(text: str):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@given(st.lists(st.tuples(st.integers(0, 500), st.sampled_from(["h", "m", "s", "ms"])), min_size=1, max_size=4))
def test_parse_duration_sums_its_components(parts: list[tuple[int, str]]):
    text = "".join(f"{number}{unit}" for number, unit in parts)
    unit_seconds = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    expected = sum(number * unit_seconds[unit] for number, unit in parts)
    assert parse_duration(text).total_seconds() == pytest.approx(expected)


def test_pause_seconds_refuses_text():
    with pytest.raises(ValueError, match="duration"):
        pause_seconds("soon")


SCALED = {
    "percent_rounded_up": ("25%", 10, True, 3),
    "percent_rounded_down": ("25%", 10, False, 2),
    "exact_percent": ("50%", 10, True, 5),
    "zero_percent": ("0%", 10, True, 0),
    "integer_as_is": (4, 10, True, 4),
    "digit_string": ("4", 10, False, 4),
    "hundred_percent": ("100%", 7, False, 7),
}


@pytest.mark.parametrize(("value", "total", "round_up", "expected"), SCALED.values(), ids=SCALED.keys())
def test_resolve_int_or_percent(value: int | str, total: int, round_up: bool, expected: int):
    assert resolve_int_or_percent(value, total, round_up=round_up) == expected


@given(st.integers(0, 100), st.integers(0, 1000))
def test_percent_rounded_up_is_at_most_one_more_than_rounded_down(percent: int, total: int):
    up = resolve_int_or_percent(f"{percent}%", total, round_up=True)
    down = resolve_int_or_percent(f"{percent}%", total, round_up=False)
    assert 0 <= down <= up <= down + 1 <= total + 1


@pytest.mark.parametrize("value", ["abc%", "{{args.surge}}", "x"])
def test_resolve_int_or_percent_refuses_other_text(value: str):
    with pytest.raises(ValueError, match=r"percentage|neither"):
        resolve_int_or_percent(value, 10, round_up=True)


def test_int_value():
    assert int_value(3) == 3
    assert int_value(" 7 ") == 7
    with pytest.raises(ValueError, match="argument left unresolved"):
        int_value("{{args.limit}}")
