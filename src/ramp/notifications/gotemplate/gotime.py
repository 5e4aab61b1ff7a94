"""Go's time layouts ("2006-01-02T15:04:05Z07:00"): formatting a time with one (`Time.Format`, sprig's `date`)
and parsing text with one (`time.Parse`, sprig's `toDate`).

The layout words are Go's: 2006 06 01 1 Jan January 02 2 _2 002 15 03 3 04 4 05 5 PM pm Mon Monday MST
Z07:00 -07:00 Z0700 -0700 Z07 -07 and fractional seconds .000 / .999 (or with a comma).

Used by `methods` and `sprig_dates`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Final

RFC3339: Final = "2006-01-02T15:04:05Z07:00"
_MONTHS: Final = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)
_DAYS: Final = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_ZONES: Final = ("Z070000", "Z07:00:00", "Z0700", "Z07:00", "Z07", "-070000", "-07:00:00", "-0700", "-07:00", "-07")


def _next_chunk(layout: str, start: int) -> tuple[int, str]:
    """(index, word) of the next layout word at or after `start`, or (len(layout), "")."""
    index = start
    while index < len(layout):
        rest = layout[index:]
        char = rest[0]
        # "Jan" and "Mon" followed by a lower-case letter are text ("Monat"), as in Go.
        if char == "J" and rest.startswith("Jan"):
            if rest.startswith("January"):
                return index, "January"
            if not rest[3:4].islower():
                return index, "Jan"
        if char == "M":
            if rest.startswith("Mon"):
                if rest.startswith("Monday"):
                    return index, "Monday"
                if not rest[3:4].islower():
                    return index, "Mon"
            if rest.startswith("MST"):
                return index, "MST"
        if char == "0":
            if rest.startswith("002"):
                return index, "002"
            if len(rest) > 1 and rest[1] in "123456":
                return index, rest[:2]
        if char == "1":
            return index, "15" if rest.startswith("15") else "1"
        if char == "2":
            return index, "2006" if rest.startswith("2006") else "2"
        if char == "_":
            if rest.startswith("_2"):
                if rest.startswith("_2006"):
                    return index + 1, "2006"
                return index, "_2"
            if rest.startswith("__2"):
                return index, "__2"
        if char in "345":
            return index, char
        if char == "P" and rest.startswith("PM"):
            return index, "PM"
        if char == "p" and rest.startswith("pm"):
            return index, "pm"
        if char in "-Z":
            for zone in _ZONES:
                if rest.startswith(zone):
                    return index, zone
        if char in ".," and len(rest) > 1 and rest[1] in "09":
            digit = rest[1]
            end = 1
            while end < len(rest) and rest[end] == digit:
                end += 1
            if not (end < len(rest) and rest[end].isdigit()):
                return index, rest[:end]
        index += 1
    return len(layout), ""


def format_layout(moment: datetime, layout: str) -> str:
    """`moment.Format(layout)`."""
    out: list[str] = []
    index = 0
    while index < len(layout):
        found, word = _next_chunk(layout, index)
        out.append(layout[index:found])
        if not word:
            break
        out.append(_format_word(moment, word))
        index = found + len(word)
    return "".join(out)


def _offset_seconds(moment: datetime) -> int:
    offset = moment.utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _format_word(moment: datetime, word: str) -> str:
    hour12 = moment.hour % 12 or 12
    simple = {
        "January": _MONTHS[moment.month - 1],
        "Jan": _MONTHS[moment.month - 1][:3],
        "Monday": _DAYS[moment.weekday()],
        "Mon": _DAYS[moment.weekday()][:3],
        "2006": f"{moment.year:04d}",
        "06": f"{moment.year % 100:02d}",
        "01": f"{moment.month:02d}",
        "1": str(moment.month),
        "02": f"{moment.day:02d}",
        "2": str(moment.day),
        "_2": f"{moment.day:2d}",
        "002": f"{moment.timetuple().tm_yday:03d}",
        "__2": f"{moment.timetuple().tm_yday:3d}",
        "15": f"{moment.hour:02d}",
        "03": f"{hour12:02d}",
        "3": str(hour12),
        "04": f"{moment.minute:02d}",
        "4": str(moment.minute),
        "05": f"{moment.second:02d}",
        "5": str(moment.second),
        "PM": "PM" if moment.hour >= 12 else "AM",
        "pm": "pm" if moment.hour >= 12 else "am",
    }
    if word in simple:
        return simple[word]
    offset = _offset_seconds(moment)
    if word == "MST":
        name = moment.tzname() if moment.tzinfo is not None else "UTC"
        if isinstance(moment.tzinfo, timezone) and offset != 0:
            name = None  # a fixed offset from parsed text has no zone name; Go writes the offset
        if name and name[0].isalpha():
            return name
        return _format_offset(offset, "-0700")
    if word[0] in "-Z":
        if word[0] == "Z" and offset == 0:
            return "Z"
        return _format_offset(offset, "-" + word[1:])
    digits = f"{moment.microsecond:06d}000"[: len(word) - 1]
    if word[1] == "9":
        digits = digits.rstrip("0")
        return word[0] + digits if digits else ""
    return word[0] + digits


def _format_offset(offset: int, word: str) -> str:
    sign = "-" if offset < 0 else "+"
    offset = abs(offset)
    hours, rest = divmod(offset, 3600)
    minutes, seconds = divmod(rest, 60)
    colon = ":" if ":" in word else ""
    text = f"{sign}{hours:02d}"
    if word not in ("-07",):
        text += f"{colon}{minutes:02d}"
    if word in ("-070000", "-07:00:00"):
        text += f"{colon}{seconds:02d}"
    return text


class _ParseError(ValueError):
    pass


def parse_layout(layout: str, text: str, default_zone: tzinfo = UTC) -> datetime:
    """`time.ParseInLocation(layout, text, zone)`; ValueError worded as Go's on a mismatch."""
    fields: dict[str, int] = {
        **{"year": 1, "month": -1, "day": -1, "yday": -1},
        **{"hour": 0, "minute": 0, "second": 0, "micro": 0},
    }
    pm: bool | None = None
    zone: tzinfo | None = None
    value = text
    index = 0
    try:
        while True:
            found, word = _next_chunk(layout, index)
            prefix = layout[index:found]
            value = _skip(value, prefix)
            if not word:
                if value:
                    raise _ParseError(f"extra text: {_q(value)}")
                break
            index = found + len(word)
            value, pm, zone = _parse_word(word, value, fields, pm, zone, layout[index:])
    except _ParseError as error:
        raise ValueError(f"parsing time {_q(text)} as {_q(layout)}: {error}") from None
    except _RangeError as error:
        raise ValueError(f"parsing time {_q(text)}: {error} out of range") from None
    if pm is not None:
        if pm and fields["hour"] < 12:
            fields["hour"] += 12
        elif not pm and fields["hour"] == 12:
            fields["hour"] = 0
    _resolve_day(fields, text)
    try:
        return datetime(
            fields["year"],
            fields["month"],
            fields["day"],
            fields["hour"],
            fields["minute"],
            fields["second"],
            fields["micro"],
            tzinfo=zone or default_zone,
        )
    except ValueError:
        raise ValueError(f"parsing time {_q(text)}: day out of range") from None


