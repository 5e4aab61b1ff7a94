"""Host values: what a caller may put in a condition's environment besides JSON, with methods a condition calls.

Analysis conditions see only JSON and refuse method calls when they are compiled. Notification trigger conditions
(`ramp.notifications.triggers`) are compiled with `methods=True` and get upstream's `time` variable: Argo Rollouts
gives its conditions `time.Now()` and `time.Parse(rfc3339)`, which return Go `time.Time` values, whose methods
(`Sub`, `Add`, `Before`, `After`, ...) and whose differences (`time.Duration`: `Minutes()`, `Seconds()`, ...) a
condition such as `time.Now().Sub(time.Parse(rollout.status.conditions[0].lastUpdateTime)).Minutes() >= 5` uses.

- `HostFunction`: a function a condition calls as a method of a map (`time.Now()` is `Now` of the map `time`);
- `Time` and `Duration`: Go's time.Time and time.Duration, with the methods listed in their `METHODS`;
- `call_method`: what `compiler` runs for `target.name(arguments)`.
Implementations raise `errors.OperationError`, which `compiler` places at the call's column.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Final

from ramp.analysis.expression.errors import OperationError
from ramp.analysis.expression.values import name_type

_RFC3339: Final = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})"
)
_NANOSECONDS_PER: Final = {"h": 3_600_000_000_000, "m": 60_000_000_000, "s": 1_000_000_000}


@dataclass(frozen=True, slots=True)
class HostFunction:
    """A function reached as `<map>.<name>(...)`; `run` takes the evaluated arguments."""

    name: str
    run: Callable[..., Any]
    min_arguments: int = 0
    max_arguments: int = 0

    def call(self, arguments: list[Any]) -> Any:
        count = len(arguments)
        if not self.min_arguments <= count <= self.max_arguments:
            expected = (
                str(self.min_arguments)
                if self.min_arguments == self.max_arguments
                else f"{self.min_arguments} to {self.max_arguments}"
            )
            raise OperationError(
                f"{self.name} expects {expected} argument{'' if expected == '1' else 's'}, got {count}"
            )
        return self.run(*arguments)


class HostObject:
    """A value with methods: `METHODS` maps a method name to (function of self and the arguments, arity)."""

    METHODS: ClassVar[Mapping[str, tuple[Callable[..., Any], int]]] = {}
    TYPE_NAME: ClassVar[str] = "host value"

    def call_method(self, name: str, arguments: list[Any]) -> Any:
        found = self.METHODS.get(name)
        if found is None:
            known = ", ".join(sorted(self.METHODS))
            raise OperationError(f"{self.TYPE_NAME} has no method {name} (it has: {known})")
        method, arity = found
        if len(arguments) != arity:
            raise OperationError(f"{self.TYPE_NAME}.{name} expects {arity} argument(s), got {len(arguments)}")
        return method(self, *arguments)


def call_method(target: Any, name: str, arguments: list[Any]) -> Any:
    """`target.name(arguments)`: a `HostFunction` held by a map, or a method of a `HostObject`."""
    if isinstance(target, HostObject):
        return target.call_method(name, arguments)
    if isinstance(target, Mapping):
        member = target.get(name)
        if isinstance(member, HostFunction):
            return member.call(arguments)
    raise OperationError(f"unknown method {name}: a {name_type(target)} has no methods")


@dataclass(frozen=True, slots=True, eq=True)
class Duration(HostObject):
    """Go's time.Duration: whole nanoseconds."""

    nanoseconds: int
    TYPE_NAME: ClassVar[str] = "time.Duration"

    def __str__(self) -> str:
        return format_duration(self.nanoseconds)

    def hours(self) -> float:
        return self.nanoseconds / _NANOSECONDS_PER["h"]

    def minutes(self) -> float:
        return self.nanoseconds / _NANOSECONDS_PER["m"]

    def seconds(self) -> float:
        return self.nanoseconds / _NANOSECONDS_PER["s"]

    METHODS: ClassVar[Mapping[str, tuple[Callable[..., Any], int]]] = {
        "Hours": (hours, 0),
        "Minutes": (minutes, 0),
        "Seconds": (seconds, 0),
        "Milliseconds": (lambda self: int(self.nanoseconds / 1_000_000), 0),
        "Nanoseconds": (lambda self: self.nanoseconds, 0),
        "String": (str, 0),
    }


