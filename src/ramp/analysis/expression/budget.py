"""The work one evaluation of a condition may do, so that no condition a namespace user writes can hold the
controller's event loop: a step budget and an allocation budget per evaluation, and compile-time bounds.

- Steps: every run of a predicate closure (`all`, `map`, `filter`, ...) costs the number of syntax nodes in its
  body, so nested predicates multiply their cost instead of escaping it; operations that walk a string or an
  array (`in`, `==`, `contains`, `matches`, `+`, functions over arrays) cost one step per element they read, and
  one per `CHARACTERS_PER_STEP` characters. The nodes outside closures run once each and are bounded by
  `MAX_SOURCE_LENGTH`.
- Allocation: every array or map an operation builds costs its length (a range `a..b` before it is built), a string
  its length over `CHARACTERS_PER_UNIT`;
  `MAX_INTEGER_BITS` bounds integer growth.
- Compile time: `MAX_SOURCE_LENGTH` characters and `MAX_DEPTH` levels of nesting (`a || b || ...` counts as one
  level however long, so a long chain of alternatives compiles and runs).

Overrunning raises `BudgetError`, an `ExpressionError` whose message names the budget, so the analysis turns it
into an Error measurement such as `could not evaluate successCondition "...": expression exceeded its budget of
200000 steps; simplify it`.
"""

from __future__ import annotations

from typing import Any, Final

from ramp.analysis.expression.errors import ExpressionError

MAX_STEPS: Final = 50_000
"""About 50 ms of evaluation: a step is one syntax node run, or one array element walked."""
MAX_ALLOCATION: Final = 200_000
"""Array and map elements one evaluation may build in all (a string costs one per `CHARACTERS_PER_UNIT`)."""
CHARACTERS_PER_UNIT: Final = 16
MAX_SOURCE_LENGTH: Final = 8192
MAX_DEPTH: Final = 100
MAX_INTEGER_BITS: Final = 1024
CHARACTERS_PER_STEP: Final = 64


class BudgetError(ExpressionError):
    """An evaluation that overran its step or allocation budget, or a condition over a compile-time bound."""

    def __init__(self, message: str, source: str = "") -> None:
        ValueError.__init__(self, message)
        self.message = message
        self.column = 1
        self.source = source


class Budget:
    """The steps and allocation left to one evaluation; `charge` and `allocate` raise BudgetError when spent."""

    __slots__ = ("allocated", "max_allocation", "max_steps", "sizes", "source", "steps")

    def __init__(self, source: str = "", max_steps: int = MAX_STEPS, max_allocation: int = MAX_ALLOCATION) -> None:
        self.source = source
        self.max_steps = max_steps
        self.max_allocation = max_allocation
        self.steps = 0
        self.allocated = 0
        self.sizes: dict[int, tuple[Any, int]] = {}

    def charge(self, steps: int) -> None:
        self.steps += steps
        if self.steps > self.max_steps:
            raise BudgetError(f"expression exceeded its budget of {self.max_steps} steps; simplify it", self.source)

    def walk(self, *values: Any) -> None:
        """Charge for reading `values`: a step per array or map element at any depth, per CHARACTERS_PER_STEP
        characters. A value's size is worked out once per evaluation (a provider's `result` walked in a loop is
        measured once)."""
        total = 0
        for value in values:
            if isinstance(value, str):
                total += len(value) // CHARACTERS_PER_STEP
            elif isinstance(value, (list, tuple, dict)):
                if self.steps + total + len(value) > self.max_steps:
                    self.charge(total + len(value))  # over already: no need to measure the inside
                total += self.size_of(value)
        if total:
            self.charge(total)  # the node itself is paid for by its closure's weight

    def size_of(self, value: list[Any] | tuple[Any, ...] | dict[Any, Any]) -> int:
        """Elements of `value` and of every array and map inside it, plus its strings' characters over
        CHARACTERS_PER_STEP; remembered by identity for the rest of the evaluation."""
        known = self.sizes.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        size = 0
        pending: list[Any] = [value]
        while pending:
            current = pending.pop()
            items = current.values() if isinstance(current, dict) else current
            size += len(current)
            for item in items:
                if isinstance(item, (list, tuple, dict)):
                    remembered = self.sizes.get(id(item))
                    if remembered is not None and remembered[0] is item:
                        size += remembered[1]
                    else:
                        pending.append(item)
                elif isinstance(item, str) and len(item) >= CHARACTERS_PER_STEP:
                    size += len(item) // CHARACTERS_PER_STEP
        self.sizes[id(value)] = (value, size)
        return size

    def allocate(self, units: int) -> None:
        self.allocated += units
        if self.allocated > self.max_allocation:
            raise BudgetError(
                f"expression exceeded its budget of {self.max_allocation} elements built; simplify it",
                self.source,
            )

    def built(self, value: Any) -> Any:
        """`value` after charging what building it cost; refuses integers over MAX_INTEGER_BITS."""
        if isinstance(value, str):
            self.allocate(len(value) // CHARACTERS_PER_UNIT)
        elif isinstance(value, (list, tuple, dict)):
            self.allocate(len(value))
        elif type(value) is int and value.bit_length() > MAX_INTEGER_BITS:
            raise BudgetError(
                f"expression exceeded its budget of {MAX_INTEGER_BITS}-bit integers; simplify it", self.source
            )
        return value
