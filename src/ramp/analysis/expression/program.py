"""A compiled condition and the calls the analysis code makes: compile once, evaluate per measurement.

`compile_expression` parses (`parser`) and compiles (`compiler`) a condition once per process (an LRU cache keyed
by the source, bounded by bytes); `Expression.evaluate` runs it against an environment such as `{"result": value}`.
`evaluate_condition` is what successCondition and failureCondition need, as Argo Rollouts' evaluator: the
environment holds `result`, and the answer must be a bool.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Final

from ramp.analysis.expression.budget import MAX_SOURCE_LENGTH, Budget, BudgetError
from ramp.analysis.expression.compiler import compile_tree
from ramp.analysis.expression.errors import ExpressionError
from ramp.analysis.expression.parser import parse
from ramp.analysis.expression.scope import Evaluate, Scope
from ramp.analysis.expression.values import name_type

_NO_VARIABLES: Final[Mapping[str, Any]] = {}
CACHE_BYTES: Final = 4 << 20
"""Bytes of condition source the compile cache holds (each compiled tree is a small multiple of its source)."""


class Expression:
    """A parsed and compiled condition; immutable, safe to share between threads and reconciles."""

    __slots__ = ("_run", "source")

    def __init__(self, source: str, run: Evaluate) -> None:
        self.source = source
        self._run = run

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def evaluate(self, env: Mapping[str, Any], budget: Budget | None = None) -> Any:
        """The value of the condition with the names in `env`; raises ExpressionError for runtime problems and
        BudgetError when the evaluation overruns `budget` (a fresh default `Budget` when None)."""
        try:
            return self._run(Scope(env, _NO_VARIABLES, budget=budget if budget is not None else Budget(self.source)))
        except ExpressionError:
            raise
        except RecursionError:
            raise ExpressionError("value is nested too deeply", 1, self.source) from None
        except Exception as error:
            # Providers hand over arbitrary JSON: a value shape nobody foresaw must still end as an Error
            # measurement with a message, never as a crash of the analysis reconciler.
            raise ExpressionError(f"cannot evaluate: {type(error).__name__}: {error}", 1, self.source) from error


class _CompileCache:
    """Compiled conditions by source, least recently used first out, bounded by the bytes of their sources.

    A condition that does not compile is kept with its error, so a bad condition measured every interval is parsed
    once, not at every measurement."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.entries: OrderedDict[str, Expression | ExpressionError] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, source: str) -> Expression | ExpressionError | None:
        with self.lock:
            found = self.entries.get(source)
            if found is not None:
                self.entries.move_to_end(source)
            return found

    def put(self, source: str, expression: Expression | ExpressionError) -> None:
        cost = _cost(source)
        with self.lock:
            if source in self.entries or cost > self.max_bytes:
                return
            self.entries[source] = expression
            self.size += cost
            while self.size > self.max_bytes:
                evicted, _ = self.entries.popitem(last=False)
                self.size -= _cost(evicted)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.size = 0


def _cost(source: str) -> int:
    return len(source.encode("utf-8", "surrogatepass")) + 64


_CACHE: Final = _CompileCache(CACHE_BYTES)
_METHODS_KEY: Final = "\x00methods\x00"


def compile_expression(source: str, *, methods: bool = False) -> Expression:
    """`source` parsed and compiled (cached); raises ExpressionError (with the column) for bad syntax or unknown
    functions, BudgetError for a condition over `budget.MAX_SOURCE_LENGTH` characters or nested too deeply.

    `methods=True` lets the condition call methods of host values in its environment (`hosts`: upstream's
    `time.Now().Sub(...)` of notification triggers); analysis conditions keep the default and refuse them."""
    if len(source) > MAX_SOURCE_LENGTH:
        raise BudgetError(
            f"condition is {len(source)} characters long; at most {MAX_SOURCE_LENGTH} are allowed", source[:80]
        )
    # The two modes compile the same text differently: they never share a cache entry.
    key = _METHODS_KEY + source if methods else source
    cached = _CACHE.get(key)
    if isinstance(cached, ExpressionError):
        raise cached.with_traceback(None)
    if cached is not None:
        return cached
    try:
        expression = Expression(source, compile_tree(parse(source), source, methods=methods))
    except ExpressionError as error:
        _CACHE.put(key, error)
        raise
    _CACHE.put(key, expression)
    return expression


def evaluate(source: str, env: Mapping[str, Any]) -> Any:
    """Compile (cached) and evaluate `source` with the names in `env`."""
    return compile_expression(source).evaluate(env)


def evaluate_condition(source: str, result: Any) -> bool:
    """A successCondition or failureCondition on a measurement's `result`: true or false, else ExpressionError."""
    value = compile_expression(source).evaluate({"result": result})
    if value is True or value is False:
        return value
    raise ExpressionError(f"condition must give true or false, got {name_type(value)}", 1, source)
