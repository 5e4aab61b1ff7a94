"""The `prometheus` metric provider: one PromQL query per measurement, instant or over a range.

Follows upstream's documented behaviour: the address comes from `provider.prometheus.address`, else from
`ARGO_ROLLOUTS_PROMETHEUS_ADDRESS` (handed in by whoever builds the provider, so nothing here reads the
environment); `timeout` defaults to 30 seconds; `headers` are sent with every query, after basic auth and an
OAuth2 bearer token (so a header named Authorization wins, as upstream's round-tripper order gives).
`authentication.sigv4` (`region`, `profile`, `roleArn`) signs every query with AWS SigV4 for Amazon Managed
Prometheus (service "aps"), with credentials from the standard AWS chain (`ramp.providers.aws`). Upstream signs
only when the address contains "aps-workspaces"; Ramp signs then too, and also whenever sigv4 names a region,
profile or role, so a sigv4 block is never ignored (a VPC endpoint or a proxy's address). A vector's
result is the list of its sample values (`[0.99]`, `[]` when empty), a range query's the values of all its series
in order, a scalar's the number itself; the status text writes numbers as Go's `strconv.FormatFloat(v, 'f', -1)`
does ("0.99", "1", "NaN", "+Inf"). `rangeQuery.start` and `end` are the time expressions upstream documents
(`now() - duration("5m")`, `now()`, `date("2024-01-01T00:00:00Z")`), read by a small parser here, since the
condition language lives in a higher layer (`ramp.analysis`); `step` is a Go duration.

Works with `ramp.providers.prometheus_api` (the HTTP client) and `ramp.providers.base` (the contract).
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from ramp.api.durations import parse_duration
from ramp.api.providers import PrometheusMetric, PrometheusRangeQueryArgs
from ramp.providers.aws import AwsCredentialSource, AwsError, AwsSettings, SigV4Signer
from ramp.providers.base import MeasurementContext, Reading, SingleShotProvider
from ramp.providers.bounded_http import build_provider_client
from ramp.providers.prometheus_api import (
    Matrix,
    PrometheusEndpoint,
    PrometheusError,
    QueryAnswer,
    Scalar,
    Vector,
    fetch_oauth2_token,
    run_instant_query,
    run_range_query,
    set_header,
)

ADDRESS_VARIABLE = "ARGO_ROLLOUTS_PROMETHEUS_ADDRESS"
"""The environment variable upstream reads when a metric names no address."""

DEFAULT_TIMEOUT_SECONDS = 30
AMP_SERVICE = "aps"
"""The SigV4 service name of Amazon Managed Service for Prometheus."""


class SettingError(ValueError):
    """A metric whose settings cannot be queried as written; the message names the field."""


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime
    step_seconds: float


class PrometheusProvider(SingleShotProvider):
    """Queries Prometheus once per measurement."""

    key = "prometheus"

    def __init__(self, default_address: str | None = None, aws: AwsCredentialSource | None = None) -> None:
        self.default_address = default_address or None
        self.aws = aws or AwsCredentialSource()

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> PrometheusProvider:
        """A provider whose fallback address is `ARGO_ROLLOUTS_PROMETHEUS_ADDRESS` from `environment`."""
        return cls(environment.get(ADDRESS_VARIABLE, "").strip() or None)

    async def measure(self, context: MeasurementContext) -> Reading:
        spec = context.metric.provider.prometheus
        if spec is None:
            return Reading.error("the metric has no provider.prometheus settings")
        try:
            endpoint = await build_endpoint(spec, self.default_address, context.http, self.aws)
            query = spec.query or ""
            if not query.strip():
                raise SettingError("provider.prometheus.query is empty: write the PromQL query to run")
            if spec.range_query is not None:
                window = read_time_range(spec.range_query, context.now)
                answer = await run_range_query(
                    context.http, endpoint, query, window.start, window.end, window.step_seconds
                )
            else:
                answer = await run_instant_query(context.http, endpoint, query, context.now)
        except (SettingError, PrometheusError) as problem:
            return Reading.error(str(problem))
        return read_answer(answer)


def read_answer(answer: QueryAnswer) -> Reading:
    """The reading for a query's answer: the values the conditions see and their text, as upstream."""
    metadata = describe_warnings(answer.warnings)
    result = answer.result
    if isinstance(result, Scalar):
        return Reading.evaluate(result.value, format_sample_value(result.value), metadata)
    if isinstance(result, Vector):
        values = [sample.value for sample in result.samples]
    elif isinstance(result, Matrix):
        values = [value for series in result.series for _, value in series.samples]
    else:
        return Reading.error(
            "Prometheus returned a string result, which conditions cannot judge: query a scalar or a vector",
            metadata,
        )
    return Reading.evaluate(values, "[" + ",".join(format_sample_value(value) for value in values) + "]", metadata)


def describe_warnings(warnings: tuple[str, ...]) -> dict[str, str]:
    """Upstream's measurement metadata for query warnings: {"warnings": '"first", "second"'}."""
    if not warnings:
        return {}
    return {"warnings": ", ".join(f'"{warning}"' for warning in warnings)}


