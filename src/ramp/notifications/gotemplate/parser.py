"""The parser of Go's text/template language: tokens from `lexer` in, a set of named trees (`nodes`) out.

Keeps the grammar and the checks of Go's `text/template/parse`: declarations (`$x :=`, `$x =`, `$i, $v :=` in
range), pipelines, chains (`(pipe).field`, `$x.a.b`), `if`/`else if`/`with`/`else with`/`range`/`break`/
`continue`/`define`/`template`/`block`, undefined variables and unknown functions refused at parse time, and
Go's error wording: "template: <name>:<line>: function \"foo\" not defined".

Used by `ramp.notifications.gotemplate.compile_template`.
"""

from __future__ import annotations

from collections.abc import Collection

from ramp.notifications.gotemplate.errors import TemplateError
from ramp.notifications.gotemplate.lexer import Kind, Lexer, Token
from ramp.notifications.gotemplate.nodes import (
    ActionNode,
    Argument,
    BoolNode,
    BranchNode,
    ChainNode,
    CommandNode,
    DotNode,
    FieldNode,
    IdentifierNode,
    LoopControlNode,
    NilNode,
    Node,
    NumberNode,
    PipeNode,
    StringNode,
    TemplateNode,
    TextNode,
    VariableNode,
)
from ramp.notifications.gotemplate.quoting import parse_number, unquote_char, unquote_string

_OPERAND_START = frozenset(
    {
        Kind.BOOL,
        Kind.CHAR_CONSTANT,
        Kind.DOT,
        Kind.FIELD,
        Kind.IDENTIFIER,
        Kind.NUMBER,
        Kind.NIL,
        Kind.RAW_STRING,
        Kind.STRING,
        Kind.VARIABLE,
        Kind.LEFT_PAREN,
    },
)
_FUNCTION_HINTS = {
    "time": " (in Argo Rollouts templates `time` is a variable: {{ call .time.Now }}, {{ call .time.Parse .x }})",
    "strings": " (strings.* are functions of trigger conditions; templates use sprig's: upper, lower, replace)",
    "sync": " (sync.GetInfoItem belongs to Argo CD and has no meaning for Rollouts)",
    "repo": " (repo.* belongs to Argo CD and has no meaning for Rollouts)",
}


def _function_hint(name: str) -> str:
    from ramp.notifications.gotemplate.functions import REMOVED_BY_UPSTREAM, UNSUPPORTED_SPRIG

    if name in UNSUPPORTED_SPRIG:
        return " (a sprig function Ramp does not provide)"
    if name in REMOVED_BY_UPSTREAM:
        return " (removed by Argo Rollouts' notifications engine: templates never read the environment)"
    return _FUNCTION_HINTS.get(name, "")


class _End:
    """`{{end}}` or `{{else}}` closing an item list."""

    def __init__(self, word: str, pos: int, line: int) -> None:
        self.word = word
        self.pos = pos
        self.line = line

    def describe(self) -> str:
        return "{{else}}" if self.word.startswith("else") else "{{" + self.word + "}}"


