"""The `datadog` metric provider: one Datadog metrics query per measurement, API v1 or v2.

Follows upstream Argo Rollouts' documented behaviour:
- v1 (the default) sends `GET {address}/api/v1/query?from=&query=&to=` over the last `interval` (5m by default)
  in Unix seconds; the result is the value of the last point of the first series.
- v2 sends `POST {address}/api/v2/query/scalar` with a `scalar_request` over the same window in milliseconds:
  `query` (named "query") or `queries` combined by `formula`, each with `aggregator` (default "last") and
  `data_source` "metrics". An ungrouped answer's result is its first value; a grouped one (`by {tag}`) is the
  list of values, with the `(name, value)` pairs in the measurement's `groups` metadata (at most 100: the 50
  lowest and 50 highest, flagged by `groups_truncated`); null values are skipped.
- An empty answer is no error: the conditions judge `result` as nil and the status text is the series as Datadog
  sent them (v1, such as "[]") or "[]" (v2).
- Keys: `secretRef.name` names the Secret (in the run's namespace when `secretRef.namespaced`, else in the
  controller's); without it, the `DD_API_KEY`, `DD_APP_KEY` and `DD_ADDRESS` variables (all three must be set)
  and then the Secret "datadog" in the controller's namespace. A Secret holds `api-key`, `app-key` and
  optionally `address` (default https://api.datadoghq.com).
- `requestTimeout` (default 10s) bounds each call.

Works with `ramp.providers.base` (the contract), `ramp.providers.go_text` (upstream's number text) and
`ramp.providers.prometheus_api` (transport error wording).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from ramp.api.durations import parse_duration
from ramp.api.providers import DatadogMetric
from ramp.providers.base import MeasurementContext, Reading, SecretReader, SingleShotProvider, describe_exception
from ramp.providers.go_text import format_float_plain, format_go_json
from ramp.providers.prometheus_api import describe_http_error

DEFAULT_ADDRESS = "https://api.datadoghq.com"
DEFAULT_SECRET_NAME = "datadog"
ENVIRONMENT_KEYS = {"address": "DD_ADDRESS", "api-key": "DD_API_KEY", "app-key": "DD_APP_KEY"}
MAX_GROUPS_IN_METADATA = 100
"""Grouped answers can have thousands of groups; the status keeps the extremes so the object stays small."""


class DatadogError(ValueError):
    """A query that could not be made or whose answer cannot be read; the message says why."""


@dataclass(frozen=True)
class Credentials:
    address: str
    api_key: str
    app_key: str


@dataclass(frozen=True)
class DatadogRequest:
    method: str
    url: str
    params: Mapping[str, str]
    body: Mapping[str, Any] | None
    headers: Mapping[str, str]
    timeout_seconds: float


class DatadogProvider(SingleShotProvider):
    """Queries Datadog once per measurement."""

    key = "datadog"

    def __init__(self, environment: Mapping[str, str] | None = None) -> None:
        self.environment = dict(environment or {})

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> DatadogProvider:
        """A provider that falls back on `DD_API_KEY`, `DD_APP_KEY` and `DD_ADDRESS` from `environment`."""
        return cls({name: environment[name] for name in ENVIRONMENT_KEYS.values() if name in environment})

    async def measure(self, context: MeasurementContext) -> Reading:
        spec = context.metric.provider.datadog
        if spec is None:
            return Reading.error("the metric has no provider.datadog settings")
        try:
            credentials = await find_credentials(
                spec, context.namespace, context.controller_namespace, context.read_secret, self.environment
            )
            request = build_request(spec, credentials, context.now)
            response = await send_request(context.http, request)
            if spec.effective_api_version == "v2":
                return read_scalar_answer(response.status_code, response.content)
            return read_timeseries_answer(response.status_code, response.content)
        except DatadogError as problem:
            return Reading.error(str(problem))


async def find_credentials(
    spec: DatadogMetric,
    namespace: str,
    controller_namespace: str,
    read_secret: SecretReader | None,
    environment: Mapping[str, str],
) -> Credentials:
    """The address and keys to use, looked up in upstream's order; raises DatadogError saying where it looked."""
    secret_name = (spec.secret_ref.name if spec.secret_ref else None) or ""
    namespaced = bool(spec.secret_ref and spec.secret_ref.namespaced)
    if namespaced and not secret_name:
        raise DatadogError("provider.datadog.secretRef.name is required when secretRef.namespaced is true")
    looked: list[str] = []
    if not secret_name:
        from_environment = read_environment_credentials(environment)
        if from_environment is not None:
            return from_environment
        looked.append("the variables DD_API_KEY, DD_APP_KEY and DD_ADDRESS (all three must be set)")
    secret_namespace = namespace if namespaced else controller_namespace
    secret_name = secret_name or DEFAULT_SECRET_NAME
    found, reason = await read_secret_credentials(read_secret, secret_namespace, secret_name)
    if found is not None:
        return found
    looked.append(f"Secret {secret_namespace}/{secret_name} ({reason})")
    raise DatadogError("no Datadog credentials found: looked in " + "; ".join(looked))