def format_sample_value(value: float) -> str:
    """A value as Go's `strconv.FormatFloat(v, 'f', -1, 64)` writes it: shortest digits, never an exponent.

    Examples: 0.99 -> "0.99"; 1.0 -> "1"; 1e21 -> "1000000000000000000000"; NaN -> "NaN"; inf -> "+Inf".
    """
    if math.isnan(value):
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


async def build_endpoint(
    spec: PrometheusMetric,
    default_address: str | None,
    http: httpx.AsyncClient,
    aws: AwsCredentialSource | None = None,
) -> PrometheusEndpoint:
    """Where to query and with which headers; raises SettingError naming the field that is wrong."""
    address = read_address(spec.address or default_address)
    timeout = read_timeout(spec.timeout)
    insecure = bool(spec.insecure)
    headers: dict[str, str] = {}
    authentication = spec.authentication
    sigv4 = read_sigv4_settings(spec, address)
    signer = await _sign_with(aws, sigv4) if sigv4 is not None else None
    if authentication is not None:
        oauth2 = authentication.oauth2
        if oauth2 is not None and oauth2.token_url:
            if not oauth2.client_id or not oauth2.client_secret:
                raise SettingError(
                    "provider.prometheus.authentication.oauth2 needs clientId and clientSecret with tokenUrl"
                )
            token = await _fetch_token(
                http, oauth2.token_url, oauth2.client_id, oauth2.client_secret, oauth2.scopes or [], timeout, insecure
            )
            set_header(headers, "Authorization", f"Bearer {token}")
        basic = authentication.basic_auth
        if basic is not None and (basic.username or basic.password):
            if not basic.username:
                raise SettingError("provider.prometheus.authentication.basicAuth.username is missing")
            if not basic.password:
                raise SettingError("provider.prometheus.authentication.basicAuth.password is missing")
            set_header(headers, "Authorization", format_basic_authorization(basic.username, basic.password))
    for header in spec.headers or []:
        set_header(headers, header.key, header.value)
    return PrometheusEndpoint(address, headers, timeout, insecure, signer)


def read_sigv4_settings(spec: PrometheusMetric, address: str) -> AwsSettings | None:
    """The AWS settings to sign with, or None when queries are not signed; raises SettingError on a conflict."""
    authentication = spec.authentication
    sigv4 = authentication.sigv4 if authentication is not None else None
    named = sigv4 is not None and bool(sigv4.region or sigv4.profile or sigv4.role_arn)
    if not named and "aps-workspaces" not in address:
        return None
    if authentication is not None and (
        (authentication.basic_auth is not None and bool(authentication.basic_auth.username))
        or (authentication.oauth2 is not None and bool(authentication.oauth2.token_url))
    ):
        raise SettingError(
            "provider.prometheus.authentication sets sigv4 together with basicAuth or oauth2: "
            "AWS signing replaces the Authorization header, so keep only one of them"
        )
    if sigv4 is None:
        return AwsSettings()
    return AwsSettings(sigv4.region or None, sigv4.profile or None, sigv4.role_arn or None)


async def _sign_with(aws: AwsCredentialSource | None, settings: AwsSettings) -> httpx.Auth:
    if aws is None:
        raise SettingError("provider.prometheus.authentication.sigv4 needs AWS credentials, which are not set up here")
    try:
        access = await aws.resolve(settings)
    except AwsError as problem:
        raise SettingError(f"provider.prometheus.authentication.sigv4: {problem}") from None
    return SigV4Signer(access, AMP_SERVICE)


async def _fetch_token(
    http: httpx.AsyncClient,
    token_url: str,
    client_id: str,
    client_secret: str,
    scopes: list[str],
    timeout_seconds: float,
    insecure: bool,
) -> str:
    if not insecure:
        return await fetch_oauth2_token(http, token_url, client_id, client_secret, scopes, timeout_seconds)
    async with build_provider_client(verify=False) as own:
        return await fetch_oauth2_token(own, token_url, client_id, client_secret, scopes, timeout_seconds)


