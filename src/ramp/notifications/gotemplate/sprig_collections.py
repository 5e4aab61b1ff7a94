"""Sprig's list and dict functions: list tuple first last rest initial append push prepend concat reverse uniq
has without compact slice chunk until untilStep seq, and dict get set unset hasKey keys values pluck merge
mergeOverwrite pick omit dig deepCopy. A value of the wrong kind fails with sprig's own panic text
("Cannot find first on type string"), as Go's template engine reports a recovered panic.

Lists a function builds are capped at MAX_ITEMS, so `until 1000000000` cannot eat the memory.

Used by `functions`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

from ramp.notifications.gotemplate.sprig_math import to_int
from ramp.notifications.gotemplate.sprig_strings import strval
from ramp.notifications.gotemplate.values import (
    NO_VALUE,
    FuncError,
    GoFunc,
    GoInt64,
    StringList,
    go_equal,
    go_type_name,
)

MAX_ITEMS: Final = 100_000


def _kind(value: Any) -> str:
    if value is None or value is NO_VALUE:
        return "invalid"
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
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, list | tuple):
        return "slice"
    return "struct"


def _as_list(value: Any, action: str) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    if value is None or value is NO_VALUE:
        raise FuncError(_NIL_DEREFERENCE)
    raise FuncError(f"Cannot {action} on type {_kind(value)}")


def _capped(items: list[Any]) -> list[Any]:
    if len(items) > MAX_ITEMS:
        raise FuncError(f"a list of {len(items)} items exceeds the limit of {MAX_ITEMS}")
    return items


def _first(value: Any) -> Any:
    items = _as_list(value, "find first")
    return items[0] if items else None


def _last(value: Any) -> Any:
    items = _as_list(value, "find last")
    return items[-1] if items else None


def _rest(value: Any) -> Any:
    return _as_list(value, "find rest")[1:]  # a typed nil slice: prints "[]"


def _initial(value: Any) -> Any:
    return _as_list(value, "find initial")[:-1]


def _uniq(value: Any) -> list[Any]:
    out: list[Any] = []
    seen: set[tuple[str, Any]] = set()
    for item in _as_list(value, "find uniq"):
        if item is None or isinstance(item, str | int | float):
            key = (go_type_name(item), item)  # hashable: linear time
            if key not in seen:
                seen.add(key)
                out.append(item)
        elif not any(go_equal(item, kept) for kept in out):
            out.append(item)
    return out


def _without(value: Any, *omit: Any) -> list[Any]:
    return [item for item in _as_list(value, "find without") if not any(go_equal(item, o) for o in omit)]


def _has(needle: Any, haystack: Any) -> bool:
    if haystack is None or haystack is NO_VALUE:
        return False
    return any(go_equal(needle, item) for item in _as_list(haystack, "find has"))


def _is_empty(value: Any) -> bool:
    from ramp.notifications.gotemplate.sprig_defaults import is_empty

    return is_empty(value)


def _compact(value: Any) -> list[Any]:
    return [item for item in _as_list(value, "compact") if not _is_empty(item)]


def _slice(value: Any, *indices: Any) -> Any:
    if value is None or value is NO_VALUE:
        raise FuncError(_NIL_DEREFERENCE)
    if not isinstance(value, list | tuple):
        raise FuncError(f"list should be type of slice or array but {_kind(value)}")
    items = list(value)
    if not items:
        return None
    start = to_int(indices[0]) if indices else 0
    end = to_int(indices[1]) if len(indices) > 1 else len(items)
    if not 0 <= start <= end <= len(items):
        raise FuncError("reflect: slice index out of range")
    return items[start:end]


_NIL_DEREFERENCE = "runtime error: invalid memory address or nil pointer dereference"


def _concat(*lists: Any) -> list[Any]:
    out: list[Any] = []
    for value in lists:
        if value is None or value is NO_VALUE:
            raise FuncError(_NIL_DEREFERENCE)
        if not isinstance(value, list | tuple):
            raise FuncError(f"Cannot concat type {_kind(value)} as list")
        out.extend(value)
    return _capped(out)


def _chunk(size: int, value: Any) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise FuncError(f"Cannot chunk type {_kind(value)}")
    items = list(value)
    if size <= 0:
        raise FuncError("runtime error: integer divide by zero")
    return [items[index : index + size] for index in range(0, len(items), size)]


def until_step(start: int, stop: int, step: int) -> list[int]:
    if (stop < start and step >= 0) or (stop >= start and step <= 0):
        return []
    count = len(range(start, stop, step))
    if count > MAX_ITEMS:
        raise FuncError(f"a list of {count} items exceeds the limit of {MAX_ITEMS}")
    return list(range(start, stop, step))


def _seq(*params: int) -> str:
    if len(params) == 1:
        start, step, end = 1, 1, params[0]
        if end < 1:
            step = -1
    elif len(params) == 2:
        start, end = params
        step = 1 if end >= start else -1
    elif len(params) == 3:
        start, step, end = params
        if (end > start and step <= 0) or (end < start and step >= 0) or step == 0:
            return ""
    else:
        return ""
    return " ".join(str(number) for number in until_step(start, end + (1 if step > 0 else -1), step))


def _dict(*values: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for index in range(0, len(values), 2):
        key = strval(values[index])
        out[key] = values[index + 1] if index + 1 < len(values) else ""
    return out


def _map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _set(target: Any, key: str, value: Any) -> Any:
    if target is None:
        raise FuncError("assignment to entry in nil map")
    target[key] = value
    return target


def _unset(target: Any, key: str) -> Any:
    if isinstance(target, dict):
        target.pop(key, None)
    return target


def _keys(*dicts: Any) -> StringList:
    out = StringList()
    for value in dicts:
        out.extend(sorted(_map(value)))
    return out


def _pluck(name: str, *dicts: Any) -> list[Any]:
    return [value[name] for value in dicts if isinstance(value, Mapping) and name in value]


def _pick(source: Any, *names: str) -> dict[str, Any]:
    source = _map(source)
    return {name: source[name] for name in names if name in source}


def _omit(source: Any, *names: str) -> dict[str, Any]:
    return {key: item for key, item in _map(source).items() if key not in names}


def _merge_into(target: dict[str, Any], source: Mapping[str, Any], overwrite: bool) -> None:
    for key, item in source.items():
        current = target.get(key)
        if isinstance(current, dict) and isinstance(item, Mapping):
            _merge_into(current, item, overwrite)
        elif key not in target or (overwrite and not _is_empty(item)) or _is_empty(current):
            target[key] = copy.deepcopy(item) if isinstance(item, dict | list) else item


def _merge(target: Any, *sources: Any, overwrite: bool = False) -> Any:
    if target is None:
        target = {}
    for source in sources:
        if isinstance(source, Mapping):
            _merge_into(target, source, overwrite)
    return target


def _dig(*params: Any) -> Any:
    if len(params) < 3:
        raise FuncError("dig needs at least three arguments")
    current = params[-1]
    default = params[-2]
    names = params[:-2]
    for position, name in enumerate(names):
        if not isinstance(name, str):
            raise FuncError(f"interface conversion: interface {{}} is {_kind(name)}, not string")
        if not isinstance(current, Mapping):
            raise FuncError(
                f"interface conversion: interface {{}} is {_kind(current)}, not map[string]interface {{}}",
            )
        if name not in current:
            return default
        current = current[name]
        if position == len(names) - 1:
            return current
    return current


COLLECTION_FUNCTIONS: dict[str, GoFunc] = {
    "list": GoFunc("list", lambda *items: _capped(list(items)), (), "any"),
    "tuple": GoFunc("tuple", lambda *items: _capped(list(items)), (), "any"),
    "first": GoFunc("first", _first, ("any",)),
    "last": GoFunc("last", _last, ("any",)),
    "rest": GoFunc("rest", _rest, ("any",)),
    "initial": GoFunc("initial", _initial, ("any",)),
    "append": GoFunc("append", lambda items, item: _capped([*_as_list(items, "push"), item]), ("any", "any")),
    "push": GoFunc("push", lambda items, item: _capped([*_as_list(items, "push"), item]), ("any", "any")),
    "prepend": GoFunc("prepend", lambda items, item: _capped([item, *_as_list(items, "prepend")]), ("any", "any")),
    "concat": GoFunc("concat", _concat, (), "any"),
    "reverse": GoFunc("reverse", lambda items: _as_list(items, "find reverse")[::-1], ("any",)),
    "uniq": GoFunc("uniq", _uniq, ("any",)),
    "has": GoFunc("has", _has, ("any", "any")),
    "without": GoFunc("without", _without, ("any",), "any"),
    "compact": GoFunc("compact", _compact, ("any",)),
    "slice": GoFunc("slice", _slice, ("any",), "any"),
    "chunk": GoFunc("chunk", _chunk, ("int", "any")),
    "until": GoFunc("until", lambda count: until_step(0, count, 1 if count >= 0 else -1), ("int",)),
    "untilStep": GoFunc("untilStep", until_step, ("int", "int", "int")),
    "seq": GoFunc("seq", _seq, (), "int"),
    "dict": GoFunc("dict", _dict, (), "any"),
    "get": GoFunc("get", lambda source, key: _map(source).get(key, ""), ("map", "string")),
    "set": GoFunc("set", _set, ("map", "string", "any")),
    "unset": GoFunc("unset", _unset, ("map", "string")),
    "hasKey": GoFunc("hasKey", lambda source, key: key in _map(source), ("map", "string")),
    "keys": GoFunc("keys", _keys, (), "map"),
    "values": GoFunc("values", lambda source: [_map(source)[key] for key in sorted(_map(source))], ("map",)),
    "pluck": GoFunc("pluck", _pluck, ("string",), "map"),
    "pick": GoFunc("pick", _pick, ("map",), "string"),
    "omit": GoFunc("omit", _omit, ("map",), "string"),
    "merge": GoFunc("merge", _merge, ("map",), "map"),
    "mergeOverwrite": GoFunc("mergeOverwrite", lambda t, *s: _merge(t, *s, overwrite=True), ("map",), "map"),
    "dig": GoFunc("dig", _dig, (), "any"),
    "deepCopy": GoFunc("deepCopy", copy.deepcopy, ("any",)),
}
"""Sprig's list and dict functions by name."""
