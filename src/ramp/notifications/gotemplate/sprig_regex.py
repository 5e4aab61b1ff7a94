"""Sprig's regular-expression functions on RE2 (Go's regexp syntax, linear time, a memory cap per pattern):
regexMatch regexFind regexFindAll regexReplaceAll regexReplaceAllLiteral regexSplit regexQuoteMeta and the
must* forms. Matching follows Go's rules for successive matches (an empty match right after a match is skipped)
and replacement templates expand `$1`, `${1}`, `$name`, `$$` as Go's Regexp.Expand does.

Used by `functions`.
"""

from __future__ import annotations

import functools
from typing import Any, Final

import re2

from ramp.notifications.gotemplate.sprig_strings import MAX_STRING
from ramp.notifications.gotemplate.values import FuncError, GoFunc, StringList

MAX_PATTERN_LENGTH: Final = 4096
_MAX_MEMORY: Final = 8 << 20


class _BadPattern(Exception):
    pass


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> Any:
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise _BadPattern(f"pattern of {len(pattern)} characters exceeds the limit of {MAX_PATTERN_LENGTH}")
    options = re2.Options()
    options.log_errors = False
    options.max_mem = _MAX_MEMORY
    try:
        return re2.compile(pattern, options=options)
    except re2.error as error:
        raise _BadPattern(f"error parsing regexp: {_go_regexp_message(error)}") from None


_GO_CODES: Final = {
    "missing )": "missing closing )",
    "missing ]": "missing closing ]",
    "unexpected )": "unexpected )",
    "no argument for repetition operator": "missing argument to repetition operator",
    "bad repetition operator": "invalid nested repetition operator",
    "invalid escape sequence": "invalid escape sequence",
    "trailing \\": "trailing backslash at end of expression",
    "invalid character class range": "invalid character class range",
    "invalid character class": "invalid character class",
    "invalid perl operator": "invalid or unsupported Perl syntax",
    "invalid named capture group": "invalid named capture",
}


def _go_regexp_message(error: Exception) -> str:
    """RE2's message ("missing ): (") in Go's words ("missing closing ): `(`")."""
    raw = error.args[0] if error.args else str(error)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    code, separator, fragment = text.partition(": ")
    if not separator:
        return text
    return f"{_GO_CODES.get(code, code)}: `{fragment}`"


def _must_compile(pattern: str) -> Any:
    try:
        return _compile(pattern)
    except _BadPattern as error:
        raise FuncError(f"regexp: Compile(`{pattern}`): {error}") from None


def _find_all(compiled: Any, text: str, limit: int) -> list[Any]:
    matches: list[Any] = []
    position = 0
    previous_end = -1
    while position <= len(text) and (limit < 0 or len(matches) < limit):
        match = compiled.search(text, position)
        if match is None:
            break
        start, end = match.span()
        if start == end and start == previous_end:
            position = start + 1
            continue
        matches.append(match)
        previous_end = end
        position = end if end > start else end + 1
    return matches


def _expand(template: str, match: Any, names: dict[str, int], groups: int) -> str:
    out: list[str] = []
    rest = template
    while True:
        before, dollar, after = rest.partition("$")
        out.append(before)
        if not dollar:
            return "".join(out)
        if after.startswith("$"):
            out.append("$")
            rest = after[1:]
            continue
        brace = after.startswith("{")
        body = after[1:] if brace else after
        length = 0
        while length < len(body) and (body[length].isalnum() or body[length] == "_"):
            length += 1
        name = body[:length]
        if not name or (brace and (length >= len(body) or body[length] != "}")):
            out.append("$")
            rest = after
            continue
        rest = body[length + 1 :] if brace else body[length:]
        group: int | None = None
        if name.isdigit() and name.isascii() and not (name[0] == "0" and len(name) > 1):
            group = int(name)
        elif name in names:
            group = names[name]
        if group is not None and group <= groups and match.start(group) >= 0:
            out.append(match.group(group))


def _replace(pattern: str, text: str, replacement: str, *, literal: bool) -> str:
    compiled = _must_compile(pattern)
    out: list[str] = []
    size = 0
    last = 0
    names = dict(compiled.groupindex)
    for match in _find_all(compiled, text, -1):
        start, end = match.span()
        piece = replacement if literal else _expand(replacement, match, names, compiled.groups)
        out.append(text[last:start])
        out.append(piece)
        size += start - last + len(piece)
        if size > MAX_STRING:
            raise FuncError(f"result exceeds the limit of {MAX_STRING} characters")
        last = end
    out.append(text[last:])
    return "".join(out)


def _split(pattern: str, text: str, limit: int) -> StringList:
    compiled = _must_compile(pattern)
    if limit == 0:
        return StringList()
    if pattern and not text:
        return StringList([""])
    parts = StringList()
    begin = end = 0
    for match in _find_all(compiled, text, limit):
        if limit > 0 and len(parts) == limit - 1:
            break
        end = match.start()
        if match.end() != 0:
            parts.append(text[begin:end])
        begin = match.end()
    if end != len(text):
        parts.append(text[begin:])
    return parts


def _find(pattern: str, text: str) -> str:
    match = _must_compile(pattern).search(text)
    return "" if match is None else str(match.group(0))


def _find_all_strings(pattern: str, text: str, limit: int) -> StringList:
    return StringList(match.group(0) for match in _find_all(_must_compile(pattern), text, limit))


def _match(pattern: str, text: str) -> bool:
    return _must_compile(pattern).search(text) is not None


def _lenient_match(pattern: str, text: str) -> bool:
    try:
        return _match(pattern, text)
    except FuncError:
        return False


def _quote_meta(text: str) -> str:
    special = set("\\.+*?()|[]{}^$")
    return "".join("\\" + char if char in special else char for char in text)


REGEX_FUNCTIONS: dict[str, GoFunc] = {
    "regexMatch": GoFunc("regexMatch", _lenient_match, ("string", "string")),
    "mustRegexMatch": GoFunc("mustRegexMatch", _match, ("string", "string")),
    "regexFind": GoFunc("regexFind", _find, ("string", "string")),
    "mustRegexFind": GoFunc("mustRegexFind", _find, ("string", "string")),
    "regexFindAll": GoFunc("regexFindAll", _find_all_strings, ("string", "string", "int")),
    "mustRegexFindAll": GoFunc("mustRegexFindAll", _find_all_strings, ("string", "string", "int")),
    "regexReplaceAll": GoFunc(
        "regexReplaceAll",
        lambda pattern, text, repl: _replace(pattern, text, repl, literal=False),
        ("string", "string", "string"),
    ),
    "mustRegexReplaceAll": GoFunc(
        "mustRegexReplaceAll",
        lambda pattern, text, repl: _replace(pattern, text, repl, literal=False),
        ("string", "string", "string"),
    ),
    "regexReplaceAllLiteral": GoFunc(
        "regexReplaceAllLiteral",
        lambda pattern, text, repl: _replace(pattern, text, repl, literal=True),
        ("string", "string", "string"),
    ),
    "mustRegexReplaceAllLiteral": GoFunc(
        "mustRegexReplaceAllLiteral",
        lambda pattern, text, repl: _replace(pattern, text, repl, literal=True),
        ("string", "string", "string"),
    ),
    "regexSplit": GoFunc("regexSplit", _split, ("string", "string", "int")),
    "mustRegexSplit": GoFunc("mustRegexSplit", _split, ("string", "string", "int")),
    "regexQuoteMeta": GoFunc("regexQuoteMeta", _quote_meta, ("string",)),
}
"""Sprig's regular-expression functions by name."""
