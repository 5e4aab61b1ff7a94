"""Methods of the Go values a template can hold besides JSON: `time.Time` (what `call .time.Now`,
`call .time.Parse`, sprig's `now` and `toDate` give) and `time.Duration` (`.Sub`).

`{{ (call .time.Now).Unix }}`, `{{ (call .time.Parse .rollout.status.x).Format "Jan 2" }}`,
`{{ ((call .time.Now).Sub (call .time.Parse .x)).Minutes }}` work as in Go. Month and Weekday print their names.

Used by `execute` (a field of a time or a duration is a method call).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from ramp.notifications.gotemplate.gotime import format_layout
from ramp.notifications.gotemplate.values import GoFunc, GoInt64
from ramp.providers.go_text import format_go_duration, format_go_time


def _nanoseconds(duration: timedelta) -> int:
    return (duration.days * 86_400 + duration.seconds) * 1_000_000_000 + duration.microseconds * 1000


def _from_nanoseconds(nanoseconds: int) -> timedelta:
    return timedelta(microseconds=nanoseconds // 1000)


def _unix(moment: datetime) -> int:
    return int(_aware(moment).timestamp() // 1)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _since_epoch(moment: datetime) -> timedelta:
    return _aware(moment) - datetime(1970, 1, 1, tzinfo=UTC)


def _truncate(moment: datetime, step: timedelta) -> datetime:
    if step <= timedelta(0):
        return moment
    since = _since_epoch(moment)
    return moment - (since % step)


def _round_duration(duration: timedelta, step: timedelta) -> timedelta:
    if step <= timedelta(0):
        return duration
    nanos, unit = _nanoseconds(duration), _nanoseconds(step)
    remainder = abs(nanos) % unit
    rounded = abs(nanos) - remainder
    if remainder * 2 >= unit:
        rounded += unit
    return _from_nanoseconds(rounded if nanos >= 0 else -rounded)


def _time_methods(moment: datetime) -> dict[str, tuple[Callable[..., Any], tuple[str, ...]]]:
    aware = _aware(moment)
    return {
        "Unix": (lambda: GoInt64(_unix(moment)), ()),
        "UnixMilli": (lambda: GoInt64(_nanoseconds(_since_epoch(moment)) // 1_000_000), ()),
        "UnixNano": (lambda: GoInt64(_nanoseconds(_since_epoch(moment))), ()),
        "Format": (lambda layout: format_layout(aware, layout), ("string",)),
        "String": (lambda: format_go_time(moment), ()),
        "UTC": (lambda: aware.astimezone(UTC), ()),
        "Local": (lambda: aware.astimezone(UTC), ()),
        "Year": (lambda: aware.year, ()),
        "Month": (lambda: aware.strftime("%B"), ()),
        "Day": (lambda: aware.day, ()),
        "Hour": (lambda: aware.hour, ()),
        "Minute": (lambda: aware.minute, ()),
        "Second": (lambda: aware.second, ()),
        "Nanosecond": (lambda: aware.microsecond * 1000, ()),
        "YearDay": (lambda: aware.timetuple().tm_yday, ()),
        "Weekday": (lambda: aware.strftime("%A"), ()),
        "IsZero": (lambda: aware == datetime(1, 1, 1, tzinfo=UTC), ()),
        "Add": (lambda duration: aware + duration, ("duration",)),
        "Sub": (lambda other: aware - _aware(other), ("time",)),
        "Before": (lambda other: aware < _aware(other), ("time",)),
        "After": (lambda other: aware > _aware(other), ("time",)),
        "Equal": (lambda other: aware == _aware(other), ("time",)),
        "Truncate": (lambda step: _truncate(aware, step), ("duration",)),
    }


def _duration_methods(duration: timedelta) -> dict[str, tuple[Callable[..., Any], tuple[str, ...]]]:
    nanos = _nanoseconds(duration)
    return {
        "Seconds": (lambda: nanos / 1e9, ()),
        "Minutes": (lambda: nanos / 6e10, ()),
        "Hours": (lambda: nanos / 3.6e12, ()),
        "Milliseconds": (lambda: GoInt64(int(nanos / 1_000_000)), ()),
        "Microseconds": (lambda: GoInt64(int(nanos / 1000)), ()),
        "Nanoseconds": (lambda: GoInt64(nanos), ()),
        "String": (lambda: format_go_duration(duration), ()),
        "Abs": (lambda: abs(duration), ()),
        "Round": (lambda step: _round_duration(duration, step), ("duration",)),
        "Truncate": (
            lambda step: duration if step <= timedelta(0) else _from_nanoseconds(nanos - nanos % _nanoseconds(step)),
            ("duration",),
        ),
    }


def method_of(receiver: Any, name: str) -> GoFunc | None:
    """The method `name` of a time or a duration, bound to it; None for any other value or name."""
    if isinstance(receiver, datetime):
        table = _time_methods(receiver)
    elif isinstance(receiver, timedelta):
        table = _duration_methods(receiver)
    else:
        return None
    entry = table.get(name)
    if entry is None:
        return None
    return GoFunc(name, entry[0], entry[1])
