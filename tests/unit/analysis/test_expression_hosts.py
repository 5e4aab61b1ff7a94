"""Host values and method calls in conditions (`ramp.analysis.expression.hosts`): upstream's `time` of
notification triggers, and analysis conditions still refusing methods."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ramp.analysis.expression import ExpressionError, compile_expression
from ramp.analysis.expression.hosts import Duration, Time, format_duration, parse_rfc3339, time_namespace

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def run(source: str, **env: Any) -> Any:
    return compile_expression(source, methods=True).evaluate({"time": time_namespace(NOW), **env})


@pytest.mark.parametrize(
    ("source", "env", "expected"),
    [
        ("time.Now().Sub(time.Parse(t)).Minutes() >= 5", {"t": "2024-05-01T11:50:00Z"}, True),
        ("time.Now().Sub(time.Parse(t)).Minutes() >= 5", {"t": "2024-05-01T11:58:00Z"}, False),
        ("time.Now().Sub(time.Parse(t)).Seconds()", {"t": "2024-05-01T13:59:30+02:00"}, 30.0),
        ("time.Now().Sub(time.Parse(t)).Hours()", {"t": "2024-05-01T10:30:00Z"}, 1.5),
        ("time.Parse(t).Before(time.Now())", {"t": "2024-05-01T11:59:59.5Z"}, True),
        ("time.Parse(t).After(time.Now())", {"t": "2024-05-01T11:59:59.5Z"}, False),
        ("time.Parse(t).Equal(time.Now())", {"t": "2024-05-01T14:00:00+02:00"}, True),
        ("time.Parse(t).Unix()", {"t": "1970-01-01T00:01:40Z"}, 100),
        ("string(time.Now().Sub(time.Parse(t)))", {"t": "2024-05-01T10:58:57.5Z"}, "1h1m2.5s"),
        ("time.Now().String()", {}, "2024-05-01 12:00:00 +0000 UTC"),
        ("time.Parse(t).Add(time.Now().Sub(time.Parse(t))).Equal(time.Now())", {"t": "2024-04-01T00:00:00Z"}, True),
        ("missing?.Now() == nil", {"missing": None}, True),
    ],
)
def test_trigger_conditions_read_time_as_upstream_conditions_do(source, env, expected):
    assert run(source, **env) == expected


@pytest.mark.parametrize(
    ("source", "env", "message"),
    [
        ("time.Parse(t)", {"t": "yesterday"}, "time.Parse: cannot parse 'yesterday' as RFC 3339"),
        ("time.Parse(t)", {"t": "2024-05-01 12:00:00Z"}, "cannot parse"),
        ("time.Parse(1)", {}, "time.Parse expects a string, got int"),
        ("time.Parse()", {}, "time.Parse expects 1 argument, got 0"),
        ("time.Now().Sub(1)", {}, "time.Time.Sub expects a time.Time, got int"),
        ("time.Now().Format('x')", {}, "time.Time has no method Format"),
        ("rollout.Name()", {"rollout": {"Name": "x"}}, "unknown method Name: a map has no methods"),
        ("time.Now().Minutes()", {}, "time.Time has no method Minutes"),
    ],
)
def test_bad_method_calls_are_errors_naming_the_method(source, env, message):
    with pytest.raises(ExpressionError, match=None) as caught:
        run(source, **env)
    assert message in str(caught.value)


def test_analysis_conditions_still_refuse_methods_when_compiled():
    with pytest.raises(ExpressionError, match="unknown method Now: methods cannot be called"):
        compile_expression("time.Now() != nil")


def test_the_two_modes_never_share_a_cached_compilation():
    source = "time.Now() != nil"
    assert run(source) is True
    with pytest.raises(ExpressionError):
        compile_expression(source)


def test_a_method_call_is_charged_to_the_budget():
    source = "all(1..100000, {time.Now() != nil})"
    with pytest.raises(ExpressionError, match="budget"):
        run(source)


@pytest.mark.parametrize(
    ("nanoseconds", "text"),
    [(0, "0s"), (1_500_000, "1.5ms"), (2_000, "2µs"), (90_000_000_000, "1m30s"), (-3_600_000_000_000, "-1h0m0s")],
)
def test_durations_print_as_go_prints_them(nanoseconds, text):
    assert format_duration(nanoseconds) == text
    assert str(Duration(nanoseconds)) == text


def test_parse_keeps_microseconds_and_the_offset():
    assert parse_rfc3339("2024-05-01T12:00:00.123456789-01:30") == Time(
        datetime(2024, 5, 1, 13, 30, 0, 123456, tzinfo=UTC)
    )
