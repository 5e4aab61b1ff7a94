"""The errors of the condition language: what a caller sees, and what the evaluator uses inside.

`ExpressionError` is the one public error: the parser (`parser`, `lexer`) raises it for bad syntax and the compiled
tree (`compiler`) for runtime problems, always with the column of the offending part of the source.
`OperationError` is raised by the value-level code (`operators`, `functions`, `predicates`), which knows nothing
about the source; `compiler` turns it into an `ExpressionError` at the node that ran the operation.
"""

from __future__ import annotations


class ExpressionError(ValueError):
    """A condition that cannot be parsed or evaluated.

    `column` is 1-based and counts characters from the start of `source` (for a condition on one line, the column
    on that line). `str(error)` is one line, fit for an AnalysisRun message; `excerpt` adds the source and a caret.
    """

    def __init__(self, message: str, column: int, source: str = "") -> None:
        super().__init__(f"{message} (column {column})")
        self.message = message
        self.column = column
        self.source = source

    @property
    def excerpt(self) -> str:
        """The message, the source line holding the column, and a caret under that column."""
        offset = max(0, min(self.column - 1, len(self.source)))
        line_start = self.source.rfind("\n", 0, offset) + 1
        line_end = self.source.find("\n", offset)
        line = self.source[line_start : line_end if line_end >= 0 else len(self.source)]
        return f"{self}\n{line}\n{' ' * (offset - line_start)}^"


class MissingValueError(ExpressionError):
    """A value that is not there: an unknown name, an index out of range, a field of nil.

    `default(x, fallback)`, `isNil(x)` and `x ?? fallback` treat it as nil instead of failing.
    """


class OperationError(Exception):
    """An operation or function that cannot run on the values it got; carries no position."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MissingOperandError(OperationError):
    """`OperationError` for a value that is not there (see `MissingValueError`)."""
