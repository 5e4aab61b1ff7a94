"""JsonLogic with flagd's extras (`fractional`, `sem_ver`, `starts_with`, `ends_with`, `$ref`), bounded.

Rules are user input: they are interpreted, never compiled or eval'd, and every evaluation runs under a step
budget and a nesting limit, so no rule can make the server spin or overflow its stack.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ramp.flags import bucketing
from ramp.flags.semver import SemverError, compare_semver

DEFAULT_STEP_BUDGET = 10_000
MAX_DEPTH = 200
# Bounds on what one step can build, so a few steps cannot double a string or a list into gigabytes.
MAX_STRING = 64 * 1024
MAX_ITEMS = 10_000


class JsonLogicError(Exception):
    """A rule could not be evaluated (bad arguments, budget spent, unknown $ref)."""


class StepBudgetExceeded(JsonLogicError):
    """The rule took more steps than its budget."""


@dataclass(slots=True)
class EvalState:
    """One evaluation: the data, the shared evaluators, the budget left and which results came from a split."""

    data: Any
    evaluators: Mapping[str, Any]
    flag_key: str
    steps_left: int = DEFAULT_STEP_BUDGET
    depth: int = 0
    split_results: set[str] = field(default_factory=set)


def apply(rule: Any, state: EvalState) -> Any:
    """Evaluate `rule` against `state.data`."""
    state.steps_left -= 1
    if state.steps_left < 0:
        raise StepBudgetExceeded(f"rule exceeded its budget of {DEFAULT_STEP_BUDGET} evaluation steps")
    if not isinstance(rule, dict):
        return apply_all(rule, state) if isinstance(rule, list) else rule
    if len(rule) != 1:
        if not rule:
            return rule
        raise JsonLogicError(f"a rule object must have exactly one operator, got {sorted(rule)}")
    ((op, args),) = rule.items()
    state.depth += 1
    if state.depth > MAX_DEPTH:
        raise JsonLogicError(f"rule nests deeper than {MAX_DEPTH} levels (a $ref cycle?)")
    try:
        lazy = _LAZY.get(op)
        if lazy is not None:
            return lazy(args if isinstance(args, list) else [args], state)
        eager = _EAGER.get(op)
        if eager is None:
            raise JsonLogicError(f"unknown operator {op!r}")
        return eager(apply_all(args, state) if isinstance(args, list) else [apply(args, state)], state)
    finally:
        state.depth -= 1


def apply_all(rules: list[Any], state: EvalState) -> list[Any]:
    """[apply(rule) for each rule], a literal spending its step without a call (most arguments are literals)."""
    values: list[Any] = []
    for rule in rules:
        if isinstance(rule, dict | list):
            values.append(apply(rule, state))
        else:
            state.steps_left -= 1
            values.append(rule)
    if state.steps_left < 0:
        raise StepBudgetExceeded(f"rule exceeded its budget of {DEFAULT_STEP_BUDGET} evaluation steps")
    return values


KNOWN_OPERATORS: frozenset[str]  # set below, for validating definitions


def charge(state: EvalState, steps: int) -> None:
    """Spend `steps` of the budget on work one step did (copying a long list or string)."""
    state.steps_left -= steps
    if state.steps_left < 0:
        raise StepBudgetExceeded(f"rule exceeded its budget of {DEFAULT_STEP_BUDGET} evaluation steps")


def truthy(value: Any) -> bool:
    """JsonLogic truthiness: an empty list is false, like 0, "" and null."""
    if isinstance(value, list):
        return len(value) > 0
    return bool(value)


# -- data access ----------------------------------------------------------------------------------------------


def _lookup(data: Any, path: Any, default: Any = None) -> Any:
    if type(data) is dict and type(path) is str and path and "." not in path:
        return data.get(path, default)  # the common case: a top-level attribute
    if path is None or path in ("", []):
        return data
    current = data
    for part in str(path).split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return default
    return current


def _var(args: list[Any], state: EvalState) -> Any:
    if len(args) == 1:
        path = args[0]
        data = state.data
        if type(path) is str and path and "." not in path and type(data) is dict:
            state.steps_left -= 1  # the step the literal path costs (apply checks the budget on the next one)
            return data.get(path)  # the common case, `{"var": "email"}`, without the general walk
    values = apply_all(args, state)
    path = values[0] if values else None
    default = values[1] if len(values) > 1 else None
    return _lookup(state.data, path, default)


def _missing(values: list[Any], state: EvalState) -> Any:
    keys = values[0] if len(values) == 1 and isinstance(values[0], list) else values
    return [key for key in keys if _lookup(state.data, key) in (None, "")]


def _missing_some(values: list[Any], state: EvalState) -> Any:
    need, keys = values[0], values[1] if len(values) > 1 else []
    missing = [key for key in keys if _lookup(state.data, key) in (None, "")]
    return missing if len(keys) - len(missing) < _number(need) else []


# -- control --------------------------------------------------------------------------------------------------


def _if(args: list[Any], state: EvalState) -> Any:
    index = 0
    while index + 1 < len(args):
        if truthy(apply(args[index], state)):
            return apply(args[index + 1], state)
        index += 2
    return apply(args[index], state) if index < len(args) else None


def _or(args: list[Any], state: EvalState) -> Any:
    value: Any = None
    for arg in args:
        value = apply(arg, state)
        if truthy(value):
            return value
    return value


def _and(args: list[Any], state: EvalState) -> Any:
    value: Any = None
    for arg in args:
        value = apply(arg, state)
        if not truthy(value):
            return value
    return value


def _array_op(args: list[Any], state: EvalState) -> tuple[list[Any], Any]:
    items = apply(args[0], state) if args else []
    return (items if isinstance(items, list) else []), (args[1] if len(args) > 1 else None)


def _scoped(rule: Any, item: Any, state: EvalState) -> Any:
    outer = state.data
    state.data = item
    try:
        return apply(rule, state)
    finally:
        state.data = outer


def _map(args: list[Any], state: EvalState) -> Any:
    items, rule = _array_op(args, state)
    return [_scoped(rule, item, state) for item in items]


def _filter(args: list[Any], state: EvalState) -> Any:
    items, rule = _array_op(args, state)
    return [item for item in items if truthy(_scoped(rule, item, state))]


def _all(args: list[Any], state: EvalState) -> Any:
    items, rule = _array_op(args, state)
    return bool(items) and all(truthy(_scoped(rule, item, state)) for item in items)


def _some(args: list[Any], state: EvalState) -> Any:
    items, rule = _array_op(args, state)
    return any(truthy(_scoped(rule, item, state)) for item in items)


def _none(args: list[Any], state: EvalState) -> Any:
    return not _some(args, state)


def _reduce(args: list[Any], state: EvalState) -> Any:
    items, rule = _array_op(args, state)
    accumulator = apply(args[2], state) if len(args) > 2 else None
    for item in items:
        accumulator = _scoped(rule, {"current": item, "accumulator": accumulator}, state)
    return accumulator


def _ref(args: list[Any], state: EvalState) -> Any:
    name = args[0] if args else None
    if not isinstance(name, str) or name not in state.evaluators:
        raise JsonLogicError(f"$ref {name!r} names no entry of $evaluators")
    return apply(state.evaluators[name], state)


# -- comparison and arithmetic --------------------------------------------------------------------------------


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if value is None:
        return 0.0
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return math.nan
    return math.nan


def _loose_eq(a: Any, b: Any) -> bool:
    if type(a) is type(b) or (isinstance(a, int | float) and isinstance(b, int | float)):
        return bool(a == b)
    if a is None or b is None:
        return False
    if isinstance(a, int | float | bool | str) and isinstance(b, int | float | bool | str):
        return _number(a) == _number(b)
    return False


def _strict_eq(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if isinstance(a, int | float) and isinstance(b, int | float):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _compare(values: list[Any], check: Callable[[Any, Any], bool]) -> bool:
    if len(values) < 2:
        raise JsonLogicError("a comparison needs two or three arguments")
    pairs = list(itertools.pairwise(values))[:2]
    return all(check(*_comparable(a, b)) for a, b in pairs)


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    return _number(a), _number(b)


def _arith(values: list[Any], fn: Callable[[list[float]], float]) -> float:
    numbers = [_number(value) for value in values]
    return fn(numbers)


def _minus(numbers: list[float]) -> float:
    if len(numbers) == 1:
        return -numbers[0]
    return numbers[0] - numbers[1]


def _divide(numbers: list[float]) -> float:
    if len(numbers) < 2 or numbers[1] == 0:
        raise JsonLogicError("/ needs two arguments and a non-zero divisor")
    return numbers[0] / numbers[1]


def _modulo(numbers: list[float]) -> float:
    if len(numbers) < 2 or numbers[1] == 0:
        raise JsonLogicError("% needs two arguments and a non-zero divisor")
    return math.fmod(numbers[0], numbers[1])


def _tidy(number: float) -> int | float:
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _product(numbers: list[float]) -> float:
    result = 1.0
    for number in numbers:
        result *= number
    return result


def _in(values: list[Any], _state: EvalState) -> bool:
    needle = values[0] if values else None
    haystack = values[1] if len(values) > 1 else None
    if isinstance(haystack, str):
        return isinstance(needle, str) and needle in haystack
    if isinstance(haystack, list):
        if isinstance(needle, str):
            return needle in haystack  # a string equals only an equal string: what _strict_eq would say
        return any(_strict_eq(needle, item) for item in haystack)
    return False


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(_tidy(value))
    return str(value)


def _substr(values: list[Any], _state: EvalState) -> str:
    text = _text(values[0] if values else "")
    start = int(_number(values[1])) if len(values) > 1 else 0
    if start < 0:
        start = max(len(text) + start, 0)
    if len(values) < 3:
        return text[start:]
    length = int(_number(values[2]))
    return text[start : start + length] if length >= 0 else text[start:length]


def _merge(values: list[Any], state: EvalState) -> list[Any]:
    merged: list[Any] = []
    for value in values:
        merged.extend(value if isinstance(value, list) else [value])
        if len(merged) > MAX_ITEMS:
            raise JsonLogicError(f"merge built a list longer than {MAX_ITEMS} items")
    charge(state, len(merged) // 16)
    return merged


def _cat(values: list[Any], state: EvalState) -> str:
    text = "".join(_text(value) for value in values)
    if len(text) > MAX_STRING:
        raise JsonLogicError(f"cat built a string longer than {MAX_STRING} characters")
    charge(state, len(text) // 256)
    return text


# -- flagd extras ---------------------------------------------------------------------------------------------


def _starts_with(values: list[Any], _state: EvalState) -> bool:
    if len(values) != 2 or not all(isinstance(v, str) for v in values):
        return False
    return str(values[0]).startswith(values[1])


def _ends_with(values: list[Any], _state: EvalState) -> bool:
    if len(values) != 2 or not all(isinstance(v, str) for v in values):
        return False
    return str(values[0]).endswith(values[1])


def _sem_ver(values: list[Any], _state: EvalState) -> bool:
    if len(values) != 3:
        raise JsonLogicError("sem_ver takes [version, operator, version]")
    left, operator, right = values
    if not isinstance(operator, str):
        raise JsonLogicError("sem_ver's operator must be one of = != < <= > >= ^ ~")
    try:
        return compare_semver(_text(left), operator, _text(right))
    except SemverError:
        return False


def _fractional(args: list[Any], state: EvalState) -> Any:
    values = apply_all(args, state)
    bucket_by: str | None = None
    if values and isinstance(values[0], str):
        bucket_by, values = values[0], values[1:]
    weighted = [_fraction(entry) for entry in values]
    if not weighted:
        raise JsonLogicError("fractional needs at least one [variant, weight] entry")
    if bucket_by is None:
        targeting_key = _lookup(state.data, "targetingKey")
        if not isinstance(targeting_key, str) or not targeting_key:
            return None  # nothing to bucket by: the flag's default variant
        bucket_by = state.flag_key + targeting_key
    chosen = bucketing.pick(bucket_by, weighted)
    if chosen is not None:
        state.split_results.add(chosen)
    return chosen


def _fraction(entry: Any) -> tuple[str, int]:
    if not isinstance(entry, list) or not entry or not isinstance(entry[0], str):
        raise JsonLogicError(f"a fractional entry must be [variant, weight], got {entry!r}")
    weight = entry[1] if len(entry) > 1 else 1
    if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0 or int(weight) != weight:
        raise JsonLogicError(f"fractional weight of {entry[0]!r} must be a non-negative integer, got {weight!r}")
    return entry[0], int(weight)


Eager = Callable[[list[Any], EvalState], Any]
_EAGER: dict[str, Eager] = {
    "missing": _missing,
    "missing_some": _missing_some,
    "==": lambda v, _s: _loose_eq(*[*v, None, None][:2]),
    "!=": lambda v, _s: not _loose_eq(*[*v, None, None][:2]),
    "===": lambda v, _s: _strict_eq(*[*v, None, None][:2]),
    "!==": lambda v, _s: not _strict_eq(*[*v, None, None][:2]),
    "!": lambda v, _s: not truthy(v[0] if v else None),
    "!!": lambda v, _s: truthy(v[0] if v else None),
    ">": lambda v, _s: _compare(v[:2], lambda a, b: a > b),
    ">=": lambda v, _s: _compare(v[:2], lambda a, b: a >= b),
    "<": lambda v, _s: _compare(v, lambda a, b: a < b),
    "<=": lambda v, _s: _compare(v, lambda a, b: a <= b),
    "max": lambda v, _s: _tidy(max(_number(x) for x in v)) if v else None,
    "min": lambda v, _s: _tidy(min(_number(x) for x in v)) if v else None,
    "+": lambda v, _s: _tidy(_arith(v, sum)),
    "-": lambda v, _s: _tidy(_arith(v, _minus)),
    "*": lambda v, _s: _tidy(_arith(v, _product)),
    "/": lambda v, _s: _tidy(_arith(v, _divide)),
    "%": lambda v, _s: _tidy(_arith(v, _modulo)),
    "in": _in,
    "cat": _cat,
    "substr": _substr,
    "merge": _merge,
    "starts_with": _starts_with,
    "ends_with": _ends_with,
    "sem_ver": _sem_ver,
}
Lazy = Callable[[list[Any], EvalState], Any]
_LAZY: dict[str, Lazy] = {
    "var": _var,
    "if": _if,
    "?:": _if,
    "or": _or,
    "and": _and,
    "map": _map,
    "filter": _filter,
    "all": _all,
    "some": _some,
    "none": _none,
    "reduce": _reduce,
    "$ref": _ref,
    "fractional": _fractional,
}
KNOWN_OPERATORS = frozenset(_EAGER) | frozenset(_LAZY)


def operators_in(rule: Any, path: str = "targeting") -> list[tuple[str, str]]:
    """Every (path, operator) of a rule whose operator Ramp does not know."""
    unknown: list[tuple[str, str]] = []
    stack: list[tuple[Any, str]] = [(rule, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, list):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(node))
        elif isinstance(node, dict):
            for op, args in node.items():
                if op not in KNOWN_OPERATORS:
                    unknown.append((where, op))
                stack.append((args, f"{where}.{op}"))
    return unknown


__all__: Sequence[str] = [
    "KNOWN_OPERATORS",
    "EvalState",
    "JsonLogicError",
    "StepBudgetExceeded",
    "apply",
    "apply_all",
    "truthy",
]
