"""The condition language as AnalysisTemplate metrics use it: successCondition and failureCondition on `result`."""

from __future__ import annotations

import math
from typing import Any

import pytest

from ramp.analysis.expression import (
    Expression,
    ExpressionError,
    compile_expression,
    evaluate,
    evaluate_condition,
)

PROMETHEUS_VECTOR = [0.97, 0.99]
LATENCIES = [120.0, 180.0, 150.0]
WEB_JSON = {"status": "ok", "code": "201", "p99": 420, "items": [{"value": 1, "ok": True}, {"value": 5, "ok": False}]}

# (source, result, expected) — each a condition a user writes in an AnalysisTemplate.
CONDITIONS: list[tuple[str, Any, bool]] = [
    # the shapes from Argo Rollouts' documentation
    ("result[0] >= 0.95", PROMETHEUS_VECTOR, True),
    ("result[0] >= 0.95", [0.9], False),
    ("result == 1", 1, True),
    ("result == 1", 1.0, True),
    ("result == 1", 2, False),
    ("len(result) > 0 && all(result, {# < 200})", LATENCIES, True),
    ("len(result) > 0 && all(result, {# < 200})", [120.0, 250.0], False),
    ("len(result) > 0 && all(result, {# < 200})", [], False),
    ('result.status == "ok"', WEB_JSON, True),
    ("result.status == 'ok'", {"status": "degraded"}, False),
    ("asFloat(result) < 0.05", "0.01", True),
    ("asFloat(result) < 0.05", 0.2, False),
    ("asInt(result) == 3", "3", True),
    ("asInt(result) == 1", 1.9, True),
    ("isNaN(result) || result > 0.9", math.nan, True),
    ("isNaN(result) || result > 0.9", 0.95, True),
    ("isNaN(result) || result > 0.9", 0.5, False),
    ("isInf(result)", math.inf, True),
    ("default(result, 0) > 1", None, False),
    ("default(result, 0) > 1", 2, True),
    ("default(result.p50, 100) == 100", WEB_JSON, True),
    ("default(result.p99, 100) == 420", WEB_JSON, True),
    ("result in [200, 201]", 201, True),
    ("result in [200, 201]", 500, False),
    ("result not in [200, 201]", 500, True),
    ("result.items[-1].value > 3", WEB_JSON, True),
    ("result.items[0].value > 3", WEB_JSON, False),
    ("result > 0.5 ? true : false", 0.7, True),
    ("result > 0.5 ? true : false", 0.2, False),
    ("not (result < 1)", 1, True),
    ("not (result < 1)", 0.5, False),
    ("!(result < 1)", 3, True),
    ("any(result, # > 3)", [1, 2, 4], True),
    ("any(result, # > 3)", [1, 2], False),
    ("any(result, # > 3)", [], False),
    ('result["p99"] < 500', WEB_JSON, True),
    ("result['p99'] < 400", WEB_JSON, False),
    ("isNil(result)", None, True),
    ("isNil(result)", 0, False),
    ("isNil(result.missing)", {}, True),
    ("len(filter(result, # > 10)) == 0", [1, 2, 3], True),
    ("len(filter(result, # > 10)) == 0", [1, 20], False),
    ('result.code matches "^2"', WEB_JSON, True),
    ('result.code matches "^5"', WEB_JSON, False),
    ('result.code not matches "^5"', WEB_JSON, True),
    # logic words and symbols
    ("result > 1 and result < 3", 2, True),
    ("result < 1 or result > 3", 2, False),
    ("result >= 1 && result <= 2", 2, True),
    ("1 < result < 3", 2, True),
    ("1 < result < 3", 3, False),
    ("result != nil", 0, True),
    ("result == nil", None, True),
    ("result == true", True, True),
    ("result == false", True, False),
    ("result", True, True),
    # predicates and shorthands
    ("all(result, # > 0)", [], True),
    ("none(result, # > 300)", LATENCIES, True),
    ("one(result, # == 150)", LATENCIES, True),
    ("count(result, # > 130) == 2", LATENCIES, True),
    ("all(result.items, .value > 0)", WEB_JSON, True),
    ("any(result.items, .ok && .value == 1)", WEB_JSON, True),
    ("len(filter(result.items, .ok)) == 1", WEB_JSON, True),
    ("sum(map(result.items, .value)) == 6", WEB_JSON, True),
    ("find(result.items, # .value > 1).value == 5", WEB_JSON, True),
    ("findIndex(result, # > 160) == 1", LATENCIES, True),
    ("result | all(# < 200)", LATENCIES, True),
    ("result | filter(# > 130) | len() == 2", LATENCIES, True),
    ("all(result, {# > 0 && #index < 3})", LATENCIES, True),
    ("all(result, all(#, # > 0))", [[1, 2], [3]], True),
    # aggregates over a Prometheus range vector
    ("max(result) < 200", LATENCIES, True),
    ("min(result) > 100", LATENCIES, True),
    ("mean(result) == 150", LATENCIES, True),
    ("median(result) == 150", LATENCIES, True),
    ("sum(result) / len(result) == 150", LATENCIES, True),
    ("abs(result - 1) < 0.01", 1.005, True),
    ("round(result) == 3", 2.5, True),
    ("floor(result) == 2 && ceil(result) == 3", 2.5, True),
    # strings
    ('result.status startsWith "o" && result.status endsWith "k"', WEB_JSON, True),
    ('result.status contains "x"', WEB_JSON, False),
    ('lower(result) == "ok"', "OK", True),
    ('trim(result) == "ok"', "  ok\n", True),
    ('split(result, ",")[1] == "b"', "a,b,c", True),
    ("int(result) >= 200 && int(result) < 300", "204", True),
    ("float(result) > 0.5", "0.75", True),
    ('string(result) == "1.5"', 1.5, True),
    ('type(result) == "array"', [1], True),
    # optional chaining, nil-coalescing, let, ranges, slices
    ("result?.stats?.p99 == nil", None, True),
    ("(result?.stats?.p99 ?? 0) < 500", {"stats": {"p99": 300}}, True),
    ("(result.p95 ?? 10) == 10", WEB_JSON, True),
    ("let p = result.p99; p > 100 && p < 500", WEB_JSON, True),
    ("result in 200..299", 204, True),
    ("len(result[1:]) == 2 && result[:1][0] == 120", LATENCIES, True),
    ('"ok" in keys({ok: 1}) && result in values({a: 2})', 2, True),
]