def format_basic_authorization(username: str, password: str) -> str:
    """The Authorization value of HTTP basic authentication (RFC 7617)."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")


def read_address(address: str | None) -> str:
    if not address or not address.strip():
        raise SettingError(
            f"provider.prometheus.address is not set (nor {ADDRESS_VARIABLE}): "
            "set it to the server's URL, such as http://prometheus.monitoring:9090"
        )
    address = address.strip()
    try:
        url = httpx.URL(address)
    except httpx.InvalidURL:
        url = httpx.URL("")
    if not url.scheme or not url.host:
        raise SettingError(
            f"provider.prometheus.address {address!r} is not a URL: write it with its scheme and host, "
            "such as http://prometheus.monitoring:9090"
        )
    return address


def read_timeout(timeout: int | None) -> float:
    if timeout is None:
        return DEFAULT_TIMEOUT_SECONDS
    if timeout <= 0:
        raise SettingError(f"provider.prometheus.timeout must be a positive number of seconds, not {timeout}")
    return float(timeout)


def read_time_range(range_query: PrometheusRangeQueryArgs, now: datetime) -> TimeRange:
    """The window and step of a range query; raises SettingError naming the field that cannot be read."""
    start = _read_field_time("start", range_query.start, now)
    end = _read_field_time("end", range_query.end, now)
    step_text = (range_query.step or "").strip()
    try:
        step = parse_duration(step_text).total_seconds()
    except ValueError:
        raise SettingError(
            f'provider.prometheus.rangeQuery.step {step_text!r} is not a duration: write one such as "1m"'
        ) from None
    if step <= 0:
        raise SettingError(f"provider.prometheus.rangeQuery.step must be positive, not {step_text!r}")
    if end < start:
        raise SettingError("provider.prometheus.rangeQuery.end is before rangeQuery.start")
    return TimeRange(start, end, step)


def _read_field_time(name: str, text: str | None, now: datetime) -> datetime:
    try:
        return evaluate_time_expression(text or "", now)
    except ValueError as problem:
        raise SettingError(f"cannot read provider.prometheus.rangeQuery.{name} {text!r} as a time: {problem}") from None


_TOKEN = re.compile(
    r"""\s*(?:(?P<name>[A-Za-z_]\w*)|(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)|(?P<op>[-+(),]))"""
)

TimeValue = datetime | timedelta


def evaluate_time_expression(text: str, now: datetime) -> datetime:
    """A time from upstream's rangeQuery expressions: sums and differences of `now()`, `duration("5m")`,
    `date("2024-01-01T00:00:00Z")` and parentheses. Raises ValueError saying what is wrong.

    Examples: `now()` -> now; `now() - duration("1h")` -> an hour ago; `duration("5m")` alone is an error.
    """
    tokens = _tokenize(text)
    if not tokens:
        raise ValueError('the expression is empty: write one such as now() - duration("5m")')
    parser = _TimeParser(tokens, now)
    try:
        value = parser.parse_sum()
    except TypeError:
        raise ValueError("it mixes times with and without a time zone") from None
    if parser.position != len(tokens):
        raise ValueError(f"unexpected {tokens[parser.position]!r}")
    if not isinstance(value, datetime):
        raise ValueError('it is a duration, not a time: add it to now(), such as now() - duration("5m")')
    return value


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"unexpected {text[position:].strip()[:1]!r}")
        tokens.append(match.group(match.lastgroup or "op"))
        position = match.end()
    return tokens


class _TimeParser:
    """Recursive descent over: sum := term (('+'|'-') term)*; term := '-' term | '(' sum ')' | call."""

    def __init__(self, tokens: list[str], now: datetime) -> None:
        self.tokens = tokens
        self.position = 0
        self.now = now

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None:
            raise ValueError("the expression ends too early")
        if expected is not None and token != expected:
            raise ValueError(f"expected {expected!r}, found {token!r}")
        self.position += 1
        return token

    def parse_sum(self) -> TimeValue:
        value = self.parse_term()
        while self.peek() in ("+", "-"):
            operator = self.take()
            value = _combine(value, operator, self.parse_term())
        return value

    def parse_term(self) -> TimeValue:
        token = self.take()
        if token == "-":
            value = self.parse_term()
            if isinstance(value, datetime):
                raise ValueError("a time cannot be negated")
            return -value
        if token == "(":
            value = self.parse_sum()
            self.take(")")
            return value
        if not (token[0].isalpha() or token[0] == "_"):
            raise ValueError(f"unexpected {token!r}")
        self.take("(")
        arguments: list[str] = []
        while self.peek() != ")":
            if arguments:
                self.take(",")
            arguments.append(_unquote(self.take()))
        self.take(")")
        return self._call(token, arguments)

    def _call(self, name: str, arguments: list[str]) -> TimeValue:
        if name == "now" and not arguments:
            return self.now
        if name == "duration" and len(arguments) == 1:
            return parse_duration(arguments[0])
        if name == "date" and len(arguments) == 1:
            moment = datetime.fromisoformat(arguments[0])
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        raise ValueError(f"{name}() with {len(arguments)} argument(s) is not supported: use now(), duration(), date()")


def _unquote(token: str) -> str:
    if len(token) < 2 or token[0] not in "\"'`" or token[-1] != token[0]:
        raise ValueError(f"expected a quoted string, found {token!r}")
    body = token[1:-1]
    return body if token[0] == "`" else re.sub(r"\\(.)", r"\1", body)


def _combine(left: TimeValue, operator: str, right: TimeValue) -> TimeValue:
    if isinstance(left, datetime) and isinstance(right, timedelta):
        return left + right if operator == "+" else left - right
    if isinstance(left, timedelta) and isinstance(right, datetime) and operator == "+":
        return right + left
    if isinstance(left, timedelta) and isinstance(right, timedelta):
        return left + right if operator == "+" else left - right
    if isinstance(left, datetime) and isinstance(right, datetime) and operator == "-":
        return left - right
    raise ValueError(f"cannot {'add' if operator == '+' else 'subtract'} these two times")
