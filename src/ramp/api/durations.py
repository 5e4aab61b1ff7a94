"""Duration strings as Argo Rollouts writes them (Go's `time.ParseDuration` syntax: "30s", "5m", "1h30m").

`parse_duration` reads them; `Duration` is the field type for durations Ramp checks when a manifest is
parsed (experiment durations); `PauseDuration` is a pause step's duration (`30`, `"30"` or `"30s"`), read by
`pause_seconds` with upstream's documented behaviour. Analysis metric durations (interval, initialDelay) stay
plain strings in the models because templates may hold "{{args.interval}}" until the run resolves them.

Used by `ramp.api.steps`, `ramp.api.experiment`, and by the reconcilers that wait for pauses and intervals.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from ramp.api.meta import INT_OR_STRING

_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,  # micro sign, accepted by Go
    "\u03bcs": 1e-6,  # Greek mu, accepted by Go
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
# Unambiguous (a number has one way to split into digits, dot and digits; a unit ends where the next digit starts),
# so matching and failing both take time linear in the text: no backtracking blow-up on "11s" * 26 + "x".
_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_UNIT = r"(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h)"
_COMPONENT = re.compile(rf"({_NUMBER})({_UNIT})")
_WHOLE = re.compile(rf"[-+]?(?:{_NUMBER}{_UNIT})+")
MAX_DURATION_LENGTH = 256
"""Characters in a duration string; "2562047h47m16.854775807s" (Go's largest) has 24."""
_MAX_SECONDS = (2**63 - 1) / 1e9  # Go's time.Duration is an int64 of nanoseconds
_MAX_PAUSE_SECONDS = 2**31 - 1  # upstream reads a pause as an int32 of seconds

DURATION_HINT = 'must be a duration such as "30s", "5m" or "1h30m"'


def parse_duration(text: str) -> timedelta:
    """Read a Go duration string: "300ms", "1.5h", "2h45m", "-5s", "0".

    Raises ValueError with the accepted form when the text is not a duration (a bare "30" is not one:
    Go requires a unit except for "0").
    """
    if text in ("0", "+0", "-0"):
        return timedelta(0)
    if len(text) > MAX_DURATION_LENGTH:
        raise ValueError(f"duration is {len(text)} characters long; at most {MAX_DURATION_LENGTH} are allowed")
    if not _WHOLE.fullmatch(text):
        raise ValueError(f"{text!r} {DURATION_HINT}")
    sign = -1.0 if text.startswith("-") else 1.0
    seconds = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _COMPONENT.findall(text))
    if not seconds <= _MAX_SECONDS:
        raise ValueError(f"{text!r} is out of range: a duration is at most 2562047h47m16s")
    return timedelta(seconds=sign * seconds)


def _check_duration(text: str) -> str:
    if text == "":
        return text  # empty means unset, as with Go's omitempty
    try:
        parse_duration(text)
    except ValueError as problem:
        raise _duration_error("duration", DURATION_HINT, problem) from None
    return text


def _duration_error(kind: str, hint: str, problem: ValueError) -> PydanticCustomError:
    """The hint for text that is no duration; the problem itself for one too long or out of range."""
    message = str(problem)
    if message.endswith(DURATION_HINT):
        return PydanticCustomError(kind, hint)
    return PydanticCustomError(kind, "{problem}", {"problem": message})


Duration = Annotated[str, AfterValidator(_check_duration)]
"""A duration string checked at parse time ("30s", "5m", "1h")."""

_PAUSE_HINT = 'must be a number of seconds or a duration such as "30s", "5m" or "1h"'


def pause_seconds(duration: int | str) -> int:
    """Seconds a pause step waits, following upstream's RolloutPause.DurationSeconds.

    An integer, or a string of digits, is seconds; otherwise the string is a Go duration truncated to whole
    seconds. Examples: 30 -> 30; "30" -> 30; "1m30s" -> 90; "1500ms" -> 1.
    Raises ValueError for anything else.
    """
    if isinstance(duration, int):
        seconds = duration
    elif _is_decimal_integer(duration.strip()):
        digits = duration.strip()
        if len(digits.lstrip("+-").lstrip("0")) > 10:
            raise ValueError(f"{_shorten(duration)} is out of range: a pause is at most {_MAX_PAUSE_SECONDS} seconds")
        seconds = int(digits)
    else:
        seconds = int(parse_duration(duration).total_seconds())
    if abs(seconds) > _MAX_PAUSE_SECONDS:
        raise ValueError(f"{_shorten(str(duration))} is out of range: a pause is at most {_MAX_PAUSE_SECONDS} seconds")
    return seconds


def _is_decimal_integer(text: str) -> bool:
    digits = text[1:] if text[:1] in ("+", "-") else text
    return digits.isascii() and digits.isdigit()


def _shorten(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _check_pause_duration(value: object) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PydanticCustomError("pause_duration", _PAUSE_HINT)
    try:
        seconds = pause_seconds(value)
    except ValueError as problem:
        raise _duration_error("pause_duration", _PAUSE_HINT, problem) from None
    if seconds < 0:
        raise PydanticCustomError(
            "pause_duration", "Duration needs to be greater than 0 (0 or more, such as 30s; none pauses until promoted)"
        )
    return value


PauseDuration = Annotated[
    int | str,
    PlainValidator(_check_pause_duration),
    WithJsonSchema({INT_OR_STRING: True}),
]
"""A pause step's duration: `30`, `"30"` or `"30s"`; absent means pause until promoted."""
