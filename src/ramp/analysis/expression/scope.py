"""What a compiled condition reads while it runs: the environment, `let` variables, and the predicate element.

`compiler` turns every syntax node into an `Evaluate` function of a `Scope`; `predicates` runs closures such as
`{# < 200}` with a scope whose `element` and `index` it moves along the array.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


class Scope:
    __slots__ = ("element", "env", "index", "variables")

    def __init__(self, env: Mapping[str, Any], variables: Mapping[str, Any], element: Any = None, index: int = 0):
        self.env = env
        self.variables = variables
        self.element = element
        self.index = index

    def enter_predicate(self) -> Scope:
        """A scope for a closure's body; the caller moves `element` and `index` along the items."""
        return Scope(self.env, self.variables)

    def bind(self, name: str, value: Any) -> Scope:
        """A scope where `let name = value` holds."""
        return Scope(self.env, {**self.variables, name: value}, self.element, self.index)


Evaluate = Callable[[Scope], Any]
"""A compiled condition or part of one."""
