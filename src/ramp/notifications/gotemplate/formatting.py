"""Go's fmt for template values: `fmt.Sprint` (the `print` builtin), `fmt.Sprintln` and `fmt.Sprintf` (`printf`)
with Go's verbs and flags (%v %s %d %q %f %.2f %e %g %t %x %X %o %b %c %U %T %%, width, precision, `-+ 0#`)
and Go's error forms for a verb that does not fit its argument (`%!d(string=hi)`), a missing argument
(`%!d(MISSING)`) and extra ones (`%!(EXTRA int=1)`).

Used by `builtins` and the sprig modules (`cat`, `toString`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from ramp.notifications.gotemplate.lexer import go_quote, go_quote_rune
from ramp.notifications.gotemplate.values import NO_VALUE, GoFunc, go_type_name, print_value, print_value_nested
from ramp.providers.go_text import format_float_general, format_go_duration, format_go_time


def go_sprint(args: Sequence[Any]) -> str:
    """`fmt.Sprint`: operands joined, with a space between two operands when neither is a string."""
    out: list[str] = []
    previous_string = False
    for index, arg in enumerate(args):
        is_string = isinstance(arg, str)
        if index > 0 and not is_string and not previous_string:
            out.append(" ")
        out.append(print_value_nested(None if arg is NO_VALUE else arg))
        previous_string = is_string
    return "".join(out)


def go_sprintln(args: Sequence[Any]) -> str:
    """`fmt.Sprintln`: operands joined by spaces, then a newline."""
    return " ".join(print_value_nested(None if arg is NO_VALUE else arg) for arg in args) + "\n"


class _Spec:
    __slots__ = ("minus", "plus", "precision", "sharp", "space", "verb", "width", "zero")

    def __init__(self) -> None:
        self.minus = self.plus = self.sharp = self.space = self.zero = False
        self.width: int | None = None
        self.precision: int | None = None
        self.verb = "v"

    def pad(self, text: str) -> str:
        if self.width is None or len(text) >= self.width:
            return text
        fill = self.width - len(text)
        if self.minus:
            return text + " " * fill
        return " " * fill + text


_TOO_LARGE = 1_000_000  # Go refuses a width or precision beyond a million


def _bounded(digits: str) -> int | None:
    # Go stops reading a number that grows past a million and ignores it.
    value = int(digits[:7])
    return value if value <= _TOO_LARGE else None


def go_sprintf(template: str, args: Sequence[Any]) -> str:
    """`fmt.Sprintf(template, args...)`."""
    out: list[str] = []
    arg_index = 0
    index = 0
    length = len(template)
    while index < length:
        percent = template.find("%", index)
        if percent < 0:
            out.append(template[index:])
            break
        out.append(template[index:percent])
        index = percent + 1
        spec = _Spec()
        while index < length and template[index] in "#0+- ":
            flag = template[index]
            spec.sharp |= flag == "#"
            spec.zero |= flag == "0"
            spec.plus |= flag == "+"
            spec.minus |= flag == "-"
            spec.space |= flag == " "
            index += 1
        if index < length and template[index] == "*":
            index += 1
            if arg_index < len(args) and isinstance(args[arg_index], int) and abs(args[arg_index]) <= _TOO_LARGE:
                spec.width = int(args[arg_index])
                if spec.width < 0:
                    spec.minus, spec.width = True, -spec.width
                arg_index += 1
            else:
                arg_index += 1
                out.append("%!(BADWIDTH)")
        else:
            start = index
            while index < length and template[index].isdigit():
                index += 1
            if index > start:
                spec.width = _bounded(template[start:index])
        if index < length and template[index] == ".":
            index += 1
            if index < length and template[index] == "*":
                index += 1
                if arg_index < len(args) and isinstance(args[arg_index], int) and 0 <= args[arg_index] <= _TOO_LARGE:
                    spec.precision = int(args[arg_index])
                    arg_index += 1
                else:
                    arg_index += 1
                    out.append("%!(BADPREC)")
            else:
                start = index
                while index < length and template[index].isdigit():
                    index += 1
                spec.precision = _bounded(template[start:index]) if index > start else 0
        if index >= length:
            out.append("%!(NOVERB)")
            break
        spec.verb = template[index]
        index += 1
        if spec.verb == "%":
            out.append("%")
            continue
        if arg_index >= len(args):
            out.append(f"%!{spec.verb}(MISSING)")
            continue
        arg = args[arg_index]
        arg_index += 1
        out.append(_format_arg(None if arg is NO_VALUE else arg, spec))
    if arg_index < len(args):
        extras = ", ".join(_describe(arg) for arg in args[arg_index:])
        out.append(f"%!(EXTRA {extras})")
    return "".join(out)


def _describe(arg: Any) -> str:
    if arg is None or arg is NO_VALUE:
        return "<nil>"
    return f"{go_type_name(arg)}={print_value(arg)}"


def _bad_verb(arg: Any, spec: _Spec) -> str:
    if arg is None:
        return f"%!{spec.verb}(<nil>)"
    # Go prints the value with %v and the same flags, width and precision.
    as_v = _Spec()
    as_v.minus, as_v.plus, as_v.sharp, as_v.space, as_v.zero = spec.minus, spec.plus, spec.sharp, spec.space, spec.zero
    as_v.width, as_v.precision = spec.width, spec.precision
    return f"%!{spec.verb}({go_type_name(arg)}={_format_arg(arg, as_v)})"


def _hex_float(value: float, upper: bool) -> str:
    """`%x` of a float64: the shortest hexadecimal mantissa and a two-digit binary exponent (0x1.4p+02)."""
    if value == 0:
        text = "0x0p+00"
    else:
        mantissa, _, exponent = float.hex(abs(value)).partition("p")
        mantissa = mantissa.rstrip("0").rstrip(".")
        number = int(exponent)
        text = f"{mantissa}p{'-' if number < 0 else '+'}{abs(number):02d}"
    return text.upper().replace("0X", "0X") if upper else text


def _format_arg(arg: Any, spec: _Spec) -> str:
    verb = spec.verb
    if verb == "T":
        return spec.pad("<nil>" if arg is None else go_type_name(arg))
    if arg is None:
        return spec.pad("<nil>") if verb == "v" else _bad_verb(arg, spec)
    if isinstance(arg, bool):
        if verb in "vt":
            return spec.pad("true" if arg else "false")
        return _bad_verb(arg, spec)
    if isinstance(arg, int):
        return _format_int(arg, spec)
    if isinstance(arg, float):
        return _format_float(arg, spec)
    if isinstance(arg, str):
        return _format_string(arg, spec)
    if isinstance(arg, datetime):
        return _format_string(format_go_time(arg), spec) if verb in "vsq" else _bad_verb(arg, spec)
    if isinstance(arg, timedelta):
        if verb in "vsq":
            return _format_string(format_go_duration(arg), spec)
        nanos = (arg.days * 86_400 + arg.seconds) * 1_000_000_000 + arg.microseconds * 1000
        return _format_int(nanos, spec)
    if isinstance(arg, Mapping):
        items = (f"{_format_arg(key, spec)}:{_format_nested(arg[key], spec)}" for key in sorted(arg))
        return "map[" + " ".join(items) + "]"
    if isinstance(arg, GoFunc):
        return _bad_verb(arg, spec) if verb != "v" else spec.pad("0xc000000000")
    if isinstance(arg, bytes):
        if verb in "sqxX":
            return _format_string(arg.decode("utf-8", "replace"), spec)
        return "[" + " ".join(_format_int(byte, spec) for byte in arg) + "]"
    if isinstance(arg, list | tuple):
        return "[" + " ".join(_format_nested(item, spec) for item in arg) + "]"
    return spec.pad(print_value(arg)) if verb == "v" else _bad_verb(arg, spec)


def _format_nested(arg: Any, spec: _Spec) -> str:
    # A nil inside a list or map prints "<nil>" whatever the verb.
    return spec.pad("<nil>") if arg is None else _format_arg(arg, spec)


def _sign(negative: bool, spec: _Spec) -> str:
    if negative:
        return "-"
    if spec.plus:
        return "+"
    return " " if spec.space else ""


def _pad_number(sign: str, digits: str, spec: _Spec, *, zero_ok: bool = True) -> str:
    if spec.width is not None and spec.zero and not spec.minus and zero_ok:
        digits = digits.rjust(spec.width - len(sign), "0")
    return spec.pad(sign + digits)


def _format_int(value: int, spec: _Spec) -> str:
    verb = spec.verb
    bases = {"d": 10, "v": 10, "b": 2, "o": 8, "O": 8, "x": 16, "X": 16}
    if verb in bases:
        magnitude = abs(value)
        digits = {2: f"{magnitude:b}", 8: f"{magnitude:o}", 10: str(magnitude), 16: f"{magnitude:x}"}[bases[verb]]
        if verb == "X":
            digits = digits.upper()
        if spec.precision is not None:
            digits = "" if spec.precision == 0 and value == 0 else digits.rjust(spec.precision, "0")
        prefix = ""
        if verb == "O" or (spec.sharp and verb == "o" and not digits.startswith("0")):
            prefix = "0o" if verb == "O" else "0"
        elif spec.sharp and verb in "xX":
            prefix = "0" + verb
        elif spec.sharp and verb == "b":
            prefix = "0b"
        return _pad_number(_sign(value < 0, spec) + prefix, digits, spec, zero_ok=spec.precision is None)
    if verb == "c":
        return spec.pad(_rune(value))
    if verb == "q":
        return spec.pad(go_quote_rune(_rune(value)))
    if verb == "U":
        text = f"U+{value:04X}"
        if spec.sharp:
            text += f" '{_rune(value)}'"
        return spec.pad(text)
    return _bad_verb(value, spec)


def _rune(value: int) -> str:
    if 0 <= value <= 0x10FFFF and not 0xD800 <= value <= 0xDFFF:
        return chr(value)
    return "\ufffd"


def _format_float(value: float, spec: _Spec) -> str:
    verb = spec.verb
    if verb in "xX" and not (math.isnan(value) or math.isinf(value)):
        return _pad_number(_sign(value < 0, spec), _hex_float(value, verb == "X"), spec)
    if verb not in "vfFeEgG":
        return _bad_verb(value, spec)
    if math.isnan(value) or math.isinf(value):
        text = "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
        if text != "NaN" and text[0] == "+" and not spec.plus:
            text = text[1:] if not spec.space else " " + text[1:]
        elif text == "NaN" and spec.plus:
            text = "+NaN"
        return spec.pad(text)
    negative = value < 0 or (value == 0 and str(value).startswith("-"))
    magnitude = abs(value)
    if verb in "vgG" and spec.precision is None:
        digits = format_float_general(magnitude)
        if verb == "G":
            digits = digits.upper()
    elif verb in "gG":
        digits = format(magnitude, f".{spec.precision}{verb.lower()}")
        if spec.precision == 0:
            digits = format(magnitude, f".1{verb.lower()}")
        if verb == "G":
            digits = digits.upper()
    else:
        precision = 6 if spec.precision is None else spec.precision
        digits = format(magnitude, f".{precision}{verb.lower() if verb in 'fF' else verb}")
    return _pad_number(_sign(negative, spec), digits, spec)


def _format_string(value: str, spec: _Spec) -> str:
    verb = spec.verb
    if spec.precision is not None and verb in "sqv":
        value = value[: spec.precision]
    if verb in "sv":
        return spec.pad(value)
    if verb == "q":
        if spec.sharp and "`" not in value and all(char.isprintable() or char == "\t" for char in value):
            return spec.pad("`" + value + "`")
        quoted = go_quote(value)
        if spec.plus:
            quoted = "".join(char if ord(char) < 0x80 else _escape_non_ascii(char) for char in quoted)
        return spec.pad(quoted)
    if verb in "xX":
        encoded = value.encode()
        text = (encoded.hex(" ") if spec.space else encoded.hex()) if encoded else ""
        if spec.sharp:
            text = " ".join("0x" + part for part in text.split(" ")) if spec.space else "0x" + text
        return spec.pad(text.upper() if verb == "X" else text)
    return _bad_verb(value, spec)


def _escape_non_ascii(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
