"""The lexer of Go's text/template language: template text in, a list of tokens out.

Follows the token rules of Go's `text/template/parse` lexer: `{{`/`}}` delimiters, trim markers (`{{- ` and
` -}}`, the space is required), comments `{{/* ... */}}`, and inside an action: spaces, `:=`, `=`, `|`, parens,
quoted/raw strings, char constants, numbers, `.field`, `$var`, identifiers and keywords. Errors carry the line
and Go's wording, so `parser` can report them as Go does ("template: name:3: unclosed action").

Used only by `parser`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

LEFT_DELIM = "{{"
RIGHT_DELIM = "}}"
_SPACE = " \t\r\n"


class Kind(enum.Enum):
    ERROR = "error"
    EOF = "EOF"
    TEXT = "text"
    COMMENT = "comment"
    LEFT_DELIM = "{{"
    RIGHT_DELIM = "}}"
    SPACE = "space"
    ASSIGN = "="
    DECLARE = ":="
    PIPE = "|"
    LEFT_PAREN = "("
    RIGHT_PAREN = ")"
    STRING = "string"
    RAW_STRING = "raw string"
    CHAR_CONSTANT = "char constant"
    NUMBER = "number"
    BOOL = "bool"
    NIL = "nil"
    DOT = "."
    FIELD = "field"
    VARIABLE = "variable"
    IDENTIFIER = "identifier"
    CHAR = "char"
    KEYWORD = "keyword"


KEYWORDS = frozenset(
    {"block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"},
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    value: str
    pos: int
    line: int

    def describe(self) -> str:
        """The token as Go's `item.String()` writes it in "unexpected ..." messages."""
        if self.kind is Kind.EOF:
            return "EOF"
        if self.kind is Kind.ERROR:
            return self.value
        if self.kind in (Kind.KEYWORD, Kind.NIL, Kind.DOT):
            return f"<{self.value}>"
        if len(self.value) > 10:
            return f"{go_quote(self.value[:10])}..."
        return go_quote(self.value)


def go_quote(text: str) -> str:
    """`strconv.Quote` for the printable text templates hold."""
    out = ['"']
    for char in text:
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif char == "\a":
            out.append("\\a")
        elif char == "\b":
            out.append("\\b")
        elif char == "\f":
            out.append("\\f")
        elif char == "\v":
            out.append("\\v")
        elif not char.isprintable() and char != " ":
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x80 else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"))
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _is_alnum(char: str) -> bool:
    return char == "_" or char.isalpha() or char.isdigit()


def _has_left_trim(text: str, pos: int) -> bool:
    return pos + 1 < len(text) and text[pos] == "-" and text[pos + 1] in _SPACE


def _has_right_trim(text: str, pos: int) -> bool:
    return pos + 1 < len(text) and text[pos] in _SPACE and text[pos + 1] == "-"


