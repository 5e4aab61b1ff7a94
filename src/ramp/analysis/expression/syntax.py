"""The syntax tree of a condition: what `parser` builds and `compiler` turns into a function.

Every node records the 1-based column where it starts (for operators: the operator), so a runtime error can
point at the part of the condition that failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Node:
    column: int


@dataclass(frozen=True, slots=True)
class Literal(Node):
    """A number, string, `true`, `false` or `nil`."""

    value: Any


@dataclass(frozen=True, slots=True)
class Identifier(Node):
    """A name from the environment (`result`) or from `let`."""

    name: str


@dataclass(frozen=True, slots=True)
class Pointer(Node):
    """`#` (the current element inside a predicate), `#index`, or the implicit element of `.field`."""

    name: str


@dataclass(frozen=True, slots=True)
class ArrayLiteral(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class MapLiteral(Node):
    pairs: tuple[tuple[Node, Node], ...]


@dataclass(frozen=True, slots=True)
class Unary(Node):
    operator: str
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    operator: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Conditional(Node):
    """`condition ? then : otherwise`."""

    condition: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True, slots=True)
class Member(Node):
    """`target.name`, `target[key]`, and their optional forms `?.name`, `?.[key]`."""

    target: Node
    key: Node
    optional: bool


@dataclass(frozen=True, slots=True)
class Slice(Node):
    """`target[start:stop]`; either bound may be missing."""

    target: Node
    start: Node | None
    stop: Node | None


@dataclass(frozen=True, slots=True)
class Chain(Node):
    """A postfix chain holding `?.`: a nil before any `?.` makes the whole chain nil."""

    inner: Node


@dataclass(frozen=True, slots=True)
class Predicate(Node):
    """The closure argument of `all`, `filter`, ...: `{# > 1}` or a bare `# > 1`."""

    body: Node


@dataclass(frozen=True, slots=True)
class Call(Node):
    """A builtin call; `a | f(b)` is parsed as `f(a, b)`."""

    name: str
    arguments: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class MethodCall(Node):
    """`target.name(arguments)`: a method of a host value (`time.Now()`, `t.Sub(u)`); only conditions compiled
    with `methods=True` may call them (analysis conditions refuse them at compile time)."""

    target: Node
    name: str
    arguments: tuple[Node, ...]
    optional: bool


@dataclass(frozen=True, slots=True)
class Let(Node):
    """`let name = value; body`."""

    name: str
    value: Node
    body: Node
