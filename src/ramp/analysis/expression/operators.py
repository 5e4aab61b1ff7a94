"""The operators of the condition language on plain values, as expr-lang defines them.

- `+ - *` keep ints as ints and mix to float; `/` always gives a float, and dividing by zero follows IEEE 754 as
  Go does (inf, -inf, NaN); `%` takes ints and, as Go, keeps the sign of the dividend; `**` and `^` give floats.
- `< > <= >=` compare numbers (int and float mixed) or strings (lexicographically), nothing else.
- `in` looks in arrays (by `==`) and map keys; `nil` holds nothing. `a..b` is the ints from a to b inclusive.
- Member access on a map gives nil for a missing key; an index out of range, or a field of nil, is an error
  (`MissingOperandError`, so that `default()` and `??` can fall back); negative indexes count from the end.

Raises `errors.OperationError`; `compiler` adds the column. Works with `values`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Final

from ramp.analysis.expression.errors import MissingOperandError, OperationError
from ramp.analysis.expression.values import are_equal, is_array, is_number, name_type
from ramp.core import patterns
from ramp.core.patterns import UserPattern

BinaryOperation = Callable[[Any, Any], Any]
# Builds the range `a..b` in memory: refuse sizes no condition needs.
_MAX_RANGE: Final = 1_000_000


def create_mismatch_error(operator: str, left: Any, right: Any) -> OperationError:
    return OperationError(f"invalid operation: {operator} (mismatched types {name_type(left)} and {name_type(right)})")


def add(left: Any, right: Any) -> Any:
    if is_number(left) and is_number(right):
        return _compute_in_range(lambda: left + right)
    if isinstance(left, str) and isinstance(right, str):
        return left + right
    raise create_mismatch_error("+", left, right)


def subtract(left: Any, right: Any) -> Any:
    if is_number(left) and is_number(right):
        return _compute_in_range(lambda: left - right)
    raise create_mismatch_error("-", left, right)


def multiply(left: Any, right: Any) -> Any:
    if is_number(left) and is_number(right):
        return _compute_in_range(lambda: left * right)
    raise create_mismatch_error("*", left, right)


def divide(left: Any, right: Any) -> float:
    if not (is_number(left) and is_number(right)):
        raise create_mismatch_error("/", left, right)
    numerator, denominator = _to_float(left), _to_float(right)
    if denominator == 0:
        if numerator == 0 or math.isnan(numerator):
            return math.nan
        negative = (numerator < 0) != (math.copysign(1.0, denominator) < 0)
        return -math.inf if negative else math.inf
    return numerator / denominator


def modulo(left: Any, right: Any) -> int:
    if not (isinstance(left, int) and isinstance(right, int)) or isinstance(left, bool) or isinstance(right, bool):
        raise create_mismatch_error("%", left, right)
    if right == 0:
        raise OperationError("integer divide by zero")
    remainder = abs(left) % abs(right)
    return -remainder if left < 0 else remainder


def power(left: Any, right: Any) -> float:
    """Go's math.Pow: overflow gives ±inf and an undefined result NaN, where Python would raise."""
    if not (is_number(left) and is_number(right)):
        raise create_mismatch_error("**", left, right)
    base, exponent = _to_float(left), _to_float(right)
    is_odd_integer = exponent.is_integer() and abs(exponent) < 2**53 and int(exponent) % 2 == 1
    try:
        return math.pow(base, exponent)
    except OverflowError:
        return -math.inf if base < 0 and is_odd_integer else math.inf
    except ValueError:
        if base == 0:
            negative_zero = math.copysign(1.0, base) < 0
            return -math.inf if negative_zero and is_odd_integer else math.inf
        return math.nan


def negate(value: Any) -> Any:
    if is_number(value):
        return -value
    raise OperationError(f"invalid operation: - (mismatched type {name_type(value)})")


def _is_ordered_pair(left: Any, right: Any) -> bool:
    """Numbers (int and float mixed) order with numbers, strings with strings; nothing else has an order."""
    return (is_number(left) and is_number(right)) or (isinstance(left, str) and isinstance(right, str))


def is_less(left: Any, right: Any) -> bool:
    if _is_ordered_pair(left, right):
        return bool(left < right)
    raise create_mismatch_error("<", left, right)


def is_greater(left: Any, right: Any) -> bool:
    if _is_ordered_pair(left, right):
        return bool(left > right)
    raise create_mismatch_error(">", left, right)


def is_less_or_equal(left: Any, right: Any) -> bool:
    if _is_ordered_pair(left, right):
        return bool(left <= right)
    raise create_mismatch_error("<=", left, right)


