"""Parses a condition into a `syntax` tree, with expr-lang's operators, precedence and shorthands.

Precedence (low to high), as expr-lang's parser: `? :` and `let` < `|` (pipe) < `||` `or` < `&&` `and` <
comparisons (`==` `!=` `<` `>` `<=` `>=` `in` `matches` `contains` `startsWith` `endsWith`, with `not in` and
friends) < `..` < `+` `-` < `*` `/` `%` < unary `!` `not` (binds to its operand up to a comparison) < unary `-` `+`
< `**` `^` (right-associative) < `??`. Comparisons chain: `1 < x < 3` means `1 < x && x < 3`.

Uses `lexer` for tokens; errors are `errors.ExpressionError` with the column of the unexpected token.
`compiler` turns the tree into a function.
"""

from __future__ import annotations

from typing import Final

from ramp.analysis.expression import syntax
from ramp.analysis.expression.errors import ExpressionError
from ramp.analysis.expression.lexer import BRACKET, END, NAME, NUMBER, OPERATOR, POINTER, STRING, Token, tokenize

_LEFT, _RIGHT = "left", "right"
BINARY_PRECEDENCE: Final[dict[str, tuple[int, str]]] = {
    "|": (0, _LEFT),
    "or": (10, _LEFT),
    "||": (10, _LEFT),
    "and": (15, _LEFT),
    "&&": (15, _LEFT),
    **dict.fromkeys(
        ("==", "!=", "<", ">", "<=", ">=", "in", "matches", "contains", "startsWith", "endsWith"), (20, _LEFT)
    ),
    "..": (25, _LEFT),
    "+": (30, _LEFT),
    "-": (30, _LEFT),
    "*": (60, _LEFT),
    "/": (60, _LEFT),
    "%": (60, _LEFT),
    "**": (100, _RIGHT),
    "^": (100, _RIGHT),
    "??": (500, _LEFT),
}
UNARY_PRECEDENCE: Final = {"not": 50, "!": 50, "-": 90, "+": 90}
_COMPARISON: Final = 20
_NEGATABLE: Final = frozenset({"in", "matches", "contains", "startsWith", "endsWith"})
_ARGUMENT, _CLOSURE, _OPTIONAL_CLOSURE = "argument", "closure", "optional closure"
PREDICATE_ARGUMENTS: Final[dict[str, tuple[str, ...]]] = {
    **dict.fromkeys(
        ("all", "none", "any", "one", "filter", "map", "find", "findIndex", "findLast", "findLastIndex"),
        (_ARGUMENT, _CLOSURE),
    ),
    "count": (_ARGUMENT, _OPTIONAL_CLOSURE),
    "sum": (_ARGUMENT, _OPTIONAL_CLOSURE),
}
# Deep enough for any real condition, shallow enough that compiling and evaluating stay within Python's stack.
_MAX_NESTING: Final = 100


