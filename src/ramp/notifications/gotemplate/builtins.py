"""Go's predefined template functions: and or not len index slice print printf println eq ne lt le gt ge html
js urlquery call, with Go's errors ("index out of range: 5", "incompatible types for comparison: float64 and
int", "len of nil pointer", ...).

`and`/`or` short-circuit in `execute`; here they are declared only for their argument counts. Arguments of kind
"value" arrive raw (a missing key as NO_VALUE), as Go passes reflect.Values.

Used by `ramp.notifications.gotemplate.functions`.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from ramp.notifications.gotemplate.formatting import go_sprint, go_sprintf, go_sprintln
from ramp.notifications.gotemplate.values import (
    KIND_TYPE_NAMES,
    NO_VALUE,
    FuncError,
    GoFunc,
    go_type_name,
    is_assignable,
    is_true,
    print_value,
)


def _indirect(value: Any) -> Any:
    return NO_VALUE if value is None else value


def _length(item: Any) -> int:
    if item is NO_VALUE:
        raise FuncError("reflect: call of reflect.Value.Type on zero Value")
    if item is None:
        raise FuncError("len of nil pointer")
    if isinstance(item, str):
        return len(item.encode())
    if isinstance(item, bytes | Mapping | list | tuple):
        return len(item)
    raise FuncError(f"len of type {go_type_name(item)}")


def _index_arg(index: Any, cap: int) -> int:
    index = _indirect(index)
    if index is NO_VALUE:
        raise FuncError("cannot index slice/array with nil")
    if not isinstance(index, int) or isinstance(index, bool):
        raise FuncError(f"cannot index slice/array with type {go_type_name(index)}")
    if index < 0 or index > cap:
        raise FuncError(f"index out of range: {index}")
    return index


def _index(item: Any, *indexes: Any) -> Any:
    item = _indirect(item)
    if item is NO_VALUE:
        raise FuncError("index of untyped nil")
    for raw in indexes:
        if item is None:
            raise FuncError("index of nil pointer")
        if isinstance(item, str | list | tuple):
            position = _index_arg(raw, len(item.encode()) if isinstance(item, str) else len(item))
            if isinstance(item, str):
                encoded = item.encode()
                if position >= len(encoded):
                    raise FuncError("reflect: string index out of range")
                item = encoded[position]
            else:
                if position >= len(item):
                    raise FuncError("reflect: slice index out of range")
                item = item[position]
        elif isinstance(item, Mapping):
            key = _indirect(raw)
            if key is NO_VALUE:
                raise FuncError("value is nil; should be of type string")
            if not isinstance(key, str):
                raise FuncError(f"value has type {go_type_name(key)}; should be string")
            item = item.get(key)
        else:
            raise FuncError(f"can't index item of type {go_type_name(item)}")
    return item


def _slice(item: Any, *indexes: Any) -> Any:
    item = _indirect(item)
    if item is NO_VALUE:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise FuncError("cannot 3-index slice a string")
        encoded = item.encode()
        bounds = [0, len(encoded)]
        for position, raw in enumerate(indexes):
            bounds[position] = _index_arg(raw, len(encoded))
        if bounds[0] > bounds[1]:
            raise FuncError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
        return encoded[bounds[0] : bounds[1]].decode("utf-8", "replace")
    if not isinstance(item, list | tuple):
        raise FuncError(f"can't slice item of type {go_type_name(item)}")
    cut = [0, len(item), len(item)]
    for position, raw in enumerate(indexes):
        cut[position] = _index_arg(raw, len(item))
    if cut[0] > cut[1]:
        raise FuncError(f"invalid slice index: {cut[0]} > {cut[1]}")
    if len(indexes) == 3 and cut[1] > cut[2]:
        raise FuncError(f"invalid slice index: {cut[1]} > {cut[2]}")
    return list(item[cut[0] : cut[1]])


def _basic_kind(value: Any) -> str:
    if value is NO_VALUE:
        return "invalid"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "other"


def _eq(first: Any, *others: Any) -> bool:
    first = _indirect(first)
    if not others:
        raise FuncError("missing argument for comparison")
    first_kind = _basic_kind(first)
    for raw in others:
        other = _indirect(raw)
        other_kind = _basic_kind(other)
        if first_kind != other_kind:
            if first is not NO_VALUE and other is not NO_VALUE:
                raise FuncError(
                    f"incompatible types for comparison: {go_type_name(first)} and {go_type_name(other)}",
                )
            continue
        if first_kind == "other":
            first_type, other_type = go_type_name(first), go_type_name(other)
            if first_type != other_type:
                raise FuncError(
                    go_sprintf("non-comparable types %s: %v, %v: %v", [first, first_type, other_type, other])
                )
            if isinstance(first, Mapping | list | tuple):
                raise FuncError(go_sprintf("non-comparable type %s: %v", [other, other_type]))
            if first == other:
                return True
        elif first_kind == "invalid" or first == other:
            return True
    return False


def _less(first: Any, second: Any) -> bool:
    first, second = _indirect(first), _indirect(second)
    first_kind, second_kind = _basic_kind(first), _basic_kind(second)
    if first_kind in ("invalid", "other") or second_kind in ("invalid", "other"):
        raise FuncError("invalid type for comparison")
    if first_kind != second_kind:
        raise FuncError(f"incompatible types for comparison: {go_type_name(first)} and {go_type_name(second)}")
    if first_kind == "bool":
        raise FuncError("invalid type for comparison")
    return bool(first < second)


def _printable_args(args: tuple[Any, ...]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    out: list[str] = []
    previous_string = False
    for index, arg in enumerate(args):
        is_string = isinstance(arg, str)
        if index > 0 and not is_string and not previous_string:
            out.append(" ")
        out.append("<no value>" if arg is None or arg is NO_VALUE else print_value(arg))
        previous_string = is_string
    return "".join(out)


def html_escape(*args: Any) -> str:
    text = _printable_args(args)
    table = {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "\x00": "\ufffd"}
    return "".join(table.get(char, char) for char in text)


def js_escape(*args: Any) -> str:
    text = _printable_args(args)
    table = {
        "\\": "\\\\",
        "'": "\\'",
        '"': '\\"',
        "<": "\\u003C",
        ">": "\\u003E",
        "&": "\\u0026",
        "=": "\\u003D",
    }
    out: list[str] = []
    for char in text:
        if char in table:
            out.append(table[char])
        elif char < " ":
            out.append(f"\\u00{ord(char):02X}")
        elif ord(char) >= 0x80 and not char.isprintable():
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return "".join(out)


def urlquery_escape(*args: Any) -> str:
    return urllib.parse.quote_plus(_printable_args(args), safe="", encoding="utf-8", errors="replace")


def _call(name: str, function: Any, *args: Any) -> Any:
    function = _indirect(function)
    if function is NO_VALUE:
        raise FuncError("call of nil")
    if not isinstance(function, GoFunc):
        raise FuncError(f"non-function {name} of type {go_type_name(function)}")
    fixed = len(function.params)
    if function.variadic is not None:
        if len(args) < fixed:
            raise FuncError(f"wrong number of args for {name}: got {len(args)} want at least {fixed}")
    elif len(args) != fixed:
        raise FuncError(f"wrong number of args for {name}: got {len(args)} want {fixed}")
    argv: list[Any] = []
    for position, arg in enumerate(args):
        kind = function.params[position] if position < fixed else function.variadic
        assert kind is not None
        argv.append(_prepare_arg(position, _indirect(arg), kind))
    return function.fn(*argv)


def _prepare_arg(position: int, value: Any, kind: str) -> Any:
    if kind in ("any", "value"):
        return None if value is NO_VALUE and kind == "any" else value
    if value is NO_VALUE:
        if kind == "map":
            return None
        raise FuncError(f"arg {position}: value is nil; should be of type {KIND_TYPE_NAMES[kind]}")
    if not is_assignable(value, kind):
        raise FuncError(f"arg {position}: value has type {go_type_name(value)}; should be {KIND_TYPE_NAMES[kind]}")
    return value


def _not_reached(*_args: Any) -> Any:
    raise FuncError("and/or are evaluated by the executor")


BUILTINS: dict[str, GoFunc] = {
    "and": GoFunc("and", _not_reached, ("value",), "value"),
    "or": GoFunc("or", _not_reached, ("value",), "value"),
    "not": GoFunc("not", lambda value: not is_true(value), ("value",)),
    "len": GoFunc("len", _length, ("value",)),
    "index": GoFunc("index", _index, ("value",), "value"),
    "slice": GoFunc("slice", _slice, ("value",), "value"),
    "print": GoFunc("print", lambda *args: go_sprint(args), (), "any"),
    "printf": GoFunc("printf", lambda text, *args: go_sprintf(text, args), ("string",), "any"),
    "println": GoFunc("println", lambda *args: go_sprintln(args), (), "any"),
    "eq": GoFunc("eq", _eq, ("value",), "value"),
    "ne": GoFunc("ne", lambda first, second: not _eq(first, second), ("value", "value")),
    "lt": GoFunc("lt", _less, ("value", "value")),
    "le": GoFunc("le", lambda first, second: _less(first, second) or _eq(first, second), ("value", "value")),
    "gt": GoFunc("gt", lambda first, second: not (_less(first, second) or _eq(first, second)), ("value", "value")),
    "ge": GoFunc("ge", lambda first, second: not _less(first, second), ("value", "value")),
    "html": GoFunc("html", html_escape, (), "any"),
    "js": GoFunc("js", js_escape, (), "any"),
    "urlquery": GoFunc("urlquery", urlquery_escape, (), "any"),
    "call": GoFunc("call", _call, ("value",), "value"),
}
"""Go's builtins by name."""
