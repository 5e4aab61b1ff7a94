"""Sprig's date functions: now date dateInZone htmlDate htmlDateInZone dateModify toDate unixEpoch ago duration
durationRound (and the snake_case and must* aliases), with sprig's quirks kept: `date` of a value that is not a
time or an int formats the current time, `duration` of anything but an int64 or a numeric string is "0s", and
`toDate` of text that does not parse is Go's zero time.

The current time comes from `CURRENT_TIME` (set by `Template.render(now=...)`), so rendering is reproducible.
"Local" is UTC: the controller runs in UTC.

Used by `functions`.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ramp.notifications.gotemplate.gotime import format_layout, parse_layout
from ramp.notifications.gotemplate.values import FuncError, GoFunc, GoInt64
from ramp.providers.go_text import format_go_duration

CURRENT_TIME: ContextVar[datetime | None] = ContextVar("gotemplate_now", default=None)
ZERO_TIME: Final = datetime(1, 1, 1, tzinfo=UTC)
_UNITS: Final = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_DURATION_PART: Final = re.compile(r"([0-9]*(?:\.[0-9]*)?)([a-z\u00b5\u03bc]+)")


def current_time() -> datetime:
    now = CURRENT_TIME.get()
    return now if now is not None else datetime.now(UTC)


def _zone(name: str) -> tzinfo:
    if name in ("Local", "UTC", ""):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _as_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return current_time()


def _date_in_zone(layout: str, value: Any, zone: str) -> str:
    return format_layout(_as_time(value).astimezone(_zone(zone)), layout)


def parse_go_duration(text: str) -> timedelta:
    """`time.ParseDuration`: "1h30m", "-1.5h", "300ms"; ValueError worded as Go's."""
    original = text
    sign = 1
    if text[:1] in "+-":
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return timedelta(0)
    if not text:
        raise ValueError(f'time: invalid duration "{original}"')
    total = 0.0
    position = 0
    while position < len(text):
        match = _DURATION_PART.match(text, position)
        if match is None or match.group(1) in ("", "."):
            raise ValueError(f'time: invalid duration "{original}"')
        unit = _UNITS.get(match.group(2))
        if unit is None:
            raise ValueError(f'time: unknown unit "{match.group(2)}" in duration "{original}"')
        total += float(match.group(1)) * unit
        position = match.end()
    return timedelta(microseconds=sign * total / 1000)


def _date_modify(change: str, moment: datetime) -> datetime:
    try:
        return moment + parse_go_duration(change)
    except ValueError:
        return moment


def _must_date_modify(change: str, moment: datetime) -> datetime:
    try:
        return moment + parse_go_duration(change)
    except ValueError as error:
        raise FuncError(str(error)) from None


def _to_date(layout: str, text: str) -> datetime:
    try:
        return parse_layout(layout, text, UTC)
    except ValueError:
        return ZERO_TIME


def _must_to_date(layout: str, text: str) -> datetime:
    try:
        return parse_layout(layout, text, UTC)
    except ValueError as error:
        raise FuncError(str(error)) from None


def _ago(value: Any) -> str:
    elapsed = current_time() - _as_time(value)
    return format_go_duration(timedelta(seconds=round(elapsed.total_seconds())))


def _duration(value: Any) -> str:
    seconds = 0
    if isinstance(value, GoInt64) or (isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]+", value)):
        seconds = int(value)
    return format_go_duration(timedelta(seconds=seconds))


def _duration_round(value: Any) -> str:
    nanos = 0
    if isinstance(value, str):
        try:
            duration = parse_go_duration(value)
        except ValueError:
            duration = timedelta(0)
        nanos = round(duration.total_seconds() * 1e9)
    elif isinstance(value, GoInt64):
        nanos = int(value)
    elif isinstance(value, datetime):
        nanos = round((current_time() - value).total_seconds() * 1e9)
    nanos = abs(nanos)
    hour = 3_600_000_000_000
    for size, suffix in (
        (hour * 24 * 365, "y"),
        (hour * 24 * 30, "mo"),
        (hour * 24, "d"),
        (hour, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
    ):
        if nanos > size:
            return f"{nanos // size}{suffix}"
    return "0s"


DATE_FUNCTIONS: dict[str, GoFunc] = {
    "now": GoFunc("now", current_time, go_type="func() time.Time"),
    "date": GoFunc("date", lambda layout, value: _date_in_zone(layout, value, "Local"), ("string", "any")),
    "dateInZone": GoFunc("dateInZone", _date_in_zone, ("string", "any", "string")),
    "date_in_zone": GoFunc("date_in_zone", _date_in_zone, ("string", "any", "string")),
    "htmlDate": GoFunc("htmlDate", lambda value: _date_in_zone("2006-01-02", value, "Local"), ("any",)),
    "htmlDateInZone": GoFunc(
        "htmlDateInZone",
        lambda value, zone: _date_in_zone("2006-01-02", value, zone),
        ("any", "string"),
    ),
    "dateModify": GoFunc("dateModify", _date_modify, ("string", "time")),
    "date_modify": GoFunc("date_modify", _date_modify, ("string", "time")),
    "mustDateModify": GoFunc("mustDateModify", _must_date_modify, ("string", "time")),
    "must_date_modify": GoFunc("must_date_modify", _must_date_modify, ("string", "time")),
    "toDate": GoFunc("toDate", _to_date, ("string", "string")),
    "mustToDate": GoFunc("mustToDate", _must_to_date, ("string", "string")),
    "unixEpoch": GoFunc(
        "unixEpoch",
        lambda moment: str(int((moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() // 1)),
        ("time",),
    ),
    "ago": GoFunc("ago", _ago, ("any",)),
    "duration": GoFunc("duration", _duration, ("any",)),
    "durationRound": GoFunc("durationRound", _duration_round, ("any",)),
}
"""Sprig's date functions by name."""