def read_environment_credentials(environment: Mapping[str, str]) -> Credentials | None:
    """Credentials from the DD_* variables, as upstream: only when all three are set and both keys are not empty."""
    if not all(name in environment for name in ENVIRONMENT_KEYS.values()):
        return None
    found = Credentials(environment["DD_ADDRESS"], environment["DD_API_KEY"], environment["DD_APP_KEY"])
    return found if found.api_key and found.app_key else None


async def read_secret_credentials(
    read_secret: SecretReader | None, namespace: str, name: str
) -> tuple[Credentials | None, str]:
    """Credentials from a Secret's `api-key`, `app-key` and `address`, or None and why not."""
    if read_secret is None:
        return None, "Secrets cannot be read here"
    try:
        data = await read_secret(namespace, name)
    except Exception as problem:  # a missing or forbidden Secret is one more place without keys
        return None, f"cannot read it: {describe_exception(problem)}"
    api_key, app_key = data.get("api-key", ""), data.get("app-key", "")
    if not api_key or not app_key:
        return None, "it needs the keys api-key and app-key"
    return Credentials(data.get("address", ""), api_key, app_key), ""


def check_settings(spec: DatadogMetric) -> None:
    """Upstream's checks of a metric's settings; raises DatadogError naming the field to fix."""
    queries = spec.queries or {}
    if not spec.query and not queries:
        raise DatadogError("provider.datadog needs a query or queries")
    if spec.query and queries:
        raise DatadogError("provider.datadog has both query and queries: keep one")
    version = spec.effective_api_version
    if version == "v1" and not spec.query:
        raise DatadogError("provider.datadog.query is empty: apiVersion v1 only supports query (use v2 for queries)")
    if spec.formula and not queries:
        raise DatadogError("provider.datadog.formula needs queries")
    if not spec.formula and len(queries) > 1:
        raise DatadogError("provider.datadog.queries has several queries: add a formula that combines them")
    if version == "v1" and spec.aggregator:
        raise DatadogError("provider.datadog.aggregator is not supported with apiVersion v1: use v2 or remove it")


