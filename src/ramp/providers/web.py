"""The `web` metric provider: one HTTP request per measurement, its JSON answer (or text) is the result.

Follows upstream's documented behaviour: GET unless `method` says POST or PUT; `body` (text) or `jsonBody` (sent
as JSON with `Content-Type: application/json`), never both and never with GET; `headers` as written; an OAuth2
client-credentials token as `Authorization: Bearer`; `timeoutSeconds` for the whole request (10 unless positive);
`insecure` skips certificate checks on a client of its own. Any 2xx answer is read: valid JSON goes through
`jsonPath` (Kubernetes JSONPath, `{$}` by default) and the first value found is the result, with numbers as
floats and the status text written as Go's `encoding/json` writes it (`true`, `0.95`, `{"a":1}`); a body that is
not JSON is the result itself, as text.

`compile_json_path` and `find_json_values` cover the JSONPath that metric authors write: `{$}`, `{$.a.b}`,
`{.a.b}`, `{$.a[0].b}`, `{$.a[-1]}`, `{$['a-b']}`, `{$.a[*].b}`, `{$.a[1:3]}`; filters, unions, recursive
descent and `range` are refused with a clear message instead of being guessed at.

Works with `ramp.providers.base` (the contract) and `ramp.providers.prometheus_api` (OAuth2 tokens, headers, transport
error wording).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from ramp.api.providers import WebMetric
from ramp.providers.base import MeasurementContext, Reading, SingleShotProvider
from ramp.providers.bounded_http import build_provider_client
from ramp.providers.prometheus_api import PrometheusError, describe_http_error, fetch_oauth2_token, set_header

DEFAULT_TIMEOUT_SECONDS = 10
METHODS = ("GET", "POST", "PUT")


class WebMetricError(ValueError):
    """A request that could not be made or answered; the message says why in one line."""


class WebProvider(SingleShotProvider):
    """Calls an HTTP endpoint once per measurement."""

    key = "web"

    async def measure(self, context: MeasurementContext) -> Reading:
        spec = context.metric.provider.web
        if spec is None:
            return Reading.error("the metric has no provider.web settings")
        try:
            path = compile_json_path(spec.effective_json_path)
            if spec.insecure:
                # Only a client of its own can skip certificate checks; the shared one keeps verifying.
                async with build_provider_client(verify=False) as insecure:
                    body = await fetch_body(insecure, spec)
            else:
                body = await fetch_body(context.http, spec)
            result, value = read_body(body, path)
        except (WebMetricError, PrometheusError) as problem:
            return Reading.error(str(problem))
        return Reading.evaluate(result, value)


async def fetch_body(http: httpx.AsyncClient, spec: WebMetric) -> bytes:
    """The body of the endpoint's 2xx answer; raises WebMetricError for bad settings, failures and other statuses."""
    method = (spec.method or "GET").upper()
    if method not in METHODS:
        raise WebMetricError(f"provider.web.method must be GET, POST or PUT, not {spec.method!r}")
    if spec.body and spec.json_body is not None:
        raise WebMetricError("provider.web sets both body and jsonBody: keep one of them")
    if (spec.body or spec.json_body is not None) and method == "GET":
        raise WebMetricError("provider.web.body and jsonBody need method POST or PUT, not GET")
    timeout = float(spec.timeout_seconds) if spec.timeout_seconds and spec.timeout_seconds > 0 else 10.0
    headers: dict[str, str] = {}
    for header in spec.headers or []:
        set_header(headers, header.key, header.value)
    content: bytes | None = spec.body.encode() if spec.body else None
    if spec.json_body is not None:
        content = json.dumps(spec.json_body, separators=(",", ":")).encode()
        set_header(headers, "Content-Type", "application/json")
    oauth2 = spec.authentication.oauth2 if spec.authentication else None
    try:
        async with asyncio.timeout(timeout):
            if oauth2 is not None and oauth2.token_url:
                if not oauth2.client_id or not oauth2.client_secret:
                    raise WebMetricError("provider.web.authentication.oauth2 needs clientId and clientSecret")
                token = await fetch_oauth2_token(
                    http, oauth2.token_url, oauth2.client_id, oauth2.client_secret, oauth2.scopes or [], timeout
                )
                set_header(headers, "Authorization", f"Bearer {token}")
            response = await http.request(
                method,
                spec.url,
                content=content,
                headers=headers,
                timeout=httpx.Timeout(timeout),
                # A redirect would carry the request's credentials to another host: follow only without any.
                follow_redirects=not _sends_credentials(spec.url, headers, oauth2 is not None),
            )
    except (TimeoutError, httpx.TimeoutException):
        raise WebMetricError(f"{spec.url} did not answer within {timeout:g}s") from None
    except httpx.HTTPError as failure:
        raise WebMetricError(f"cannot reach {spec.url}: {describe_http_error(failure)}") from None
    if not response.is_success:
        reason = httpx.codes.get_reason_phrase(response.status_code)
        raise WebMetricError(f"{spec.url} answered HTTP {response.status_code} {reason}: a measurement needs a 2xx")
    return response.content