def parse(source: str) -> syntax.Node:
    """The syntax tree of `source`; raises ExpressionError naming the column of the first problem."""
    parser = _Parser(source)
    node = parser.parse_expression(0)
    if parser.current.kind != END:
        raise parser.unexpected(parser.current)
    return node


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = tokenize(source)
        self.position = 0
        self.current = self.tokens[0]
        self.predicate_depth = 0
        self.nesting = 0

    # -- token handling

    def advance(self) -> Token:
        token = self.current
        if self.position < len(self.tokens) - 1:
            self.position += 1
            self.current = self.tokens[self.position]
        return token

    def peek(self) -> Token:
        return self.tokens[min(self.position + 1, len(self.tokens) - 1)]

    def expect(self, kind: str, text: str | None = None) -> Token:
        token = self.current
        if token.kind != kind or (text is not None and token.text != text):
            raise self.unexpected(token)
        return self.advance()

    def error(self, message: str, column: int) -> ExpressionError:
        return ExpressionError(message, column, self.source)

    def unexpected(self, token: Token) -> ExpressionError:
        if token.kind == END:
            return self.error("unexpected end of expression", token.column)
        return self.error(f"unexpected token {token.text!r}", token.column)

    def is_operator(self, text: str) -> bool:
        return self.current.kind == OPERATOR and self.current.text == text

    def is_bracket(self, text: str) -> bool:
        return self.current.kind == BRACKET and self.current.text == text

    # -- expressions

    def parse_expression(self, precedence: int) -> syntax.Node:
        self.nesting += 1
        if self.nesting > _MAX_NESTING:
            raise self.error("expression is nested too deeply", self.current.column)
        try:
            if precedence == 0 and self.is_operator("let"):
                return self.parse_let()
            node = self.parse_binary(self.parse_primary(), precedence)
            return self.parse_conditional(node) if precedence == 0 else node
        finally:
            self.nesting -= 1

    def parse_binary(self, left: syntax.Node, precedence: int) -> syntax.Node:
        previous = ""
        while self.current.kind == OPERATOR:
            operator_token = self.current
            negation: Token | None = None
            if operator_token.text == "not":
                follower = self.peek()
                if follower.kind != OPERATOR or follower.text not in _NEGATABLE:
                    raise self.unexpected(follower)
                negation, operator_token = operator_token, follower
            rule = BINARY_PRECEDENCE.get(operator_token.text)
            if rule is None or rule[0] < precedence:
                break
            if negation is not None:
                self.advance()
            self.advance()
            operator, (operator_precedence, associativity) = operator_token.text, rule
            if previous == "??" and operator != "??":
                raise self.error(
                    f"operator {operator} and ?? cannot be mixed; wrap either in parentheses", operator_token.column
                )
            if operator == "|":
                left = self.parse_pipe(left)
            elif operator_precedence == _COMPARISON and negation is None:
                left = self.parse_comparison(left, operator_token)
            else:
                right_precedence = operator_precedence + 1 if associativity == _LEFT else operator_precedence
                right = self.parse_expression(right_precedence)
                left = syntax.Binary(operator_token.column, operator, left, right)
                if negation is not None:
                    left = syntax.Unary(negation.column, "not", left)
            previous = operator
        return left

    def parse_comparison(self, left: syntax.Node, operator_token: Token) -> syntax.Node:
        right = self.parse_expression(_COMPARISON + 1)
        node: syntax.Node = syntax.Binary(operator_token.column, operator_token.text, left, right)
        while self.current.kind == OPERATOR and BINARY_PRECEDENCE.get(self.current.text, (-1, ""))[0] == _COMPARISON:
            operator_token = self.advance()
            left, right = right, self.parse_expression(_COMPARISON + 1)
            comparison = syntax.Binary(operator_token.column, operator_token.text, left, right)
            node = syntax.Binary(operator_token.column, "&&", node, comparison)
        return node

    def parse_pipe(self, left: syntax.Node) -> syntax.Node:
        name = self.current
        if name.kind != NAME:
            raise self.unexpected(name)
        self.advance()
        return self.parse_call(name, [left])

    def parse_conditional(self, node: syntax.Node) -> syntax.Node:
        while self.is_operator("?"):
            question = self.advance()
            if self.is_operator(":"):
                self.advance()
                then = node
            else:
                then = self.parse_expression(0)
                self.expect(OPERATOR, ":")
            otherwise = self.parse_expression(0)
            node = syntax.Conditional(question.column, node, then, otherwise)
        return node

    def parse_let(self) -> syntax.Node:
        self.advance()
        name = self.expect(NAME)
        self.expect(OPERATOR, "=")
        value = self.parse_expression(0)
        self.expect(OPERATOR, ";")
        body = self.parse_expression(0)
        return syntax.Let(name.column, name.text, value, body)

    def parse_primary(self) -> syntax.Node:
        token = self.current
        if token.kind == OPERATOR and token.text in UNARY_PRECEDENCE:
            self.advance()
            operand = self.parse_expression(UNARY_PRECEDENCE[token.text])
            return self.parse_postfix(syntax.Unary(token.column, token.text, operand))
        if token.is_(BRACKET, "("):
            self.advance()
            inner = self.parse_expression(0)
            self.expect(BRACKET, ")")
            return self.parse_postfix(inner)
        if token.kind == POINTER or token.is_(OPERATOR, "."):
            if self.predicate_depth == 0:
                raise self.error(
                    f"cannot use {token.text} outside a predicate such as all(items, {{# > 0}})", token.column
                )
            if token.kind == POINTER:
                self.advance()
            # For `.field` the dot stays current: parse_postfix reads it as a member access on the element.
            return self.parse_postfix(syntax.Pointer(token.column, str(token.value or "")))
        return self.parse_postfix(self.parse_operand())

    def parse_operand(self) -> syntax.Node:
        token = self.current
        if token.kind == NAME:
            self.advance()
            if token.text in ("true", "false", "nil"):
                return syntax.Literal(token.column, {"true": True, "false": False, "nil": None}[token.text])
            if self.is_bracket("("):
                return self.parse_call(token, [])
            return syntax.Identifier(token.column, token.text)
        if token.kind in (NUMBER, STRING):
            self.advance()
            return syntax.Literal(token.column, token.value)
        if token.is_(BRACKET, "["):
            return self.parse_array()
        if token.is_(BRACKET, "{"):
            return self.parse_map()
        raise self.unexpected(token)

    # -- calls and literals

    def parse_call(self, name: Token, arguments: list[syntax.Node]) -> syntax.Node:
        kinds = PREDICATE_ARGUMENTS.get(name.text)
        if kinds is None:
            return syntax.Call(name.column, name.text, tuple(self.parse_arguments(arguments)))
        self.expect(BRACKET, "(")
        for index, kind in enumerate(kinds[len(arguments) :]):
            if self.is_bracket(")"):
                if kind == _OPTIONAL_CLOSURE:
                    break
                raise self.error(f"{name.text} expects at least {len(kinds)} arguments", self.current.column)
            if index > 0:
                self.expect(OPERATOR, ",")
            arguments.append(self.parse_expression(0) if kind == _ARGUMENT else self.parse_predicate())
        if self.is_operator(","):
            self.advance()
        self.expect(BRACKET, ")")
        return syntax.Call(name.column, name.text, tuple(arguments))

    def parse_arguments(self, arguments: list[syntax.Node]) -> list[syntax.Node]:
        given = len(arguments)
        self.expect(BRACKET, "(")
        while not self.is_bracket(")"):
            if len(arguments) > given:
                self.expect(OPERATOR, ",")
                if self.is_bracket(")"):
                    break
            arguments.append(self.parse_expression(0))
        self.advance()
        return arguments

    def parse_predicate(self) -> syntax.Node:
        start = self.current
        braced = start.is_(BRACKET, "{")
        if braced:
            self.advance()
        self.predicate_depth += 1
        body = self.parse_expression(0)
        self.predicate_depth -= 1
        if braced:
            self.expect(BRACKET, "}")
        return syntax.Predicate(start.column, body)

    def parse_array(self) -> syntax.Node:
        start = self.advance()
        items: list[syntax.Node] = []
        while not self.is_bracket("]"):
            if items:
                self.expect(OPERATOR, ",")
                if self.is_bracket("]"):
                    break
            items.append(self.parse_expression(0))
        self.advance()
        return syntax.ArrayLiteral(start.column, tuple(items))

    def parse_map(self) -> syntax.Node:
        start = self.advance()
        pairs: list[tuple[syntax.Node, syntax.Node]] = []
        while not self.is_bracket("}"):
            if pairs:
                self.expect(OPERATOR, ",")
                if self.is_bracket("}"):
                    break
            key_token = self.current
            key: syntax.Node
            if key_token.kind in (NUMBER, NAME, STRING) or (key_token.kind == OPERATOR and key_token.text.isalpha()):
                self.advance()
                text = key_token.value if key_token.kind == STRING else key_token.text
                key = syntax.Literal(key_token.column, text)
            elif key_token.is_(BRACKET, "("):
                key = self.parse_expression(0)
            else:
                if key_token.kind == END:
                    raise self.unexpected(key_token)
                raise self.error(
                    "a map key must be a name, a number, a quoted string or an expression in parentheses",
                    key_token.column,
                )
            self.expect(OPERATOR, ":")
            pairs.append((key, self.parse_expression(0)))
        self.advance()
        return syntax.MapLiteral(start.column, tuple(pairs))

    # -- postfix: members, indexes, slices, optional chaining

    def parse_postfix(self, node: syntax.Node) -> syntax.Node:
        chained = False
        while True:
            token = self.current
            if token.kind == OPERATOR and token.text in (".", "?."):
                optional = token.text == "?."
                chained = chained or optional
                self.advance()
                if optional and self.is_bracket("["):
                    node = self.parse_index(node, optional=True)
                    continue
                name = self.current
                if name.kind != NAME and not (name.kind == OPERATOR and name.text.isalpha()):
                    raise self.error("expected a field name", name.column)
                self.advance()
                if self.is_bracket("("):
                    # Refused at compile time unless the caller allows host methods (`compiler.compile_tree`).
                    arguments = tuple(self.parse_arguments([]))
                    node = syntax.MethodCall(name.column, node, name.text, arguments, optional)
                    continue
                node = syntax.Member(name.column, node, syntax.Literal(name.column, name.text), optional)
            elif token.is_(BRACKET, "["):
                node = self.parse_index(node, optional=False)
            else:
                break
        return syntax.Chain(node.column, node) if chained else node

    def parse_index(self, node: syntax.Node, *, optional: bool) -> syntax.Node:
        bracket = self.expect(BRACKET, "[")
        start: syntax.Node | None = None
        if not self.is_operator(":"):
            start = self.parse_expression(0)
            if not self.is_operator(":"):
                self.expect(BRACKET, "]")
                return syntax.Member(bracket.column, node, start, optional)
        self.advance()
        stop = None if self.is_bracket("]") else self.parse_expression(0)
        self.expect(BRACKET, "]")
        return syntax.Slice(bracket.column, node, start, stop)
