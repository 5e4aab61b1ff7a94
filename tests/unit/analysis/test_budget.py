"""The evaluation budget of conditions: the counters stop an evaluation that overruns them (never a wall-time
assertion), every evaluation gets its own budget, ordinary conditions stay well inside it, the compile cache is
bounded by bytes, and random conditions over hostile constructs raise nothing but ExpressionError."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ramp.analysis.expression import ExpressionError, compile_expression, evaluate, evaluate_condition, program
from ramp.analysis.expression.budget import (
    MAX_ALLOCATION,
    MAX_DEPTH,
    MAX_SOURCE_LENGTH,
    MAX_STEPS,
    Budget,
    BudgetError,
)
from ramp.analysis.expression.functions import keep_unique
from tests.loop_lag import LoopLagProbe


class ProbeBudget(Budget):
    """A Budget that records what it was charged: the steps before the charge that stopped the evaluation, and
    how many closure runs and walks happened in all (the work the evaluation did)."""

    __slots__ = ("charges", "largest", "steps_before_stop")

    def __init__(self, max_steps: int = MAX_STEPS, max_allocation: int = MAX_ALLOCATION) -> None:
        super().__init__("probe", max_steps, max_allocation)
        self.charges = 0
        self.largest = 0
        self.steps_before_stop = -1

    def charge(self, steps: int) -> None:
        self.charges += 1
        self.largest = max(self.largest, steps)
        if self.steps + steps > self.max_steps and self.steps_before_stop < 0:
            self.steps_before_stop = self.steps
        super().charge(steps)


def run_with_probe(source: str, result: Any = None, **limits: int) -> tuple[ProbeBudget, BaseException | None]:
    probe = ProbeBudget(**limits)
    try:
        compile_expression(source).evaluate({"result": result}, probe)
    except ExpressionError as error:
        return probe, error
    return probe, None


WORST = [
    "all(0..999999, {all(0..999999, {true})})",
    "all(0..999, {all(0..999, {true})})",
    "any(0..99, {any(0..99, {any(0..99, {false})})})",
    "let r = 0..12000; all(r, {# in r})",
    "let r = 0..50000; all(r, {r == r})",
    "all(0..40000, {# + # + # + # + # + # + # + # >= 0})",
    "len(map(0..999, 0..999)) > 0",
    "len(uniq(0..999999)) > 0",
]


@pytest.mark.parametrize("source", WORST)
def test_the_budget_counters_stop_the_worst_conditions(source: str) -> None:
    probe, error = run_with_probe(source)
    assert isinstance(error, BudgetError), error
    # Stopped at the first charge past the limit: no work was done beyond the budget.
    assert probe.steps_before_stop <= probe.max_steps or probe.allocated > probe.max_allocation
    assert "exceeded its budget" in str(error)
    assert "simplify it" in str(error)


def test_a_step_budget_stops_nested_predicates_after_at_most_that_many_closure_runs() -> None:
    probe, error = run_with_probe("all(0..999, {all(0..999, {true})})", max_steps=5_000)
    assert isinstance(error, BudgetError)
    assert "budget of 5000 steps" in str(error)
    # Each closure run is one charge: far fewer than the million the condition asks for.
    assert probe.charges <= 5_000


def test_the_allocation_budget_refuses_a_range_before_building_it() -> None:
    probe, error = run_with_probe("len(0..99999999999) > 0")
    assert isinstance(error, BudgetError)
    assert "elements built" in str(error)
    assert probe.allocated == 100_000_000_000  # counted, never built


def test_a_budget_error_names_the_condition_field_in_the_measurement() -> None:
    from ramp.analysis.conditions import evaluate_result
    from ramp.api.analysis import Metric

    metric = Metric.model_validate(
        {"name": "m", "successCondition": "all(0..999, {all(0..999, {true})})", "provider": {"web": {"url": "u"}}}
    )
    outcome = evaluate_result(metric, 1)
    assert str(outcome.phase) == "Error"
    assert outcome.message is not None
    assert outcome.message.startswith('could not evaluate successCondition "all(0..999')
    assert f"expression exceeded its budget of {MAX_STEPS} steps; simplify it" in outcome.message


def test_every_evaluation_gets_a_fresh_budget() -> None:
    source = "all(0..9999, {# >= 0})"  # 10000 elements walked + 10000 runs of a 3-node closure: 40000 of 50000
    for _ in range(5):
        assert evaluate_condition(source, None) is True


@pytest.mark.parametrize(
    "source",
    [
        "result[0] >= 0.95",
        "len(result) > 0 && all(result, {# < 200})",
        "result.status == 'ok' || result.code in [200, 201, 204]",
        "mean(map(result, {#.value})) < 0.5",
        "len(uniq(result)) == len(result)",
    ],
)
def test_ordinary_conditions_use_a_tiny_part_of_the_budget(source: str) -> None:
    result: Any = [1, 2, 3] if "value" not in source else [{"value": 0.1}, {"value": 0.2}]
    if "status" in source:
        result = {"status": "ok", "code": 200}
    probe = ProbeBudget()
    compile_expression(source).evaluate({"result": result}, probe)
    assert probe.steps < 100
    assert probe.allocated < 100


def test_a_result_walked_in_a_loop_is_measured_once() -> None:
    probe = ProbeBudget()
    result = [[1, 2, [3, 4]], {"a": [5]}]
    compile_expression("all(0..9, {len(result) == 2 && result == result})").evaluate({"result": result}, probe)
    assert probe.sizes[id(result)] == (result, 9)  # 2 + 3 + 2 + 1 + 1 elements at every depth


def test_a_600_term_or_chain_compiles_and_evaluates() -> None:
    source = " || ".join(["result == 1"] * 600)
    assert len(source) > MAX_SOURCE_LENGTH  # refused by length, by name, never a RecursionError
    with pytest.raises(BudgetError, match="characters long"):
        compile_expression(source)
    short = "||".join(["result==1"] * 600)
    assert len(short) < MAX_SOURCE_LENGTH
    assert evaluate_condition(short, 1) is True
    assert evaluate_condition(short, 2) is False


def test_depth_beyond_the_cap_is_a_named_error() -> None:
    with pytest.raises(BudgetError, match=f"at most {MAX_DEPTH}"):
        compile_expression("1 + " * (MAX_DEPTH + 5) + "1 > 0")


def test_uniq_keeps_expr_equality_and_order() -> None:
    nan = float("nan")
    items = [1, 1.0, True, 1, "a", "a", None, None, [1, 2], [1.0, 2], {"k": 1}, {"k": 1.0}, nan, nan, False]
    unique = keep_unique(items)
    assert unique[:7] == [1, True, "a", None, [1, 2], {"k": 1}, unique[6]]
    assert len(unique) == 9  # both NaNs stay: NaN equals nothing
    assert unique[-1] is False


def test_the_compile_cache_is_bounded_by_bytes() -> None:
    cache = program._CompileCache(max_bytes=10_000)
    for index in range(200):
        source = f"result == {index} || " + "true || " * 100 + "false"
        cache.put(source, compile_expression("true"))
    assert cache.size <= 10_000
    assert len(cache.entries) < 200
    assert program.CACHE_BYTES <= 8 << 20


# --- random conditions -------------------------------------------------------------------------------------

ATOMS = st.sampled_from(
    [
        "result",
        "#",
        "1",
        "0",
        "-1",
        "2.5",
        "'a'",
        "''",
        "true",
        "false",
        "nil",
        "[1, 2]",
        "{'a': 1}",
        "0..50",
        "0..9999",
    ]
)
UNARY = st.sampled_from(["!{}", "-{}", "len({})", "uniq({})", "string({})", "toJSON({})", "flatten({})", "upper({})"])
BINARY = st.sampled_from(
    [
        *("{} + {}", "{} * {}", "{} ** {}", "{} == {}", "{} in {}", "{} || {}", "{} && {}", "{} matches {}"),
        *(
            "{} ?? {}",
            "{} .. {}",
            "{}[{}]",
            "{} contains {}",
            "replace({}, '', {})",
            "concat({}, {})",
            "{} % {}",
            "{} < {}",
        ),
    ]
)
PREDICATE = st.sampled_from(["all", "any", "map", "filter", "count", "sum", "find", "one", "none"])


def conditions() -> st.SearchStrategy[str]:
    return st.recursive(
        ATOMS,
        lambda inner: st.one_of(
            st.tuples(UNARY, inner).map(lambda pair: pair[0].format(pair[1])),
            st.tuples(BINARY, inner, inner).map(lambda parts: parts[0].format(parts[1], parts[2])),
            st.tuples(PREDICATE, inner, inner).map(lambda parts: f"{parts[0]}({parts[1]}, {{{parts[2]}}})"),
            inner.map(lambda text: f"({text})"),
        ),
        max_leaves=12,
    )


RESULTS = st.one_of(
    st.none(),
    st.integers(min_value=-(2**62), max_value=2**62),
    st.text(max_size=30),
    st.lists(st.integers(min_value=0, max_value=9999), max_size=20),
    st.just("a" * 40 + "!"),
    st.just("(a+)+$"),
)


@settings(max_examples=300, deadline=None)
@given(conditions(), RESULTS)
def test_random_conditions_raise_only_expression_errors(source: str, result: Any) -> None:
    probe = ProbeBudget()
    with contextlib.suppress(ExpressionError):
        compile_expression(source).evaluate({"result": result}, probe)
    # However it ended, it did no more work than the budget allows.
    assert probe.steps_before_stop <= probe.max_steps
    assert probe.steps <= probe.max_steps or probe.steps_before_stop >= 0


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text_raises_only_expression_errors(source: str) -> None:
    with contextlib.suppress(ExpressionError):
        evaluate(source, {"result": [1, 2, 3]})


def test_a_condition_that_does_not_compile_is_parsed_once() -> None:
    source = "result > > 1  // cached refusal"
    with pytest.raises(ExpressionError) as first:
        compile_expression(source)
    with pytest.raises(ExpressionError) as second:
        compile_expression(source)
    assert second.value is first.value
    assert str(second.value) == "unexpected token '>' (column 10)"


async def test_the_worst_conditions_end_on_the_event_loop_under_a_lag_probe() -> None:
    """Evaluated on the loop as the analysis reconciler does; each ends with its BudgetError. The probe's figure is
    reported (pytest -s), never asserted: the budget counters above are what bound the work."""
    outcomes = []
    async with LoopLagProbe() as probe:
        for source in WORST:
            await asyncio.sleep(0.01)
            try:
                evaluate_condition(source, None)
            except BudgetError as error:
                outcomes.append(str(error))
    assert len(outcomes) == len(WORST)
    assert probe.samples > 0
    print(f"worst loop lag while evaluating {len(WORST)} worst conditions: {probe.worst * 1000:.1f} ms")