@pytest.mark.parametrize(("source", "result", "expected"), CONDITIONS)
def test_condition_gives_expected_verdict(source: str, result: Any, expected: bool) -> None:
    assert evaluate_condition(source, result) is expected


def test_table_covers_the_documented_conditions() -> None:
    assert len(CONDITIONS) >= 60


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        ("result[0] >= ", "unexpected end of expression", 14),
        ("result[0] >=", "unexpected end of expression", 13),
        ("(result > 1", "unexpected end of expression", 12),
        ("result > 1)", "unexpected token ')'", 11),
        ("result >> 1", "unexpected token '>'", 9),
        ("result = 1", "unexpected token '='", 8),
        ("all(result, {# < 200)", "unexpected token ')'", 21),
        ("result[0] >= 0.95 &", "unexpected character '&'", 19),
        ("'unterminated", "literal not terminated", 1),
        ("result ~ 1", "unexpected character '~'", 8),
        ("# > 1", "cannot use # outside a predicate such as all(items, {# > 0})", 1),
        ("result.Name() == 'hi'", "unknown method Name: methods cannot be called", 8),
        ("avg(result) > 1", "unknown function avg", 1),
        ("result > 1 && lenn(result)", "unknown function lenn", 15),
        ("len(result, 1) > 0", "len expects 1 argument, got 2", 1),
        ("default(result) > 0", "default expects 2 arguments, got 1", 1),
        ("result ?? 1 + 2", "operator + and ?? cannot be mixed; wrap either in parentheses", 13),
        ("result matches '('", "matches: invalid regular expression '(': missing ): (", 16),
        ("1.2.3", "unexpected token '.3'", 4),
        ("12abc", "bad number syntax: '12a'", 1),
        ("", "unexpected end of expression", 1),
    ],
)
def test_syntax_error_names_the_column(source: str, message: str, column: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source)
    assert (caught.value.message, caught.value.column) == (message, column)
    assert str(caught.value) == f"{message} (column {column})"
    assert caught.value.source == source