_DAYS_BEFORE: Final = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _resolve_day(fields: dict[str, int], text: str) -> None:
    """Month and day from a day of the year (002), checked against any month and day given, as Go does."""
    yday = fields["yday"]
    if yday < 0:
        fields["month"] = 1 if fields["month"] < 0 else fields["month"]
        fields["day"] = 1 if fields["day"] < 0 else fields["day"]
        return
    month = day = 0
    if _is_leap(fields["year"]):
        if yday == 31 + 29:
            month, day = 2, 29
        elif yday > 31 + 29:
            yday -= 1
    if not 1 <= yday <= 365:
        raise ValueError(f"parsing time {_q(text)}: day-of-year out of range")
    if month == 0:
        month = (yday - 1) // 31 + 1
        if _DAYS_BEFORE[month] < yday:
            month += 1
        day = yday - _DAYS_BEFORE[month - 1]
    if fields["month"] >= 0 and fields["month"] != month:
        raise ValueError(f"parsing time {_q(text)}: day-of-year does not match month")
    if fields["day"] >= 0 and fields["day"] != day:
        raise ValueError(f"parsing time {_q(text)}: day-of-year does not match day")
    fields["month"], fields["day"] = month, day


class _RangeError(ValueError):
    pass


_RANGES: Final = {"month": (1, 12), "hour": (0, 23), "hour12": (0, 12), "minute": (0, 59), "second": (0, 59)}


def _skip(value: str, prefix: str) -> str:
    """`value` after the layout's literal `prefix`; a space in the layout matches any run of spaces (Go's skip)."""
    rest = prefix
    while rest:
        if rest[0] == " ":
            if value and value[0] != " ":
                raise _ParseError(f"cannot parse {_q(value)} as {_q(prefix)}")
            rest, value = rest.lstrip(" "), value.lstrip(" ")
            continue
        if not value or value[0] != rest[0]:
            raise _ParseError(f"cannot parse {_q(value)} as {_q(prefix)}")
        rest, value = rest[1:], value[1:]
    return value


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _take_digits(value: str, word: str, least: int, most: int) -> tuple[int, str]:
    end = 0
    while end < len(value) and end < most and value[end].isdigit():
        end += 1
    if end < least:
        raise _ParseError(f"cannot parse {_q(value)} as {_q(word)}")
    return int(value[:end]), value[end:]


