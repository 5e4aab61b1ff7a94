"""Sprig's `semverCompare CONSTRAINT VERSION` with the rules of Masterminds/semver v3.3 (the library sprig uses):
versions with an optional "v" and optional minor and patch ("1.2" is 1.2.0), constraints joined by "," or spaces
(and) and "||" (or), operators = != > < >= => <= =< ~ ~> ^, wildcards x X * and hyphen ranges ("1.2 - 1.4.5"),
and a prerelease version matching only constraints that name a prerelease.

The patterns run on RE2 (linear time, as Go's regexp), and a constraint is capped in length.

Used by `functions`. (`semver`, which returns a Version object with methods, is not provided.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import re2

from ramp.notifications.gotemplate.values import FuncError, GoFunc

MAX_CONSTRAINT_LENGTH: Final = 1024
_VERSION_PART: Final = (
    r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
)
_CONSTRAINT_VERSION: Final = (
    r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
)
_OPS: Final = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"


def _compile(pattern: str) -> Any:
    options = re2.Options()
    options.log_errors = False
    return re2.compile(pattern, options=options)


_VERSION: Final = _compile("^" + _VERSION_PART + "$")
_CONSTRAINT: Final = _compile(rf"^\s*({_OPS})\s*({_CONSTRAINT_VERSION})\s*$")
_RANGE: Final = _compile(rf"\s*({_CONSTRAINT_VERSION})\s+-\s+({_CONSTRAINT_VERSION})\s*")
_FIND: Final = _compile(rf"({_OPS})\s*({_CONSTRAINT_VERSION})")
_VALID: Final = _compile(
    rf"^(\s*({_OPS})\s*({_CONSTRAINT_VERSION})\s*)((?:\s+|,\s*)({_OPS})\s*({_CONSTRAINT_VERSION})\s*)*$",
)


@dataclass(frozen=True)
class _Version:
    major: int
    minor: int
    patch: int
    pre: str


@dataclass(frozen=True)
class _Constraint:
    op: str
    version: _Version
    dirty: bool
    minor_dirty: bool
    patch_dirty: bool


def _parse_version(text: str) -> _Version:
    match = _VERSION.match(text)
    if match is None:
        raise FuncError("Invalid Semantic Version")
    pre = match.group(5) or ""
    for part in pre.split(".") if pre else ():
        if part.isdigit() and len(part) > 1 and part[0] == "0":
            raise FuncError("Version segment starts with 0")
    major = int(match.group(1))
    minor = int((match.group(2) or ".0")[1:])
    patch = int((match.group(3) or ".0")[1:])
    if max(major, minor, patch) >= 1 << 64:
        raise FuncError("Error parsing version segment: value out of range")
    return _Version(major, minor, patch, pre)


def _compare_part(mine: str, other: str) -> int:
    if mine == other:
        return 0
    if mine == "":
        return -1
    if other == "":
        return 1
    mine_number, other_number = mine.isdigit(), other.isdigit()
    if not mine_number and not other_number:
        return 1 if mine > other else -1
    if not other_number:
        return -1
    if not mine_number:
        return 1
    return 1 if int(mine) > int(other) else -1


def _compare_prerelease(mine: str, other: str) -> int:
    mine_parts, other_parts = mine.split("."), other.split(".")
    for index in range(max(len(mine_parts), len(other_parts))):
        result = _compare_part(
            mine_parts[index] if index < len(mine_parts) else "",
            other_parts[index] if index < len(other_parts) else "",
        )
        if result:
            return result
    return 0


def _compare(mine: _Version, other: _Version) -> int:
    for a, b in ((mine.major, other.major), (mine.minor, other.minor), (mine.patch, other.patch)):
        if a != b:
            return -1 if a < b else 1
    if mine.pre == other.pre == "":
        return 0
    if mine.pre == "":
        return 1
    if other.pre == "":
        return -1
    return _compare_prerelease(mine.pre, other.pre)


def _is_wild(text: str) -> bool:
    return text in ("x", "X", "*")


def _parse_constraint(text: str) -> _Constraint:
    if not text:
        return _Constraint("", _Version(0, 0, 0, ""), True, False, False)
    match = _CONSTRAINT.match(text)
    if match is None:
        raise FuncError(f"improper constraint: {text}")
    major, minor, patch, tail = match.group(3), match.group(4) or "", match.group(5) or "", match.group(6) or ""
    dirty = minor_dirty = patch_dirty = False
    version = match.group(2)
    if _is_wild(major) or major == "":
        version, dirty = f"0.0.0{tail}", True
    elif _is_wild(minor.removeprefix(".")) or minor == "":
        version, dirty, minor_dirty = f"{major}.0.0{tail}", True, True
    elif _is_wild(patch.removeprefix(".")) or patch == "":
        version, dirty, patch_dirty = f"{major}{minor}.0{tail}", True, True
    try:
        parsed = _parse_version(version)
    except FuncError:
        raise FuncError("constraint Parser Error") from None
    return _Constraint(match.group(1), parsed, dirty, minor_dirty, patch_dirty)


def _tilde(version: _Version, constraint: _Constraint) -> bool:
    con = constraint.version
    if _compare(version, con) < 0:
        return False
    if (con.major, con.minor, con.patch) == (0, 0, 0) and not constraint.minor_dirty and not constraint.patch_dirty:
        return True
    if version.major != con.major:
        return False
    return version.minor == con.minor or constraint.minor_dirty


def _not_equal(version: _Version, constraint: _Constraint) -> bool:
    con = constraint.version
    if constraint.dirty:
        if version.pre and not con.pre:
            return False
        if con.major != version.major:
            return True
        if con.minor != version.minor and not constraint.minor_dirty:
            return True
        if constraint.minor_dirty:
            return False
        if con.patch != version.patch and not constraint.patch_dirty:
            return True
        if constraint.patch_dirty:
            if version.pre or con.pre:
                return _compare_prerelease(version.pre, con.pre) != 0
            return False
    return _compare(version, con) != 0


def _greater(version: _Version, constraint: _Constraint) -> bool:
    con = constraint.version
    if not constraint.dirty:
        return _compare(version, con) == 1
    if version.major != con.major:
        return version.major > con.major
    if constraint.minor_dirty:
        return False
    if constraint.patch_dirty:
        return version.minor > con.minor
    return _compare(version, con) == 1


def _less_equal(version: _Version, constraint: _Constraint) -> bool:
    con = constraint.version
    if not constraint.dirty:
        return _compare(version, con) <= 0
    if version.major > con.major:
        return False
    return not (version.major == con.major and version.minor > con.minor and not constraint.minor_dirty)


def _caret(version: _Version, constraint: _Constraint) -> bool:
    con = constraint.version
    if _compare(version, con) < 0:
        return False
    if con.major > 0 or constraint.minor_dirty:
        return version.major == con.major
    if version.major > 0:
        return False
    if con.minor > 0 or constraint.patch_dirty:
        return version.minor == con.minor
    if version.minor > 0:
        return False
    return con.patch == version.patch


def _check(version: _Version, constraint: _Constraint) -> bool:
    op = constraint.op
    if op != "!=" and version.pre and not constraint.version.pre:
        return False  # a prerelease matches only constraints that name one
    if op in ("", "="):
        return _tilde(version, constraint) if constraint.dirty else _compare(version, constraint.version) == 0
    if op == "!=":
        return _not_equal(version, constraint)
    if op == ">":
        return _greater(version, constraint)
    if op == "<":
        return _compare(version, constraint.version) < 0
    if op in (">=", "=>"):
        return _compare(version, constraint.version) >= 0
    if op in ("<=", "=<"):
        return _less_equal(version, constraint)
    if op in ("~", "~>"):
        return _tilde(version, constraint)
    return _caret(version, constraint)


def _rewrite_ranges(text: str) -> str:
    out = text
    for match in _RANGE.finditer(text):
        out = out.replace(match.group(0), f">= {match.group(1)}, <= {match.group(11)} ", 1)
    return out


def semver_compare(constraint_text: str, version_text: str) -> bool:
    """True when `version_text` satisfies `constraint_text`; FuncError worded as Masterminds/semver's."""
    if len(constraint_text) > MAX_CONSTRAINT_LENGTH or len(version_text) > MAX_CONSTRAINT_LENGTH:
        raise FuncError(f"constraint or version longer than {MAX_CONSTRAINT_LENGTH} characters")
    alternatives: list[list[_Constraint]] = []
    for part in _rewrite_ranges(constraint_text).split("||"):
        if _VALID.match(part) is None:
            raise FuncError(f"improper constraint: {part}")
        found = [match.group(0) for match in _FIND.finditer(part)] or [part]
        alternatives.append([_parse_constraint(text) for text in found])
    version = _parse_version(version_text)
    return any(all(_check(version, constraint) for constraint in group) for group in alternatives)


SEMVER_FUNCTIONS: dict[str, GoFunc] = {
    "semverCompare": GoFunc("semverCompare", semver_compare, ("string", "string")),
}
"""Sprig's semver functions Ramp provides."""
