"""Semantic versions for flagd's `sem_ver` operator: = != < <= > >= and ^ (same major) ~ (same major.minor)."""

from __future__ import annotations

import functools
import re

_SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)

Version = tuple[int, int, int, tuple[tuple[int, int | str], ...] | None]


class SemverError(ValueError):
    """Not a semantic version, or an unknown operator."""


@functools.lru_cache(maxsize=4096)
def parse(text: str) -> Version:
    """`v1.2.3-rc.1+build` -> (1, 2, 3, prerelease identifiers or None); missing minor/patch are 0.

    Memoized (a bounded cache): a rule's constant side, and the few versions clients run, are parsed once.
    """
    match = _SEMVER.match(text.strip())
    if match is None:
        raise SemverError(f"{text!r} is not a semantic version")
    major, minor, patch, pre = match.groups()
    identifiers = None
    if pre is not None:
        identifiers = tuple((0, int(part)) if part.isdigit() else (1, part) for part in pre.split("."))
    return int(major), int(minor or 0), int(patch or 0), identifiers


def _key(version: Version) -> tuple[object, ...]:
    major, minor, patch, pre = version
    # A release sorts after all of its prereleases.
    return (major, minor, patch, (1,) if pre is None else (0, pre))


def compare_semver(left: str, operator: str, right: str) -> bool:
    """`left operator right`; raises SemverError on a bad version or operator."""
    a, b = parse(left), parse(right)
    ka, kb = _key(a), _key(b)
    if operator == "=":
        return ka == kb
    if operator == "!=":
        return ka != kb
    if operator == "<":
        return ka < kb
    if operator == "<=":
        return ka <= kb
    if operator == ">":
        return ka > kb
    if operator == ">=":
        return ka >= kb
    if operator == "^":
        return a[0] == b[0]
    if operator == "~":
        return a[0] == b[0] and a[1] == b[1]
    raise SemverError(f"sem_ver operator {operator!r} is not one of = != < <= > >= ^ ~")
