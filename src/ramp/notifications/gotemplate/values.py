"""Go values as the interpreter holds them, and how Go prints them.

Data is JSON-shaped (dict, list, str, int, float, bool, None). Argo Rollouts decodes the object it renders with
`encoding/json` into `map[string]any`, so every number of the data is a float64 in Go: `prepare_data` turns the
data's ints into floats once, and from then on a Python `int` is a Go `int` (template constants, `len`, ...),
`GoInt64` a Go `int64` (sprig's arithmetic), `float` a float64, `datetime` a `time.Time` and `timedelta` a
`time.Duration`. `NO_VALUE` is Go's invalid `reflect.Value` (a missing map key), printed "<no value>"; `None`
is a nil interface (a JSON null).

`GoFunc` is a function with Go parameter kinds (the builtins, the sprig functions, and callables put in the
data such as Argo Rollouts' `time.Now`/`time.Parse`, see `time_variables`).

Used by `execute`, `builtins`, `formatting` and the sprig modules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from ramp.providers.go_text import format_go_duration, format_go_value


class _NoValue:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NO_VALUE"


NO_VALUE: Final = _NoValue()
"""Go's invalid reflect.Value: what a missing map key evaluates to."""


class GoInt64(int):
    """A Go int64 (sprig's `add`, `int64`, ...): prints as an int, but is not assignable to an `int` parameter."""

    __slots__ = ()


class FuncError(Exception):
    """A function failed; execution reports it as `error calling <name>: <message>`."""


KIND_TYPE_NAMES: Final = {
    "any": "interface {}",
    "value": "reflect.Value",
    "string": "string",
    "int": "int",
    "int64": "int64",
    "float64": "float64",
    "bool": "bool",
    "map": "map[string]interface {}",
    "time": "time.Time",
    "duration": "time.Duration",
}


@dataclass(frozen=True, slots=True)
class GoFunc:
    """A function callable from a template: its parameters' Go kinds (see KIND_TYPE_NAMES) and an optional
    variadic kind. `fn` takes the validated arguments and returns one value or raises `FuncError`."""

    name: str
    fn: Callable[..., Any]
    params: tuple[str, ...] = ()
    variadic: str | None = None
    go_type: str = ""  # printed in "can't print ... of type func() time.Time"

    def type_name(self) -> str:
        if self.go_type:
            return self.go_type
        names = [KIND_TYPE_NAMES[kind] for kind in self.params]
        if self.variadic is not None:
            names.append("..." + KIND_TYPE_NAMES[self.variadic])
        return "func(" + ", ".join(names) + ")"


def go_type_name(value: Any) -> str:
    """The Go dynamic type of a value, as `reflect.Type.String()` writes it."""
    if value is None or value is NO_VALUE:
        return "interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, GoInt64):
        return "int64"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes):
        return "[]uint8"  # upstream hands templates its Secret's data as bytes
    if isinstance(value, datetime):
        return "time.Time"
    if isinstance(value, timedelta):
        return "time.Duration"
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    if isinstance(value, GoFunc):
        return value.type_name()
    if isinstance(value, StringList):
        return "[]string"
    if isinstance(value, Sequence):
        return "[]interface {}"
    return type(value).__name__


class StringList(list[str]):
    """A Go []string (sprig's splitList, keys, ...): prints and ranges as a list."""

    __slots__ = ()


def go_equal(first: Any, second: Any) -> bool:
    """reflect.DeepEqual of two values: equal and of the same Go type (1 and 1.0 differ, as int and float64)."""
    if go_type_name(first) != go_type_name(second):
        return False
    if isinstance(first, Mapping):
        return first.keys() == second.keys() and all(go_equal(first[key], second[key]) for key in first)
    if isinstance(first, list | tuple):
        return len(first) == len(second) and all(go_equal(a, b) for a, b in zip(first, second, strict=True))
    return bool(first == second)


def is_true(value: Any) -> bool:
    """Go's template truth: false, 0, nil, and empty strings, lists and maps are false."""
    if value is None or value is NO_VALUE:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str | bytes | Mapping | list | tuple):
        return len(value) > 0
    if isinstance(value, timedelta):
        return value != timedelta(0)
    return True


def print_value(value: Any) -> str:
    """`fmt.Sprint(v)` of one value (what `{{ . }}` writes)."""
    if value is NO_VALUE:
        return "<no value>"
    if isinstance(value, str):
        return value
    if isinstance(value, timedelta):
        return format_go_duration(value)
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, GoFunc):
        return f"0x{id(value.fn) & 0xFFFFFF:x}"  # Go prints a func as its address
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{key}:{print_value_nested(value[key])}" for key in sorted(value)) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(print_value_nested(item) for item in value) + "]"
    return format_go_value(value)


def format_time(moment: datetime) -> str:
    """`time.Time.String()`: "2024-01-02 03:04:05.5 +0000 UTC" (zone name, or the offset when it has none)."""
    from ramp.notifications.gotemplate.gotime import format_layout

    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return format_layout(moment, "2006-01-02 15:04:05.999999999 -0700 MST")


def print_value_nested(value: Any) -> str:
    if value is None:
        return "<nil>"
    return print_value(value)


def prepare_data(data: Any) -> Any:
    """The data as Go's `json.Unmarshal` into `any` gives it: every number a float64 (tuples become lists)."""
    if isinstance(data, bool) or data is None or isinstance(data, str | bytes | float | GoFunc | datetime):
        return data
    if isinstance(data, int):
        return float(data)
    if isinstance(data, Mapping):
        return {str(key): prepare_data(item) for key, item in data.items()}
    if isinstance(data, list | tuple):
        return [prepare_data(item) for item in data]
    return data


def _parse_rfc3339(text: str) -> datetime:
    from ramp.notifications.gotemplate.gotime import RFC3339, parse_layout

    return parse_layout(RFC3339, text, UTC)


def time_variables(now: Callable[[], datetime]) -> dict[str, GoFunc]:
    """Argo Rollouts' `time` template variable: `{{ call .time.Now }}`, `{{ call .time.Parse "2024-...Z" }}`."""

    def parse(text: str) -> datetime:
        try:
            return _parse_rfc3339(text)
        except ValueError as error:
            raise FuncError(str(error)) from None

    return {
        "Now": GoFunc("Now", now, go_type="func() time.Time"),
        "Parse": GoFunc("Parse", parse, ("string",), go_type="func(string) time.Time"),
    }


def is_assignable(value: Any, kind: str) -> bool:
    """Go's AssignableTo for a parameter of `kind`: the value's dynamic type is the parameter's type."""
    if value is None:
        return False
    if kind == "string":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool | GoInt64)
    if kind == "int64":
        return isinstance(value, GoInt64)
    if kind == "float64":
        return isinstance(value, float)
    if kind == "map":
        return isinstance(value, Mapping)
    if kind == "time":
        return isinstance(value, datetime)
    if kind == "duration":
        return isinstance(value, timedelta)
    return False