class Parser:
    """Parses one template text; `parse()` returns the trees by name (the main one under `name`)."""

    def __init__(self, text: str, name: str, functions: Collection[str]) -> None:
        self.name = name
        self.functions = functions
        self.tokens = Lexer(text).tokens()
        self.index = 0
        self.furthest = 0
        self.line = 1
        self.action_line = 0
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.trees: dict[str, list[Node]] = {}

    # -- errors and token cursor ---------------------------------------------------------------------------
    def error(self, message: str) -> TemplateError:
        return TemplateError(f"template: {self.name}:{self.line}: {message}")

    def next(self) -> Token:
        # Past the end the last token (EOF or the lexer's ERROR) repeats.
        last = len(self.tokens) - 1
        token = self.tokens[min(self.index, last)]
        if self.index >= self.furthest:
            # Go reports the line of the furthest token read, even after backing up.
            self.furthest = self.index
            self.line = token.line
        self.index += 1
        return token

    def backup(self, count: int = 1) -> None:
        self.index -= count

    def peek(self) -> Token:
        token = self.next()
        self.backup()
        return token

    def next_non_space(self) -> Token:
        token = self.next()
        while token.kind is Kind.SPACE:
            token = self.next()
        return token

    def peek_non_space(self) -> Token:
        token = self.next_non_space()
        self.backup()
        return token

    def unexpected(self, token: Token, context: str) -> TemplateError:
        if token.kind is Kind.ERROR:
            extra = ""
            if self.action_line and self.action_line != token.line:
                extra = f" in action started at {self.name}:{self.action_line}"
                if token.value.endswith(" action"):
                    extra = extra[len(" in action") :]
            return self.error(f"{token.value}{extra}")
        return self.error(f"unexpected {token.describe()} in {context}")

    def expect(self, kind: Kind, context: str) -> Token:
        token = self.next_non_space()
        if token.kind is not kind:
            raise self.unexpected(token, context)
        return token

    # -- top level -------------------------------------------------------------------------------------------
    def parse(self) -> dict[str, list[Node]]:
        root: list[Node] = []
        while self.peek().kind is not Kind.EOF:
            if self.peek().kind is Kind.LEFT_DELIM:
                start = self.index
                self.next()
                word = self.next_non_space()
                if word.kind is Kind.KEYWORD and word.value == "define":
                    self._parse_definition()
                    continue
                self.index = start
            node = self._text_or_action()
            if isinstance(node, _End):
                raise self.error(f"unexpected {node.describe()}")
            if node is not None:
                root.append(node)
        self._add_tree(self.name, root)
        return self.trees

    def _add_tree(self, name: str, root: list[Node]) -> None:
        existing = self.trees.get(name)
        if existing is None or _is_empty(existing):
            self.trees[name] = root
        elif not _is_empty(root):
            raise self.error(f"template: multiple definition of template {_quote(name)}")

    def _parse_definition(self) -> None:
        context = "define clause"
        token = self.next_non_space()
        if token.kind not in (Kind.STRING, Kind.RAW_STRING):
            raise self.unexpected(token, context)
        name = self._unquote(token)
        self.expect(Kind.RIGHT_DELIM, context)
        saved_vars, self.vars = self.vars, ["$"]
        body, end = self._item_list()
        self.vars = saved_vars
        if end.word != "end":
            raise self.error(f"unexpected {end.describe()} in {context}")
        self._add_tree(name, body)

    def _item_list(self) -> tuple[list[Node], _End]:
        nodes: list[Node] = []
        while self.peek_non_space().kind is not Kind.EOF:
            node = self._text_or_action()
            if isinstance(node, _End):
                return nodes, node
            if node is not None:
                nodes.append(node)
        raise self.error("unexpected EOF")

    def _text_or_action(self) -> Node | _End | None:
        token = self.next_non_space()
        if token.kind is Kind.TEXT:
            return TextNode(token.pos, token.value)
        if token.kind is Kind.COMMENT:
            return None
        if token.kind is Kind.LEFT_DELIM:
            self.action_line = token.line
            try:
                return self._action()
            finally:
                self.action_line = 0
        raise self.unexpected(token, "input")

    def _action(self) -> Node | _End:
        token = self.next_non_space()
        if token.kind is Kind.KEYWORD:
            word = token.value
            if word in ("if", "with", "range"):
                return self._branch(word, token)
            if word == "else":
                return self._else(token)
            if word == "end":
                end = self.expect(Kind.RIGHT_DELIM, "end")
                return _End("end", end.pos, end.line)
            if word in ("break", "continue"):
                return self._loop_control(word, token)
            if word == "template":
                return self._template(token)
            if word == "block":
                return self._block(token)
        self.backup()
        token = self.peek()
        return ActionNode(token.pos, token.line, self._pipeline("command", Kind.RIGHT_DELIM))

    def _loop_control(self, word: str, token: Token) -> LoopControlNode:
        after = self.next_non_space()
        if after.kind is not Kind.RIGHT_DELIM:
            raise self.unexpected(after, "{{" + word + "}}")
        if self.range_depth == 0:
            raise self.error("{{" + word + "}} outside {{range}}")
        return LoopControlNode(token.pos, token.line, word)

    def _else(self, token: Token) -> _End:
        peek = self.peek_non_space()
        if peek.kind is Kind.KEYWORD and peek.value in ("if", "with"):
            return _End("else " + peek.value, peek.pos, peek.line)
        end = self.expect(Kind.RIGHT_DELIM, "else")
        return _End("else", end.pos, end.line)

    def _branch(self, kind: str, token: Token) -> BranchNode:
        mark = len(self.vars)
        try:
            pipe = self._pipeline(kind, Kind.RIGHT_DELIM)
            if kind == "range":
                self.range_depth += 1
            body, end = self._item_list()
            if kind == "range":
                self.range_depth -= 1
            else_body: list[Node] | None = None
            if end.word == f"else {kind}" and kind != "range":
                self.next_non_space()  # the "if"/"with" keyword; only one {{end}} closes the chain
                nested = self._branch(kind, token)
                else_body = [nested]
            elif end.word.startswith("else"):
                # "else if" in a range (or "else with" in an if) leaves its keyword to the else body, where Go
                # finds it out of place: "unexpected <if> in input".
                else_body, end = self._item_list()
                if end.word != "end":
                    raise self.error(f"expected end; found {end.describe()}")
            return BranchNode(kind, token.pos, token.line, pipe, body, else_body)
        finally:
            del self.vars[mark:]

    def _template_name(self, token: Token, context: str) -> str:
        if token.kind in (Kind.STRING, Kind.RAW_STRING):
            return self._unquote(token)
        raise self.unexpected(token, context)

    def _template(self, token: Token) -> TemplateNode:
        context = "template clause"
        token = self.next_non_space()
        name = self._template_name(token, context)
        pipe: PipeNode | None = None
        if self.next_non_space().kind is not Kind.RIGHT_DELIM:
            self.backup()
            pipe = self._pipeline(context, Kind.RIGHT_DELIM)
        return TemplateNode(token.pos, token.line, name, pipe)

    def _block(self, token: Token) -> TemplateNode:
        context = "block clause"
        token = self.next_non_space()
        name = self._template_name(token, context)
        pipe = self._pipeline(context, Kind.RIGHT_DELIM)
        saved_vars, self.vars = self.vars, ["$"]
        saved_depth, self.range_depth = self.range_depth, 0
        body, end = self._item_list()
        self.vars, self.range_depth = saved_vars, saved_depth
        if end.word != "end":
            raise self.error(f"unexpected {end.describe()} in {context}")
        self._add_tree(name, body)
        return TemplateNode(token.pos, token.line, name, pipe)

    # -- pipelines ---------------------------------------------------------------------------------------------
    def _pipeline(self, context: str, end: Kind) -> PipeNode:
        start = self.peek_non_space()
        pipe = PipeNode(start.pos, start.line)
        self._declarations(pipe, context)
        while True:
            token = self.next_non_space()
            if token.kind is end:
                self._check_pipeline(pipe, context)
                return pipe
            if token.kind in _OPERAND_START:
                self.backup()
                pipe.cmds.append(self._command())
                continue
            raise self.unexpected(token, context)

    def _declarations(self, pipe: PipeNode, context: str) -> None:
        while True:
            variable = self.peek_non_space()
            if variable.kind is not Kind.VARIABLE:
                return
            start = self.index
            self.next_non_space()
            after = self.peek_non_space()
            if after.kind in (Kind.ASSIGN, Kind.DECLARE):
                pipe.is_assign = after.kind is Kind.ASSIGN
                self.next_non_space()
                pipe.decl.append(VariableNode(variable.pos, (variable.value,)))
                self.vars.append(variable.value)
                return
            if after.kind is Kind.CHAR and after.value == ",":
                self.next_non_space()
                pipe.decl.append(VariableNode(variable.pos, (variable.value,)))
                self.vars.append(variable.value)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().kind in (Kind.VARIABLE, Kind.RIGHT_DELIM, Kind.RIGHT_PAREN):
                        continue
                    raise self.error("range can only initialize variables")
                raise self.error(f"too many declarations in {context}")
            self.index = start
            return

    def _check_pipeline(self, pipe: PipeNode, context: str) -> None:
        if not pipe.cmds:
            raise self.error(f"missing value for {context}")
        for stage, cmd in enumerate(pipe.cmds[1:], start=2):
            if isinstance(cmd.args[0], BoolNode | DotNode | NilNode | NumberNode | StringNode):
                raise self.error(f"non executable command in pipeline stage {stage}")

    def _command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self._operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self.next()
            if token.kind is Kind.SPACE:
                continue
            if token.kind in (Kind.RIGHT_DELIM, Kind.RIGHT_PAREN):
                self.backup()
            elif token.kind is not Kind.PIPE:
                raise self.unexpected(token, "operand")
            break
        if not cmd.args:
            raise self.error("empty command")
        return cmd

    def _operand(self) -> Argument | None:
        node = self._term()
        if node is None:
            return None
        if self.peek().kind is not Kind.FIELD:
            return node
        fields: list[str] = []
        pos = self.peek().pos
        while self.peek().kind is Kind.FIELD:
            fields.append(self.next().value[1:])
        # Go gives the joined node the position of the first field after the term.
        if isinstance(node, FieldNode):
            return FieldNode(pos, node.names + tuple(fields))
        if isinstance(node, VariableNode):
            return VariableNode(pos, node.names + tuple(fields))
        if isinstance(node, BoolNode | StringNode | NumberNode | NilNode | DotNode):
            raise self.error(f"unexpected . after term {_quote(node.source())}")
        return ChainNode(pos, node, tuple(fields))

    def _term(self) -> Argument | None:
        token = self.next_non_space()
        kind = token.kind
        if kind is Kind.IDENTIFIER:
            if token.value not in self.functions:
                hint = _function_hint(token.value)
                raise self.error(f"function {_quote(token.value)} not defined{hint}")
            return IdentifierNode(token.pos, token.value)
        if kind is Kind.DOT:
            return DotNode(token.pos)
        if kind is Kind.NIL:
            return NilNode(token.pos)
        if kind is Kind.VARIABLE:
            if token.value not in self.vars:
                raise self.error(f"undefined variable {_quote(token.value)}")
            return VariableNode(token.pos, (token.value,))
        if kind is Kind.FIELD:
            return FieldNode(token.pos, (token.value[1:],))
        if kind is Kind.BOOL:
            return BoolNode(token.pos, token.value == "true")
        if kind is Kind.NUMBER or kind is Kind.CHAR_CONSTANT:
            return self._number(token)
        if kind is Kind.LEFT_PAREN:
            return self._pipeline("parenthesized pipeline", Kind.RIGHT_PAREN)
        if kind is Kind.STRING or kind is Kind.RAW_STRING:
            return StringNode(token.pos, token.value, self._unquote(token))
        self.backup()
        return None

    def _number(self, token: Token) -> NumberNode:
        if token.kind is Kind.CHAR_CONSTANT:
            code = unquote_char(token.value)
            if code is None:
                raise self.error("invalid syntax")
            if code < 0:
                raise self.error(f"malformed character constant: {token.value}")
            return NumberNode(token.pos, token.value, code, float(code), False)
        parsed = parse_number(token.value)
        if parsed is None:
            if token.value.lstrip("+-").replace("_", "").isdigit():
                raise self.error(f"integer overflow: {_quote(token.value)}")
            raise self.error(f"illegal number syntax: {_quote(token.value)}")
        int_value, float_value, is_float_text = parsed
        return NumberNode(token.pos, token.value, int_value, float_value, is_float_text)

    def _unquote(self, token: Token) -> str:
        if token.kind is Kind.RAW_STRING:
            return token.value[1:-1].replace("\r", "")
        text = unquote_string(token.value)
        if text is None:
            raise self.error("invalid syntax")
        return text


def _quote(text: str) -> str:
    from ramp.notifications.gotemplate.lexer import go_quote

    return go_quote(text)


def _is_empty(nodes: list[Node]) -> bool:
    return all(isinstance(node, TextNode) and not node.text.strip() for node in nodes)


def parse_trees(text: str, name: str, functions: Collection[str]) -> dict[str, list[Node]]:
    """The named trees of `text`: the main template under `name`, each `define`/`block` under its own name."""
    return Parser(text, name, functions).parse()
