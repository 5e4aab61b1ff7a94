"""Turns a `syntax` tree into a tree of Python closures, one per node, so a condition parsed once runs fast.

Each closure takes a `scope.Scope`. Problems a closure meets at run time become `errors.ExpressionError` with the
column of its node; a missing value (unknown name, index out of range, field of nil) becomes
`errors.MissingValueError`, which `default(x, fallback)`, `isNil(x)` and `x ?? fallback` read as nil.
Unknown functions and wrong argument counts are found here, before anything runs.

Works with `operators` (binary operations), `functions` (plain builtins), `predicates` (builtins with closures).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Final, NoReturn

from ramp.analysis.expression import syntax
from ramp.analysis.expression.budget import MAX_DEPTH, BudgetError
from ramp.analysis.expression.errors import (
    ExpressionError,
    MissingOperandError,
    MissingValueError,
    OperationError,
)
from ramp.analysis.expression.functions import FUNCTIONS
from ramp.analysis.expression.hosts import call_method
from ramp.analysis.expression.operators import (
    BINARY_OPERATIONS,
    compile_pattern,
    fetch,
    negate,
    range_length,
    slice_value,
)
from ramp.analysis.expression.predicates import PREDICATE_BUILTINS
from ramp.analysis.expression.scope import Evaluate, Scope
from ramp.analysis.expression.values import are_equal, is_number, name_type

_LENIENT_FUNCTIONS: Final = {"default": 2, "isNil": 1}
_LOGIC_FAMILY: Final = {"||": "or", "or": "or", "&&": "and", "and": "and"}
# Functions that read their arguments in constant time (the rest walk them and are charged for it).
_CONSTANT_TIME: Final = frozenset({"len", "type", "first", "last", "get", "isNaN", "isInf"})


class _ChainBreak(Exception):
    """A `?.` met nil: the enclosing `syntax.Chain` gives nil."""


def compile_tree(node: syntax.Node, source: str, *, methods: bool = False) -> Evaluate:
    """`node` as a function of a Scope. `methods`: allow `target.name(...)` on host values (`hosts`); without it
    a method call is refused here, as analysis conditions always have."""
    depth = measure(node)[1]
    if depth > MAX_DEPTH:
        raise BudgetError(f"expression is nested too deeply ({depth} levels, at most {MAX_DEPTH}); simplify it", source)
    return _Compiler(source, methods=methods).compile(node, frozenset())


def children(node: syntax.Node) -> list[syntax.Node]:
    """The direct subtrees of `node`; a chain `a || b || c` (or of `&&`) gives all its operands at once."""
    if isinstance(node, syntax.Binary) and node.operator in _LOGIC_FAMILY:
        return logic_operands(node)[0]
    found: list[syntax.Node] = []
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        if isinstance(value, syntax.Node):
            found.append(value)
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, syntax.Node):
                    found.append(item)
                elif isinstance(item, tuple):
                    found.extend(part for part in item if isinstance(part, syntax.Node))
    return found


def logic_operands(node: syntax.Binary) -> tuple[list[syntax.Node], list[syntax.Binary]]:
    """The operands of a left-leaning chain of one logic operator family, and the links between them in order
    (link i joins operand i + 1 to what precedes it). Iterative, so a 600-term `||` needs no deep recursion."""
    family = _LOGIC_FAMILY[node.operator]
    operands: list[syntax.Node] = []
    links: list[syntax.Binary] = []
    current: syntax.Node = node
    while isinstance(current, syntax.Binary) and _LOGIC_FAMILY.get(current.operator) == family:
        operands.append(current.right)
        links.append(current)
        current = current.left
    operands.append(current)
    operands.reverse()
    links.reverse()
    return operands, links


def measure(node: syntax.Node) -> tuple[int, int]:
    """(nodes, depth) of a tree, without recursion; a logic chain is one level deep however long it is."""
    count, deepest = 0, 0
    pending = [(node, 1)]
    while pending:
        current, depth = pending.pop()
        count += 1
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children(current))
    return count, deepest


class _Compiler:
    def __init__(self, source: str, *, methods: bool = False) -> None:
        self.source = source
        self.methods = methods

    def fail(self, message: str, column: int) -> NoReturn:
        raise ExpressionError(message, column, self.source)

    def guard(self, operation: Callable[[Scope], Any], column: int) -> Evaluate:
        """`operation` with its OperationErrors turned into ExpressionErrors at `column`."""
        source = self.source

        def run(scope: Scope) -> Any:
            try:
                return operation(scope)
            except MissingOperandError as error:
                raise MissingValueError(error.message, column, source) from None
            except OperationError as error:
                raise ExpressionError(error.message, column, source) from None

        return run

    def compile(self, node: syntax.Node, bound: frozenset[str]) -> Evaluate:
        method: Callable[[Any, frozenset[str]], Evaluate] = getattr(self, "compile_" + type(node).__name__.lower())
        return method(node, bound)

    def compile_literal(self, node: syntax.Literal, bound: frozenset[str]) -> Evaluate:
        value = node.value
        return lambda scope: value

    def compile_identifier(self, node: syntax.Identifier, bound: frozenset[str]) -> Evaluate:
        name, column, source = node.name, node.column, self.source
        if name in bound:
            return lambda scope: scope.variables[name]

        def read(scope: Scope) -> Any:
            try:
                return scope.env[name]
            except KeyError:
                raise MissingValueError(f"unknown name {name}", column, source) from None

        return read

    def compile_pointer(self, node: syntax.Pointer, bound: frozenset[str]) -> Evaluate:
        if node.name == "":
            return lambda scope: scope.element
        if node.name == "index":
            return lambda scope: scope.index
        self.fail(f"unknown pointer #{node.name}", node.column)

    def compile_arrayliteral(self, node: syntax.ArrayLiteral, bound: frozenset[str]) -> Evaluate:
        items = [self.compile(item, bound) for item in node.items]
        return lambda scope: scope.budget.built([item(scope) for item in items])

    def compile_mapliteral(self, node: syntax.MapLiteral, bound: frozenset[str]) -> Evaluate:
        pairs = [(self.compile(key, bound), self.compile(value, bound), key.column) for key, value in node.pairs]
        source = self.source

        def build(scope: Scope) -> dict[str, Any]:
            built: dict[str, Any] = {}
            for key, value, column in pairs:
                name = key(scope)
                if not isinstance(name, str):
                    raise ExpressionError(f"a map key must be a string, got {name_type(name)}", column, source)
                built[name] = value(scope)
            scope.budget.built(built)
            return built

        return build

    def compile_unary(self, node: syntax.Unary, bound: frozenset[str]) -> Evaluate:
        operand = self.compile(node.operand, bound)
        column, source = node.column, self.source
        if node.operator in ("!", "not"):

            def invert(scope: Scope) -> bool:
                value = operand(scope)
                if value is True or value is False:
                    return not value
                raise ExpressionError(
                    f"invalid operation: {node.operator} (mismatched type {name_type(value)})", column, source
                )

            return invert
        if node.operator == "-":
            if isinstance(node.operand, syntax.Literal) and is_number(node.operand.value):
                constant = -node.operand.value
                return lambda scope: constant
            return self.guard(lambda scope: negate(operand(scope)), column)

        def keep(scope: Scope) -> Any:
            value = operand(scope)
            if is_number(value):
                return value
            raise ExpressionError(f"invalid operation: + (mismatched type {name_type(value)})", column, source)

        return keep

    def compile_binary(self, node: syntax.Binary, bound: frozenset[str]) -> Evaluate:
        if node.operator in _LOGIC_FAMILY:
            return self.compile_logic(node, bound)
        left, right = self.compile(node.left, bound), self.compile(node.right, bound)
        operator, column, source = node.operator, node.column, self.source
        if operator in ("==", "!="):
            negated = operator == "!="

            def compare(scope: Scope) -> bool:
                first, second = left(scope), right(scope)
                scope.budget.walk(first, second)
                return are_equal(first, second) is not negated

            return compare
        if operator == "??":

            def coalesce(scope: Scope) -> Any:
                try:
                    value = left(scope)
                except MissingValueError:
                    value = None
                return right(scope) if value is None else value

            return coalesce
        if operator == "matches" and isinstance(node.right, syntax.Literal) and isinstance(node.right.value, str):
            try:
                pattern = compile_pattern(node.right.value)
            except OperationError as error:
                self.fail(error.message, node.right.column)

            def match(scope: Scope) -> bool:
                text = left(scope)
                if not isinstance(text, str):
                    raise ExpressionError(
                        f"invalid operation: matches (mismatched types {name_type(text)} and string)", column, source
                    )
                scope.budget.walk(text)
                return pattern.search(text)

            return match
        operation = BINARY_OPERATIONS[operator]
        is_range = operator == ".."

        def run(scope: Scope) -> Any:
            try:
                first, second = left(scope), right(scope)
                budget = scope.budget
                budget.walk(first, second)
                if is_range:
                    budget.allocate(range_length(first, second))
                    return operation(first, second)
                return budget.built(operation(first, second))
            except MissingOperandError as error:
                raise MissingValueError(error.message, column, source) from None
            except OperationError as error:
                raise ExpressionError(error.message, column, source) from None

        return run

    def compile_logic(self, node: syntax.Binary, bound: frozenset[str]) -> Evaluate:
        """`&&` and `||`: short-circuit, and both sides must be bools (expr-lang refuses `1 && true`).

        A chain `a || b || c ...` runs as one loop over its operands, so its length costs no stack depth."""
        operands, links = logic_operands(node)
        compiled = [self.compile(operand, bound) for operand in operands]
        # Operand 0 is the left side of the first link; operand i (i >= 1) the right side of link i - 1.
        places = [(links[0], "left"), *((link, "right") for link in links)]
        deciding: bool = _LOGIC_FAMILY[node.operator] == "or"
        source = self.source

        def decide(scope: Scope) -> bool:
            for position, operand in enumerate(compiled):
                value = operand(scope)
                if value is deciding:
                    return bool(value)
                if value is not (not deciding):
                    link, side = places[position]
                    raise ExpressionError(
                        f"invalid operation: {link.operator} needs bools, got {name_type(value)} on the {side}",
                        link.column,
                        source,
                    )
            return not deciding

        return decide

    def compile_conditional(self, node: syntax.Conditional, bound: frozenset[str]) -> Evaluate:
        condition = self.compile(node.condition, bound)
        then, otherwise = self.compile(node.then, bound), self.compile(node.otherwise, bound)
        column, source = node.column, self.source

        def choose(scope: Scope) -> Any:
            decision = condition(scope)
            if decision is True:
                return then(scope)
            if decision is False:
                return otherwise(scope)
            raise ExpressionError(f"the condition of ?: must be a bool, got {name_type(decision)}", column, source)

        return choose

    def compile_member(self, node: syntax.Member, bound: frozenset[str]) -> Evaluate:
        target, key = self.compile(node.target, bound), self.compile(node.key, bound)
        optional = node.optional
        field = node.key.value if isinstance(node.key, syntax.Literal) and isinstance(node.key.value, str) else None

        def read(scope: Scope) -> Any:
            value = target(scope)
            if value is None and optional:
                raise _ChainBreak
            # The hot path of `result.status`: a JSON object and a field name.
            if field is not None and type(value) is dict:
                return value.get(field)
            return fetch(value, key(scope))

        return self.guard(read, node.column)

    def compile_slice(self, node: syntax.Slice, bound: frozenset[str]) -> Evaluate:
        target = self.compile(node.target, bound)
        start = None if node.start is None else self.compile(node.start, bound)
        stop = None if node.stop is None else self.compile(node.stop, bound)

        def cut(scope: Scope) -> Any:
            value = target(scope)
            first = None if start is None else start(scope)
            last = None if stop is None else stop(scope)
            return slice_value(value, first, last)

        return self.guard(cut, node.column)

    def compile_chain(self, node: syntax.Chain, bound: frozenset[str]) -> Evaluate:
        inner = self.compile(node.inner, bound)

        def follow(scope: Scope) -> Any:
            try:
                return inner(scope)
            except _ChainBreak:
                return None

        return follow

    def compile_predicate(self, node: syntax.Predicate, bound: frozenset[str]) -> Evaluate:
        """A closure's body, charged its size in steps each time it runs (nested closures multiply)."""
        body = self.compile(node.body, bound)
        weight = measure(node.body)[0]

        def run(scope: Scope) -> Any:
            scope.budget.charge(weight)
            return body(scope)

        return run

    def compile_methodcall(self, node: syntax.MethodCall, bound: frozenset[str]) -> Evaluate:
        if not self.methods:
            self.fail(f"unknown method {node.name}: methods cannot be called", node.column)
        target = self.compile(node.target, bound)
        arguments = [self.compile(argument, bound) for argument in node.arguments]
        name, optional = node.name, node.optional

        def call(scope: Scope) -> Any:
            value = target(scope)
            if value is None and optional:
                raise _ChainBreak
            scope.budget.charge(1)
            return scope.budget.built(call_method(value, name, [argument(scope) for argument in arguments]))

        return self.guard(call, node.column)

    def compile_let(self, node: syntax.Let, bound: frozenset[str]) -> Evaluate:
        value = self.compile(node.value, bound)
        body = self.compile(node.body, bound | {node.name})
        name = node.name
        return lambda scope: body(scope.bind(name, value(scope)))

    def compile_call(self, node: syntax.Call, bound: frozenset[str]) -> Evaluate:
        name, count = node.name, len(node.arguments)
        arguments = [self.compile(argument, bound) for argument in node.arguments]
        if name in PREDICATE_BUILTINS:
            builtin = PREDICATE_BUILTINS[name]
            items = arguments[0]
            closure = arguments[1] if count > 1 else None

            def walk(scope: Scope) -> Any:
                array = items(scope)
                scope.budget.walk(array)
                return scope.budget.built(builtin(array, closure, scope))

            return self.guard(walk, node.column)
        if name in _LENIENT_FUNCTIONS:
            if count != _LENIENT_FUNCTIONS[name]:
                noun = "argument" if _LENIENT_FUNCTIONS[name] == 1 else "arguments"
                self.fail(f"{name} expects {_LENIENT_FUNCTIONS[name]} {noun}, got {count}", node.column)
            return self.compile_lenient(name, arguments)
        function = FUNCTIONS.get(name)
        if function is None:
            self.fail(f"unknown function {name}", node.column)
        if count < function.min_arguments or (function.max_arguments is not None and count > function.max_arguments):
            expected = (
                str(function.min_arguments)
                if function.min_arguments == function.max_arguments
                else f"{function.min_arguments} or more"
                if function.max_arguments is None
                else f"{function.min_arguments} to {function.max_arguments}"
            )
            noun = "argument" if expected == "1" else "arguments"
            self.fail(f"{name} expects {expected} {noun}, got {count}", node.column)
        run = function.run
        if name in _CONSTANT_TIME:
            if count == 1:
                (only,) = arguments
                return self.guard(lambda scope: run(only(scope)), node.column)
            return self.guard(lambda scope: run(*[argument(scope) for argument in arguments]), node.column)

        def call(scope: Scope) -> Any:
            values = [argument(scope) for argument in arguments]
            budget = scope.budget
            budget.walk(*values)
            return budget.built(run(*values))

        return self.guard(call, node.column)

    def compile_lenient(self, name: str, arguments: list[Evaluate]) -> Evaluate:
        """`default(x, fallback)` and `isNil(x)`: an absent x (unknown name, missing index) counts as nil."""
        subject = arguments[0]

        def read_or_nil(scope: Scope) -> Any:
            try:
                return subject(scope)
            except MissingValueError:
                return None

        if name == "isNil":
            return lambda scope: read_or_nil(scope) is None
        fallback = arguments[1]

        def choose(scope: Scope) -> Any:
            value = read_or_nil(scope)
            return fallback(scope) if value is None else value

        return choose
