"""What the condition language knows about values: their type names, equality, and Go-style text.

Values are the JSON shapes a provider hands over (None, bool, int, float, str, lists, dicts) plus tuples and other
mappings. Python's `True == 1` does not hold here: as in expr-lang, a bool is never a number. Used by `operators`,
`functions`, `predicates` and `compiler`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, TypeGuard


def is_number(value: Any) -> TypeGuard[int | float]:
    return (type(value) is int or type(value) is float) or (
        isinstance(value, (int, float)) and not isinstance(value, bool)
    )


def is_array(value: Any) -> TypeGuard[list[Any] | tuple[Any, ...]]:
    return isinstance(value, (list, tuple))


def name_type(value: Any) -> str:
    """The name expr-lang's `type()` gives: nil, bool, int, float, string, array, map."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if is_array(value):
        return "array"
    if isinstance(value, Mapping):
        return "map"
    return type(value).__name__


def are_equal(left: Any, right: Any) -> bool:
    """`==` of expr-lang: numbers compare by value across int and float, other kinds only with their own kind."""
    if is_number(left):
        return is_number(right) and left == right
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, str) or left is None:
        return type(right) is type(left) and left == right
    if is_array(left):
        return (
            is_array(right)
            and len(left) == len(right)
            and all(are_equal(item, other) for item, other in zip(left, right, strict=True))
        )
    if isinstance(left, Mapping):
        return (
            isinstance(right, Mapping)
            and left.keys() == right.keys()
            and all(are_equal(item, right[key]) for key, item in left.items())
        )
    return bool(left == right)


def format_value(value: Any) -> str:
    """The text Go's `fmt.Sprint` gives, which expr-lang's `string()` returns: `1`, `1.5`, `1e+21`, `[1 2]`."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return value
    if is_array(value):
        return "[" + " ".join(format_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        items = sorted(value.items(), key=lambda item: str(item[0]))
        return "map[" + " ".join(f"{format_value(key)}:{format_value(item)}" for key, item in items) + "]"
    return str(value)


def format_float(value: float) -> str:
    """Go's shortest `%v` of a float64: plain digits for exponents in [-4, 21), else `d.ddde±XX`."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    digits, exponent = _shortest_digits(abs(value))
    sign = "-" if value < 0 else ""
    if -4 <= exponent < 21:
        if exponent < 0:
            return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
        if len(digits) <= exponent + 1:
            return sign + digits + "0" * (exponent + 1 - len(digits))
        return f"{sign}{digits[: exponent + 1]}.{digits[exponent + 1 :]}"
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def _shortest_digits(value: float) -> tuple[str, int]:
    """The shortest round-tripping significant digits of a positive float and the decimal exponent of the first."""
    mantissa, _, exponent_text = repr(value).partition("e")
    whole, _, fraction = mantissa.partition(".")
    exponent = int(exponent_text) if exponent_text else 0
    digits = (whole + fraction).lstrip("0")
    leading_zeros = len(whole + fraction) - len((whole + fraction).lstrip("0"))
    exponent += len(whole) - 1 - leading_zeros
    return digits.rstrip("0") or "0", exponent
