"""Go literals in template text: string and char constants (`strconv.Unquote`) and numbers (the constants of
`text/template/parse`: `1`, `-2`, `0x1F`, `017`, `1_000`, `1.5`, `1e3`, `'a'`).

Used by `parser`.
"""

from __future__ import annotations

import math

_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
}
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1


def _unescape(body: str, quote: str) -> str | None:
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char in (quote, "\n"):
            return None
        if char != "\\":
            out.append(char)
            index += 1
            continue
        if index + 1 >= len(body):
            return None
        code = body[index + 1]
        if code in _SIMPLE_ESCAPES:
            if (code == "'" and quote != "'") or (code == '"' and quote != '"'):
                return None
            out.append(_SIMPLE_ESCAPES[code])
            index += 2
            continue
        width = {"x": 2, "u": 4, "U": 8}.get(code)
        if width is not None:
            digits = body[index + 2 : index + 2 + width]
            if len(digits) != width or any(d not in "0123456789abcdefABCDEF" for d in digits):
                return None
            value = int(digits, 16)
            if code == "x":
                # \xNN is a byte: bytes above 0x7f make invalid UTF-8, which Go prints as U+FFFD when written.
                out.append(chr(value) if value < 0x80 else "\ufffd")
            else:
                if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                    return None
                out.append(chr(value))
            index += 2 + width
            continue
        if code in "01234567":
            digits = body[index + 1 : index + 4]
            if len(digits) != 3 or any(d not in "01234567" for d in digits) or int(digits, 8) > 255:
                return None
            value = int(digits, 8)
            out.append(chr(value) if value < 0x80 else "\ufffd")
            index += 4
            continue
        return None
    return "".join(out)


def unquote_string(quoted: str) -> str | None:
    """The value of a Go interpreted string literal ("a\\tb"); None when Go's strconv.Unquote refuses it."""
    if len(quoted) < 2 or quoted[0] != '"' or quoted[-1] != '"':
        return None
    return _unescape(quoted[1:-1], '"')


def unquote_char(quoted: str) -> int | None:
    """The code point of a Go rune literal ('a', '\\n', '\\u00e9'); None when its first character does not
    read (Go's "invalid syntax"), -1 when more follows it (Go's "malformed character constant")."""
    body = quoted[1:-1] if len(quoted) >= 2 else ""
    if not body or body[0] == "'":
        return None
    width = 1
    if body[0] == "\\":
        code = body[1:2]
        width = {"x": 4, "u": 6, "U": 10}.get(code, 4 if code in "01234567" and code else 2)
    text = _unescape(body[:width], "'")
    if text is None or len(text) != 1:
        return None
    return ord(text) if len(body) == width else -1


def _parse_int(text: str) -> int | None:
    body = text.lstrip("+-")
    sign = -1 if text.startswith("-") else 1
    if len(body) > 1 and body[0] == "0" and body[1] in "01234567_":
        try:
            return sign * int(body[1:], 8)
        except ValueError:
            return None
    try:
        return sign * int(body, 0)
    except ValueError:
        return None


def _parse_float(text: str) -> float | None:
    if text.startswith(("__", "_")) or text.endswith("_"):
        return None
    try:
        if "x" in text.lower():
            if "p" not in text.lower():
                return None  # a hexadecimal float needs its p exponent, as Go's ParseFloat says
            return float.fromhex(text.replace("_", ""))
        value = float(text)
    except ValueError:
        return None
    if math.isinf(value):
        return None
    return value


def parse_number(text: str) -> tuple[int | None, float | None, bool] | None:
    """(integer value, float value, written as a float) of a number constant, or None when it is not one.

    >>> parse_number("3")
    (3, 3.0, False)
    >>> parse_number("1.5")
    (None, 1.5, True)
    >>> parse_number("2.0")
    (2, 2.0, True)
    """
    if text.endswith("i"):
        return None  # complex constants: no JSON value is complex
    is_float_text = any(char in text for char in ".eEpP") and not text.lower().lstrip("+-").startswith("0x")
    is_float_text = is_float_text or ("p" in text.lower())
    integer = _parse_int(text)
    if integer is not None:
        if not _INT64_MIN <= integer <= _INT64_MAX:
            if integer > _INT64_MAX and integer <= (1 << 64) - 1:
                return None, float(integer), False
            return None
        return integer, float(integer), False
    value = _parse_float(text)
    if value is None:
        return None
    if not any(char in text for char in ".eEpP"):
        return None
    as_int = int(value) if value.is_integer() and _INT64_MIN <= value <= _INT64_MAX else None
    return as_int, value, is_float_text
