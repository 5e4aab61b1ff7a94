"""The parse tree of a Go text/template: one small record per node kind of Go's `text/template/parse`.

Each node keeps its byte offset (`pos`) in the template text, which `execute` turns into Go's error location
("name:line:col"), and `source()` writes it back as Go's `Node.String()` does, the context Go shows in execution
errors (`executing "name" at <.a.b>: ...`).

Built by `parser`, walked by `execute`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias


@dataclass(slots=True)
class TextNode:
    pos: int
    text: str

    def source(self) -> str:
        return self.text


@dataclass(slots=True)
class DotNode:
    pos: int

    def source(self) -> str:
        return "."


@dataclass(slots=True)
class NilNode:
    pos: int

    def source(self) -> str:
        return "nil"


@dataclass(slots=True)
class BoolNode:
    pos: int
    value: bool

    def source(self) -> str:
        return "true" if self.value else "false"


@dataclass(slots=True)
class NumberNode:
    pos: int
    text: str
    int_value: int | None  # set when the constant is an integer Go's int holds
    float_value: float | None  # set when the constant is representable as a float64
    is_float_text: bool  # written with '.', 'e' or 'p' (a float constant, not an integer)

    def source(self) -> str:
        return self.text


@dataclass(slots=True)
class StringNode:
    pos: int
    quoted: str
    text: str

    def source(self) -> str:
        return self.quoted


@dataclass(slots=True)
class IdentifierNode:
    pos: int
    name: str

    def source(self) -> str:
        return self.name


@dataclass(slots=True)
class FieldNode:
    pos: int
    names: tuple[str, ...]

    def source(self) -> str:
        return "".join("." + name for name in self.names)


@dataclass(slots=True)
class VariableNode:
    pos: int
    names: tuple[str, ...]  # names[0] is the variable ("$x"); the rest are fields after it

    def source(self) -> str:
        return ".".join(self.names)


@dataclass(slots=True)
class ChainNode:
    pos: int
    node: Argument
    fields: tuple[str, ...]

    def source(self) -> str:
        inner = self.node.source()
        if isinstance(self.node, PipeNode):
            inner = "(" + inner + ")"
        return inner + "".join("." + name for name in self.fields)


@dataclass(slots=True)
class CommandNode:
    pos: int
    args: list[Argument] = field(default_factory=list)

    def source(self) -> str:
        parts = []
        for arg in self.args:
            text = arg.source()
            parts.append("(" + text + ")" if isinstance(arg, PipeNode) else text)
        return " ".join(parts)


@dataclass(slots=True)
class PipeNode:
    pos: int
    line: int
    is_assign: bool = False
    decl: list[VariableNode] = field(default_factory=list)
    cmds: list[CommandNode] = field(default_factory=list)

    def source(self) -> str:
        text = ""
        if self.decl:
            text = ", ".join(variable.source() for variable in self.decl) + (" = " if self.is_assign else " := ")
        return text + " | ".join(cmd.source() for cmd in self.cmds)


@dataclass(slots=True)
class ActionNode:
    pos: int
    line: int
    pipe: PipeNode

    def source(self) -> str:
        return "{{" + self.pipe.source() + "}}"


@dataclass(slots=True)
class BranchNode:
    """`if`, `with` and `range`: a pipeline, a body and an optional else body."""

    kind: str  # "if" | "with" | "range"
    pos: int
    line: int
    pipe: PipeNode
    body: list[Node]
    else_body: list[Node] | None

    def source(self) -> str:
        text = "{{" + self.kind + " " + self.pipe.source() + "}}" + _list_source(self.body)
        if self.else_body is not None:
            text += "{{else}}" + _list_source(self.else_body)
        return text + "{{end}}"


@dataclass(slots=True)
class TemplateNode:
    pos: int
    line: int
    name: str
    pipe: PipeNode | None

    def source(self) -> str:
        from ramp.notifications.gotemplate.lexer import go_quote

        if self.pipe is None:
            return "{{template " + go_quote(self.name) + "}}"
        return "{{template " + go_quote(self.name) + " " + self.pipe.source() + "}}"


@dataclass(slots=True)
class LoopControlNode:
    """`{{break}}` or `{{continue}}` inside a range."""

    pos: int
    line: int
    word: str

    def source(self) -> str:
        return "{{" + self.word + "}}"


def _list_source(nodes: list[Node]) -> str:
    return "".join(node.source() for node in nodes)


Argument: TypeAlias = (
    DotNode
    | NilNode
    | BoolNode
    | NumberNode
    | StringNode
    | IdentifierNode
    | FieldNode
    | VariableNode
    | ChainNode
    | PipeNode
)
Node: TypeAlias = TextNode | ActionNode | BranchNode | TemplateNode | LoopControlNode
