"""Sprig's math and conversion functions: add add1 sub mul div mod max biggest min (int64, after spf13/cast's
conversions: "12" is 12, 3.9 is 3, true is 1, anything else 0), addf add1f subf mulf divf maxf minf (decimal
arithmetic, float64), floor ceil round, int int64 float64 atoi toDecimal, and the random ones.

Go's int64 semantics: results wrap at 64 bits, division truncates toward zero, dividing by zero is Go's runtime
error.

Used by `functions` and `sprig_collections`.
"""

from __future__ import annotations

import math
import secrets
import string
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Any

from ramp.notifications.gotemplate.quoting import parse_number
from ramp.notifications.gotemplate.values import NO_VALUE, FuncError, GoFunc, GoInt64


def wrap64(value: int) -> int:
    return ((value + (1 << 63)) % (1 << 64)) - (1 << 63)


def _trim_zero_decimal(text: str) -> str:
    if "." not in text:
        return text
    head, _, tail = text.partition(".")
    return head if tail.strip("0") == "" and head else text


def to_int64(value: Any) -> int:
    """spf13/cast ToInt64: numbers truncated, numeric strings parsed (base prefixes too), bools 1/0, else 0."""
    if value is None or value is NO_VALUE:
        return 0
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, int):
        return wrap64(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return -(1 << 63)
        return wrap64(int(value))
    if isinstance(value, str):
        parsed = parse_number(_trim_zero_decimal(value))
        if parsed is None or parsed[2] or parsed[0] is None:
            return 0
        return parsed[0]
    return 0


def to_int(value: Any) -> int:
    return to_int64(value)


def to_float64(value: Any) -> float:
    """spf13/cast ToFloat64: numbers, numeric strings, bools 1/0, else 0."""
    if value is None or value is NO_VALUE:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return 0.0
    return 0.0


def _int64(value: int) -> GoInt64:
    return GoInt64(wrap64(value))


def _truncated_div(left: int, right: int) -> int:
    if right == 0:
        raise FuncError("runtime error: integer divide by zero")
    quotient = abs(left) // abs(right)
    return quotient if (left >= 0) == (right >= 0) else -quotient


def _mod(left: int, right: int) -> int:
    if right == 0:
        raise FuncError("runtime error: integer divide by zero")
    return left - right * _truncated_div(left, right)


def _decimal(value: Any) -> Decimal:
    number = to_float64(value)
    try:
        return Decimal(repr(number))
    except InvalidOperation:
        return Decimal(0)


def _decimal_op(first: Any, rest: tuple[Any, ...], op: str) -> float:
    result = _decimal(first)
    for value in rest:
        operand = _decimal(value)
        if op == "+":
            result += operand
        elif op == "-":
            result -= operand
        elif op == "*":
            result *= operand
        else:
            if operand == 0:
                raise FuncError("decimal division by 0")
            # shopspring/decimal divides to 16 decimal places, rounding half away from zero.
            with localcontext() as context:
                context.prec = 80
                result = (result / operand).quantize(Decimal(1).scaleb(-16), rounding=ROUND_HALF_UP)
    return float(result)


def _round(value: Any, places: int, *round_on: float) -> float:
    threshold = round_on[0] if round_on else 0.5
    try:
        pow10 = math.pow(10, places)
    except OverflowError:
        pow10 = math.inf
    digit = pow10 * to_float64(value)
    if math.isnan(digit) or math.isinf(digit):
        rounded = digit  # Go's Ceil and Floor keep NaN and infinities
    else:
        rounded = float(math.ceil(digit) if math.modf(digit)[0] >= threshold else math.floor(digit))
    return rounded / pow10 if not (math.isinf(rounded) and math.isinf(pow10)) else math.nan


def _atoi(text: str) -> int:
    body = text[1:] if text[:1] in "+-" else text
    if not body or not body.isdigit() or not body.isascii():
        return 0
    value = int(text)
    return value if -(1 << 63) <= value < (1 << 63) else 0


def _to_decimal(value: Any) -> GoInt64:
    from ramp.notifications.gotemplate.sprig_strings import strval

    try:
        return GoInt64(int(strval(value), 8))
    except ValueError:
        return GoInt64(0)


def _random(alphabet: str, count: int) -> str:
    if count < 0:
        raise FuncError("count must be positive")
    if count > 100_000:
        raise FuncError(f"random string of {count} characters exceeds the limit of 100000")
    return "".join(secrets.choice(alphabet) for _ in range(count))


def _rand_int(low: int, high: int) -> int:
    if high <= low:
        raise FuncError("invalid argument to Intn")
    return low + secrets.randbelow(high - low)


MATH_FUNCTIONS: dict[str, GoFunc] = {
    "add": GoFunc("add", lambda *values: _int64(sum(to_int64(value) for value in values)), (), "any"),
    "add1": GoFunc("add1", lambda value: _int64(to_int64(value) + 1), ("any",)),
    "sub": GoFunc("sub", lambda left, right: _int64(to_int64(left) - to_int64(right)), ("any", "any")),
    "div": GoFunc("div", lambda left, right: _int64(_truncated_div(to_int64(left), to_int64(right))), ("any",) * 2),
    "mod": GoFunc("mod", lambda left, right: _int64(_mod(to_int64(left), to_int64(right))), ("any", "any")),
    "mul": GoFunc(
        "mul", lambda first, *rest: _int64(math.prod([to_int64(first), *map(to_int64, rest)])), ("any",), "any"
    ),
    "max": GoFunc("max", lambda first, *rest: _int64(max([to_int64(first), *map(to_int64, rest)])), ("any",), "any"),
    "biggest": GoFunc(
        "biggest", lambda first, *rest: _int64(max([to_int64(first), *map(to_int64, rest)])), ("any",), "any"
    ),
    "min": GoFunc("min", lambda first, *rest: _int64(min([to_int64(first), *map(to_int64, rest)])), ("any",), "any"),
    "maxf": GoFunc("maxf", lambda first, *rest: max([to_float64(first), *map(to_float64, rest)]), ("any",), "any"),
    "minf": GoFunc("minf", lambda first, *rest: min([to_float64(first), *map(to_float64, rest)]), ("any",), "any"),
    "addf": GoFunc("addf", lambda *values: _decimal_op(0.0, values, "+"), (), "any"),
    "add1f": GoFunc("add1f", lambda value: _decimal_op(value, (1.0,), "+"), ("any",)),
    "subf": GoFunc("subf", lambda first, *rest: _decimal_op(first, rest, "-"), ("any",), "any"),
    "mulf": GoFunc("mulf", lambda first, *rest: _decimal_op(first, rest, "*"), ("any",), "any"),
    "divf": GoFunc("divf", lambda first, *rest: _decimal_op(first, rest, "/"), ("any",), "any"),
    "floor": GoFunc("floor", lambda value: float(math.floor(to_float64(value))), ("any",)),
    "ceil": GoFunc("ceil", lambda value: float(math.ceil(to_float64(value))), ("any",)),
    "round": GoFunc("round", _round, ("any", "int"), "float64"),
    "int": GoFunc("int", to_int, ("any",)),
    "int64": GoFunc("int64", lambda value: GoInt64(to_int64(value)), ("any",)),
    "float64": GoFunc("float64", to_float64, ("any",)),
    "atoi": GoFunc("atoi", _atoi, ("string",)),
    "toDecimal": GoFunc("toDecimal", _to_decimal, ("any",)),
    "randInt": GoFunc("randInt", _rand_int, ("int", "int")),
    "randAlphaNum": GoFunc("randAlphaNum", lambda n: _random(string.ascii_letters + string.digits, n), ("int",)),
    "randAlpha": GoFunc("randAlpha", lambda n: _random(string.ascii_letters, n), ("int",)),
    "randNumeric": GoFunc("randNumeric", lambda n: _random(string.digits, n), ("int",)),
    "randAscii": GoFunc("randAscii", lambda n: _random("".join(map(chr, range(32, 127))), n), ("int",)),
}
"""Sprig's math functions by name."""
