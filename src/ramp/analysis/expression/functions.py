"""The builtin functions of the condition language that take plain values (not closures).

expr-lang's builtins (https://expr-lang.org/docs/language-definition): len, type, abs, ceil, floor, round, int,
float, string, min, max, mean, median, trim, trimPrefix, trimSuffix, upper, lower, split, join, replace, indexOf,
lastIndexOf, hasPrefix, hasSuffix, keys, values, first, last, get, reverse, concat, flatten, uniq, toJSON, fromJSON;
and the ones Argo Rollouts adds for analysis: asInt, asFloat, isNaN, isInf (`isNil` and `default` need the
unevaluated argument and live in `compiler`). `FUNCTIONS` maps each name to its implementation and arity;
`compiler` checks the arity when it compiles a call. Implementations raise `errors.OperationError`.
Strings are counted in characters (expr-lang counts `len` in characters too; `indexOf` in Go counts bytes).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ramp.analysis.expression.errors import OperationError
from ramp.analysis.expression.operators import fetch
from ramp.analysis.expression.values import are_equal, format_value, is_array, is_number, name_type

_GO_INTEGER: Final = re.compile(r"[+-]?[0-9]+")
# Unambiguous digits (one way to split them), so a failed match backtracks in linear time.
_GO_FLOAT: Final = re.compile(r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)", re.I)
_INT64_RANGE: Final = range(-(2**63), 2**63)
MAX_BUILT_STRING: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class Function:
    run: Callable[..., Any]
    min_arguments: int
    max_arguments: int | None  # None: any number


def parse_int(text: str, name: str) -> int:
    """Go's strconv.ParseInt(text, 10, 64): optional sign and ASCII digits, nothing else."""
    if _GO_INTEGER.fullmatch(text) is None:
        raise OperationError(f"{name}: cannot parse {_shorten(text)} as an integer")
    if len(text.lstrip("+-").lstrip("0")) > 19:
        raise OperationError(f"{name}: {_shorten(text)} is out of range")
    value = int(text)
    if value not in _INT64_RANGE:
        raise OperationError(f"{name}: {text!r} is out of range")
    return value


def parse_float(text: str, name: str) -> float:
    """Go's strconv.ParseFloat(text, 64) for decimal text, `inf` and `NaN`."""
    if _GO_FLOAT.fullmatch(text) is None:
        raise OperationError(f"{name}: cannot parse {_shorten(text)} as a number")
    return float(text)


