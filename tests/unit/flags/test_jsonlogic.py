"""JsonLogic's standard operators as Ramp interprets them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ramp.flags.jsonlogic import EvalState, JsonLogicError, StepBudgetExceeded, apply


def run(rule: Any, data: Any = None) -> Any:
    return apply(rule, EvalState(data=data or {}, evaluators={}, flag_key="f"))


@pytest.mark.parametrize(
    ("rule", "data", "expected"),
    [
        ({"var": "a.b"}, {"a": {"b": 3}}, 3),
        ({"var": ["missing", 7]}, {}, 7),
        ({"var": "list.1"}, {"list": [4, 5]}, 5),
        ({"==": [1, "1"]}, None, True),
        ({"===": [1, "1"]}, None, False),
        ({"!=": [1, 2]}, None, True),
        ({"!": [[]]}, None, True),
        ({"!!": ["0"]}, None, True),
        ({"or": [0, "", "x"]}, None, "x"),
        ({"and": [1, 0, 2]}, None, 0),
        ({"<": [1, 2, 3]}, None, True),
        ({"<=": [1, 1, 0]}, None, False),
        ({">": ["b", "a"]}, None, True),
        ({"+": [1, 2.5]}, None, 3.5),
        ({"-": [5]}, None, -5),
        ({"*": [2, 3]}, None, 6),
        ({"/": [6, 4]}, None, 1.5),
        ({"%": [7, 3]}, None, 1),
        ({"max": [1, 9, 3]}, None, 9),
        ({"min": [4, 2]}, None, 2),
        ({"in": ["ell", "hello"]}, None, True),
        ({"in": ["DE", ["FR", "DE"]]}, None, True),
        ({"in": ["1", [1, True]]}, None, False),
        ({"in": [1, ["1", True]]}, None, False),
        ({"in": [1, [1.0]]}, None, True),
        ({"var": "a"}, {"a": None}, None),
        ({"var": "a"}, {"b": 1}, None),
        ({"var": ""}, {"b": 1}, {"b": 1}),
        ({"cat": ["a", 1, True]}, None, "a1true"),
        ({"substr": ["jsonlogic", 4]}, None, "logic"),
        ({"substr": ["jsonlogic", -5, 3]}, None, "log"),
        ({"substr": ["jsonlogic", 1, -5]}, None, "son"),
        ({"merge": [[1], 2, [3]]}, None, [1, 2, 3]),
        ({"missing": ["a", "b"]}, {"a": 1}, ["b"]),
        ({"missing_some": [1, ["a", "b"]]}, {"a": 1}, []),
        ({"map": [{"var": "xs"}, {"*": [{"var": ""}, 2]}]}, {"xs": [1, 2]}, [2, 4]),
        ({"filter": [[1, 2, 3], {">": [{"var": ""}, 1]}]}, None, [2, 3]),
        ({"reduce": [[1, 2, 3], {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]}, None, 6),
        ({"all": [[1, 2], {">": [{"var": ""}, 0]}]}, None, True),
        ({"some": [[1, 2], {">": [{"var": ""}, 1]}]}, None, True),
        ({"none": [[1, 2], {">": [{"var": ""}, 5]}]}, None, True),
        ({"if": [False, "a", False, "b", "c"]}, None, "c"),
        ({"sem_ver": ["not-a-version", "=", "1.0.0"]}, None, False),
    ],
)
def test_operator(rule: Any, data: Any, expected: Any) -> None:
    assert run(rule, data) == expected


@pytest.mark.parametrize(
    "rule",
    [{"nope": [1]}, {"/": [1, 0]}, {"fractional": [["a", -1]]}, {"a": 1, "b": 2}, {"$ref": "missing"}],
)
def test_bad_rules_raise_a_named_error(rule: Any) -> None:
    with pytest.raises(JsonLogicError):
        run(rule)


def test_a_rule_cannot_double_a_string_or_a_list_into_gigabytes() -> None:
    doubling = {"reduce": [list(range(64)), {"cat": [{"var": "accumulator"}, {"var": "accumulator"}]}, "ab"]}
    with pytest.raises(JsonLogicError, match="cat built a string longer"):
        run(doubling)
    growing = {"reduce": [list(range(64)), {"merge": [{"var": "accumulator"}, {"var": "accumulator"}]}, [1]]}
    with pytest.raises(JsonLogicError, match="merge built a list longer"):
        run(growing)


def test_copying_long_lists_spends_the_budget() -> None:
    # Each step copies a 9,000-item list: well under the step count, far over the work allowed.
    copies = {"reduce": [{"var": "keys"}, {"merge": [{"var": "accumulator"}]}, {"var": "big"}]}
    state = EvalState(data={"keys": list(range(200)), "big": list(range(9000))}, evaluators={}, flag_key="f")
    with pytest.raises(StepBudgetExceeded):
        apply(copies, state)


def test_literal_arguments_spend_the_budget_too() -> None:
    state = EvalState(data={}, evaluators={}, flag_key="f", steps_left=5)
    with pytest.raises(StepBudgetExceeded):
        apply({"cat": list(range(10))}, state)


def test_evaluating_a_rule_leaves_it_unchanged() -> None:
    # Rules are shared by every evaluation of a flag set: argument lists are read, never copied or mutated.
    rule = {
        "if": [
            {"and": [{"in": [{"var": "country"}, ["DE", "FR"]]}, {"ends_with": [{"var": "email"}, "@example.com"]}]},
            {"fractional": [["on", 50], ["off", 50]]},
            {"var": ["fallback", "off"]},
        ]
    }
    before = copy.deepcopy(rule)
    data = {"country": "DE", "email": "a@example.com", "targetingKey": "u1"}
    first = apply(rule, EvalState(data=data, evaluators={}, flag_key="f"))
    assert apply(rule, EvalState(data=data, evaluators={}, flag_key="f")) == first
    assert rule == before
