"""Every entry of tests/adversarial/corpus.yaml and generated.yaml (a kind the pure functions handle) ends in its
named error (or is accepted when it expects "ok"), and nothing else escapes. Never asserts on wall time: the
budgets and bounds that make these inputs end quickly are asserted on in tests/unit/analysis/test_budget.py."""

from __future__ import annotations

from typing import Any

import pytest

from ramp.analysis.arguments import ArgumentError, substitute_text
from ramp.analysis.expression import ExpressionError, evaluate_condition
from ramp.api.durations import pause_seconds
from ramp.core.analysisruns import AnalysisTemplateError
from ramp.core.patterns import PatternError, compile_pattern
from ramp.core.podtemplate import QuantityError, parse_quantity
from ramp.experiments.objects import resolve_experiment_value
from tests.adversarial.corpus import build_input, load_pure_entries

KINDS = ("expression", "duration", "quantity", "template", "regex")


def load_corpus() -> list[dict[str, Any]]:
    return load_pure_entries()


def run_entry(entry: dict[str, Any]) -> None:
    """Run one entry through the function of its kind; returns normally when the input is accepted."""
    text = build_input(entry["input"])
    kind = entry["kind"]
    if kind == "expression":
        evaluate_condition(text, entry.get("result"))
    elif kind == "duration":
        pause_seconds(text)
    elif kind == "quantity":
        parse_quantity(text)
    elif kind == "template":
        if entry.get("via") == "experiment":
            resolve_experiment_value(text, {"templates.a.podTemplateHash": "abc"})
        else:
            substitute_text(text, {"x": "1"}, "spec.metrics[0].provider.web.url")
    elif kind == "regex":
        compile_pattern(text, "dryRun[0].metricName").search(str(entry.get("subject", "metric")))
    else:
        raise AssertionError(f"not a kind for this runner: {kind}")


# The one error type each kind may raise: anything else escaping is a bug.
NAMED_ERRORS: dict[str, type[Exception] | tuple[type[Exception], ...]] = {
    "expression": ExpressionError,
    "duration": ValueError,
    "quantity": QuantityError,
    "template": (ArgumentError, AnalysisTemplateError),
    "regex": PatternError,
}

ENTRIES = [entry for entry in load_corpus() if entry.get("kind") in KINDS]


def test_corpus_is_well_formed() -> None:
    entries = load_corpus()
    ids = [entry.get("id") for entry in entries]
    assert len(ids) == len(set(ids)), "ids must be unique"
    for entry in entries:
        assert {"id", "kind", "input", "expect"} <= entry.keys(), entry
    assert len(ENTRIES) >= 150


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry["id"] for entry in ENTRIES])
def test_corpus_entry_ends_in_its_named_error(entry: dict[str, Any]) -> None:
    expected = str(entry["expect"])
    if expected == "ok":
        run_entry(entry)
        return
    with pytest.raises(NAMED_ERRORS[entry["kind"]]) as caught:
        run_entry(entry)
    assert expected in str(caught.value)
    assert len(str(caught.value)) < 1000, "an error message is a status line, not a copy of the input"