@pytest.mark.parametrize(
    ("source", "result", "message", "column"),
    [
        ("invalidVariable", True, "unknown name invalidVariable", 1),
        ("result > 1 && other < 2", 3, "unknown name other", 15),
        ("result[3] > 1", [1, 2], "index out of range: 3 (array length is 2)", 7),
        ("result[-3] > 1", [1, 2], "index out of range: -3 (array length is 2)", 7),
        ("result.p99 > 1", None, "cannot fetch p99 from nil", 8),
        ("result.stats.p99 > 1", {}, "cannot fetch p99 from nil", 14),
        ("result > 1", "2", "invalid operation: > (mismatched types string and int)", 8),
        ("result + 1 > 1", "2", "invalid operation: + (mismatched types string and int)", 8),
        ("result && true", 1, "invalid operation: && needs bools, got int on the left", 8),
        ("!result", 1, "invalid operation: ! (mismatched type int)", 1),
        ("result % 2 == 0", 3.0, "invalid operation: % (mismatched types float and int)", 8),
        ("result % 0 == 0", 3, "integer divide by zero", 8),
        ("all(result, {# < 200})", None, "all() expects an array, got nil", 1),
        ("all(result, {#})", [1], "the closure of all() must give true or false, got int", 1),
        ("len(result) > 0", 5, "invalid argument for len (type int)", 1),
        ("asInt(result) == 1", "1.1", "asInt: cannot parse '1.1' as an integer", 1),
        ("asFloat(result) == 1.1", "NotANum", "asFloat: cannot parse 'NotANum' as a number", 1),
        ("asInt(result) == 1", True, "asInt() not supported on bool true", 1),
        ("isNaN(result)", "x", "invalid argument for isNaN (type string)", 1),
        ("result ? 1 : 2", 1, "the condition of ?: must be a bool, got int", 8),
    ],
)
def test_runtime_error_names_the_offending_column(source: str, result: Any, message: str, column: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        evaluate_condition(source, result)
    assert (caught.value.message, caught.value.column) == (message, column)


@pytest.mark.parametrize(
    ("source", "result", "type_name"),
    [
        ("1", True, "int"),
        ("result", 0.5, "float"),
        ("result", None, "nil"),
        ("result.status", {"status": "ok"}, "string"),
    ],
)
def test_condition_must_give_a_bool(source: str, result: Any, type_name: str) -> None:
    with pytest.raises(ExpressionError, match=f"condition must give true or false, got {type_name}"):
        evaluate_condition(source, result)


def test_compiling_the_same_condition_twice_parses_it_once() -> None:
    first = compile_expression("result[0] >= 0.95 && len(result) == 1")
    assert compile_expression("result[0] >= 0.95 && len(result) == 1") is first
    assert isinstance(first, Expression)
    assert first.source == "result[0] >= 0.95 && len(result) == 1"


def test_expression_evaluates_against_any_environment() -> None:
    expression = compile_expression("latency < threshold * 2")
    assert expression.evaluate({"latency": 150, "threshold": 100}) is True
    assert expression.evaluate({"latency": 250, "threshold": 100}) is False
    assert evaluate("[x, x * 2]", {"x": 3}) == [3, 6]


def test_error_excerpt_points_a_caret_at_the_column() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression("result[0] >= ")
    assert caught.value.excerpt.splitlines() == [
        "unexpected end of expression (column 14)",
        "result[0] >= ",
        "             ^",
    ]


def test_error_excerpt_shows_the_line_of_a_multiline_condition() -> None:
    source = "result > 1 &&\n  result < )"
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source)
    assert caught.value.column == len("result > 1 &&\n  result < ") + 1
    assert caught.value.excerpt.splitlines()[1:] == ["  result < )", " " * 11 + "^"]


def test_expression_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown name nope"):
        evaluate("nope", {})


def test_deeply_nested_condition_is_refused_not_crashing() -> None:
    with pytest.raises(ExpressionError, match="nested too deeply"):
        compile_expression("(" * 500 + "1" + ")" * 500)


def test_unforeseen_value_shape_becomes_an_expression_error() -> None:
    class Opaque:
        def __eq__(self, other: object) -> bool:
            raise RuntimeError("boom")

        __hash__ = object.__hash__

    with pytest.raises(ExpressionError, match="cannot evaluate: RuntimeError: boom"):
        evaluate_condition("result == 1", Opaque())