def _sends_credentials(url: str, headers: dict[str, str], oauth2: bool) -> bool:
    """Whether a request may carry a secret: any header but Content-Type, an OAuth2 token, a password in the URL."""
    try:
        password = httpx.URL(url).password
    except httpx.InvalidURL:
        password = None
    return oauth2 or bool(password) or any(key.lower() != "content-type" for key in headers)


def read_body(body: bytes, path: JsonPath) -> tuple[Any, str]:
    """The result and its status text: the JSONPath's first value for JSON, else the body as text."""
    text = body.decode("utf-8", "replace")
    try:
        document = parse_json(text)
    except ValueError:
        return text, text
    values = find_json_values(path, document)
    if not values:
        raise WebMetricError("result of web metric produced no value: the jsonPath matched nothing")
    return values[0], format_json(values[0])


def parse_json(text: str) -> Any:
    """JSON as Go decodes it into `any`: every number a float; NaN and Infinity are not JSON."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_int=float, parse_constant=refuse)


# ---------------------------------------------------------------------------------------------------------
# Kubernetes JSONPath: a template of text and {actions}; each action is a path of steps from the root.


@dataclass(frozen=True)
class Field:
    name: str


@dataclass(frozen=True)
class Index:
    position: int


@dataclass(frozen=True)
class Slice:
    start: int | None
    stop: int | None
    step: int | None


@dataclass(frozen=True)
class Wildcard:
    pass


Step = Field | Index | Slice | Wildcard
JsonPath = tuple[str | tuple[Step, ...], ...]
"""Template parts in order: literal text, or the steps of one `{...}` action."""

_NAME_END = re.compile(r"[.\[\]\s{}()|,]")
_SLICE = re.compile(r"(-?\d*):(-?\d*)(?::(-?\d*))?")


def compile_json_path(template: str) -> JsonPath:
    """Parse a JSONPath template such as "{$.data.ok}"; raises WebMetricError naming provider.web.jsonPath."""
    parts: list[str | tuple[Step, ...]] = []
    position = 0
    while position < len(template):
        opening = template.find("{", position)
        if opening < 0:
            parts.append(template[position:])
            break
        if opening > position:
            parts.append(template[position:opening])
        closing = template.find("}", opening)
        if closing < 0:
            raise _path_error(template, "a '{' is never closed")
        parts.append(_compile_action(template, template[opening + 1 : closing].strip()))
        position = closing + 1
    return tuple(parts)


def _compile_action(template: str, action: str) -> tuple[Step, ...]:
    steps: list[Step] = []
    position = 1 if action.startswith(("$", "@")) else 0
    while position < len(action):
        character = action[position]
        if action.startswith("..", position):
            raise _path_error(template, "recursive descent (..) is not supported")
        if character == ".":
            position += 1
            if action.startswith("*", position):
                steps.append(Wildcard())
                position += 1
                continue
            name, position = _read_name(action, position)
            if not name:
                continue  # "{.}" is the current value, as in Kubernetes
            steps.append(Field(name))
        elif character == "[":
            closing = action.find("]", position)
            if closing < 0:
                raise _path_error(template, "a '[' is never closed")
            steps.append(_compile_bracket(template, action[position + 1 : closing].strip()))
            position = closing + 1
        else:
            raise _path_error(template, f"unexpected {action[position:]!r} (paths start with $ or a '.')")
    return tuple(steps)


def _read_name(action: str, position: int) -> tuple[str, int]:
    name: list[str] = []
    while position < len(action):
        character = action[position]
        if character == "\\" and position + 1 < len(action):
            name.append(action[position + 1])
            position += 2
            continue
        if _NAME_END.match(character):
            break
        name.append(character)
        position += 1
    return "".join(name), position


def _compile_bracket(template: str, inside: str) -> Step:
    if inside == "*":
        return Wildcard()
    if inside.startswith("?"):
        raise _path_error(template, "filters ([?(...)]) are not supported")
    if len(inside) >= 2 and inside[0] in "'\"" and inside[-1] == inside[0] and inside.count(inside[0]) == 2:
        return Field(inside[1:-1])
    if "," in inside:
        raise _path_error(template, "unions ([a,b]) are not supported")
    if re.fullmatch(r"-?\d+", inside):
        return Index(int(inside))
    sliced = _SLICE.fullmatch(inside)
    if sliced:
        start, stop, step = (int(part) if part else None for part in sliced.groups())
        if step == 0:
            raise _path_error(template, "a slice step cannot be 0")
        return Slice(start, stop, step)
    raise _path_error(template, f"cannot read [{inside}]")


def _path_error(template: str, reason: str) -> WebMetricError:
    return WebMetricError(f"provider.web.jsonPath {template!r}: {reason}")


def find_json_values(path: JsonPath, document: Any) -> list[Any]:
    """The values of the first part of the template that finds any (text parts find themselves).

    Raises WebMetricError when a field is missing or an index is out of range, as Kubernetes' JSONPath does.
    """
    for part in path:
        values = [part] if isinstance(part, str) else _follow(part, document)
        if values:
            return values
    return []


def _follow(steps: tuple[Step, ...], document: Any) -> list[Any]:
    values = [document]
    for step in steps:
        values = _apply(step, values)
    return values


def _apply(step: Step, values: list[Any]) -> list[Any]:
    found: list[Any] = []
    if isinstance(step, Field):
        found = [value[step.name] for value in values if isinstance(value, dict) and step.name in value]
        if not found:
            raise WebMetricError(f"could not find JSONPath in body: {step.name} is not found")
        return found
    if isinstance(step, Wildcard):
        for value in values:
            if isinstance(value, dict):
                found.extend(value.values())
            elif isinstance(value, list):
                found.extend(value)
        return found
    for value in values:
        if not isinstance(value, list):
            raise WebMetricError(f"could not find JSONPath in body: {format_json(value)} is not an array")
        if isinstance(step, Index):
            position = step.position + len(value) if step.position < 0 else step.position
            if not 0 <= position < len(value):
                raise WebMetricError(
                    f"could not find JSONPath in body: array index out of bounds: index {step.position}, "
                    f"length {len(value)}"
                )
            found.append(value[position])
        else:
            found.extend(value[step.start : step.stop : step.step])
    return found


# ---------------------------------------------------------------------------------------------------------
# Status text as Go's encoding/json writes a decoded value (upstream stores json.Marshal of the result).

_GO_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
# Go escapes these for safe embedding in HTML.
_GO_ESCAPES |= {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_NEEDS_ESCAPE = re.compile('["\\\\<>&\u2028\u2029\x00-\x1f]')


def format_json(value: Any) -> str:
    """Compact JSON with sorted keys, Go's number format and Go's string escapes.

    Examples: True -> "true"; 1.0 -> "1"; 0.95 -> "0.95"; 1e21 -> "1e+21";
    {"b": 1, "a": "<"} -> '{"a":"\\u003c","b":1}'.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return format_json_number(float(value))
    if isinstance(value, str):
        return _format_string(value)
    if isinstance(value, list):
        return "[" + ",".join(format_json(item) for item in value) + "]"
    if isinstance(value, Mapping):
        items = sorted((str(key), item) for key, item in value.items())
        return "{" + ",".join(f"{_format_string(key)}:{format_json(item)}" for key, item in items) + "}"
    return _format_string(str(value))


def format_json_number(number: float) -> str:
    """Go's float encoding: positional between 1e-6 and 1e21, else exponent ("1e+21", "1.5e-7")."""
    if math.isnan(number) or math.isinf(number):
        return _format_string(str(number))  # not JSON; cannot come from a parsed body
    digits = Decimal(repr(number))
    magnitude = abs(number)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        sign, numerals, exponent = digits.as_tuple()
        significand = "".join(str(numeral) for numeral in numerals).rstrip("0") or "0"
        power = int(exponent) + len(numerals) - 1
        mantissa = significand[0] + ("." + significand[1:] if len(significand) > 1 else "")
        return f"{'-' if sign else ''}{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}".replace("e-0", "e-")
    text = format(digits, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _format_string(text: str) -> str:
    def escape(match: re.Match[str]) -> str:
        character = match.group(0)
        return _GO_ESCAPES.get(character) or f"\\u{ord(character):04x}"

    return '"' + _NEEDS_ESCAPE.sub(escape, text) + '"'
