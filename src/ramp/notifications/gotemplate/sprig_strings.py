"""Sprig's string functions (Masterminds/sprig v3, the version Argo Rollouts' notifications use), each with the
Go parameter types sprig declares, so a wrong argument fails as it does in Go.

trim trimAll trimPrefix trimSuffix upper lower title untitle repeat substr nospace trunc abbrev abbrevboth
initials swapcase wrap wrapWith contains hasPrefix hasSuffix quote squote cat indent nindent replace plural
snakecase camelcase kebabcase shuffle split splitList splitn join sortAlpha toString toStrings hello, and the
hashes and encodings (sha1sum sha256sum sha512sum adler32sum b64enc b64dec b32enc b32dec).

Used by `functions`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import random
import zlib
from typing import Any, Final

from ramp.notifications.gotemplate.formatting import go_sprintf
from ramp.notifications.gotemplate.lexer import go_quote
from ramp.notifications.gotemplate.sprig_case import to_lower_words, to_pascal_case
from ramp.notifications.gotemplate.values import NO_VALUE, FuncError, GoFunc, StringList, print_value

MAX_STRING: Final = 1_000_000
"""Characters one function may build (repeat, indent, ...); the template's own output budget is checked too."""


def strval(value: Any) -> str:
    """sprig's strval: strings as they are, anything else as `%v` prints it (nil as "<nil>")."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is None or value is NO_VALUE:
        return "<nil>"
    return print_value(value)


def strslice(value: Any) -> StringList:
    """sprig's strslice: a list's non-nil items as strings; nil is empty; any other value a one-item list."""
    if value is None or value is NO_VALUE:
        return StringList()
    if isinstance(value, list | tuple):
        return StringList(strval(item) for item in value if item is not None)
    return StringList([strval(value)])


def _byte_slice(text: str, start: int, end: int) -> str:
    encoded = text.encode()
    if not 0 <= start <= end <= len(encoded):
        raise FuncError(f"runtime error: slice bounds out of range [{start}:{end}]")
    return encoded[start:end].decode("utf-8", "replace")


def _substr(start: int, end: int, text: str) -> str:
    size = len(text.encode())
    if start < 0:
        return _byte_slice(text, 0, end)
    if end < 0 or end > size:
        return _byte_slice(text, start, size)
    return _byte_slice(text, start, end)


def _trunc(count: int, text: str) -> str:
    size = len(text.encode())
    if count < 0 and size + count > 0:
        return _byte_slice(text, size + count, size)
    if count >= 0 and size > count:
        return _byte_slice(text, 0, count)
    return text


def _abbrev(width: int, text: str) -> str:
    if width < 4 or len(text) <= width:
        return text
    return text[: width - 3] + "..."


def _abbrevboth(left: int, right: int, text: str) -> str:
    if right < 4 or (left > 0 and right < 7):
        return text
    if len(text) <= right:
        return text
    left = min(max(left, 0), len(text))
    if len(text) - left < right - 3:
        left = len(text) - (right - 3)
    if left <= 4:
        return text[: right - 3] + "..."
    if (left + right - 3) < len(text):
        return "..." + _abbrev(right - 3, text[left:])
    return "..." + text[len(text) - (right - 3) :]


def _is_separator(char: str) -> bool:
    if char.isascii():
        return not (char.isalnum() or char == "_")
    return char.isspace() or not (char.isalpha() or char.isdigit())


def _title(text: str) -> str:
    out: list[str] = []
    previous = " "
    for char in text:
        out.append(char.upper() if _is_separator(previous) else char)
        previous = char
    return "".join(out)


def _untitle(text: str) -> str:
    out: list[str] = []
    previous_space = True
    for char in text:
        out.append(char.lower() if previous_space and not char.isspace() else char)
        previous_space = char.isspace()
    return "".join(out)


def _swapcase(text: str) -> str:
    out: list[str] = []
    whitespace = True
    for char in text:
        if char.isupper() or char.istitle():
            out.append(char.lower())
        elif char.islower():
            out.append(char.title() if whitespace else char.upper())
        else:
            out.append(char)
        whitespace = char.isspace()
    return "".join(out)


def _initials(text: str) -> str:
    return "".join(word[0] for word in text.split())


def _wrap_with(width: int, newline: str, text: str) -> str:
    width = max(width, 1)
    out_lines: list[str] = []
    for line in text.split("\n"):
        words = line.split(" ")
        current = ""
        for word in words:
            if not current:
                current = word
            elif len(current) + 1 + len(word) <= width:
                current += " " + word
            else:
                out_lines.append(current)
                current = word
        out_lines.append(current)
    return newline.join(out_lines)


def _quote(*values: Any) -> str:
    return " ".join(go_quote(strval(value)) for value in values if value is not None and value is not NO_VALUE)


def _squote(*values: Any) -> str:
    return " ".join(f"'{strval(value)}'" for value in values if value is not None and value is not NO_VALUE)


def _cat(*values: Any) -> str:
    kept = [value for value in values if value is not None and value is not NO_VALUE]
    return go_sprintf(" ".join(["%v"] * len(kept)), kept)


def _indent(spaces: int, text: str) -> str:
    spaces = max(spaces, 0)
    _check_size(len(text) + spaces * (text.count("\n") + 1))
    pad = " " * spaces
    return pad + text.replace("\n", "\n" + pad)


def _check_size(size: int) -> None:
    if size > MAX_STRING:
        raise FuncError(f"result of {size} characters exceeds the limit of {MAX_STRING}")


def _replace(old: str, new: str, text: str) -> str:
    count = len(text) + 1 if old == "" else text.count(old)
    _check_size(len(text) + count * (len(new) - len(old)))
    return text.replace(old, new)


def _repeat(count: int, text: str) -> str:
    if count < 0:
        raise FuncError("strings: negative Repeat count")
    _check_size(count * len(text))
    return text * count


def _go_split(text: str, separator: str, limit: int = -1) -> list[str]:
    if limit == 0:
        return []
    if separator == "":
        chars = list(text)
        if limit > 0 and len(chars) > limit:
            return [*chars[: limit - 1], "".join(chars[limit - 1 :])]
        return chars
    return text.split(separator, limit - 1 if limit > 0 else -1)


def _split(separator: str, text: str) -> dict[str, Any]:
    return {f"_{index}": part for index, part in enumerate(_go_split(text, separator))}


def _splitn(separator: str, count: int, text: str) -> dict[str, Any]:
    return {f"_{index}": part for index, part in enumerate(_go_split(text, separator, count))}


def _b64dec(text: str) -> str:
    try:
        return base64.b64decode(text.encode(), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return _base64_error(text)


def _base64_error(text: str) -> str:
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
    for index, char in enumerate(text):
        if char not in alphabet and char != "=":
            return f"illegal base64 data at input byte {index}"
    return f"illegal base64 data at input byte {len(text) - len(text) % 4 if len(text) % 4 else len(text)}"


def _b32dec(text: str) -> str:
    try:
        return base64.b32decode(text.encode()).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return "illegal base32 data at input byte 0"


def _shuffle(text: str) -> str:
    chars = list(text)
    random.shuffle(chars)
    return "".join(chars)


def _sort_alpha(value: Any) -> StringList:
    if isinstance(value, list | tuple):
        return StringList(sorted(strslice(value)))
    return StringList([strval(value)])


def _join(separator: str, value: Any) -> str:
    return separator.join(strslice(value))


def _nospace(text: str) -> str:
    return "".join(char for char in text if not char.isspace())


STRING_FUNCTIONS: dict[str, GoFunc] = {
    "hello": GoFunc("hello", lambda: "Hello!"),
    "abbrev": GoFunc("abbrev", _abbrev, ("int", "string")),
    "abbrevboth": GoFunc("abbrevboth", _abbrevboth, ("int", "int", "string")),
    "trunc": GoFunc("trunc", _trunc, ("int", "string")),
    "trim": GoFunc("trim", lambda text: text.strip(" \t\n\r\v\f\u0085\u00a0"), ("string",)),
    "upper": GoFunc("upper", str.upper, ("string",)),
    "lower": GoFunc("lower", str.lower, ("string",)),
    "title": GoFunc("title", _title, ("string",)),
    "untitle": GoFunc("untitle", _untitle, ("string",)),
    "substr": GoFunc("substr", _substr, ("int", "int", "string")),
    "repeat": GoFunc("repeat", _repeat, ("int", "string")),
    "trimAll": GoFunc("trimAll", lambda cutset, text: text.strip(cutset), ("string", "string")),
    "trimall": GoFunc("trimall", lambda cutset, text: text.strip(cutset), ("string", "string")),
    "trimSuffix": GoFunc("trimSuffix", lambda suffix, text: text.removesuffix(suffix), ("string", "string")),
    "trimPrefix": GoFunc("trimPrefix", lambda prefix, text: text.removeprefix(prefix), ("string", "string")),
    "nospace": GoFunc("nospace", _nospace, ("string",)),
    "initials": GoFunc("initials", _initials, ("string",)),
    "swapcase": GoFunc("swapcase", _swapcase, ("string",)),
    "shuffle": GoFunc("shuffle", _shuffle, ("string",)),
    "snakecase": GoFunc("snakecase", lambda text: to_lower_words(text, "_"), ("string",)),
    "camelcase": GoFunc("camelcase", to_pascal_case, ("string",)),
    "kebabcase": GoFunc("kebabcase", lambda text: to_lower_words(text, "-"), ("string",)),
    "wrap": GoFunc("wrap", lambda width, text: _wrap_with(width, "\n", text), ("int", "string")),
    "wrapWith": GoFunc("wrapWith", _wrap_with, ("int", "string", "string")),
    "contains": GoFunc("contains", lambda part, text: part in text, ("string", "string")),
    "hasPrefix": GoFunc("hasPrefix", lambda prefix, text: text.startswith(prefix), ("string", "string")),
    "hasSuffix": GoFunc("hasSuffix", lambda suffix, text: text.endswith(suffix), ("string", "string")),
    "quote": GoFunc("quote", _quote, (), "any"),
    "squote": GoFunc("squote", _squote, (), "any"),
    "cat": GoFunc("cat", _cat, (), "any"),
    "indent": GoFunc("indent", _indent, ("int", "string")),
    "nindent": GoFunc("nindent", lambda spaces, text: "\n" + _indent(spaces, text), ("int", "string")),
    "replace": GoFunc("replace", _replace, ("string",) * 3),
    "plural": GoFunc("plural", lambda one, many, count: one if count == 1 else many, ("string", "string", "int")),
    "sha1sum": GoFunc("sha1sum", lambda text: hashlib.sha1(text.encode()).hexdigest(), ("string",)),
    "sha256sum": GoFunc("sha256sum", lambda text: hashlib.sha256(text.encode()).hexdigest(), ("string",)),
    "sha512sum": GoFunc("sha512sum", lambda text: hashlib.sha512(text.encode()).hexdigest(), ("string",)),
    "adler32sum": GoFunc("adler32sum", lambda text: str(zlib.adler32(text.encode())), ("string",)),
    "toString": GoFunc("toString", strval, ("any",)),
    "toStrings": GoFunc("toStrings", strslice, ("any",)),
    "split": GoFunc("split", _split, ("string", "string")),
    "splitList": GoFunc("splitList", lambda sep, text: StringList(_go_split(text, sep)), ("string", "string")),
    "splitn": GoFunc("splitn", _splitn, ("string", "int", "string")),
    "join": GoFunc("join", _join, ("string", "any")),
    "sortAlpha": GoFunc("sortAlpha", _sort_alpha, ("any",)),
    "b64enc": GoFunc("b64enc", lambda text: base64.b64encode(text.encode()).decode(), ("string",)),
    "b64dec": GoFunc("b64dec", _b64dec, ("string",)),
    "b32enc": GoFunc("b32enc", lambda text: base64.b32encode(text.encode()).decode(), ("string",)),
    "b32dec": GoFunc("b32dec", _b32dec, ("string",)),
}
"""Sprig's string functions by name."""