class Lexer:
    """Scans the whole text at once; `tokens()` returns the tokens, ending with EOF or one ERROR token."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.out: list[Token] = []
        self.paren_depth = 0

    def tokens(self) -> list[Token]:
        try:
            self._lex_text()
        except _LexError as error:
            self.out.append(Token(Kind.ERROR, str(error), self.pos, error.line))
        return self.out

    def _emit(self, kind: Kind, start: int, end: int, line: int) -> None:
        self.out.append(Token(kind, self.text[start:end], start, line))

    def _error(self, message: str, line: int | None = None) -> _LexError:
        return _LexError(message, self.line if line is None else line)

    def _advance_to(self, end: int) -> None:
        self.line += self.text.count("\n", self.pos, end)
        self.pos = end

    def _lex_text(self) -> None:
        text = self.text
        while True:
            found = text.find(LEFT_DELIM, self.pos)
            if found < 0:
                if self.pos < len(text):
                    self._emit(Kind.TEXT, self.pos, len(text), self.line)
                    self._advance_to(len(text))
                self.out.append(Token(Kind.EOF, "", len(text), self.line))
                return
            trim_left = _has_left_trim(text, found + len(LEFT_DELIM))
            end_of_text = found
            if trim_left:
                while end_of_text > self.pos and text[end_of_text - 1] in _SPACE:
                    end_of_text -= 1
            if end_of_text > self.pos:
                self._emit(Kind.TEXT, self.pos, end_of_text, self.line)
            self._advance_to(found)
            self._lex_left_delim(trim_left)

    def _lex_left_delim(self, trim_left: bool) -> None:
        text = self.text
        after = self.pos + len(LEFT_DELIM) + (2 if trim_left else 0)
        if text.startswith("/*", after):
            self._advance_to(after)
            self._lex_comment()
            return
        self._emit(Kind.LEFT_DELIM, self.pos, self.pos + len(LEFT_DELIM), self.line)
        self._advance_to(after)
        self.paren_depth = 0
        self._lex_inside_action()

    def _lex_comment(self) -> None:
        text = self.text
        start_line = self.line
        close = text.find("*/", self.pos + 2)
        if close < 0:
            raise self._error("unclosed comment", start_line)
        self._emit(Kind.COMMENT, self.pos, close + 2, start_line)
        self._advance_to(close + 2)
        trim = _has_right_trim(text, self.pos)
        delim_at = self.pos + (2 if trim else 0)
        if not text.startswith(RIGHT_DELIM, delim_at):
            raise self._error("comment ends before closing delimiter", start_line)
        self._advance_to(delim_at + len(RIGHT_DELIM))
        if trim:
            self._skip_trailing_space()

    def _skip_trailing_space(self) -> None:
        end = self.pos
        while end < len(self.text) and self.text[end] in _SPACE:
            end += 1
        self._advance_to(end)

    def _at_right_delim(self) -> tuple[bool, bool]:
        text = self.text
        if _has_right_trim(text, self.pos) and text.startswith(RIGHT_DELIM, self.pos + 2):
            return True, True
        if text.startswith(RIGHT_DELIM, self.pos):
            return True, False
        return False, False

    def _lex_inside_action(self) -> None:
        text = self.text
        while True:
            delim, trim = self._at_right_delim()
            if delim:
                if self.paren_depth:
                    raise self._error("unclosed left paren")
                if trim:
                    self._advance_to(self.pos + 2)
                self._emit(Kind.RIGHT_DELIM, self.pos, self.pos + len(RIGHT_DELIM), self.line)
                self._advance_to(self.pos + len(RIGHT_DELIM))
                if trim:
                    self._skip_trailing_space()
                return
            if self.pos >= len(text):
                raise self._error("unclosed action")
            char = text[self.pos]
            start, line = self.pos, self.line
            if char in _SPACE:
                end = start
                while end < len(text) and text[end] in _SPACE:
                    if _has_right_trim(text, end) and text.startswith(RIGHT_DELIM, end + 2):
                        break
                    end += 1
                self._emit(Kind.SPACE, start, end, line)
                self._advance_to(end)
            elif char == "=":
                self._single(Kind.ASSIGN)
            elif char == ":":
                if not text.startswith(":=", start):
                    raise self._error("expected :=")
                self._emit(Kind.DECLARE, start, start + 2, line)
                self._advance_to(start + 2)
            elif char == "|":
                self._single(Kind.PIPE)
            elif char == '"':
                self._lex_quote()
            elif char == "`":
                self._lex_raw_quote()
            elif char == "$":
                self._lex_field_or_variable(Kind.VARIABLE)
            elif char == "'":
                self._lex_char()
            elif char == "." and not (start + 1 < len(text) and text[start + 1].isdigit()):
                self._lex_field_or_variable(Kind.FIELD)
            elif char in "+-." or char.isdigit():
                self._lex_number()
            elif _is_alnum(char):
                self._lex_identifier()
            elif char == "(":
                self.paren_depth += 1
                self._single(Kind.LEFT_PAREN)
            elif char == ")":
                self.paren_depth -= 1
                if self.paren_depth < 0:
                    raise self._error("unexpected right paren")
                self._single(Kind.RIGHT_PAREN)
            elif ord(char) < 0x80 and char.isprintable():
                self._single(Kind.CHAR)
            else:
                raise self._error(f"unrecognized character in action: {_sharp_u(char)}")

    def _single(self, kind: Kind) -> None:
        self._emit(kind, self.pos, self.pos + 1, self.line)
        self._advance_to(self.pos + 1)

    def _at_terminator(self, pos: int) -> bool:
        text = self.text
        if pos >= len(text):
            return True
        char = text[pos]
        if char in _SPACE or char in ".,|:()":
            return True
        return text.startswith(RIGHT_DELIM, pos)

    def _lex_field_or_variable(self, kind: Kind) -> None:
        text = self.text
        start = self.pos
        end = start + 1
        if self._at_terminator(end):
            self._emit(Kind.VARIABLE if kind is Kind.VARIABLE else Kind.DOT, start, end, self.line)
            self._advance_to(end)
            return
        while end < len(text) and _is_alnum(text[end]):
            end += 1
        if not self._at_terminator(end):
            raise self._error(f"bad character {_sharp_u(text[end])}")
        self._emit(kind, start, end, self.line)
        self._advance_to(end)

    def _lex_identifier(self) -> None:
        text = self.text
        start = end = self.pos
        while end < len(text) and _is_alnum(text[end]):
            end += 1
        if not self._at_terminator(end):
            raise self._error(f"bad character {_sharp_u(text[end])}")
        word = text[start:end]
        if word in KEYWORDS:
            kind = Kind.KEYWORD
        elif word in ("true", "false"):
            kind = Kind.BOOL
        elif word == "nil":
            kind = Kind.NIL
        else:
            kind = Kind.IDENTIFIER
        self._emit(kind, start, end, self.line)
        self._advance_to(end)

    def _scan_number(self, start: int) -> tuple[int, bool]:
        """Where the number at `start` ends, and whether it is well formed (no letter right after it)."""
        text = self.text
        end = start
        if end < len(text) and text[end] in "+-":
            end += 1
        digits = "0123456789_"
        if end < len(text) and text[end] == "0":
            end += 1
            if end < len(text) and text[end] in "xXoObB":
                digits = {"x": "0123456789abcdefABCDEF_", "o": "01234567_", "b": "01_"}[text[end].lower()]
                end += 1
        while end < len(text) and text[end] in digits:
            end += 1
        if end < len(text) and text[end] == ".":
            end += 1
            while end < len(text) and text[end] in digits:
                end += 1
        exponent = {11: "eE", 23: "pP"}.get(len(digits), "")
        if end < len(text) and text[end] in exponent:
            end += 1
            if end < len(text) and text[end] in "+-":
                end += 1
            while end < len(text) and text[end] in "0123456789_":
                end += 1
        if end < len(text) and text[end] == "i":
            end += 1
        if end < len(text) and _is_alnum(text[end]):
            return end + 1, False
        return end, True

    def _lex_number(self) -> None:
        text = self.text
        start = self.pos
        end, ok = self._scan_number(start)
        if ok and end < len(text) and text[end] in "+-":
            # A complex constant (1+2i): a second number that must end in "i".
            end, ok = self._scan_number(end)
            ok = ok and text[end - 1] == "i"
        if not ok:
            raise self._error(f"bad number syntax: {go_quote(text[start:end])}")
        self._emit(Kind.NUMBER, start, end, self.line)
        self._advance_to(end)

    def _lex_quote(self) -> None:
        text = self.text
        end = self.pos + 1
        while True:
            if end >= len(text) or text[end] == "\n":
                raise self._error("unterminated quoted string")
            if text[end] == "\\":
                end += 2
                continue
            if text[end] == '"':
                break
            end += 1
        self._emit(Kind.STRING, self.pos, end + 1, self.line)
        self._advance_to(end + 1)

    def _lex_raw_quote(self) -> None:
        close = self.text.find("`", self.pos + 1)
        if close < 0:
            raise self._error("unterminated raw quoted string")
        self._emit(Kind.RAW_STRING, self.pos, close + 1, self.line)
        self._advance_to(close + 1)

    def _lex_char(self) -> None:
        text = self.text
        end = self.pos + 1
        while True:
            if end >= len(text) or text[end] == "\n":
                raise self._error("unterminated character constant")
            if text[end] == "\\":
                end += 2
                continue
            if text[end] == "'":
                break
            end += 1
        self._emit(Kind.CHAR_CONSTANT, self.pos, end + 1, self.line)
        self._advance_to(end + 1)


def _sharp_u(char: str) -> str:
    """`%#U` of a rune: "U+0041 'A'" (the character itself between quotes when it is printable)."""
    if char.isprintable():
        return f"U+{ord(char):04X} '{char}'"
    return f"U+{ord(char):04X}"


def go_quote_rune(char: str) -> str:
    """`%q` of a rune: 'x'."""
    if char == "'":
        return "'\\''"
    return "'" + go_quote(char)[1:-1].replace('\\"', '"') + "'"


class _LexError(Exception):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line
