"""A small asynchronous client for Prometheus' HTTP API: instant and range queries, typed results.

Sends `/api/v1/query` and `/api/v1/query_range` as form posts (falling back to GET when a proxy answers 405, as
Prometheus' own Go client does) over a caller's `httpx.AsyncClient`, and reads the documented response envelope
(`status`, `data.resultType`, `data.result`, `errorType`, `error`, `warnings`) into `Scalar`, `Vector`, `Matrix`
or `StringResult`. Every failure (HTTP status, Prometheus error, unreadable body, connection, timeout) raises
`PrometheusError` with a one-line message naming the server. Also fetches OAuth2 client-credentials tokens, the
only authentication besides plain headers that upstream's Prometheus and web providers use, and sets headers with
Go's case-insensitive replacement (`set_header`).

Used by `ramp.providers.prometheus` (the metric provider) and `ramp.providers.judge` (range queries for the
statistical canary judge).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

import httpx

from ramp.providers.bounded_http import build_provider_client

QUERY_PATH = "/api/v1/query"
RANGE_QUERY_PATH = "/api/v1/query_range"

# Prometheus answers these statuses with its JSON error envelope; any other non-2xx body is not API JSON.
_API_ERROR_STATUSES = frozenset({400, 422, 503})


class PrometheusError(Exception):
    """A query that produced no result: the message says why, in one line."""


@dataclass(frozen=True)
class PrometheusEndpoint:
    """Where and how to send queries. `headers` already hold any authentication (Basic or Bearer); `auth` signs
    each request when it must be (AWS SigV4 for Amazon Managed Prometheus)."""

    address: str
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: float = 30
    insecure: bool = False
    auth: httpx.Auth | None = None


@dataclass(frozen=True)
class Sample:
    """One element of an instant vector."""

    labels: Mapping[str, str]
    timestamp: float
    value: float


@dataclass(frozen=True)
class Series:
    """One series of a range result: its labels and its (unix seconds, value) samples in time order."""

    labels: Mapping[str, str]
    samples: list[tuple[float, float]]


@dataclass(frozen=True)
class Scalar:
    timestamp: float
    value: float


@dataclass(frozen=True)
class Vector:
    samples: list[Sample]


@dataclass(frozen=True)
class Matrix:
    series: list[Series]


@dataclass(frozen=True)
class StringResult:
    timestamp: float
    value: str


QueryResult = Scalar | Vector | Matrix | StringResult


@dataclass(frozen=True)
class QueryAnswer:
    """A result together with the warnings Prometheus attached to it."""

    result: QueryResult
    warnings: tuple[str, ...] = ()


async def query_instant(
    http: httpx.AsyncClient, endpoint: PrometheusEndpoint, query: str, at: datetime | None = None
) -> QueryResult:
    """Evaluate `query` at one instant (`at`, else the server's now)."""
    return (await run_instant_query(http, endpoint, query, at)).result


async def query_range(
    http: httpx.AsyncClient,
    endpoint: PrometheusEndpoint,
    query: str,
    start: datetime,
    end: datetime,
    step_seconds: float,
) -> list[Series]:
    """Evaluate `query` every `step_seconds` from `start` to `end`; the series of the matrix it returns."""
    result = (await run_range_query(http, endpoint, query, start, end, step_seconds)).result
    if not isinstance(result, Matrix):
        raise PrometheusError(f"Prometheus answered a range query with a {describe_result_type(result)}")
    return result.series


async def run_instant_query(
    http: httpx.AsyncClient, endpoint: PrometheusEndpoint, query: str, at: datetime | None = None
) -> QueryAnswer:
    """An instant query with its warnings."""
    form = {"query": query}
    if at is not None:
        form["time"] = format_timestamp(at)
    return await _send(http, endpoint, QUERY_PATH, form)


async def run_range_query(
    http: httpx.AsyncClient,
    endpoint: PrometheusEndpoint,
    query: str,
    start: datetime,
    end: datetime,
    step_seconds: float,
) -> QueryAnswer:
    """A range query with its warnings."""
    if step_seconds <= 0:
        raise PrometheusError(f"the step of a range query must be positive, not {step_seconds}")
    form = {
        "query": query,
        "start": format_timestamp(start),
        "end": format_timestamp(end),
        "step": format_number(step_seconds),
    }
    return await _send(http, endpoint, RANGE_QUERY_PATH, form)


def format_timestamp(moment: datetime) -> str:
    """Unix seconds as Prometheus reads them: "1700000000" or "1700000000.25" (a naive time is taken as UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return format_number(aware.timestamp())


def format_number(number: float) -> str:
    return repr(int(number)) if float(number).is_integer() else repr(float(number))


async def fetch_oauth2_token(
    http: httpx.AsyncClient,
    token_url: str,
    client_id: str,
    client_secret: str,
    scopes: Sequence[str] = (),
    timeout_seconds: float = 30,
) -> str:
    """An access token from an OAuth2 client-credentials grant (RFC 6749 §4.4).

    Credentials go in a Basic header first and, if the server refuses that, in the form, as Go's oauth2
    package does when the server's preference is unknown. Raises PrometheusError when no token is granted.
    """
    form = {"grant_type": "client_credentials"}
    if scopes:
        form["scope"] = " ".join(scopes)
    basic = "Basic " + base64.b64encode(f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()).decode("ascii")
    attempts: list[tuple[dict[str, str], dict[str, str]]] = [
        (form, {"Authorization": basic}),
        ({**form, "client_id": client_id, "client_secret": client_secret}, {}),
    ]
    problem = ""
    for body, headers in attempts:
        try:
            response = await http.post(token_url, data=body, headers=headers, timeout=timeout_seconds)
        except httpx.HTTPError as failure:
            raise PrometheusError(
                f"cannot fetch an OAuth2 token from {token_url}: {describe_http_error(failure)}"
            ) from None
        if response.is_success:
            token = _read_token(response)
            if token:
                return token
            problem = "the answer holds no access_token"
            break
        problem = f"HTTP {response.status_code} {_first_line(response.text)}".strip()
    raise PrometheusError(f"cannot fetch an OAuth2 token from {token_url}: {problem}")


def set_header(headers: dict[str, str], name: str, value: str) -> None:
    """Set one header, replacing any of the same name in another case (as Go's Header.Set does)."""
    for existing in [key for key in headers if key.lower() == name.lower()]:
        del headers[existing]
    headers[name] = value


def _read_token(response: httpx.Response) -> str:
    if "application/x-www-form-urlencoded" in response.headers.get("content-type", ""):
        return httpx.QueryParams(response.text).get("access_token") or ""
    try:
        payload = response.json()
    except ValueError:
        return ""
    token = payload.get("access_token") if isinstance(payload, dict) else None
    return token if isinstance(token, str) else ""


async def _send(
    http: httpx.AsyncClient, endpoint: PrometheusEndpoint, path: str, form: Mapping[str, str]
) -> QueryAnswer:
    url = endpoint.address.rstrip("/") + path
    try:
        async with asyncio.timeout(endpoint.timeout_seconds):
            if endpoint.insecure:
                # Only a client of its own can skip certificate checks; the shared one keeps verifying.
                async with build_provider_client(verify=False) as insecure:
                    response = await _post_or_get(insecure, url, endpoint, form)
            else:
                response = await _post_or_get(http, url, endpoint, form)
    except (TimeoutError, httpx.TimeoutException):
        raise PrometheusError(
            f"Prometheus at {endpoint.address} did not answer within {format_number(endpoint.timeout_seconds)}s"
        ) from None
    except httpx.HTTPError as failure:
        raise PrometheusError(
            f"cannot reach Prometheus at {endpoint.address}: {describe_http_error(failure)}"
        ) from None
    return read_answer(response.status_code, response.content, endpoint.address)


async def _post_or_get(
    http: httpx.AsyncClient, url: str, endpoint: PrometheusEndpoint, form: Mapping[str, str]
) -> httpx.Response:
    timeout = httpx.Timeout(endpoint.timeout_seconds)
    headers = dict(endpoint.headers)
    auth = endpoint.auth if endpoint.auth is not None else httpx.USE_CLIENT_DEFAULT
    response = await http.post(url, data=dict(form), headers=headers, timeout=timeout, auth=auth)
    if response.status_code == httpx.codes.METHOD_NOT_ALLOWED:
        response = await http.get(url, params=dict(form), headers=headers, timeout=timeout, auth=auth)
    return response


def describe_http_error(failure: httpx.HTTPError) -> str:
    """The cause of a transport failure in words ("connection refused"), not Python's errno text."""
    text = str(failure).strip()
    cause: BaseException | None = failure
    while cause is not None:
        if isinstance(cause, ConnectionRefusedError) or "Connection refused" in str(cause):
            return "connection refused"
        cause = cause.__cause__ or cause.__context__
    if isinstance(failure, httpx.ConnectError) and text in ("", "All connection attempts failed"):
        return "connection failed"
    return text or type(failure).__name__


def read_answer(status: int, body: bytes, address: str) -> QueryAnswer:
    """Read one response of the query API; raises PrometheusError for anything but a successful result."""
    if not (200 <= status < 300) and status not in _API_ERROR_STATUSES:
        reason = httpx.codes.get_reason_phrase(status)
        detail = _first_line(body.decode("utf-8", "replace"))
        raise PrometheusError(
            f"Prometheus at {address} answered HTTP {status} {reason}{': ' + detail if detail else ''}"
        )
    try:
        envelope = httpx.Response(status, content=body).json()
    except ValueError:
        raise PrometheusError(f"Prometheus at {address} answered HTTP {status} with a body that is not JSON") from None
    if not isinstance(envelope, dict):
        raise PrometheusError(f"Prometheus at {address} answered with JSON that is not an API response")
    if envelope.get("status") == "error":
        raise PrometheusError(f"{envelope.get('errorType') or 'error'}: {envelope.get('error') or 'no message'}")
    if status not in range(200, 300):
        raise PrometheusError(f"Prometheus at {address} answered HTTP {status} with a successful body")
    data = envelope.get("data")
    if not isinstance(data, dict):
        raise PrometheusError(f"Prometheus at {address} answered without data")
    warnings = tuple(str(warning) for warning in envelope.get("warnings") or ())
    return QueryAnswer(parse_result(data.get("resultType"), data.get("result")), warnings)


def parse_result(result_type: Any, result: Any) -> QueryResult:
    """The typed value of `data.result` for its `data.resultType`."""
    try:
        if result_type == "scalar":
            return Scalar(float(result[0]), parse_value(result[1]))
        if result_type == "string":
            return StringResult(float(result[0]), str(result[1]))
        if result_type == "vector":
            return Vector([_parse_sample(item) for item in result])
        if result_type == "matrix":
            return Matrix([_parse_series(item) for item in result])
    except KeyError as problem:
        raise PrometheusError(f"cannot read a Prometheus {result_type} result: it lacks {problem}") from None
    except (TypeError, ValueError, IndexError) as problem:
        raise PrometheusError(f"cannot read a Prometheus {result_type} result: {problem}") from None
    raise PrometheusError(f"Prometheus returned an unknown result type {result_type!r}")


def parse_value(text: Any) -> float:
    """A sample value as Prometheus writes it: "0.99", "NaN", "+Inf", "-Inf"."""
    if not isinstance(text, str):
        raise ValueError(f"sample value {text!r} is not a string")
    return float(text)


def _parse_sample(item: Any) -> Sample:
    if "value" not in item and "histogram" in item:
        raise PrometheusError("Prometheus returned native histogram samples, which have no single value")
    timestamp, value = item["value"]
    return Sample(_labels(item), float(timestamp), parse_value(value))


def _parse_series(item: Any) -> Series:
    if "values" not in item and "histograms" in item:
        raise PrometheusError("Prometheus returned native histogram samples, which have no single value")
    return Series(_labels(item), [(float(moment), parse_value(value)) for moment, value in item.get("values", [])])


def _labels(item: Any) -> dict[str, str]:
    return {str(name): str(value) for name, value in (item.get("metric") or {}).items()}


def describe_result_type(result: QueryResult) -> str:
    """ "scalar", "vector", "matrix" or "string", as the API names them."""
    names: dict[type, str] = {Scalar: "scalar", Vector: "vector", Matrix: "matrix", StringResult: "string"}
    return names[type(result)]


def _first_line(text: str) -> str:
    stripped = text.strip()
    return stripped.splitlines()[0][:200] if stripped else ""
