"""Sprig's case conversions, which come from huandu/xstrings v1.5: snakecase and kebabcase (split into words of
upper-case runs, lower-case runs, numbers, connectors and punctuation, then joined lower-case:
"HTTPServer" -> "http_server", "checkout-v2" -> "checkout_v2", "Bld4Floor" -> "bld4_floor", "api.v1" stays) and
camelcase (xstrings' ToPascalCase: "http_server" -> "HttpServer").

Used by `sprig_strings`.
"""

from __future__ import annotations

import enum
import unicodedata


class _Word(enum.Enum):
    INVALID = 0
    NUMBER = 1
    UPPER = 2
    ALPHABET = 3
    CONNECTOR = 4
    PUNCT = 5
    OTHER = 6


def _is_connector(char: str) -> bool:
    return char in "-_" or char.isspace()


def _is_punct(char: str) -> bool:
    return unicodedata.category(char).startswith("P")


def _is_number(char: str) -> bool:
    return unicodedata.category(char).startswith("N")


def _is_alphabet(char: str) -> bool:
    """A letter that is not a CJK ideograph (xstrings treats those as words of their own)."""
    if not char.isalpha():
        return False
    code = ord(char)
    return not (0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x2FFFF)


def _run(text: str, index: int, keep: object) -> int:
    while index < len(text) and keep(text[index]):  # type: ignore[operator]
        index += 1
    return index


def _next_word(text: str, start: int) -> tuple[_Word, int]:
    """The kind of the word at `start` and where it ends."""
    char = text[start]
    if _is_connector(char):
        return _Word.CONNECTOR, _run(text, start + 1, _is_connector)
    if _is_punct(char):
        return _Word.PUNCT, _run(text, start + 1, _is_punct)
    if char.isupper():
        index = start + 1
        if index >= len(text):
            return _Word.UPPER, index
        if text[index].isupper():
            end = _run(text, index, str.isupper)
            # "HTTPStatus": the last capital starts the next word.
            if end < len(text) and _is_alphabet(text[end]):
                end -= 1
            return _Word.UPPER, end
        if _is_alphabet(text[index]):
            return _Word.UPPER, _run(text, index, lambda c: _is_alphabet(c) and not c.isupper())
        return _Word.UPPER, index
    if _is_alphabet(char):
        return _Word.ALPHABET, _run(text, start + 1, lambda c: _is_alphabet(c) and not c.isupper())
    if _is_number(char):
        return _Word.NUMBER, _run(text, start + 1, _is_number)
    end = _run(
        text,
        start + 1,
        lambda c: not (_is_connector(c) or _is_alphabet(c) or _is_number(c) or _is_punct(c)),
    )
    return _Word.OTHER, end


class _Words:
    """A cursor over the words of a text: `kind` and `word` are the current word."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0
        self.kind = _Word.INVALID
        self.word = ""

    def advance(self) -> _Word:
        if self.position >= len(self.text):
            self.kind, self.word = _Word.INVALID, ""
            return self.kind
        kind, end = _next_word(self.text, self.position)
        self.kind, self.word = kind, self.text[self.position : end]
        self.position = end
        return kind

    def remaining(self) -> bool:
        return self.position < len(self.text)


def _lower(out: list[str], kind: _Word, word: str, connector: str) -> None:
    if kind not in (_Word.UPPER, _Word.CONNECTOR):
        out.append(word)
        return
    out.extend(connector if _is_connector(char) else char.lower() for char in word)


def to_lower_words(text: str, connector: str) -> str:
    """xstrings' ToSnakeCase (connector "_") and ToKebabCase (connector "-")."""
    if not text:
        return ""
    out: list[str] = []
    words = _Words(text)
    words.advance()
    while words.remaining():
        if words.kind is not _Word.CONNECTOR:
            _lower(out, words.kind, words.word, connector)
        previous, last = words.kind, words.word
        words.advance()
        if previous is _Word.NUMBER:
            while words.kind in (_Word.ALPHABET, _Word.NUMBER):
                _lower(out, words.kind, words.word, connector)
                words.advance()
            if words.kind not in (_Word.INVALID, _Word.PUNCT, _Word.CONNECTOR):
                out.append(connector)
        elif previous is _Word.CONNECTOR:
            _lower(out, previous, last, connector)
        elif previous is _Word.PUNCT:
            pass
        elif words.kind is not _Word.NUMBER:
            if words.kind not in (_Word.CONNECTOR, _Word.PUNCT):
                out.append(connector)
        elif words.remaining():
            number = words.word
            if words.advance() is not _Word.ALPHABET:
                # A number ends the word before it: "Bld4Floor" -> "bld4_floor".
                _lower(out, _Word.NUMBER, number, connector)
                if words.kind not in (_Word.CONNECTOR, _Word.PUNCT):
                    out.append(connector)
            else:
                # Lower-case letters after a number start a word with it: "HTTP2xx" -> "http_2xx".
                out.append(connector)
                _lower(out, _Word.NUMBER, number, connector)
                while words.kind in (_Word.ALPHABET, _Word.NUMBER):
                    _lower(out, words.kind, words.word, connector)
                    words.advance()
                if words.kind not in (_Word.INVALID, _Word.CONNECTOR, _Word.PUNCT):
                    out.append(connector)
    _lower(out, words.kind, words.word, connector)
    return "".join(out)


def to_pascal_case(text: str) -> str:
    """xstrings' ToPascalCase: connectors (-, _, spaces) dropped, the letter after one upper-cased, and an
    upper-case run lowered after its first letter ("HTTP_SERVER" -> "HttpServer")."""
    out: list[str] = []
    index = 0
    while index < len(text) and _is_connector(text[index]):
        out.append(text[index])  # leading connectors stay
        index += 1
    if index >= len(text):
        return "".join(out)
    current = text[index]
    first_upper = current.isupper()
    current = current.upper()
    for char in text[index + 1 :]:
        previous, current = current, char
        if _is_connector(current) and _is_connector(previous):
            out.append(previous)
            continue
        if _is_connector(previous):
            first_upper = current.isupper()
            current = current.upper()
        else:
            if first_upper:
                if current.isupper():
                    current = current.lower()
                else:
                    first_upper = False
            out.append(previous)
    out.append(current)
    return "".join(out)
