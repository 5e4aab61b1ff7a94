"""Kubernetes quantities parse in linear time and end in QuantityError for anything else, never another error."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ramp.core.podtemplate import MAX_QUANTITY_LENGTH, QuantityError, is_same_pod_template, parse_quantity


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1" * 20000 + "x", "characters long"),
        ("1" * 60 + "x", "not a quantity"),
        ("1e1000000", "out of range"),
        ("1e99999999999999999999", "out of range"),
    ],
)
def test_bad_quantities_end_in_a_quantity_error(text: str, message: str) -> None:
    with pytest.raises(QuantityError, match=message):
        parse_quantity(text)


def test_quantities_keep_their_values() -> None:
    assert parse_quantity("500m") == Decimal("0.5")
    assert parse_quantity("1Gi") == Decimal(2**30)
    assert parse_quantity("1e3") == Decimal(1000)


def test_a_pod_template_with_a_hostile_cpu_compares_as_text() -> None:
    template = {"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": "1" * 20000 + "x"}}}]}}
    assert is_same_pod_template(template, template)
    other = {"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": "1e1000000"}}}]}}
    assert not is_same_pod_template(template, other)


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from(list("0123456789.+-eEKMGTPinumk x")), max_size=MAX_QUANTITY_LENGTH + 10))
def test_random_quantity_text_raises_only_quantity_errors(text: str) -> None:
    with contextlib.suppress(QuantityError):
        parse_quantity(text)
