"""The one error of the template package: parse errors, execution errors and exceeded budgets, worded as Go's
text/template words them ("template: <name>:<line>: ..." and
"template: <name>:<line>:<col>: executing \"<name>\" at <...>: ...").
"""

from __future__ import annotations


class TemplateError(ValueError):
    """A template that does not parse, fails while it runs, or exceeds its budget."""
