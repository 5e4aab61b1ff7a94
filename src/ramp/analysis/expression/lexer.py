"""Splits a condition into tokens: numbers, strings, names, operators, brackets and `#` pointers.

Follows the token rules of expr-lang (https://expr-lang.org/docs/language-definition): `_` inside numbers, hex,
octal and binary integers, `1e3` floats, Go string escapes in '...' and "...", raw `...` strings, `//` and `/* */`
comments, and the word operators (`and`, `or`, `not`, `in`, `matches`, `contains`, `startsWith`, `endsWith`,
`let`). Used by `parser`; errors are `errors.ExpressionError` with the column of the bad character.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ramp.analysis.expression.errors import ExpressionError

NUMBER: Final = "number"
STRING: Final = "string"
NAME: Final = "name"
OPERATOR: Final = "operator"
BRACKET: Final = "bracket"
POINTER: Final = "pointer"
END: Final = "end"

WORD_OPERATORS: Final = frozenset({"and", "or", "not", "in", "matches", "contains", "startsWith", "endsWith", "let"})

# Longest first, so that `??` wins over `?` and `**` over `*`.
_SYMBOLS: Final = (
    "??", "?.", "..", "**", "&&", "||", "==", "!=", "<=", ">=",
    "?", ".", "*", "|", "=", "!", "<", ">", "+", "-", "/", "%", "^", ",", ":", ";",
)  # fmt: skip
_BRACKETS: Final = frozenset("()[]{}")
_SPACE: Final = frozenset(" \t\r\n")
_SIMPLE_ESCAPES: Final = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"',
}  # fmt: skip
_HEX_ESCAPE_LENGTHS: Final = {"x": 2, "u": 4, "U": 8}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    offset: int
    value: Any = None

    @property
    def column(self) -> int:
        return self.offset + 1

    def is_(self, kind: str, text: str) -> bool:
        return self.kind == kind and self.text == text


def is_name_character(char: str) -> bool:
    return char.isalnum() or char in "_$"


def tokenize(source: str) -> list[Token]:
    """The tokens of `source`, ending with an END token at the offset just past the source."""
    tokens: list[Token] = []
    position = 0
    length = len(source)
    while position < length:
        char = source[position]
        if char in _SPACE:
            position += 1
        elif source.startswith("//", position):
            newline = source.find("\n", position)
            position = length if newline < 0 else newline + 1
        elif source.startswith("/*", position):
            close = source.find("*/", position + 2)
            if close < 0:
                raise ExpressionError("unclosed comment", position + 1, source)
            position = close + 2
        elif char.isdigit() or (char == "." and position + 1 < length and source[position + 1].isdigit()):
            position = _scan_number(source, position, tokens)
        elif char in "'\"":
            position = _scan_string(source, position, tokens)
        elif char == "`":
            close = source.find("`", position + 1)
            if close < 0:
                raise ExpressionError("literal not terminated", position + 1, source)
            tokens.append(Token(STRING, source[position : close + 1], position, source[position + 1 : close]))
            position = close + 1
        elif char == "#":
            end = position + 1
            while end < length and is_name_character(source[end]):
                end += 1
            tokens.append(Token(POINTER, source[position:end], position, source[position + 1 : end]))
            position = end
        elif char.isalpha() or char in "_$":
            end = position + 1
            while end < length and is_name_character(source[end]):
                end += 1
            word = source[position:end]
            tokens.append(Token(OPERATOR if word in WORD_OPERATORS else NAME, word, position))
            position = end
        elif char in _BRACKETS:
            tokens.append(Token(BRACKET, char, position))
            position += 1
        else:
            symbol = next((s for s in _SYMBOLS if source.startswith(s, position)), None)
            if symbol is None:
                raise ExpressionError(f"unexpected character {char!r}", position + 1, source)
            tokens.append(Token(OPERATOR, symbol, position))
            position += len(symbol)
    tokens.append(Token(END, "", length))
    return tokens


def _scan_number(source: str, start: int, tokens: list[Token]) -> int:
    length = len(source)
    position = start
    digits = "0123456789_"
    base = 10
    prefix = source[start : start + 2].lower()
    if prefix in ("0x", "0o", "0b"):
        base = {"0x": 16, "0o": 8, "0b": 2}[prefix]
        digits = {16: "0123456789abcdefABCDEF_", 8: "01234567_", 2: "01_"}[base]
        position += 2
    while position < length and source[position] in digits:
        position += 1
    is_float = False
    # `1..3` is a range: the dot belongs to the `..` operator, not to the number.
    if base == 10 and position < length and source[position] == "." and not source.startswith("..", position):
        is_float = True
        position += 1
        while position < length and source[position] in digits:
            position += 1
    if base == 10 and position < length and source[position] in "eE":
        is_float = True
        position += 1
        if position < length and source[position] in "+-":
            position += 1
        while position < length and source[position] in digits:
            position += 1
    text = source[start:position]
    if position < length and is_name_character(source[position]):
        raise ExpressionError(f"bad number syntax: {source[start : position + 1]!r}", start + 1, source)
    cleaned = text.replace("_", "")
    try:
        value: int | float
        if base != 10:
            value = int(cleaned[2:], base)
        elif is_float:
            value = float(cleaned)
        else:
            value = int(cleaned)
    except ValueError:
        raise ExpressionError(f"bad number syntax: {text!r}", start + 1, source) from None
    tokens.append(Token(NUMBER, text, start, value))
    return position


def _scan_string(source: str, start: int, tokens: list[Token]) -> int:
    quote = source[start]
    parts: list[str] = []
    position = start + 1
    length = len(source)
    while True:
        if position >= length:
            raise ExpressionError("literal not terminated", start + 1, source)
        char = source[position]
        if char == quote:
            break
        if char != "\\":
            parts.append(char)
            position += 1
            continue
        escape = source[position + 1 : position + 2]
        if escape in _SIMPLE_ESCAPES:
            parts.append(_SIMPLE_ESCAPES[escape])
            position += 2
        elif escape in _HEX_ESCAPE_LENGTHS:
            size = _HEX_ESCAPE_LENGTHS[escape]
            parts.append(_decode_code_point(source, position, source[position + 2 : position + 2 + size], 16, size))
            position += 2 + size
        elif escape and escape in "01234567":
            parts.append(_decode_code_point(source, position, source[position + 1 : position + 4], 8, 3))
            position += 4
        else:
            raise ExpressionError("invalid char escape", position + 1, source)
    tokens.append(Token(STRING, source[start : position + 1], start, "".join(parts)))
    return position + 1


def _decode_code_point(source: str, position: int, digits: str, base: int, size: int) -> str:
    try:
        if len(digits) != size:
            raise ValueError(digits)
        return chr(int(digits, base))
    except ValueError:
        raise ExpressionError("invalid char escape", position + 1, source) from None
