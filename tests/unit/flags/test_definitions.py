"""flagd-format documents: checked field by field, size-capped, numbers made consistent."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ramp.flags.definitions import MAX_DOCUMENT_BYTES, FlagDefinitionError, check_definition, parse_document


def doc(**flag: Any) -> bytes:
    base = {"state": "ENABLED", "variants": {"a": 1, "b": 2}, "defaultVariant": "a"}
    base.update(flag)
    return json.dumps({"flags": {"f": base}}).encode()


def test_a_good_document_parses() -> None:
    flags, evaluators = parse_document(
        json.dumps({"$schema": "x", "flags": {}, "$evaluators": {"r": {"var": "a"}}}).encode()
    )
    assert flags == {} and evaluators == {"r": {"var": "a"}}


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        (b"{", "not JSON"),
        (b"[]", "must be an object"),
        (b'{"flags": {}, "extra": 1}', "extra"),
        (doc(state="ON"), "flags.f.state"),
        (doc(variants={}), "flags.f.variants"),
        (doc(defaultVariant="z"), "flags.f.defaultVariant"),
        (doc(variants={"a": 1, "b": "two"}), "mix value types"),
        (doc(targeting={"regex": ["a", "b"]}), "unknown JsonLogic operator 'regex'"),
        (doc(targeting=[1]), "flags.f.targeting"),
        (doc(metadata={"k": {"nested": 1}}), "flags.f.metadata"),
        (doc(rollout={}), "rollout"),
        (doc(targeting={"if": [{"$ref": "ghost"}, "a", "b"]}), "flags.f.targeting: $ref 'ghost'"),
    ],
)
def test_bad_documents_name_the_field(raw: bytes, named: str) -> None:
    with pytest.raises(FlagDefinitionError, match=re.escape(named)):
        parse_document(raw)


def test_size_caps() -> None:
    with pytest.raises(FlagDefinitionError, match="limit"):
        parse_document(b" " * (MAX_DOCUMENT_BYTES + 1))
    deep: Any = {"var": "x"}
    for _ in range(80):
        deep = {"!": [deep]}
    with pytest.raises(FlagDefinitionError, match="nests deeper"):
        parse_document(doc(targeting=deep))
    with pytest.raises(FlagDefinitionError, match="larger than"):
        parse_document(doc(targeting={"in": ["x", ["y" * 100] * 1000]}))


def test_a_float_flag_serves_every_variant_as_a_float() -> None:
    checked = check_definition("f", {"state": "ENABLED", "variants": {"a": 1, "b": 2.5}, "defaultVariant": "a"})
    assert checked["variants"] == {"a": 1.0, "b": 2.5}
    assert isinstance(checked["variants"]["a"], float)
