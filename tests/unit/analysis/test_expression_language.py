"""The expr-lang language itself: literals, operators and their precedence, access, closures and builtins."""

from __future__ import annotations

import math
from typing import Any

import pytest

from ramp.analysis.expression import ExpressionError, evaluate

ENV = {
    "n": 7,
    "x": 2.5,
    "s": "Hello",
    "items": [3, 1, 2],
    "users": [{"name": "ann", "age": 31, "admin": True}, {"name": "bob", "age": 19, "admin": False}],
    "m": {"a": 1, "b": {"c": [10, 20]}},
    "empty": [],
    "nothing": None,
}

VALUES: list[tuple[str, Any]] = [
    # literals
    ("42", 42),
    ("1_000_000", 1_000_000),
    ("0x1F + 0o17 + 0b101", 31 + 15 + 5),
    ("1e3", 1000.0),
    ("2.5e-3", 0.0025),
    (".5", 0.5),
    ("'single' + \"double\"", "singledouble"),
    (r'"tab\there \"quoted\" \u00e9 \x41 \101"', 'tab\there "quoted" é A A'),
    ("`raw \\n text`", "raw \\n text"),
    ("true", True),
    ("nil", None),
    ("[1, 'two', [3]]", [1, "two", [3]]),
    ("[1, 2,]", [1, 2]),
    ("{a: 1, 'b c': 2, 3: 'x', (s): true}", {"a": 1, "b c": 2, "3": "x", "Hello": True}),
    ("1 /* inline */ + 1 // trailing", 2),
    # arithmetic
    ("1 + 2 * 3", 7),
    ("(1 + 2) * 3", 9),
    ("7 / 2", 3.5),
    ("6 / 3", 2.0),
    ("7 % 3", 1),
    ("-7 % 3", -1),
    ("7 % -3", 1),
    ("2 ** 10", 1024.0),
    ("2 ^ 3 ^ 2", 512.0),
    ("-2 ** 2", -4.0),
    ("-n + 1", -6),
    ("n - 2 - 1", 4),
    ("x * 2", 5.0),
    ("n + x", 9.5),
    ("1 / 0", math.inf),
    ("-1 / 0", -math.inf),
    ("'a' + 'b'", "ab"),
    # comparison and logic
    ("1 == 1.0", True),
    ("1 < 1.5", True),
    ("'abc' < 'abd'", True),
    ("'b' > 'abc'", True),
    ("true == 1", False),
    ("'1' == 1", False),
    ("nil == false", False),
    ("[1, 2] == [1, 2.0]", True),
    ("{a: 1} == {a: 1}", True),
    ("!true || !false", True),
    ("not true or not false", True),
    ("true and false or true", True),
    ("false && nothing.boom", False),
    ("true || nothing.boom", True),
    ("1 < 2 < 3 < 4", True),
    ("3 > 2 > 2", False),
    ("1 + 1 == 2 && 'a' != 'b'", True),
    # membership and strings
    ("2 in items", True),
    ("2.0 in items", True),
    ("'a' in m", True),
    ("'z' in m", False),
    ("'z' not in m", True),
    ("1 in nothing", False),
    ("s contains 'ell'", True),
    ("s not contains 'x'", True),
    ("s startsWith 'He' and s endsWith 'lo'", True),
    ("s matches '^H.*o$'", True),
    ("s matches 'l+'", True),
    ("s not matches '^h'", True),
    # access
    ("m.a", 1),
    ("m['b'].c[1]", 20),
    ("m.b.c[-1]", 20),
    ("m.missing", None),
    ("m.missing?.deeper", None),
    ("nothing?.a.b.c", None),
    ("nothing?.[0]", None),
    ("items[1:]", [1, 2]),
    ("items[:2]", [3, 1]),
    ("items[-2:]", [1, 2]),
    ("items[1:100]", [1, 2]),
    ("items[5:]", []),
    ("s[1]", "e"),
    ("s[1:3]", "el"),
    ("users[0].name", "ann"),
    # ternary, coalescing, let, range, pipes
    ("n > 5 ? 'big' : 'small'", "big"),
    ("n > 10 ? 'big' : n > 5 ? 'medium' : 'small'", "medium"),
    ("nothing ?? 'fallback'", "fallback"),
    ("n ?? 0", 7),
    ("undefinedName ?? 3", 3),
    ("let y = n * 2; y + 1", 15),
    ("let a = 1; let b = a + 1; [a, b]", [1, 2]),
    ("1..4", [1, 2, 3, 4]),
    ("3..1", []),
    ("items | map(# * 2)", [6, 2, 4]),
    ("users | filter(.admin) | map(.name)", ["ann"]),
    ("s | lower() | upper()", "HELLO"),
    # closures
    ("map(items, # + #index)", [3, 2, 4]),
    ("filter(users, .age > 20)[0].name", "ann"),
    ("map(users, {.name + '!'})", ["ann!", "bob!"]),
    ("all(empty, # > 0)", True),
    ("none(empty, # > 0)", True),
    ("one(items, # > 2)", True),
    ("count(users, .admin)", 1),
    ("count([true, false, true])", 2),
    ("sum(items)", 6),
    ("sum(users, .age)", 50),
    ("find(users, .age < 20).name", "bob"),
    ("find(items, # > 10)", None),
    ("findIndex(items, # == 2)", 2),
    ("findLast(items, # < 3)", 2),
    ("findLastIndex(items, # > 0)", 2),
    ("map(items, let d = # * 10; d + 1)", [31, 11, 21]),
    ("map([[1, 2], [3]], len(#))", [2, 1]),
    ("all([[1, 2], [3]], all(#, # > 0))", True),
    # builtins
    ("len(s) + len(items) + len(m)", 5 + 3 + 2),
    ("abs(-3) + abs(-1.5)", 4.5),
    ("ceil(1.2)", 2.0),
    ("floor(-1.2)", -2.0),
    ("round(0.5)", 1.0),
    ("round(-0.5)", -1.0),
    ("round(1.4999)", 1.0),
    ("int('42') + int(3.9) + int(-3.9)", 42),
    ("float('1e3')", 1000.0),
    ("string(1) + string(2.5) + string(true) + string(nil)", "12.5true<nil>"),
    ("string(1e21) + ' ' + string(1e-5) + ' ' + string(100.0)", "1e+21 1e-05 100"),
    ("string([1, 'a'])", "[1 a]"),
    ("min(items)", 1),
    ("max(items, 10)", 10),
    ("max(empty)", None),
    ("mean(items)", 2.0),
    ("median(items)", 2.0),
    ("median([1, 2, 3, 4])", 2.5),
    ("mean(empty)", 0.0),
    ("trim('  x  ')", "x"),
    ("trim('__x__', '_')", "x"),
    ("trimPrefix('v1.2', 'v')", "1.2"),
    ("trimSuffix('a.yaml', '.yaml')", "a"),
    ("upper(s) + lower(s)", "HELLOhello"),
    ("split('a,b,c', ',')", ["a", "b", "c"]),
    ("split('a,b,c', ',', 2)", ["a", "b,c"]),
    ("split('abc', '')", ["a", "b", "c"]),
    ("join(['a', 'b'])", "ab"),
    ("join(['a', 'b'], ', ')", "a, b"),
    ("replace('a-b-c', '-', '+')", "a+b+c"),
    ("replace('a-b-c', '-', '+', 1)", "a+b-c"),
    ("indexOf(s, 'l') + lastIndexOf(s, 'l')", 5),
    ("hasPrefix(s, 'He') && hasSuffix(s, 'lo')", True),
    ("keys(m)", ["a", "b"]),
    ("values({a: 1})", [1]),
    ("first(items) + last(items)", 5),
    ("first(empty)", None),
    ("get(m, 'a') + (get(items, 9) ?? 0)", 1),
    ("reverse(items)", [2, 1, 3]),
    ("concat([1], [2, 3])", [1, 2, 3]),
    ("flatten([1, [2, [3]]])", [1, 2, 3]),
    ("uniq([1, 1.0, 2, 'a', 'a'])", [1, 2, "a"]),
    ("type(1) + type(1.0) + type('') + type([]) + type({}) + type(nil) + type(true)", "intfloatstringarraymapnilbool"),
    ("toJSON({b: [1, 2.0], a: 'x'})", '{\n  "a": "x",\n  "b": [\n    1,\n    2\n  ]\n}'),
    ("fromJSON('{\"a\": [1, true, null]}')", {"a": [1.0, True, None]}),
    ("asInt('-12') + asInt(2.9)", -10),
    ("asFloat('1.5') + asFloat(1)", 2.5),
    ("isNaN(0/0) && !isNaN(1) && isInf(-1/0) && !isInf(1.5)", True),
    ("isNil(nothing) && !isNil(0) && isNil(m.zzz) && isNil(items[10])", True),
    ("default(nothing, 1) + default(n, 1) + default(undefinedName, 1)", 9),
    ("default(items[10], 'none')", "none"),
]