@dataclass(frozen=True, slots=True, eq=True)
class Time(HostObject):
    """Go's time.Time, at microsecond precision (what Python's datetime holds); always timezone-aware."""

    moment: datetime
    TYPE_NAME: ClassVar[str] = "time.Time"

    def __str__(self) -> str:
        moment = self.moment.astimezone(UTC)
        text = moment.strftime("%Y-%m-%d %H:%M:%S")
        if moment.microsecond:
            text += f".{moment.microsecond:06d}".rstrip("0")
        return text + " +0000 UTC"

    def subtract(self, other: Any) -> Duration:
        earlier = _require_time("Sub", other)
        difference = self.moment - earlier.moment
        return Duration((difference // timedelta(microseconds=1)) * 1000)

    def add(self, duration: Any) -> Time:
        if not isinstance(duration, Duration):
            raise OperationError(f"time.Time.Add expects a time.Duration, got {name_type(duration)}")
        return Time(self.moment + timedelta(microseconds=duration.nanoseconds // 1000))

    METHODS: ClassVar[Mapping[str, tuple[Callable[..., Any], int]]] = {
        "Sub": (subtract, 1),
        "Add": (add, 1),
        "After": (lambda self, other: self.moment > _require_time("After", other).moment, 1),
        "Before": (lambda self, other: self.moment < _require_time("Before", other).moment, 1),
        "Equal": (lambda self, other: self.moment == _require_time("Equal", other).moment, 1),
        "Unix": (lambda self: int(self.moment.timestamp() // 1), 0),
        "UnixMilli": (lambda self: (self.moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1), 0),
        "UTC": (lambda self: Time(self.moment.astimezone(UTC)), 0),
        "String": (str, 0),
    }


def _require_time(method: str, value: Any) -> Time:
    if not isinstance(value, Time):
        raise OperationError(f"time.Time.{method} expects a time.Time, got {name_type(value)}")
    return value


def parse_rfc3339(text: Any) -> Time:
    """`time.Parse(text)` of Argo Rollouts' trigger variables: Go's time.Parse(time.RFC3339, text)."""
    if not isinstance(text, str):
        raise OperationError(f"time.Parse expects a string, got {name_type(text)}")
    match = _RFC3339.fullmatch(text)
    if match is None:
        shown = text if len(text) <= 60 else text[:60] + "..."
        raise OperationError(f"time.Parse: cannot parse {shown!r} as RFC 3339 (such as 2006-01-02T15:04:05Z)")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    offset = timedelta(0)
    if zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            int((fraction or "0").ljust(6, "0")[:6]),
            tzinfo=UTC,
        )
    except ValueError as error:
        raise OperationError(f"time.Parse: {text!r}: {error}") from None
    return Time(moment - offset)


def time_namespace(now: datetime) -> dict[str, HostFunction]:
    """Upstream's `time` variable: `Now()` (the given `now`: time is passed in, never read deep inside) and
    `Parse(rfc3339)`."""
    current = Time(now if now.tzinfo is not None else now.replace(tzinfo=UTC))
    return {
        "Now": HostFunction("time.Now", lambda: current),
        "Parse": HostFunction("time.Parse", parse_rfc3339, 1, 1),
    }


def format_duration(nanoseconds: int) -> str:
    """Go's Duration.String: `1h2m3.5s`, `1.5ms`, `0s`."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    rest = abs(nanoseconds)
    if rest < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if rest >= size:
                return sign + _decimal(rest, size) + unit
    hours, rest = divmod(rest, _NANOSECONDS_PER["h"])
    minutes, rest = divmod(rest, _NANOSECONDS_PER["m"])
    text = f"{hours}h" if hours else ""
    if hours or minutes:
        text += f"{minutes}m"
    return sign + text + _decimal(rest, _NANOSECONDS_PER["s"]) + "s"


def _decimal(value: int, unit: int) -> str:
    whole, fraction = divmod(value, unit)
    if not fraction:
        return str(whole)
    digits = str(fraction).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"
