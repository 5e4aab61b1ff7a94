"""flagd-format flag documents: parsed, size-capped and checked field by field (a bad field is named, never ignored).

A document is `{"flags": {key: definition}, "$evaluators": {name: rule}, "$schema"?, "metadata"?}`; a definition
is `{state: ENABLED|DISABLED, variants: {name: value}, defaultVariant, targeting?: JsonLogic, metadata?}`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ramp.flags.jsonlogic import operators_in

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
MAX_DEFINITION_BYTES = 64 * 1024
MAX_NESTING = 64

_DOCUMENT_FIELDS = frozenset({"flags", "$evaluators", "$schema", "metadata"})
_FLAG_FIELDS = frozenset({"state", "variants", "defaultVariant", "targeting", "metadata"})


class FlagDefinitionError(ValueError):
    """A flag document or definition is not valid; the message names the field and the fix."""


def parse_document(raw: bytes) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """JSON bytes -> (flags by key, $evaluators); raises FlagDefinitionError."""
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise FlagDefinitionError(f"flag document is {len(raw)} bytes; the limit is {MAX_DOCUMENT_BYTES}")
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise FlagDefinitionError(f"flag document is not JSON: {error}") from None
    return check_document(document)


def check_document(document: Any) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """A decoded document -> (flags by key, $evaluators); raises FlagDefinitionError."""
    if not isinstance(document, dict):
        raise FlagDefinitionError('flag document must be an object {"flags": {...}}')
    unknown = sorted(set(document) - _DOCUMENT_FIELDS)
    if unknown:
        raise FlagDefinitionError(f"unknown field(s) {unknown} in the flag document: use flags, $evaluators")
    flags = document.get("flags")
    if not isinstance(flags, dict):
        raise FlagDefinitionError('"flags" must be an object of flag definitions keyed by flag key')
    evaluators = document.get("$evaluators", {})
    if not isinstance(evaluators, dict):
        raise FlagDefinitionError('"$evaluators" must be an object of named JsonLogic rules')
    for name, rule in evaluators.items():
        _check_rule(rule, f"$evaluators.{name}")
    checked = {key: check_definition(key, definition) for key, definition in flags.items()}
    for where, rule in [
        *((f"$evaluators.{n}", r) for n, r in evaluators.items()),
        *((f"flags.{k}.targeting", d["targeting"]) for k, d in checked.items()),
    ]:
        for name in _refs(rule):
            if name not in evaluators:
                raise FlagDefinitionError(f"{where}: $ref {name!r} names no entry of $evaluators {sorted(evaluators)}")
    return checked, dict(evaluators)


def check_definition(key: str, definition: Any) -> dict[str, Any]:
    """One flag definition, checked; int variants become floats when any variant is a float (`1` -> `1.0`)."""
    where = f"flags.{key}"
    if not isinstance(definition, dict):
        raise FlagDefinitionError(f"{where} must be an object with state, variants, defaultVariant")
    unknown = sorted(set(definition) - _FLAG_FIELDS)
    if unknown:
        raise FlagDefinitionError(f"unknown field(s) {unknown} in {where}: use {sorted(_FLAG_FIELDS)}")
    if len(json.dumps(definition)) > MAX_DEFINITION_BYTES:
        raise FlagDefinitionError(f"{where} is larger than {MAX_DEFINITION_BYTES} bytes; split its targeting")
    state = definition.get("state")
    if state not in ("ENABLED", "DISABLED"):
        raise FlagDefinitionError(f"{where}.state must be ENABLED or DISABLED, got {state!r}")
    variants = definition.get("variants")
    if not isinstance(variants, dict) or not variants:
        raise FlagDefinitionError(f"{where}.variants must be a non-empty object of variant name -> value")
    kinds = {_kind(value) for value in variants.values()}
    if len(kinds - {"int", "float"}) + (1 if kinds & {"int", "float"} else 0) > 1:
        raise FlagDefinitionError(f"{where}.variants mix value types {sorted(kinds)}: give every variant one type")
    if "float" in kinds:
        variants = {name: float(value) for name, value in variants.items()}
    default = definition.get("defaultVariant")
    if default is not None and default not in variants:
        raise FlagDefinitionError(f"{where}.defaultVariant {default!r} is not one of variants {sorted(variants)}")
    targeting = definition.get("targeting", {})
    if not isinstance(targeting, dict):
        raise FlagDefinitionError(f"{where}.targeting must be a JsonLogic object (or {{}} for none)")
    _check_rule(targeting, f"{where}.targeting")
    metadata = definition.get("metadata", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(value, str | int | float | bool) for value in metadata.values()
    ):
        raise FlagDefinitionError(f"{where}.metadata must be an object of string, number or boolean values")
    return {**definition, "variants": variants, "targeting": targeting, "metadata": metadata}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict | list):
        return "object"
    return "null"


def _check_rule(rule: Any, where: str) -> None:
    if _depth(rule) > MAX_NESTING:
        raise FlagDefinitionError(f"{where} nests deeper than {MAX_NESTING} levels")
    unknown = operators_in(rule, where)
    if unknown:
        path, op = unknown[0]
        raise FlagDefinitionError(f"{path}: unknown JsonLogic operator {op!r}")


def _refs(rule: Any) -> list[Any]:
    found, stack = [], [rule]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "$ref" in node:
                found.append(node["$ref"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _depth(node: Any) -> int:
    deepest, stack = 0, [(node, 1)]
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(current, Mapping):
            stack.extend((child, level + 1) for child in current.values())
        elif isinstance(current, list):
            stack.extend((child, level + 1) for child in current)
    return deepest
