"""Invariants of the condition language: arithmetic and comparison agree with Go's (and Python's) numbers,
literals read back as written, and no input ever escapes as anything but an ExpressionError."""

from __future__ import annotations

import json
import math
import os
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ramp.analysis.expression import ExpressionError, compile_expression, evaluate

INTS = st.integers(min_value=-(2**62), max_value=2**62)
FLOATS = st.floats(allow_nan=True, allow_infinity=True)
NUMBERS = st.one_of(INTS, FLOATS)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | INTS | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)


def _same_number(left: float, right: float) -> bool:
    return (math.isnan(left) and math.isnan(right)) or left == right


@given(INTS, INTS)
def test_int_arithmetic_stays_int_and_agrees_with_python(a: int, b: int) -> None:
    env = {"a": a, "b": b}
    for source, expected in [("a + b", a + b), ("a - b", a - b), ("a * b", a * b), ("-a", -a)]:
        value = evaluate(source, env)
        assert type(value) is int
        assert value == expected


@given(NUMBERS, NUMBERS)
def test_comparisons_agree_with_python(a: float, b: float) -> None:
    env = {"a": a, "b": b}
    for operator, expected in [("<", a < b), (">", a > b), ("<=", a <= b), (">=", a >= b), ("==", a == b)]:
        assert evaluate(f"a {operator} b", env) is expected
    assert evaluate("a != b", env) is (a != b)


@given(NUMBERS, NUMBERS.filter(lambda b: b != 0))
def test_division_gives_the_float_quotient(a: float, b: float) -> None:
    assert _same_number(evaluate("a / b", {"a": a, "b": b}), float(a) / float(b))


@given(st.floats(allow_nan=False), st.sampled_from([0, 0.0]))
def test_division_by_zero_follows_ieee(a: float, zero: float) -> None:
    value = evaluate("a / z", {"a": a, "z": zero})
    if a == 0:
        assert math.isnan(value)
    else:
        assert value == math.copysign(math.inf, a)


@given(INTS, INTS.filter(lambda b: b != 0))
def test_int_modulo_keeps_the_sign_of_the_dividend_as_go(a: int, b: int) -> None:
    quotient = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1)
    assert evaluate("a % b", {"a": a, "b": b}) == a - b * quotient


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_literal_reads_back_as_written(value: float) -> None:
    assume(value >= 0)  # a leading minus is the unary operator, tested apart
    assert evaluate(repr(value), {}) == value
    assert evaluate(f"-{value!r}", {}) == -value


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_int_literal_reads_back_as_written(value: int) -> None:
    assert evaluate(str(value), {}) == value
    assert evaluate(f"{value:_}", {}) == value
    assert evaluate(hex(value), {}) == value


@given(st.text())
def test_json_quoted_string_reads_back_as_written(text: str) -> None:
    assume(not any(0xD800 <= ord(char) <= 0xDFFF for char in text))
    assert evaluate(json.dumps(text, ensure_ascii=False), {}) == text


@given(JSON_VALUES)
def test_every_json_value_equals_itself(value: Any) -> None:
    assert evaluate("result == result", {"result": value}) is True
    assert evaluate("[result] == [result]", {"result": value}) is True


@given(st.lists(NUMBERS, max_size=8), st.floats(allow_nan=False))
def test_predicates_agree_with_python(values: list[float], limit: float) -> None:
    env = {"result": values, "limit": limit}
    assert evaluate("all(result, # < limit)", env) is all(v < limit for v in values)
    assert evaluate("any(result, # < limit)", env) is any(v < limit for v in values)
    assert evaluate("none(result, # < limit)", env) is not any(v < limit for v in values)
    assert evaluate("count(result, # < limit)", env) == sum(1 for v in values if v < limit)
    assert evaluate("filter(result, # < limit)", env) == [v for v in values if v < limit] or any(
        math.isnan(v) for v in values
    )


@settings(max_examples=int(os.environ.get("RAMP_FUZZ_EXAMPLES", "300")))
@given(
    st.text(alphabet=st.sampled_from(list("result[]0123456789.,()+-*/%<>=!&|?:#{}'\" aln_$`x")), max_size=30),
    JSON_VALUES,
)
def test_any_text_either_works_or_raises_expression_error(source: str, result: Any) -> None:
    try:
        expression = compile_expression(source)
    except ExpressionError as error:
        assert 1 <= error.column <= len(source) + 1
        return
    try:
        expression.evaluate({"result": result})
    except ExpressionError as error:
        assert 1 <= error.column <= len(source) + 1
        assert not error.message.startswith("cannot evaluate"), "an unforeseen Python error leaked through"