def _shorten(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _require_number(name: str, value: Any) -> int | float:
    if not is_number(value):
        raise OperationError(f"invalid argument for {name} (type {name_type(value)})")
    return value


def _require_string(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise OperationError(f"invalid argument for {name} (type {name_type(value)}, want string)")
    return value


def _require_array(name: str, value: Any) -> list[Any] | tuple[Any, ...]:
    if not is_array(value):
        raise OperationError(f"invalid argument for {name} (type {name_type(value)}, want array)")
    return value


def _require_map(name: str, value: Any) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise OperationError(f"invalid argument for {name} (type {name_type(value)}, want map)")
    return value


def measure_length(value: Any) -> int:
    if isinstance(value, (str, Mapping)) or is_array(value):
        return len(value)
    raise OperationError(f"invalid argument for len (type {name_type(value)})")


def convert_to_int(value: Any) -> int:
    if isinstance(value, str):
        return parse_int(value, "int")
    number = _require_number("int", value)
    if isinstance(number, float) and not math.isfinite(number):
        raise OperationError(f"invalid operation: int({format_value(number)})")
    return int(number)


def convert_to_float(value: Any) -> float:
    if isinstance(value, str):
        return parse_float(value, "float")
    return float(_require_number("float", value))


def convert_as_int(value: Any) -> int:
    """Argo Rollouts' asInt: an int from a number (truncated) or from a decimal string."""
    if isinstance(value, str):
        return parse_int(value, "asInt")
    if not is_number(value):
        raise OperationError(f"asInt() not supported on {name_type(value)} {format_value(value)}")
    return convert_to_int(value)


def convert_as_float(value: Any) -> float:
    """Argo Rollouts' asFloat: a float from a number or from a numeric string."""
    if isinstance(value, str):
        return parse_float(value, "asFloat")
    if not is_number(value):
        raise OperationError(f"asFloat() not supported on {name_type(value)} {format_value(value)}")
    return float(value)


def is_nan(value: Any) -> bool:
    number = _require_number("isNaN", value)
    return isinstance(number, float) and math.isnan(number)


def is_inf(value: Any) -> bool:
    number = _require_number("isInf", value)
    return isinstance(number, float) and math.isinf(number)


def calculate_abs(value: Any) -> int | float:
    return abs(_require_number("abs", value))


def round_half_away(value: Any) -> float:
    """Go's math.Round: halves round away from zero (Python's round() rounds them to even)."""
    number = float(_require_number("round", value))
    if not math.isfinite(number):
        return number
    whole = float(math.trunc(number))
    if abs(number - whole) >= 0.5:
        whole += math.copysign(1.0, number)
    return whole


def round_up(value: Any) -> float:
    number = float(_require_number("ceil", value))
    return number if not math.isfinite(number) else float(math.ceil(number))


def round_down(value: Any) -> float:
    number = float(_require_number("floor", value))
    return number if not math.isfinite(number) else float(math.floor(number))


def _iterate_numbers(name: str, arguments: tuple[Any, ...]) -> Iterator[int | float]:
    for argument in arguments:
        if is_array(argument):
            yield from _iterate_numbers(name, tuple(argument))
        else:
            yield _require_number(name, argument)


def find_min(*arguments: Any) -> Any:
    return min(_iterate_numbers("min", arguments), default=None)


def find_max(*arguments: Any) -> Any:
    return max(_iterate_numbers("max", arguments), default=None)


def calculate_mean(*arguments: Any) -> float:
    numbers = [float(number) for number in _iterate_numbers("mean", arguments)]
    return math.fsum(numbers) / len(numbers) if numbers else 0.0


def calculate_median(*arguments: Any) -> float:
    numbers = sorted(float(number) for number in _iterate_numbers("median", arguments))
    middle = len(numbers) // 2
    if not numbers:
        return 0.0
    return numbers[middle] if len(numbers) % 2 else (numbers[middle - 1] + numbers[middle]) / 2


def trim(text: Any, cutset: Any = None) -> str:
    if cutset is None:
        return _require_string("trim", text).strip()
    return _require_string("trim", text).strip(_require_string("trim", cutset))


def trim_prefix(text: Any, prefix: Any = " ") -> str:
    return _require_string("trimPrefix", text).removeprefix(_require_string("trimPrefix", prefix))


def trim_suffix(text: Any, suffix: Any = " ") -> str:
    return _require_string("trimSuffix", text).removesuffix(_require_string("trimSuffix", suffix))


def split(text: Any, separator: Any, limit: Any = -1) -> list[str]:
    """Go's strings.SplitN: an empty separator splits into characters; limit 0 gives nothing, < 0 everything."""
    whole, cut = _require_string("split", text), _require_string("split", separator)
    count = convert_to_int(limit)
    if count == 0:
        return []
    if cut == "":
        characters = list(whole)
        if 0 < count < len(characters):
            return [*characters[: count - 1], "".join(characters[count - 1 :])]
        return characters
    return whole.split(cut, count - 1 if count > 0 else -1)


def join(items: Any, glue: Any = "") -> str:
    parts = _require_array("join", items)
    return _require_string("join", glue).join(_require_string("join", part) for part in parts)


def replace(text: Any, old: Any, new: Any, count: Any = -1) -> str:
    whole, before, after = (_require_string("replace", value) for value in (text, old, new))
    limit = convert_to_int(count)
    if len(after) > len(before):
        found = whole.count(before) if before else len(whole) + 1
        found = found if limit < 0 else min(found, limit)
        size = len(whole) + found * (len(after) - len(before))
        if size > MAX_BUILT_STRING:
            raise OperationError(
                f"replace: the result would be {size} characters long; a condition builds at most {MAX_BUILT_STRING}"
            )
    return whole.replace(before, after, limit)


def find_substring(text: Any, part: Any) -> int:
    return _require_string("indexOf", text).find(_require_string("indexOf", part))


def find_last_substring(text: Any, part: Any) -> int:
    return _require_string("lastIndexOf", text).rfind(_require_string("lastIndexOf", part))


def has_prefix(text: Any, prefix: Any) -> bool:
    return _require_string("hasPrefix", text).startswith(_require_string("hasPrefix", prefix))


def has_suffix(text: Any, suffix: Any) -> bool:
    return _require_string("hasSuffix", text).endswith(_require_string("hasSuffix", suffix))


def fetch_or_nil(target: Any, key: Any) -> Any:
    """expr-lang's `get`, `first` and `last`: a failed lookup gives nil instead of an error."""
    try:
        return fetch(target, key)
    except OperationError:
        return None


def concat(*arrays: Any) -> list[Any]:
    return [item for array in arrays for item in _require_array("concat", array)]


def flatten(items: Any) -> list[Any]:
    flat: list[Any] = []
    for item in _require_array("flatten", items):
        flat.extend(flatten(item) if is_array(item) else [item])
    return flat


def keep_unique(items: Any) -> list[Any]:
    """The items without repeats (by `==`), in first-seen order, in time linear in the items (a hash of each)."""
    unique: list[Any] = []
    seen: set[Any] = set()
    unkeyed: list[Any] = []
    for item in _require_array("uniq", items):
        key = _equality_key(item)
        if key is None:
            if not any(are_equal(item, other) for other in unkeyed):
                unkeyed.append(item)
                unique.append(item)
        elif key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _equality_key(value: Any) -> Any:
    """A hashable key equal for values `==` holds equal (1 and 1.0 alike, true apart from 1); None when there is
    none (NaN, which equals nothing, or a value of no JSON shape)."""
    if isinstance(value, bool):
        return ("b", value)
    if is_number(value):
        return None if isinstance(value, float) and math.isnan(value) else ("n", value)
    if isinstance(value, str):
        return ("s", value)
    if value is None:
        return ("z",)
    if is_array(value):
        keys = [_equality_key(item) for item in value]
        return None if any(key is None for key in keys) else ("a", tuple(keys))
    if isinstance(value, Mapping):
        pairs = [(key, _equality_key(item)) for key, item in value.items()]
        if any(key is None for _, key in pairs):
            return None
        try:
            return ("m", frozenset(pairs))
        except TypeError:
            return None
    return None


def encode_json(value: Any) -> str:
    """expr-lang's toJSON: Go's json.MarshalIndent with two spaces, map keys sorted, whole floats without `.0`."""
    try:
        return json.dumps(_prepare_json(value), indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise OperationError(f"toJSON: {error}") from None


def _prepare_json(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if is_array(value):
        return [_prepare_json(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _prepare_json(item) for key, item in value.items()}
    return value


def decode_json(text: Any) -> Any:
    """expr-lang's fromJSON: as Go decodes into `any`, every number becomes a float."""

    def refuse_constant(name: str) -> Any:
        raise OperationError(f"fromJSON: invalid character {name!r}")

    try:
        return json.loads(_require_string("fromJSON", text), parse_int=float, parse_constant=refuse_constant)
    except json.JSONDecodeError as error:
        raise OperationError(f"fromJSON: {error}") from None


FUNCTIONS: Final[dict[str, Function]] = {
    "len": Function(measure_length, 1, 1),
    "type": Function(name_type, 1, 1),
    "abs": Function(calculate_abs, 1, 1),
    "ceil": Function(round_up, 1, 1),
    "floor": Function(round_down, 1, 1),
    "round": Function(round_half_away, 1, 1),
    "int": Function(convert_to_int, 1, 1),
    "float": Function(convert_to_float, 1, 1),
    "string": Function(format_value, 1, 1),
    "min": Function(find_min, 1, None),
    "max": Function(find_max, 1, None),
    "mean": Function(calculate_mean, 1, None),
    "median": Function(calculate_median, 1, None),
    "trim": Function(trim, 1, 2),
    "trimPrefix": Function(trim_prefix, 1, 2),
    "trimSuffix": Function(trim_suffix, 1, 2),
    "upper": Function(lambda text: _require_string("upper", text).upper(), 1, 1),
    "lower": Function(lambda text: _require_string("lower", text).lower(), 1, 1),
    "split": Function(split, 2, 3),
    "join": Function(join, 1, 2),
    "replace": Function(replace, 3, 4),
    "indexOf": Function(find_substring, 2, 2),
    "lastIndexOf": Function(find_last_substring, 2, 2),
    "hasPrefix": Function(has_prefix, 2, 2),
    "hasSuffix": Function(has_suffix, 2, 2),
    "keys": Function(lambda mapping: list(_require_map("keys", mapping).keys()), 1, 1),
    "values": Function(lambda mapping: list(_require_map("values", mapping).values()), 1, 1),
    "first": Function(lambda items: fetch_or_nil(items, 0), 1, 1),
    "last": Function(lambda items: fetch_or_nil(items, -1), 1, 1),
    "get": Function(fetch_or_nil, 2, 2),
    "reverse": Function(lambda items: list(reversed(_require_array("reverse", items))), 1, 1),
    "concat": Function(concat, 1, None),
    "flatten": Function(flatten, 1, 1),
    "uniq": Function(keep_unique, 1, 1),
    "toJSON": Function(encode_json, 1, 1),
    "fromJSON": Function(decode_json, 1, 1),
    "asInt": Function(convert_as_int, 1, 1),
    "asFloat": Function(convert_as_float, 1, 1),
    "isNaN": Function(is_nan, 1, 1),
    "isInf": Function(is_inf, 1, 1),
}
