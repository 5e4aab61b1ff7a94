"""A compiled condition and the calls the analysis code makes: compile once, evaluate per measurement.

`compile_expression` parses (`parser`) and compiles (`compiler`) a condition once per process (an LRU cache keyed
by the source); `Expression.evaluate` runs it against an environment such as `{"result": value}`.
`evaluate_condition` is what successCondition and failureCondition need, as Argo Rollouts' evaluator: the
environment holds `result`, and the answer must be a bool.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Final

from ramp.analysis.expression.compiler import compile_tree
from ramp.analysis.expression.errors import ExpressionError
from ramp.analysis.expression.parser import parse
from ramp.analysis.expression.scope import Evaluate, Scope
from ramp.analysis.expression.values import name_type

_NO_VARIABLES: Final[Mapping[str, Any]] = {}


class Expression:
    """A parsed and compiled condition; immutable, safe to share between threads and reconciles."""

    __slots__ = ("_run", "source")

    def __init__(self, source: str, run: Evaluate) -> None:
        self.source = source
        self._run = run

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        """The value of the condition with the names in `env`; raises ExpressionError for runtime problems."""
        try:
            return self._run(Scope(env, _NO_VARIABLES))
        except ExpressionError:
            raise
        except RecursionError:
            raise ExpressionError("value is nested too deeply", 1, self.source) from None
        except Exception as error:
            # Providers hand over arbitrary JSON: a value shape nobody foresaw must still end as an Error
            # measurement with a message, never as a crash of the analysis reconciler.
            raise ExpressionError(f"cannot evaluate: {type(error).__name__}: {error}", 1, self.source) from error


@functools.lru_cache(maxsize=4096)
def compile_expression(source: str) -> Expression:
    """`source` parsed and compiled; raises ExpressionError (with the column) for bad syntax or unknown functions."""
    return Expression(source, compile_tree(parse(source), source))


def evaluate(source: str, env: Mapping[str, Any]) -> Any:
    """Compile (cached) and evaluate `source` with the names in `env`."""
    return compile_expression(source).evaluate(env)


def evaluate_condition(source: str, result: Any) -> bool:
    """A successCondition or failureCondition on a measurement's `result`: true or false, else ExpressionError."""
    value = compile_expression(source).evaluate({"result": result})
    if value is True or value is False:
        return value
    raise ExpressionError(f"condition must give true or false, got {name_type(value)}", 1, source)