def build_request(spec: DatadogMetric, credentials: Credentials, now: datetime) -> DatadogRequest:
    """The HTTP request for one measurement at `now`; raises DatadogError for settings that cannot be sent."""
    check_settings(spec)
    interval_seconds = int(read_duration_seconds("interval", spec.effective_interval))
    timeout_seconds = read_duration_seconds("requestTimeout", spec.effective_request_timeout)
    if timeout_seconds <= 0:
        raise DatadogError("provider.datadog.requestTimeout must be a positive duration, such as 30s")
    address = credentials.address or DEFAULT_ADDRESS
    version = spec.effective_api_version
    url = address + ("/api/v2/query/scalar" if version == "v2" else "/api/v1/query")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = httpx.URL("")
    if not parsed.scheme or not parsed.host:
        raise DatadogError(f"the Datadog address {address!r} is not a URL, such as https://api.datadoghq.com")
    headers = {
        "Content-Type": "application/json",
        "DD-API-KEY": credentials.api_key,
        "DD-APPLICATION-KEY": credentials.app_key,
    }
    to = int(now.timestamp())
    start = to - interval_seconds
    if version != "v2":
        params = {"from": str(start), "query": spec.query or "", "to": str(to)}
        return DatadogRequest("GET", url, params, None, headers, timeout_seconds)
    queries = {"query": spec.query} if spec.query else dict(spec.queries or {})
    aggregator = spec.aggregator or "last"  # Datadog refuses an empty aggregator
    body = {
        "data": {
            "attributes": {
                "from": start * 1000,
                "to": to * 1000,
                "queries": [
                    {"aggregator": aggregator, "data_source": "metrics", "name": name, "query": query}
                    for name, query in queries.items()
                ],
                "formulas": [{"formula": spec.formula}] if spec.formula else [],
            },
            "type": "scalar_request",
        }
    }
    return DatadogRequest("POST", url, {}, body, headers, timeout_seconds)


def read_duration_seconds(field: str, text: str) -> float:
    try:
        return parse_duration(text).total_seconds()
    except ValueError:
        raise DatadogError(f'provider.datadog.{field} {text!r} is not a duration, such as "5m"') from None


async def send_request(http: httpx.AsyncClient, request: DatadogRequest) -> httpx.Response:
    try:
        return await http.request(
            request.method,
            request.url,
            params=request.params or None,
            content=json.dumps(request.body).encode() if request.body is not None else None,
            headers=dict(request.headers),
            timeout=httpx.Timeout(request.timeout_seconds),
        )
    except httpx.TimeoutException:
        raise DatadogError(f"Datadog at {request.url} did not answer within {request.timeout_seconds:g}s") from None
    except httpx.HTTPError as failure:
        raise DatadogError(f"cannot reach Datadog at {request.url}: {describe_http_error(failure)}") from None


def check_status(status: int, body: bytes) -> None:
    text = body.decode("utf-8", "replace").strip()
    if status in (401, 403):
        raise DatadogError(f"Datadog refused the API or application key (HTTP {status}): {text}")
    if status != 200:
        raise DatadogError(f"Datadog answered HTTP {status}: {text}")


def read_json_object(body: bytes) -> Mapping[str, Any]:
    try:
        document = json.loads(body)
    except ValueError as problem:
        raise DatadogError(f"Datadog's answer is not JSON: {problem}") from None
    if not isinstance(document, dict):
        raise DatadogError("Datadog's answer is not a JSON object")
    return document


def read_timeseries_answer(status: int, body: bytes) -> Reading:
    """The reading for a v1 `/api/v1/query` answer: the last point's value of the first series."""
    check_status(status, body)
    series = read_series(read_json_object(body).get("series"))
    if not series or not series[0]:
        # Upstream writes the series it decoded (points only) as the status text of an empty answer.
        shown = None if series is None else [{"pointlist": points} for points in series]
        return Reading.evaluate(None, format_go_json(shown))
    last = series[0][-1]
    if last is None or len(last) != 2:
        raise DatadogError("Datadog's last data point does not have 2 values (timestamp and value)")
    return Reading.evaluate(last[1], format_float_plain(last[1]))