@pytest.mark.parametrize(("source", "expected"), VALUES)
def test_expression_gives_expected_value(source: str, expected: Any) -> None:
    value = evaluate(source, ENV)
    assert value == expected
    assert type(value) is type(expected)


def test_zero_divided_by_zero_is_nan_as_in_go() -> None:
    assert math.isnan(evaluate("0 / 0", {}))
    assert math.isnan(evaluate("(-1) ** 0.5", {}))


def test_power_overflow_is_infinity_as_in_go() -> None:
    assert evaluate("10 ** 400", {}) == math.inf
    assert evaluate("0 ** -1", {}) == math.inf


def test_bool_is_never_a_number() -> None:
    assert evaluate("result == 1", {"result": True}) is False
    assert evaluate("1 in result", {"result": [True]}) is False
    with pytest.raises(ExpressionError, match="mismatched types bool and int"):
        evaluate("result + 1", {"result": True})


def test_results_are_fresh_values_each_time() -> None:
    first = evaluate("[1, 2]", {})
    first.append(3)
    assert evaluate("[1, 2]", {}) == [1, 2]


@pytest.mark.parametrize(
    "source",
    ["true && 1", "'a' - 'b'", "[1] + [2]", "1 .. 2.5", "-'a'", "+'a'", "{(1): 2}", "items['a']", "n.a", "s[true]"],
)
def test_operation_on_wrong_types_is_an_error(source: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(source, ENV)
