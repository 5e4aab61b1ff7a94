"""Go's text/template language with sprig's function map: Ramp's own interpreter, so the notification templates
of an Argo Rollouts ConfigMap render exactly as upstream's Go code renders them.

    template = compile_template("Rollout {{.rollout.metadata.name}} has been completed.", name="message")
    template.render({"rollout": rollout})

`compile_template` parses once (TemplateError worded as Go's: "template: message:1: function \\"foo\\" not
defined"); `Template.render` executes with the data as dot and raises TemplateError on an execution error or
when it exceeds its budget (steps and output characters), so no template can loop forever or eat the memory.
Data is JSON-shaped; its numbers are float64 as upstream's (it decodes the Rollout from JSON). Callables for
`call` are `GoFunc`s: `time_variables(now)` gives Argo Rollouts' `time` variable (`{{ call .time.Now }}`).

Pieces: `lexer` -> `parser` (`nodes`) -> `execute`, with `builtins`, the sprig modules (`sprig_strings`,
`sprig_math`, `sprig_collections`, `sprig_defaults`, `sprig_regex`, `sprig_dates`), `formatting` (fmt),
`gotime` (time layouts), `methods` (of times and durations) and `values` (the value model). Pure: no I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from ramp.notifications.gotemplate.errors import TemplateError
from ramp.notifications.gotemplate.execute import Executor
from ramp.notifications.gotemplate.functions import BUILTIN_NAMES, FUNCTIONS
from ramp.notifications.gotemplate.nodes import Node
from ramp.notifications.gotemplate.parser import parse_trees
from ramp.notifications.gotemplate.sprig_dates import CURRENT_TIME
from ramp.notifications.gotemplate.values import FuncError, GoFunc, prepare_data, time_variables

__all__ = [
    "MAX_TEMPLATE_LENGTH",
    "FuncError",
    "GoFunc",
    "Template",
    "TemplateError",
    "compile_template",
    "time_variables",
]

MAX_TEMPLATE_LENGTH: Final = 1_000_000
"""Characters of one template's text."""


class Template:
    """A parsed template: its main tree and the ones it defines (`define`, `block`)."""

    __slots__ = ("_source", "_trees", "name")

    def __init__(self, name: str, source: str, trees: dict[str, list[Node]]) -> None:
        self.name = name
        self._source = source
        self._trees = trees

    def __repr__(self) -> str:
        return f"Template({self.name!r})"

    def render(
        self,
        data: Any,
        *,
        max_steps: int = 200_000,
        max_output: int = 1_000_000,
        now: datetime | None = None,
    ) -> str:
        """The text the template writes with `data` as dot. `now` is what sprig's `now`, `ago`, ... see."""
        executor = Executor(
            self._trees,
            self.name,
            self._source,
            FUNCTIONS,
            BUILTIN_NAMES,
            max_steps=max_steps,
            max_output=max_output,
        )
        token = CURRENT_TIME.set(now)
        try:
            return executor.run(prepare_data(data))
        except RecursionError:
            raise TemplateError(
                f"template: {self.name}: execution stopped: values or calls nested too deeply"
            ) from None
        finally:
            CURRENT_TIME.reset(token)


def compile_template(text: str, *, name: str = "template") -> Template:
    """Parse `text` once; TemplateError (Go's wording) when it does not parse."""
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise TemplateError(
            f"template: {name}: {len(text)} characters exceed the limit of {MAX_TEMPLATE_LENGTH}",
        )
    try:
        trees = parse_trees(text, name, FUNCTIONS)
    except RecursionError:
        raise TemplateError(f"template: {name}: parentheses nested too deeply") from None
    return Template(name, text, trees)