def read_series(raw: Any) -> list[list[list[float] | None] | None] | None:
    """Each series' points as upstream decodes them: a null value reads as 0, as Go leaves the float unset."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise DatadogError("Datadog's answer has a series field that is not a list")
    series: list[list[list[float] | None] | None] = []
    for entry in raw:
        if entry is not None and not isinstance(entry, dict):
            raise DatadogError("Datadog's answer has a series entry that is not an object")
        points = (entry or {}).get("pointlist")
        if points is None:
            series.append(None)
            continue
        if not isinstance(points, list):
            raise DatadogError("Datadog's answer has a pointlist that is not a list")
        series.append([read_point(point) for point in points])
    return series


def read_point(point: Any) -> list[float] | None:
    if point is None:
        return None
    if not isinstance(point, list):
        raise DatadogError("Datadog's answer has a data point that is not a list")
    return [0.0 if value is None else read_number(value) for value in point]


def read_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DatadogError(f"Datadog's answer has a value that is not a number: {json.dumps(value)}")
    return float(value)


@dataclass(frozen=True)
class ScalarValues:
    values: list[float]
    group_names: list[str]
    is_grouped: bool


def read_scalar_answer(status: int, body: bytes) -> Reading:
    """The reading for a v2 `/api/v2/query/scalar` answer."""
    check_status(status, body)
    data = read_json_object(body).get("data") or {}
    if not isinstance(data, dict):
        raise DatadogError("Datadog's answer has a data field that is not an object")
    errors = data.get("errors")
    if errors is not None and not isinstance(errors, str):
        raise DatadogError("Datadog's answer has an errors field that is not text")
    if errors:
        raise DatadogError(f"Datadog reported errors in the query: {errors}")
    attributes = data.get("attributes") or {}
    columns = attributes.get("columns") if isinstance(attributes, dict) else None
    if columns is not None and not isinstance(columns, list):
        raise DatadogError("Datadog's answer has a columns field that is not a list")
    found = read_scalar_columns(columns or [])
    if not found.values:
        return Reading.evaluate(None, "[]")
    if not found.is_grouped:
        return Reading.evaluate(found.values[0], format_float_plain(found.values[0]))
    metadata = describe_groups(list(zip(found.group_names, found.values, strict=True)))
    text = "[" + ",".join(format_float_plain(value) for value in found.values) + "]"
    return Reading.evaluate(found.values, text, metadata)


def read_scalar_columns(columns: Sequence[Any]) -> ScalarValues:
    """The first number column's values (a column without a type counts as one) and, when the query was grouped,
    each value's group name joined across every group column ("us-east,host-a")."""
    if not all(isinstance(column, dict) for column in columns):
        raise DatadogError("Datadog's answer has a column that is not an object")
    numbers = next((column for column in columns if column.get("type", "") in ("", "number")), None)
    groups = [column for column in columns if column.get("type") == "group"]
    if numbers is None:
        return ScalarValues([], [], bool(groups))
    raw_values = numbers.get("values") or []
    if not isinstance(raw_values, list):
        raise DatadogError(f"Datadog's column {numbers.get('name')!r} has values that are not a list")
    values: list[float] = []
    names: list[str] = []
    for index, raw in enumerate(raw_values):
        if raw is None:
            continue  # Datadog's "no data for this group": skipped with its group name
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise DatadogError(f"Datadog's column {numbers.get('name')!r} has a value that is not a number: {raw!r}")
        values.append(float(raw))
        if groups:
            names.append(read_group_name(groups, index))
    return ScalarValues(values, names, bool(groups))


def read_group_name(groups: Sequence[Mapping[str, Any]], index: int) -> str:
    parts: list[str] = []
    for column in groups:
        column_values = column.get("values") or []
        tags = column_values[index] if isinstance(column_values, list) and index < len(column_values) else None
        if not isinstance(tags, list) or not tags or not all(isinstance(tag, str) for tag in tags):
            raise DatadogError(f"Datadog's answer has no readable group name for value {index}")
        parts.extend(tags)
    return ",".join(parts)


def describe_groups(groups: list[tuple[str, float]]) -> dict[str, str]:
    """The `groups` metadata: `[{"name":...,"value":...}]`, cut to the lowest and highest values when long."""
    truncated = len(groups) > MAX_GROUPS_IN_METADATA
    if truncated:
        ordered = sorted(groups, key=lambda group: group[1])
        low = MAX_GROUPS_IN_METADATA // 2
        groups = ordered[:low] + ordered[len(ordered) - (MAX_GROUPS_IN_METADATA - low) :]
    # Upstream writes a struct, so "name" comes before "value" (not sorted as a map would be).
    entries = ",".join(
        '{"name":' + format_go_json(name) + ',"value":' + format_go_json(value) + "}" for name, value in groups
    )
    metadata = {"groups": "[" + entries + "]"}
    if truncated:
        metadata["groups_truncated"] = "true"
    return metadata
