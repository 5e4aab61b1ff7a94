"""The flag evaluator: one definition and one context -> a Resolution (value, variant, reason, error)."""

from __future__ import annotations

from typing import Any

import pytest

from ramp.flags.definitions import check_definition
from ramp.flags.evaluator import ErrorCode, Reason, resolve

EVALUATORS = {"is_staff": {"ends_with": [{"var": "email"}, "@example.com"]}}


def flag(targeting: Any = None, **overrides: Any) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "state": "ENABLED",
        "variants": {"on": True, "off": False},
        "defaultVariant": "off",
        "targeting": targeting or {},
    }
    definition.update(overrides)
    return check_definition("f", definition)


CASES = [
    # (name, definition, context, variant, reason)
    ("static", flag(), {}, "off", Reason.STATIC),
    ("disabled", flag({"if": [True, "on"]}, state="DISABLED"), {}, "off", Reason.DISABLED),
    (
        "if match",
        flag({"if": [{"==": [{"var": "plan"}, "pro"]}, "on", None]}),
        {"plan": "pro"},
        "on",
        Reason.TARGETING_MATCH,
    ),
    ("if no match -> default", flag({"if": [{"==": [{"var": "plan"}, "pro"]}, "on", None]}), {}, "off", Reason.DEFAULT),
    (
        "boolean result names the variant",
        flag({"==": [1, 1]}, variants={"true": "yes", "false": "no"}, defaultVariant="false"),
        {},
        "true",
        Reason.TARGETING_MATCH,
    ),
    (
        "starts_with",
        flag({"if": [{"starts_with": [{"var": "id"}, "beta-"]}, "on", "off"]}),
        {"id": "beta-7"},
        "on",
        Reason.TARGETING_MATCH,
    ),
    (
        "ends_with via $ref",
        flag({"if": [{"$ref": "is_staff"}, "on", "off"]}),
        {"email": "a@example.com"},
        "on",
        Reason.TARGETING_MATCH,
    ),
    (
        "sem_ver >=",
        flag({"if": [{"sem_ver": [{"var": "version"}, ">=", "1.4.0"]}, "on", "off"]}),
        {"version": "v1.10.2"},
        "on",
        Reason.TARGETING_MATCH,
    ),
    (
        "sem_ver prerelease <",
        flag({"if": [{"sem_ver": [{"var": "version"}, ">=", "1.4.0"]}, "on", "off"]}),
        {"version": "1.4.0-rc.1"},
        "off",
        Reason.TARGETING_MATCH,
    ),
    ("sem_ver ^", flag({"if": [{"sem_ver": ["2.9.1", "^", "2.0.0"]}, "on", "off"]}), {}, "on", Reason.TARGETING_MATCH),
    ("sem_ver ~", flag({"if": [{"sem_ver": ["2.9.1", "~", "2.8.0"]}, "on", "off"]}), {}, "off", Reason.TARGETING_MATCH),
    (
        "flagKey var",
        flag({"if": [{"==": [{"var": "$flagd.flagKey"}, "f"]}, "on", "off"]}),
        {},
        "on",
        Reason.TARGETING_MATCH,
    ),
    (
        "timestamp var",
        flag({"if": [{">": [{"var": "$flagd.timestamp"}, 1000]}, "on", "off"]}),
        {},
        "on",
        Reason.TARGETING_MATCH,
    ),
    (
        "in list",
        flag({"if": [{"in": [{"var": "country"}, ["DE", "FR"]]}, "on", "off"]}),
        {"country": "FR"},
        "on",
        Reason.TARGETING_MATCH,
    ),
    (
        "fractional 100% -> split",
        flag({"fractional": [["on", 100], ["off", 0]]}),
        {"targetingKey": "u"},
        "on",
        Reason.SPLIT,
    ),
    (
        "fractional without targetingKey -> default",
        flag({"fractional": [["on", 50], ["off", 50]]}),
        {},
        "off",
        Reason.DEFAULT,
    ),
    (
        "fractional bucketBy expression",
        flag({"fractional": [{"var": "org"}, ["on", 1], ["off", 0]]}),
        {"org": "acme"},
        "on",
        Reason.SPLIT,
    ),
    (
        "targeting inside if wraps fractional",
        flag({"if": [{"==": [{"var": "tier"}, "vip"]}, "on", {"fractional": [["on", 0], ["off", 100]]}]}),
        {"tier": "vip", "targetingKey": "u"},
        "on",
        Reason.TARGETING_MATCH,
    ),
]


@pytest.mark.parametrize(
    ("definition", "context", "variant", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_resolution(definition: dict[str, Any], context: dict[str, Any], variant: str, reason: Reason) -> None:
    resolution = resolve("f", definition, context, evaluators=EVALUATORS, timestamp=1_700_000_000)
    assert (resolution.variant, resolution.reason) == (variant, reason)
    assert resolution.value == definition["variants"][variant]
    assert resolution.error_code is None


def test_a_variant_the_targeting_invents_is_an_error_naming_it() -> None:
    resolution = resolve("f", flag({"if": [True, "purple"]}), {}, evaluators={}, timestamp=0)
    assert resolution.reason == Reason.ERROR
    assert resolution.error_code == ErrorCode.GENERAL
    assert "purple" in (resolution.error_details or "")
    assert not resolution.has_value


def test_the_step_budget_stops_a_runaway_rule() -> None:
    big = {"map": [list(range(5000)), {"map": [list(range(5000)), {"+": [1, 1]}]}]}
    resolution = resolve("f", flag({"if": [big, "on", "off"]}), {}, evaluators={}, timestamp=0)
    assert resolution.error_code == ErrorCode.GENERAL
    assert "budget" in (resolution.error_details or "")


def test_a_ref_cycle_is_an_error_not_a_crash() -> None:
    resolution = resolve("f", flag({"$ref": "loop"}), {}, evaluators={"loop": {"$ref": "loop"}}, timestamp=0)
    assert resolution.error_code == ErrorCode.GENERAL


def test_no_default_variant_means_the_code_default() -> None:
    resolution = resolve("f", flag(defaultVariant=None), {}, evaluators={}, timestamp=0)
    assert (resolution.reason, resolution.has_value, resolution.variant) == (Reason.STATIC, False, None)


def test_metadata_is_carried() -> None:
    resolution = resolve("f", flag(metadata={"team": "web"}), {}, evaluators={}, timestamp=0)
    assert resolution.metadata == {"team": "web"}
