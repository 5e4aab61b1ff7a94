"""The builtins that take a closure: all, any, none, one, filter, map, count, sum, find, findIndex, findLast,
findLastIndex, as expr-lang defines them (`all` of nothing is true, `any` of nothing is false, `one` wants exactly
one match, `count` and `sum` take the closure optionally).

Each gets the evaluated array, the compiled closure (`scope.Evaluate`, or None when omitted) and the caller's
scope; inside the closure `#` is the element and `#index` its position. A closure that must decide (all, filter,
count, find, ...) must give true or false. Raises `errors.OperationError`; `compiler` adds the column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final, NoReturn

from ramp.analysis.expression.errors import OperationError
from ramp.analysis.expression.operators import add
from ramp.analysis.expression.scope import Evaluate, Scope
from ramp.analysis.expression.values import is_array, name_type

PredicateBuiltin = Callable[[Any, Evaluate | None, Scope], Any]


def _walk(name: str, items: Any, closure: Evaluate, scope: Scope) -> Iterator[tuple[Any, Any]]:
    """(element, closure result) for each element, in order; stops when the caller stops."""
    if not is_array(items):
        raise OperationError(f"{name}() expects an array, got {name_type(items)}")
    inner = scope.enter_predicate()
    for index, item in enumerate(items):
        inner.element = item
        inner.index = index
        yield item, closure(inner)


def _decide(name: str, outcome: Any) -> bool:
    if outcome is True or outcome is False:
        return outcome
    raise OperationError(f"the closure of {name}() must give true or false, got {name_type(outcome)}")


def _require_closure(name: str, closure: Evaluate | None) -> Evaluate:
    if closure is None:
        raise OperationError(f"{name}() needs a closure")
    return closure


def check_all(items: Any, closure: Evaluate | None, scope: Scope) -> bool:
    return all(_decide("all", outcome) for _, outcome in _walk("all", items, _require_closure("all", closure), scope))


def check_any(items: Any, closure: Evaluate | None, scope: Scope) -> bool:
    return any(_decide("any", outcome) for _, outcome in _walk("any", items, _require_closure("any", closure), scope))


def check_none(items: Any, closure: Evaluate | None, scope: Scope) -> bool:
    walk = _walk("none", items, _require_closure("none", closure), scope)
    return not any(_decide("none", outcome) for _, outcome in walk)


def check_one(items: Any, closure: Evaluate | None, scope: Scope) -> bool:
    walk = _walk("one", items, _require_closure("one", closure), scope)
    return sum(1 for _, outcome in walk if _decide("one", outcome)) == 1


def filter_items(items: Any, closure: Evaluate | None, scope: Scope) -> list[Any]:
    walk = _walk("filter", items, _require_closure("filter", closure), scope)
    return [item for item, outcome in walk if _decide("filter", outcome)]


def map_items(items: Any, closure: Evaluate | None, scope: Scope) -> list[Any]:
    return [outcome for _, outcome in _walk("map", items, _require_closure("map", closure), scope)]


def count_items(items: Any, closure: Evaluate | None, scope: Scope) -> int:
    """Elements for which the closure holds; without a closure, elements that are true."""
    walk = _walk("count", items, closure or _read_element, scope)
    return sum(1 for _, outcome in walk if _decide("count", outcome))


def sum_items(items: Any, closure: Evaluate | None, scope: Scope) -> Any:
    total: Any = 0
    for _, outcome in _walk("sum", items, closure or _read_element, scope):
        total = add(total, outcome)
        if isinstance(total, str):
            scope.budget.built(total)  # each + copies the string built so far
    return total


def find_item(items: Any, closure: Evaluate | None, scope: Scope) -> Any:
    walk = _walk("find", items, _require_closure("find", closure), scope)
    return next((item for item, outcome in walk if _decide("find", outcome)), None)


def find_item_index(items: Any, closure: Evaluate | None, scope: Scope) -> int:
    walk = _walk("findIndex", items, _require_closure("findIndex", closure), scope)
    return next((index for index, (_, outcome) in enumerate(walk) if _decide("findIndex", outcome)), -1)


def find_last_item(items: Any, closure: Evaluate | None, scope: Scope) -> Any:
    if not is_array(items):
        _fail_array("findLast", items)
    return find_item(list(reversed(items)), closure, scope)


def find_last_item_index(items: Any, closure: Evaluate | None, scope: Scope) -> int:
    if not is_array(items):
        _fail_array("findLastIndex", items)
    index = find_item_index(list(reversed(items)), closure, scope)
    return index if index < 0 else len(items) - 1 - index


def _fail_array(name: str, items: Any) -> NoReturn:
    raise OperationError(f"{name}() expects an array, got {name_type(items)}")


def _read_element(scope: Scope) -> Any:
    return scope.element


PREDICATE_BUILTINS: Final[dict[str, PredicateBuiltin]] = {
    "all": check_all,
    "any": check_any,
    "none": check_none,
    "one": check_one,
    "filter": filter_items,
    "map": map_items,
    "count": count_items,
    "sum": sum_items,
    "find": find_item,
    "findIndex": find_item_index,
    "findLast": find_last_item,
    "findLastIndex": find_last_item_index,
}
