"""Evaluate one flagd-format flag definition for an evaluation context: pure, bounded, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple

from ramp.flags.jsonlogic import DEFAULT_STEP_BUDGET, EvalState, JsonLogicError, apply


class Reason(StrEnum):
    """Why a value was chosen (OpenFeature's reasons)."""

    STATIC = "STATIC"
    TARGETING_MATCH = "TARGETING_MATCH"
    SPLIT = "SPLIT"
    DISABLED = "DISABLED"
    DEFAULT = "DEFAULT"
    ERROR = "ERROR"


class ErrorCode(StrEnum):
    """OpenFeature's error codes that an evaluation can end in."""

    FLAG_NOT_FOUND = "FLAG_NOT_FOUND"
    PARSE_ERROR = "PARSE_ERROR"
    TARGETING_KEY_MISSING = "TARGETING_KEY_MISSING"
    INVALID_CONTEXT = "INVALID_CONTEXT"
    GENERAL = "GENERAL"


_NO_VALUE: Any = None
_NO_METADATA: Mapping[str, Any] = MappingProxyType({})


class Resolution(NamedTuple):
    """The outcome of one evaluation. `has_value` is False when the client should use its code default.

    A NamedTuple (immutable, as a frozen dataclass, at half its construction cost: one is built per evaluation).
    """

    value: Any
    variant: str | None
    reason: Reason
    error_code: ErrorCode | None = None
    error_details: str | None = None
    metadata: Mapping[str, Any] = _NO_METADATA
    has_value: bool = True


def not_found(flag_key: str) -> Resolution:
    """The resolution of a key with no definition."""
    return _error(ErrorCode.FLAG_NOT_FOUND, f"flag {flag_key!r} was not found", {})


def resolve(
    flag_key: str,
    definition: Mapping[str, Any],
    context: Mapping[str, Any],
    *,
    evaluators: Mapping[str, Any],
    timestamp: int,
    step_budget: int = DEFAULT_STEP_BUDGET,
) -> Resolution:
    """Evaluate a checked definition (ramp.flags.definitions) for `context` at unix time `timestamp`."""
    metadata: Mapping[str, Any] = definition.get("metadata") or _NO_METADATA
    variants: Mapping[str, Any] = definition["variants"]
    default = definition.get("defaultVariant")
    if definition.get("state") == "DISABLED":
        return _default(variants, default, Reason.DISABLED, metadata)
    targeting = definition.get("targeting") or {}
    if not targeting:
        return _default(variants, default, Reason.STATIC, metadata)
    data = dict(context)
    data["$flagd"] = {"flagKey": flag_key, "timestamp": timestamp}
    state = EvalState(data=data, evaluators=evaluators, flag_key=flag_key, steps_left=step_budget)
    try:
        outcome = apply(targeting, state)
    except JsonLogicError as error:
        return _error(ErrorCode.GENERAL, f"targeting of flag {flag_key!r} failed: {error}", metadata)
    if outcome is None:
        return _default(variants, default, Reason.DEFAULT, metadata)
    if isinstance(outcome, bool):
        outcome = "true" if outcome else "false"
    if not isinstance(outcome, str) or outcome not in variants:
        return _error(
            ErrorCode.GENERAL,
            f"targeting of flag {flag_key!r} returned {outcome!r}, which is not one of its variants {sorted(variants)}",
            metadata,
        )
    reason = Reason.SPLIT if outcome in state.split_results else Reason.TARGETING_MATCH
    return Resolution(value=variants[outcome], variant=outcome, reason=reason, metadata=metadata)


def _default(variants: Mapping[str, Any], default: Any, reason: Reason, metadata: Mapping[str, Any]) -> Resolution:
    if default is None:
        # flagd's "no default variant": the client falls back to the default in its code.
        return Resolution(value=_NO_VALUE, variant=None, reason=reason, metadata=metadata, has_value=False)
    return Resolution(value=variants[default], variant=str(default), reason=reason, metadata=metadata)


def _error(code: ErrorCode, details: str, metadata: Mapping[str, Any]) -> Resolution:
    return Resolution(
        value=_NO_VALUE,
        variant=None,
        reason=Reason.ERROR,
        error_code=code,
        error_details=details,
        metadata=metadata,
        has_value=False,
    )
