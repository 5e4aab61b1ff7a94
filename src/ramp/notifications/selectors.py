"""Label selectors written as text, as the `selector` of a global subscription (the `subscriptions` key of the
notifications ConfigMap) writes them: Kubernetes' selector syntax (`app=web,tier!=db`, `env in (a,b)`,
`env notin (c)`, `canary`, `!canary`), every requirement must hold. Used by `config` (parse) and
`subscriptions` (match).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

_NAME: Final = r"(?:[A-Za-z0-9.\-]+/)?[A-Za-z0-9]([A-Za-z0-9_.\-]*[A-Za-z0-9])?"
_VALUE: Final = r"(?:[A-Za-z0-9]([A-Za-z0-9_.\-]*[A-Za-z0-9])?)?"
_SET: Final = re.compile(rf"\s*({_NAME})\s+(in|notin)\s+\(([^()]*)\)\s*")
_EQUALS: Final = re.compile(rf"\s*({_NAME})\s*(==|=|!=)\s*({_VALUE})\s*")
_EXISTS: Final = re.compile(rf"\s*(!?)\s*({_NAME})\s*")
_VALUE_ONLY: Final = re.compile(_VALUE)


class SelectorError(ValueError):
    """A selector that does not parse; the message names the bad part."""


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "in", "notin", "exists", "!"
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.operator == "exists":
            return self.key in labels
        if self.operator == "!":
            return self.key not in labels
        if self.operator == "in":
            return self.key in labels and labels[self.key] in self.values
        return self.key not in labels or labels[self.key] not in self.values


@dataclass(frozen=True)
class LabelSelector:
    """Every requirement must hold; the empty selector matches everything."""

    text: str
    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(requirement.matches(labels) for requirement in self.requirements)


def parse_label_selector(text: str) -> LabelSelector:
    """`text` as a selector; SelectorError naming the part that is not one.

    >>> parse_label_selector("app=web, env in (prod,stage)").matches({"app": "web", "env": "prod"})
    True
    >>> parse_label_selector("").matches({"any": "thing"})
    True
    """
    requirements: list[Requirement] = []
    for part in _split(text):
        requirements.append(_parse_requirement(part))
    return LabelSelector(text, tuple(requirements))


def _split(text: str) -> list[str]:
    """Requirements separated by commas outside parentheses."""
    parts: list[str] = []
    depth, start = 0, 0
    for index, character in enumerate(text):
        if character == "(":
            depth += 1
        elif character == ")":
            depth -= 1
        elif character == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    last = text[start:]
    if last.strip() or parts:
        parts.append(last)
    return parts


def _parse_requirement(part: str) -> Requirement:
    if match := _SET.fullmatch(part):
        values = [value.strip() for value in match.group(4).split(",")]
        for value in values:
            if not _VALUE_ONLY.fullmatch(value):
                raise SelectorError(f"{part.strip()!r}: {value!r} is not a label value")
        return Requirement(match.group(1), match.group(3), frozenset(values))
    if match := _EQUALS.fullmatch(part):
        operator = "notin" if match.group(3) == "!=" else "in"
        return Requirement(match.group(1), operator, frozenset({match.group(4)}))
    if match := _EXISTS.fullmatch(part):
        return Requirement(match.group(2), "!" if match.group(1) else "exists")
    raise SelectorError(
        f"{part.strip()!r} is not a label requirement (write key=value, key!=value, key in (a,b), key notin (a,b), "
        "key or !key)"
    )