def _parse_word(
    word: str,
    value: str,
    fields: dict[str, int],
    pm: bool | None,
    zone: tzinfo | None,
    rest_layout: str,
) -> tuple[str, bool | None, tzinfo | None]:
    if word in ("January", "Jan"):
        for number, month in enumerate(_MONTHS, start=1):
            name = month if word == "January" else month[:3]
            if value.lower().startswith(name.lower()):
                fields["month"] = number
                return value[len(name) :], pm, zone
        raise _ParseError(f"cannot parse {_q(value)} as {_q(word)}")
    if word in ("Monday", "Mon"):
        for day in _DAYS:
            name = day if word == "Monday" else day[:3]
            if value.lower().startswith(name.lower()):
                return value[len(name) :], pm, zone
        raise _ParseError(f"cannot parse {_q(value)} as {_q(word)}")
    numeric = {
        "2006": ("year", 4, 4),
        "06": ("year", 2, 2),
        "01": ("month", 2, 2),
        "1": ("month", 1, 2),
        "02": ("day", 2, 2),
        "2": ("day", 1, 2),
        "15": ("hour", 1, 2),
        "03": ("hour12", 2, 2),
        "3": ("hour12", 1, 2),
        "04": ("minute", 2, 2),
        "4": ("minute", 1, 2),
        "05": ("second", 2, 2),
        "5": ("second", 1, 2),
        "002": ("yday", 3, 3),
        "__2": ("yday", 1, 3),
    }
    original = word
    if word == "_2":
        value = value[1:] if value.startswith(" ") else value
        word = "2"
    if word == "__2":
        value = value[2:] if value.startswith("  ") else (value[1:] if value.startswith(" ") else value)
    if word in numeric:
        name, least, most = numeric[word]
        number, value = _take_digits(value, original, least, most)
        if word == "06":
            number += 1900 if number >= 69 else 2000
        low, high = _RANGES.get(name, (0, number))
        if not low <= number <= high:
            raise _RangeError("hour" if name == "hour12" else name)
        if name == "hour12":
            name = "hour"
        fields[name] = number
        # Go reads a fraction after the seconds unless the layout's next word (anywhere after) is one.
        has_fraction = len(value) >= 2 and value[0] in ".," and value[1].isdigit()
        if name == "second" and has_fraction and _next_chunk(rest_layout, 0)[1][:1] not in (".", ","):
            end = 1
            while end < len(value) and value[end].isdigit():
                end += 1
            fields["micro"] = int((value[1:end] + "000000")[:6])
            value = value[end:]
        return value, pm, zone
    if word in ("PM", "pm"):
        marker = value[:2]
        if marker not in ((("AM", "PM")) if word == "PM" else ("am", "pm")):
            raise _ParseError(f"cannot parse {_q(value)} as {_q(word)}")
        return value[2:], marker in ("PM", "pm"), zone
    if word == "MST":
        length = _zone_name_length(value)
        if length == 0:
            raise _ParseError(f"cannot parse {_q(value)} as {_q(word)}")
        return value[length:], pm, UTC if value[:length] in ("UTC", "GMT") else zone
    if word[0] in "-Z":
        if word[0] == "Z" and value.startswith("Z"):
            return value[1:], pm, UTC
        return _parse_offset(word, value, pm)
    if word[0] in ".,":
        digits = len(word) - 1
        if len(value) < 1 or value[0] not in ".,":
            if word[1] == "9":
                return value, pm, zone
            raise _ParseError(f"cannot parse {_q(value)} as {_q(word)}")
        end = 1
        while end < len(value) and value[end].isdigit() and (word[1] == "9" or end <= digits):
            end += 1
        fields["micro"] = int((value[1:end] + "000000")[:6])
        return value[end:], pm, zone
    raise _ParseError(f"cannot parse {_q(value)} as {_q(word)}")


def _zone_name_length(value: str) -> int:
    """Go's parseTimeZone for a name: UTC, ChST/MeST, or 3 to 5 capitals (4 and 5 ending in T, or WITA)."""
    if value.startswith("UTC") or value.startswith("GMT"):
        return 3
    if value[:4] in ("ChST", "MeST"):
        return 4
    upper = 0
    while upper < 6 and upper < len(value) and "A" <= value[upper] <= "Z":
        upper += 1
    if upper == 3:
        return 3
    if upper == 4 and (value[3] == "T" or value[:4] == "WITA"):
        return 4
    if upper == 5 and value[4] == "T":
        return 5
    return 0


def _parse_offset(word: str, value: str, pm: bool | None) -> tuple[str, bool | None, tzinfo]:
    shape = word[1:]
    length = len(shape) + 1
    chunk = value[:length]
    if len(chunk) < length or chunk[0] not in "+-":
        raise _ParseError(f"cannot parse {_q(value)} as {_q(word)}")
    digits = chunk[1:].replace(":", "") if ":" in shape else chunk[1:]
    if not digits.isdigit():
        raise _ParseError(f"cannot parse {_q(value)} as {_q(word)}")
    hours = int(digits[:2])
    minutes = int(digits[2:4]) if len(digits) >= 4 else 0
    seconds = int(digits[4:6]) if len(digits) >= 6 else 0
    offset = timedelta(hours=hours, minutes=minutes, seconds=seconds)
    if chunk[0] == "-":
        offset = -offset
    return value[length:], pm, timezone(offset) if offset else UTC
