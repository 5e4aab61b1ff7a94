"""Values written as text the way upstream Argo Rollouts' Go code writes them, so a measurement's `value` reads
the same in Ramp as in Argo Rollouts for the same backend response.

Four writers, each named after the Go call it matches:
- `format_float_plain`: `strconv.FormatFloat(v, 'f', -1, 64)`: shortest digits, never an exponent ("0.99", "1").
- `format_go_value`: `fmt.Sprint(v)` (the `%v` verb): floats in shortest `%g` with an exponent from 1e+06 up
  and below 1e-04, lists as "[a b]", None as "<nil>", times and durations as Go prints them.
- `format_go_json`: `json.Marshal(v)`: keys sorted, no spaces, `<`, `>` and `&` escaped, floats with an exponent
  only below 1e-6 and from 1e21 up.
- Python's own "%f" and "%.2f" already match Go's for the same verbs, so they need no writer here.

Used by the HTTP metric providers (`ramp.providers.datadog`, `newrelic`, `cloudwatch`, `influxdb`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any


def format_float_plain(value: float) -> str:
    """`strconv.FormatFloat(v, 'f', -1, 64)`. Examples: 0.99 -> "0.99"; 1.0 -> "1"; 1e21 -> "1" + 21 zeros;
    NaN -> "NaN"; inf -> "+Inf"."""
    special = _format_special(value)
    if special is not None:
        return special
    text = format(Decimal(repr(float(value))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_float_general(value: float) -> str:
    """`fmt.Sprint` of a float64: shortest digits; an exponent when it is below -4 or at least 6.

    Examples: 123456.0 -> "123456"; 1e6 -> "1e+06"; 1234567.0 -> "1.234567e+06"; 1e-05 -> "1e-05"; 0.0001 -> "0.0001".
    """
    special = _format_special(value)
    if special is not None:
        return special
    digits, exponent = _shortest_digits(value)
    if exponent < -4 or exponent >= 6:
        return _format_exponent(value, digits, exponent, min_exponent_digits=2)
    return format_float_plain(value)


def format_go_json_float(value: float) -> str:
    """A float as `encoding/json` writes it. Examples: 1e20 -> "100000000000000000000"; 1e21 -> "1e+21";
    -2.25e-7 -> "-2.25e-7"."""
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        digits, exponent = _shortest_digits(value)
        return _format_exponent(value, digits, exponent, min_exponent_digits=1)
    return format_float_plain(value)


def format_go_value(value: Any) -> str:
    """`fmt.Sprint(v)` for the values a JSON or CSV reply decodes into (lists print space-separated)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float_general(value)
    if isinstance(value, datetime):
        return format_go_time(value)
    if isinstance(value, timedelta):
        return format_go_duration(value)
    if isinstance(value, bytes):
        return "[" + " ".join(str(byte) for byte in value) + "]"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{key}:{format_go_value(value[key])}" for key in sorted(value)) + "]"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "[" + " ".join(format_go_value(item) for item in value) + "]"
    return str(value)


def format_go_json(value: Any) -> str:
    """`json.Marshal(v)` for decoded JSON values (dicts, lists, strings, numbers, booleans, None)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_go_json_float(value)
    if isinstance(value, str):
        return _escape_go_json_string(value)
    if isinstance(value, Mapping):
        members = (f"{_escape_go_json_string(str(key))}:{format_go_json(value[key])}" for key in sorted(value))
        return "{" + ",".join(members) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(format_go_json(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def format_go_time(moment: datetime) -> str:
    """`time.Time.String()` for a UTC time: "2024-01-02 03:04:05.5 +0000 UTC" (fraction without trailing zeros)."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    return text + " +0000 UTC"


def format_go_duration(duration: timedelta) -> str:
    """`time.Duration.String()` for whole and fractional seconds: "1m30s", "1h0m0s", "1.5s", "0s"."""
    microseconds = round(duration.total_seconds() * 1_000_000)
    if microseconds == 0:
        return "0s"
    sign = "-" if microseconds < 0 else ""
    microseconds = abs(microseconds)
    if microseconds < 1000:
        return f"{sign}{microseconds}\u00b5s"
    if microseconds < 1_000_000:
        if microseconds % 1000 == 0:
            return f"{sign}{microseconds // 1000}ms"
        return f"{sign}{format_float_plain(microseconds / 1000)}ms"
    hours, rest = divmod(microseconds, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds = format_float_plain(rest / 1_000_000)
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{sign}{minutes}m{seconds}s"
    return f"{sign}{seconds}s"


def _format_special(value: float) -> str | None:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return None


def _shortest_digits(value: float) -> tuple[str, int]:
    """The shortest round-tripping digits of `value` and its decimal exponent: 1234.5 -> ("12345", 3)."""
    if value == 0:
        return "0", 0
    _sign, digit_tuple, exponent = Decimal(repr(abs(float(value)))).normalize().as_tuple()
    digits = "".join(str(digit) for digit in digit_tuple)
    assert isinstance(exponent, int)
    return digits, exponent + len(digits) - 1


def _format_exponent(value: float, digits: str, exponent: int, min_exponent_digits: int) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "-" if value < 0 else ""
    exponent_sign = "-" if exponent < 0 else "+"
    return f"{sign}{mantissa}e{exponent_sign}{abs(exponent):0{min_exponent_digits}d}"


def _escape_go_json_string(text: str) -> str:
    # Go escapes HTML-significant characters and the two JavaScript line separators; other non-ASCII stays UTF-8.
    encoded = json.dumps(text, ensure_ascii=False)
    for character, escape in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        encoded = encoded.replace(character, escape)
    return encoded
