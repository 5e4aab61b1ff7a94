"""What a compiled condition reads while it runs: the environment, `let` variables, and the predicate element.

`compiler` turns every syntax node into an `Evaluate` function of a `Scope`; `predicates` runs closures such as
`{# < 200}` with a scope whose `element` and `index` it moves along the array.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ramp.analysis.expression.budget import Budget


class Scope:
    """`budget` is the one evaluation's `budget.Budget`, shared by every scope the evaluation makes."""

    __slots__ = ("budget", "element", "env", "index", "variables")

    def __init__(
        self,
        env: Mapping[str, Any],
        variables: Mapping[str, Any],
        element: Any = None,
        index: int = 0,
        budget: Budget | None = None,
    ):
        self.env = env
        self.variables = variables
        self.element = element
        self.index = index
        self.budget = budget if budget is not None else Budget()

    def enter_predicate(self) -> Scope:
        """A scope for a closure's body; the caller moves `element` and `index` along the items."""
        return Scope(self.env, self.variables, budget=self.budget)

    def bind(self, name: str, value: Any) -> Scope:
        """A scope where `let name = value` holds."""
        return Scope(self.env, {**self.variables, name: value}, self.element, self.index, self.budget)


Evaluate = Callable[[Scope], Any]
"""A compiled condition or part of one."""
