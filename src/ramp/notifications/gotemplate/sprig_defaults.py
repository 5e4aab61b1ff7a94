"""Sprig's defaults, flow, JSON, type and path functions: default empty coalesce all any ternary fail, toJson
toPrettyJson toRawJson fromJson (and their must* forms), typeOf typeIs kindOf kindIs deepEqual, uuidv4, base
dir clean ext isAbs.

JSON is written as Go's encoding/json writes it (keys sorted, `<>&` escaped except by toRawJson) and read as Go
reads it into `any` (every number a float64).

Used by `functions`.
"""

from __future__ import annotations

import json
import math
import posixpath
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ramp.notifications.gotemplate.values import NO_VALUE, FuncError, GoFunc, go_equal, go_type_name, print_value
from ramp.providers.go_text import format_go_json


def is_empty(value: Any) -> bool:
    """sprig's empty: nil, false, 0, "" and empty lists and maps; a time is never empty."""
    if value is None or value is NO_VALUE:
        return True
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value == 0
    if isinstance(value, str | Mapping | list | tuple):
        return len(value) == 0
    if isinstance(value, timedelta):
        return value == timedelta(0)
    return False


def _default(fallback: Any, *given: Any) -> Any:
    if not given or is_empty(given[0]):
        return fallback
    return given[0]


def _coalesce(*values: Any) -> Any:
    for value in values:
        if not is_empty(value):
            return value
    return None


def _fail(message: str) -> str:
    raise FuncError(message)


def _json_ready(value: Any) -> Any:
    if value is None or value is NO_VALUE:
        return None
    if isinstance(value, datetime):
        from ramp.notifications.gotemplate.gotime import format_layout

        return format_layout(value, "2006-01-02T15:04:05.999999999Z07:00")
    if isinstance(value, timedelta):
        return (value.days * 86_400 + value.seconds) * 1_000_000_000 + value.microseconds * 1000
    if isinstance(value, GoFunc):
        raise FuncError(f"json: unsupported type: {value.type_name()}")
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise FuncError(f"json: unsupported value: {print_value(value)}")
    if isinstance(value, Mapping):
        return {str(key): _json_ready(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(item) for item in value]
    return value


def _to_json(value: Any, *, indent: bool = False, escape_html: bool = True) -> str:
    ready = _json_ready(value)
    text = _pretty(ready, "") if indent else format_go_json(ready)
    if not escape_html:
        text = text.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&")
    return text


def _pretty(value: Any, prefix: str) -> str:
    inner = prefix + "  "
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        members = [f"{inner}{format_go_json(str(key))}: {_pretty(value[key], inner)}" for key in sorted(value)]
        return "{\n" + ",\n".join(members) + "\n" + prefix + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(inner + _pretty(item, inner) for item in value) + "\n" + prefix + "]"
    return format_go_json(value)


def _lenient(function: Any) -> Any:
    """The non-must form: an error gives the empty string instead."""

    def call(*args: Any) -> Any:
        try:
            return function(*args)
        except FuncError:
            return ""

    return call


def _from_json(text: str) -> Any:
    try:
        return json.loads(text, parse_int=float, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        raise FuncError(str(error)) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


def _from_json_lenient(text: str) -> Any:
    try:
        return _from_json(text)
    except FuncError:
        return None


def _kind_of(value: Any) -> str:
    if value is None or value is NO_VALUE:
        return "invalid"
    name = go_type_name(value)
    if name.startswith("map["):
        return "map"
    if name.startswith("[]"):
        return "slice"
    if name.startswith("func"):
        return "func"
    if name == "time.Time":
        return "struct"
    if name == "time.Duration":
        return "int64"
    return name


def _type_of(value: Any) -> str:
    return "<nil>" if value is None or value is NO_VALUE else go_type_name(value)


def _go_clean(path: str) -> str:
    if path == "":
        return "."
    cleaned = posixpath.normpath(path)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    return cleaned


def _go_base(path: str) -> str:
    if path == "":
        return "."
    stripped = path.rstrip("/")
    if stripped == "":
        return "/"
    return stripped.rsplit("/", 1)[-1]


def _go_dir(path: str) -> str:
    head = path[: path.rfind("/") + 1]
    return _go_clean(head)


def _go_ext(path: str) -> str:
    for index in range(len(path) - 1, -1, -1):
        if path[index] == "/":
            break
        if path[index] == ".":
            return path[index:]
    return ""


DEFAULT_FUNCTIONS: dict[str, GoFunc] = {
    "default": GoFunc("default", _default, ("any",), "any"),
    "empty": GoFunc("empty", is_empty, ("any",)),
    "coalesce": GoFunc("coalesce", _coalesce, (), "any"),
    "all": GoFunc("all", lambda *values: all(not is_empty(value) for value in values), (), "any"),
    "any": GoFunc("any", lambda *values: any(not is_empty(value) for value in values), (), "any"),
    "ternary": GoFunc("ternary", lambda yes, no, condition: yes if condition else no, ("any", "any", "bool")),
    "fail": GoFunc("fail", _fail, ("string",)),
    "toJson": GoFunc("toJson", _lenient(_to_json), ("any",)),
    "mustToJson": GoFunc("mustToJson", _to_json, ("any",)),
    "toPrettyJson": GoFunc("toPrettyJson", _lenient(lambda value: _to_json(value, indent=True)), ("any",)),
    "mustToPrettyJson": GoFunc("mustToPrettyJson", lambda value: _to_json(value, indent=True), ("any",)),
    "toRawJson": GoFunc("toRawJson", _lenient(lambda value: _to_json(value, escape_html=False)), ("any",)),
    "mustToRawJson": GoFunc("mustToRawJson", lambda value: _to_json(value, escape_html=False), ("any",)),
    "fromJson": GoFunc("fromJson", _from_json_lenient, ("string",)),
    "mustFromJson": GoFunc("mustFromJson", _from_json, ("string",)),
    "typeOf": GoFunc("typeOf", _type_of, ("any",)),
    "typeIs": GoFunc("typeIs", lambda target, value: target == _type_of(value), ("string", "any")),
    "typeIsLike": GoFunc(
        "typeIsLike",
        lambda target, value: target in (_type_of(value), "*" + _type_of(value)),
        ("string", "any"),
    ),
    "kindOf": GoFunc("kindOf", _kind_of, ("any",)),
    "kindIs": GoFunc("kindIs", lambda target, value: target == _kind_of(value), ("string", "any")),
    "deepEqual": GoFunc("deepEqual", go_equal, ("any", "any")),
    "uuidv4": GoFunc("uuidv4", lambda: str(uuid.uuid4())),
    "base": GoFunc("base", _go_base, ("string",)),
    "dir": GoFunc("dir", _go_dir, ("string",)),
    "clean": GoFunc("clean", _go_clean, ("string",)),
    "ext": GoFunc("ext", _go_ext, ("string",)),
    "isAbs": GoFunc("isAbs", lambda path: path.startswith("/"), ("string",)),
}
"""Sprig's defaults, JSON, type and path functions by name."""
