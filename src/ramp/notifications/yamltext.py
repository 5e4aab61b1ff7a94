"""YAML text a user wrote (ConfigMap values, subscription annotations), read with bounds: no value nested deeper
than `MAX_DEPTH`, no more than `MAX_VALUES` values counting every alias as the values it repeats (so an alias
bomb is refused, not walked), and PyYAML's own recursion on absurd nesting turned into an error.
Used by `config` and `subscriptions`.
"""

from __future__ import annotations

from typing import Any, Final

import yaml

MAX_DEPTH: Final = 64
MAX_VALUES: Final = 100_000


class YamlTextError(ValueError):
    """Text that is not YAML, or YAML beyond the bounds; the message says which and where."""


def load_yaml_text(text: str) -> Any:
    """The value of `text` (safe YAML), within the bounds; YamlTextError otherwise."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where is not None else ""
        reason = getattr(error, "problem", None) or str(error)
        raise YamlTextError(f"not valid YAML{at}: {reason}") from None
    except RecursionError:
        raise YamlTextError(f"YAML nested too deeply (at most {MAX_DEPTH} levels)") from None
    check_bounds(value)
    return value


def check_bounds(value: Any) -> None:
    """YamlTextError when `value` nests deeper than MAX_DEPTH or holds more than MAX_VALUES values (walked
    without recursion; a value reached twice through aliases counts twice)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    count = 0
    while pending:
        current, depth = pending.pop()
        count += 1
        if count > MAX_VALUES:
            raise YamlTextError(f"YAML holds more than {MAX_VALUES} values (aliases count as what they repeat)")
        if depth > MAX_DEPTH:
            raise YamlTextError(f"YAML nested too deeply (at most {MAX_DEPTH} levels)")
        if isinstance(current, dict):
            pending.extend((item, depth + 1) for item in current.values())
        elif isinstance(current, list):
            pending.extend((item, depth + 1) for item in current)
