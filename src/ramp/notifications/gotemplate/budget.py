"""The budget of one render: steps (node evaluations, range iterations, calls and the size of what calls read
and build) and output characters. Exceeding either stops the render with a TemplateError naming the budget.

Used by `execute`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ramp.notifications.gotemplate.errors import TemplateError

MAX_VALUE_SIZE: Final = 1_000_000
"""Characters of a string, or items of a list or map, one function call may build."""
STEP_ITEMS: Final = 64
"""Characters or items a call reads or builds per step of the budget."""


class Budget:
    """Counts steps and collects the output of one render."""

    __slots__ = ("max_output", "max_steps", "name", "output", "size", "steps")

    def __init__(self, name: str, max_steps: int, max_output: int) -> None:
        self.name = name
        self.steps = 0
        self.max_steps = max_steps
        self.size = 0
        self.max_output = max_output
        self.output: list[str] = []

    def spend(self, steps: int = 1) -> None:
        self.steps += steps
        if self.steps > self.max_steps:
            raise TemplateError(
                f"template: {self.name}: execution stopped: more than {self.max_steps} steps (max_steps)",
            )

    def write(self, text: str) -> None:
        self.size += len(text)
        if self.size > self.max_output:
            raise TemplateError(
                f"template: {self.name}: execution stopped: output exceeds {self.max_output} characters (max_output)",
            )
        self.output.append(text)


def size_of(value: Any) -> int:
    """Characters of a string, items of a list or map (shallow), else 0."""
    if isinstance(value, str | list | tuple | Mapping):
        return len(value)
    return 0
