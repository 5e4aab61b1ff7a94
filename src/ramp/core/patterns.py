"""Regular expressions a user writes (a condition's `matches`, dryRun and measurementRetention `metricName`),
compiled with RE2: the syntax of Go's regexp, which upstream Argo Rollouts uses, and matching in time linear in
the text, so no pattern can stall the controller by backtracking (Python's `re` takes seconds on `^(a+)+$`).

`compile_pattern(text, field)` gives a `UserPattern` or raises `PatternError` naming the field: for syntax RE2
refuses (backreferences, lookarounds), a pattern longer than `MAX_PATTERN_LENGTH`, a repetition count above
RE2's 1000 (`a{99999999999}` too, which RE2 would quietly read as literal text) or a program over RE2's memory cap.

Pure: no I/O. Used by `ramp.analysis.expression` and `ramp.analysis.assessment` / `metrics`.
"""

from __future__ import annotations

import functools
from typing import Any, Final

import re2

MAX_PATTERN_LENGTH: Final = 1024
"""Characters in one user pattern; a metric name pattern or a condition's regex needs far fewer."""
MAX_REPEAT: Final = 1000
"""RE2's own limit on `{n}` and `{n,m}`."""
_MAX_MEMORY: Final = 1 << 20  # bytes of compiled program per pattern


class PatternError(ValueError):
    """A user pattern RE2 cannot or will not run; the message names the field."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every refused pattern to stderr
    options.max_mem = _MAX_MEMORY
    return options


_REPEAT = re2.compile(r"\{([0-9]+)(?:,([0-9]*))?\}", options=_options())


class UserPattern:
    """A compiled user pattern; `search` matches anywhere in the text, as Go's regexp.MatchString."""

    __slots__ = ("_compiled", "source")

    def __init__(self, source: str, compiled: Any) -> None:
        self.source = source
        self._compiled = compiled

    def __repr__(self) -> str:
        return f"UserPattern({self.source!r})"

    def search(self, text: str) -> bool:
        if not text.isascii():
            text = _valid_utf8(text)
        return self._compiled.search(text) is not None


def _valid_utf8(text: str) -> str:
    """`text` with lone surrogates (which JSON can carry and UTF-8 cannot) replaced, as Go reads invalid UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def compile_pattern(text: str, field: str) -> UserPattern:
    """`text` compiled with RE2; PatternError naming `field` when RE2 refuses it or it is out of bounds.

    >>> compile_pattern("^canary-[a-z]+$", "metricName").search("canary-web")
    True
    """
    return _compile(text, field)


@functools.lru_cache(maxsize=256)
def _compile(text: str, field: str) -> UserPattern:
    if len(text) > MAX_PATTERN_LENGTH:
        raise PatternError(
            f"{field}: regular expression is {len(text)} characters long; at most {MAX_PATTERN_LENGTH} are allowed"
        )
    readable = _valid_utf8(text)
    for match in _REPEAT.finditer(readable):
        for count in match.groups():
            if count and (len(count) > 4 or int(count) > MAX_REPEAT):
                raise PatternError(
                    f"{field}: invalid regular expression {_shorten(text)}: repetition count "
                    f"{_shorten(count)} is above {MAX_REPEAT}"
                )
    try:
        return UserPattern(text, re2.compile(readable, options=_options()))
    except re2.error as error:
        reason = error.args[0] if error.args else ""
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(
            f"{field}: invalid regular expression {_shorten(text)}: {reason or 'refused by RE2'}"
        ) from None


def _shorten(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