def is_greater_or_equal(left: Any, right: Any) -> bool:
    if _is_ordered_pair(left, right):
        return bool(left >= right)
    raise create_mismatch_error(">=", left, right)


def is_member(needle: Any, haystack: Any) -> bool:
    if haystack is None:
        return False
    if is_array(haystack):
        if isinstance(needle, str):
            return any(isinstance(item, str) and item == needle for item in haystack)
        return any(are_equal(needle, item) for item in haystack)
    if isinstance(haystack, Mapping):
        return isinstance(needle, str) and needle in haystack
    raise create_mismatch_error("in", needle, haystack)


def has_substring(text: Any, part: Any) -> bool:
    _require_strings("contains", text, part)
    return bool(part in text)


def has_prefix(text: Any, prefix: Any) -> bool:
    _require_strings("startsWith", text, prefix)
    return bool(text.startswith(prefix))


def has_suffix(text: Any, suffix: Any) -> bool:
    _require_strings("endsWith", text, suffix)
    return bool(text.endswith(suffix))


def compile_pattern(pattern: str) -> UserPattern:
    """A pattern of Go's regexp syntax, run by RE2 as Go does (linear time: no backtracking blow-up)."""
    try:
        return patterns.compile_pattern(pattern, "matches")
    except patterns.PatternError as error:
        raise OperationError(str(error)) from None


def is_match(text: Any, pattern: Any) -> bool:
    """`matches`: as Go's regexp.MatchString, true when the pattern matches anywhere in the text."""
    _require_strings("matches", text, pattern)
    return compile_pattern(pattern).search(text)


def _require_range_ends(start: Any, stop: Any) -> None:
    if not (isinstance(start, int) and isinstance(stop, int)) or isinstance(start, bool) or isinstance(stop, bool):
        raise create_mismatch_error("..", start, stop)


def range_length(start: Any, stop: Any) -> int:
    """How many ints `start..stop` holds (checked before it is built, so the budget can refuse it first)."""
    _require_range_ends(start, stop)
    return max(0, int(stop) - int(start) + 1)


def build_range(start: Any, stop: Any) -> list[int]:
    _require_range_ends(start, stop)
    if stop - start >= _MAX_RANGE:
        raise OperationError(f"range {start}..{stop} is too large")
    return list(range(start, stop + 1))


def fetch(target: Any, key: Any) -> Any:
    """`target[key]` and `target.key`."""
    if isinstance(target, Mapping):
        try:
            return target.get(key)
        except TypeError:
            raise OperationError(f"cannot use {name_type(key)} as a map key") from None
    if is_array(target) or isinstance(target, str):
        index = _to_index(key, target)
        if index < 0:
            index += len(target)
        if not 0 <= index < len(target):
            raise MissingOperandError(f"index out of range: {key} (array length is {len(target)})")
        return target[index]
    if target is None:
        raise MissingOperandError(f"cannot fetch {key} from nil")
    raise OperationError(f"cannot fetch {key} from {name_type(target)}")


def slice_value(target: Any, start: Any, stop: Any) -> Any:
    """`target[start:stop]`, bounds clamped to the array as expr-lang does."""
    if not (is_array(target) or isinstance(target, str)):
        if target is None:
            raise MissingOperandError("cannot slice nil")
        raise OperationError(f"cannot slice {name_type(target)}")
    length = len(target)
    first = 0 if start is None else _to_index(start, target)
    last = length if stop is None else _to_index(stop, target)
    first = max(first + length if first < 0 else first, 0)
    last = min(max(last + length if last < 0 else last, 0), length)
    first = min(first, last)
    return list(target[first:last]) if is_array(target) else target[first:last]


def _to_index(key: Any, target: Any) -> int:
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    if isinstance(key, float) and math.isfinite(key):
        return int(key)
    raise OperationError(f"cannot fetch {key!r} from {name_type(target)}: an index must be an int")


def _to_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _compute_in_range(compute: Callable[[], Any]) -> Any:
    try:
        return compute()
    except OverflowError:
        raise OperationError("number out of range") from None


def _require_strings(operator: str, left: Any, right: Any) -> None:
    if not (isinstance(left, str) and isinstance(right, str)):
        raise create_mismatch_error(operator, left, right)


BINARY_OPERATIONS: Final[dict[str, BinaryOperation]] = {
    "+": add,
    "-": subtract,
    "*": multiply,
    "/": divide,
    "%": modulo,
    "**": power,
    "^": power,
    "<": is_less,
    ">": is_greater,
    "<=": is_less_or_equal,
    ">=": is_greater_or_equal,
    "in": is_member,
    "contains": has_substring,
    "startsWith": has_prefix,
    "endsWith": has_suffix,
    "matches": is_match,
    "..": build_range,
}
