"""Executes a parsed template tree with Go's text/template semantics, within a budget of steps and output.

Follows Go's `text/template` exec: fields of maps (`<no value>` for a missing key, "nil pointer evaluating"
through a null), variables and their scopes, `if`/`with`/`range` (lists, maps in key order, ints, `break`,
`continue`, `else`), `template`/`block` calls (no variables inherited, depth capped), functions with Go's
argument checks ("wrong number of args", "expected string; found 1", "wrong type for value; ..."), short-circuit
`and`/`or`, and `call` of functions the data holds. Errors name the location and the node as Go does:
`template: name:1:3: executing "name" at <.a.b>: ...`.

Every node evaluation, function call and range iteration costs one step; output is counted as it is written.

Used by `ramp.notifications.gotemplate.Template.render`; the functions come from `builtins` and the sprig modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from ramp.notifications.gotemplate.budget import MAX_VALUE_SIZE, STEP_ITEMS, Budget, size_of
from ramp.notifications.gotemplate.errors import TemplateError
from ramp.notifications.gotemplate.lexer import go_quote
from ramp.notifications.gotemplate.methods import method_of
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
from ramp.notifications.gotemplate.values import (
    KIND_TYPE_NAMES,
    NO_VALUE,
    FuncError,
    GoFunc,
    GoInt64,
    go_type_name,
    is_assignable,
    is_true,
    print_value,
)

MAX_TEMPLATE_DEPTH: Final = 100
"""Nested `{{template}}` calls; Go allows 100,000, which a recursive template would use only to burn the budget."""

_MISSING: Final = object()  # no piped value ("final" in Go)


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Executor:
    """One execution of a template: `run(dot)` returns the text."""

    def __init__(
        self,
        trees: Mapping[str, list[Node]],
        parse_name: str,
        source: str,
        functions: Mapping[str, GoFunc],
        builtins: frozenset[str],
        *,
        max_steps: int,
        max_output: int,
    ) -> None:
        self.trees = trees
        self.parse_name = parse_name
        self.source = source
        self.functions = functions
        self.builtins = builtins
        self.budget = Budget(parse_name, max_steps, max_output)
        self.template_name = parse_name
        self.vars: list[list[Any]] = []
        self.at: Any = None
        self.depth = 0

    # -- bookkeeping ------------------------------------------------------------------------------------------
    def error(self, message: str) -> TemplateError:
        node = self.at
        if node is None:
            return TemplateError(f"template: {self.template_name}: {message}")
        pos = node.pos
        before = self.source[:pos]
        newline = before.rfind("\n")
        column = len(before[newline + 1 :].encode()) if newline >= 0 else len(before.encode())
        line = 1 + before.count("\n")
        context = node.source()
        return TemplateError(
            f"template: {self.parse_name}:{line}:{column}: executing {go_quote(self.template_name)} "
            f"at <{context}>: {message}",
        )

    def step(self) -> None:
        self.budget.spend()

    def write(self, text: str) -> None:
        self.budget.write(text)

    def run(self, dot: Any) -> str:
        self.vars = [["$", dot]]
        self.walk(dot, self.trees[self.parse_name])
        return "".join(self.budget.output)

    def var_value(self, name: str) -> Any:
        for entry in reversed(self.vars):
            if entry[0] == name:
                return entry[1]
        raise self.error(f"undefined variable: {name}")

    def set_var(self, name: str, value: Any) -> None:
        for entry in reversed(self.vars):
            if entry[0] == name:
                entry[1] = value
                return
        raise self.error(f"undefined variable: {name}")

    # -- statements ----------------------------------------------------------------------------------------------
    def walk(self, dot: Any, nodes: list[Node]) -> None:
        for node in nodes:
            self.step()
            if isinstance(node, TextNode):
                self.write(node.text)
            elif isinstance(node, ActionNode):
                value = self.eval_pipeline(dot, node.pipe)
                if not node.pipe.decl:
                    self.print(node, value)
            elif isinstance(node, BranchNode):
                if node.kind == "range":
                    self.walk_range(dot, node)
                else:
                    self.walk_if_or_with(dot, node)
            elif isinstance(node, TemplateNode):
                self.walk_template(dot, node)
            elif isinstance(node, LoopControlNode):
                raise _Break() if node.word == "break" else _Continue()

    def print(self, node: ActionNode, value: Any) -> None:
        self.at = node
        if isinstance(value, GoFunc):
            raise self.error(f"can't print {node.source()} of type {value.type_name()}")
        self.write(print_value(value))

    def walk_if_or_with(self, dot: Any, node: BranchNode) -> None:
        mark = len(self.vars)
        try:
            value = self.eval_pipeline(dot, node.pipe)
            if is_true(value):
                self.walk(value if node.kind == "with" else dot, node.body)
            elif node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot: Any, node: BranchNode) -> None:
        self.at = node
        outer = len(self.vars)
        try:
            value = self.eval_pipeline(dot, node.pipe)
            mark = len(self.vars)
            if value is None:
                value = NO_VALUE
            if isinstance(value, Mapping):
                items: Any = ((key, value[key]) for key in sorted(value))
                empty = not value
            elif isinstance(value, list | tuple):
                items = enumerate(value)
                empty = not value
            elif isinstance(value, int) and not isinstance(value, bool):
                if len(node.pipe.decl) > 1:
                    raise self.error(f"can't use {value} to iterate over more than one variable")
                items = ((number, number) for number in range(value))
                empty = value <= 0
            elif value is NO_VALUE:
                items, empty = (), True
            else:
                raise self.error(f"range can't iterate over {print_value(value)}")
            for index, element in items:
                self.step()
                if self._range_iteration(node, mark, index, element):
                    break
            if empty and node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            del self.vars[outer:]

    def _range_iteration(self, node: BranchNode, mark: int, index: Any, element: Any) -> bool:
        """One pass of a range body; True on `{{break}}`."""
        decl = node.pipe.decl
        if decl:
            if node.pipe.is_assign:
                if len(decl) > 1:
                    self.set_var(decl[0].names[0], index)
                    self.set_var(decl[1].names[0], element)
                else:
                    self.set_var(decl[0].names[0], element)
            else:
                self.vars[-1][1] = element
                if len(decl) > 1:
                    self.vars[-2][1] = index
        try:
            self.walk(element, node.body)
        except _Break:
            return True
        except _Continue:
            pass
        finally:
            del self.vars[mark:]
        return False

    def walk_template(self, dot: Any, node: TemplateNode) -> None:
        self.at = node
        tree = self.trees.get(node.name)
        if tree is None:
            raise self.error(f"template {go_quote(node.name)} not defined")
        if self.depth >= MAX_TEMPLATE_DEPTH:
            raise self.error(f"exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})")
        value = self.eval_pipeline(dot, node.pipe) if node.pipe is not None else NO_VALUE
        saved = (self.template_name, self.vars, self.depth)
        self.template_name, self.vars, self.depth = node.name, [["$", value]], self.depth + 1
        try:
            self.walk(value, tree)
        finally:
            self.template_name, self.vars, self.depth = saved

    # -- pipelines and commands ----------------------------------------------------------------------------------
    def eval_pipeline(self, dot: Any, pipe: PipeNode) -> Any:
        self.at = pipe
        value: Any = _MISSING
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
            if value is None:
                value = NO_VALUE  # Go digs into the interface: a nil interface is no value
        for variable in pipe.decl:
            if pipe.is_assign:
                self.set_var(variable.names[0], value)
            else:
                self.vars.append([variable.names[0], value])
        return value

    def eval_command(self, dot: Any, cmd: CommandNode, final: Any) -> Any:
        self.step()
        first = cmd.args[0]
        if isinstance(first, FieldNode):
            self.at = first
            return self.eval_field_chain(dot, dot, first, first.names, cmd.args, final, dot_type=True)
        if isinstance(first, ChainNode):
            return self.eval_chain(dot, first, cmd.args, final)
        if isinstance(first, IdentifierNode):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, PipeNode):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, VariableNode):
            return self.eval_variable(dot, first, cmd.args, final)
        self.at = first
        self.not_a_function(cmd.args, final)
        if isinstance(first, BoolNode):
            return first.value
        if isinstance(first, DotNode):
            return dot
        if isinstance(first, NilNode):
            raise self.error("nil is not a command")
        if isinstance(first, NumberNode):
            return self.ideal_constant(first)
        return first.text

    def not_a_function(self, args: list[Argument], final: Any) -> None:
        if len(args) > 1 or final is not _MISSING:
            raise self.error(f"can't give argument to non-function {args[0].source()}")

    def ideal_constant(self, node: NumberNode) -> Any:
        self.at = node
        if node.is_float_text and node.float_value is not None:
            return node.float_value
        if node.int_value is not None:
            return node.int_value
        raise self.error(f"{node.text} overflows int")

    def eval_variable(self, dot: Any, node: VariableNode, args: list[Argument], final: Any) -> Any:
        self.at = node
        value = self.var_value(node.names[0])
        if len(node.names) == 1:
            self.not_a_function(args, final)
            return value
        return self.eval_field_chain(dot, value, node, node.names[1:], args, final, dot_type=True)

    def eval_chain(self, dot: Any, node: ChainNode, args: list[Argument] | None, final: Any) -> Any:
        self.at = node
        if isinstance(node.node, NilNode):
            raise self.error(f"indirection through explicit nil in {node.source()}")
        receiver = self.eval_arg(dot, None, node.node)
        return self.eval_field_chain(dot, receiver, node, node.fields, args, final, dot_type=False)

    def eval_field_chain(
        self,
        dot: Any,
        receiver: Any,
        node: Any,
        names: tuple[str, ...],
        args: list[Argument] | None,
        final: Any,
        *,
        dot_type: bool,
    ) -> Any:
        for name in names[:-1]:
            receiver = self.eval_field(dot, name, node, None, _MISSING, receiver, static_interface=dot_type)
            dot_type = True
        return self.eval_field(dot, names[-1], node, args, final, receiver, static_interface=dot_type)

    def eval_field(
        self,
        dot: Any,
        name: str,
        node: Any,
        args: list[Argument] | None,
        final: Any,
        receiver: Any,
        *,
        static_interface: bool,
    ) -> Any:
        if receiver is NO_VALUE:
            return NO_VALUE
        type_name = "interface {}" if static_interface else go_type_name(receiver)
        if receiver is None:
            raise self.error(f"nil pointer evaluating {type_name}.{name}")
        method = method_of(receiver, name)
        if method is not None:
            return self.eval_call(dot, method, False, node, name, args, final)
        if isinstance(receiver, Mapping):
            if (args is not None and len(args) > 1) or final is not _MISSING:
                raise self.error(f"{name} is not a method but has arguments")
            return receiver.get(name, NO_VALUE)
        raise self.error(f"can't evaluate field {name} in type {type_name}")

    def eval_function(
        self,
        dot: Any,
        node: IdentifierNode,
        cmd: Any,
        args: list[Argument] | None,
        final: Any,
    ) -> Any:
        self.at = node
        function = self.functions.get(node.name)
        if function is None:
            raise self.error(f"{go_quote(node.name)} is not a defined function")
        return self.eval_call(dot, function, node.name in self.builtins, cmd, node.name, args, final)

    def eval_call(
        self,
        dot: Any,
        function: GoFunc,
        is_builtin: bool,
        node: Any,
        name: str,
        args: list[Argument] | None,
        final: Any,
    ) -> Any:
        self.step()
        arg_nodes = list(args[1:]) if args is not None else []
        count = len(arg_nodes) + (0 if final is _MISSING else 1)
        fixed = len(function.params)
        if function.variadic is not None:
            if count < fixed:
                raise self.error(f"wrong number of args for {name}: want at least {fixed} got {len(arg_nodes)}")
        elif count != fixed:
            raise self.error(f"wrong number of args for {name}: want {fixed} got {count}")
        if is_builtin and name in ("and", "or"):
            value: Any = NO_VALUE
            for arg in arg_nodes:
                value = self.eval_arg(dot, "value", arg)
                if is_true(value) == (name == "or"):
                    return value
            if final is not _MISSING:
                value = final
            return value
        argv: list[Any] = []
        for index, arg in enumerate(arg_nodes):
            kind = function.params[index] if index < fixed else function.variadic
            argv.append(self.eval_arg(dot, kind, arg))
        if final is not _MISSING:
            index = count - 1
            kind = function.params[index] if index < fixed else function.variadic
            argv.append(self.validate(final, kind))
        if is_builtin and name == "call":
            callee = arg_nodes[0].source() if arg_nodes else print_value(final)
            argv.insert(0, callee)
        try:
            result = function.fn(*argv)
        except FuncError as error:
            self.at = node
            raise self.error(f"error calling {name}: {error}") from None
        except TemplateError:
            raise
        except (ArithmeticError, ValueError, TypeError, OverflowError) as error:
            self.at = node
            raise self.error(f"error calling {name}: {error}") from None
        self.charge(name, argv, result)
        return result

    def charge(self, name: str, argv: list[Any], result: Any) -> None:
        """Work in proportion to the size of what a call reads and builds: one step per STEP_ITEMS characters or
        items, so a loop that copies a long list or doubles a string runs out of steps, not of memory."""
        size = size_of(result)
        if size > MAX_VALUE_SIZE:
            raise self.error(f"error calling {name}: result of size {size} exceeds the limit of {MAX_VALUE_SIZE}")
        for arg in argv:
            size += size_of(arg)
        if size >= STEP_ITEMS:
            self.budget.spend(size // STEP_ITEMS)

    # -- arguments -----------------------------------------------------------------------------------------------
    def eval_arg(self, dot: Any, kind: str | None, node: Argument) -> Any:
        self.at = node
        if isinstance(node, DotNode):
            return self.validate(dot, kind)
        if isinstance(node, NilNode):
            if kind in (None, "any", "map", "value"):
                return NO_VALUE if kind == "value" else None
            raise self.error(f"cannot assign nil to {KIND_TYPE_NAMES.get(kind or 'any')}")
        if isinstance(node, FieldNode):
            return self.validate(
                self.eval_field_chain(dot, dot, node, node.names, [node], _MISSING, dot_type=True), kind
            )
        if isinstance(node, VariableNode):
            return self.validate(self.eval_variable(dot, node, [node], _MISSING), kind)
        if isinstance(node, PipeNode):
            return self.validate(self.eval_pipeline(dot, node), kind)
        if isinstance(node, IdentifierNode):
            return self.validate(self.eval_function(dot, node, node, None, _MISSING), kind)
        if isinstance(node, ChainNode):
            return self.validate(self.eval_chain(dot, node, None, _MISSING), kind)
        return self.eval_literal(node, kind)

    def eval_literal(self, node: Argument, kind: str | None) -> Any:
        if kind in (None, "any", "value"):
            if isinstance(node, BoolNode):
                return node.value
            if isinstance(node, StringNode):
                return node.text
            if isinstance(node, NumberNode):
                return self.ideal_constant(node)
        elif kind == "string" and isinstance(node, StringNode):
            return node.text
        elif kind == "bool" and isinstance(node, BoolNode):
            return node.value
        elif kind in ("int", "int64") and isinstance(node, NumberNode) and node.int_value is not None:
            return node.int_value if kind == "int" else GoInt64(node.int_value)
        elif kind == "float64" and isinstance(node, NumberNode) and node.float_value is not None:
            return node.float_value
        elif kind == "duration" and isinstance(node, NumberNode) and node.int_value is not None:
            return timedelta(microseconds=node.int_value // 1000)
        expected = {"string": "string", "bool": "bool", "int": "integer", "int64": "integer", "float64": "float"}
        expected["duration"] = "integer"
        if kind in expected:
            raise self.error(f"expected {expected[kind]}; found {node.source()}")
        raise self.error(f"can't handle {node.source()} for arg of type {KIND_TYPE_NAMES.get(kind or 'any')}")

    def validate(self, value: Any, kind: str | None) -> Any:
        """Go's validateType: is `value` assignable to a parameter of `kind`?"""
        if kind is None or kind == "value":
            return value
        if value is NO_VALUE:
            if kind in ("any", "map"):
                return None
            raise self.error(f"invalid value; expected {KIND_TYPE_NAMES[kind]}")
        if kind == "any" or is_assignable(value, kind):
            return value
        raise self.error(f"wrong type for value; expected {KIND_TYPE_NAMES[kind]}; got {go_type_name(value)}")
