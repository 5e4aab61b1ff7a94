"""The `skywalking` metric provider: one GraphQL query to Apache SkyWalking's OAP server per measurement.

Follows upstream Argo Rollouts' documented behaviour (features/analysis.md "SkyWalking", metricproviders/skywalking):
the metric's `query` is POSTed as GraphQL (`{"query": ..., "variables": {"duration": ...}}`) to
`{address}/graphql`, with the variable `duration` covering the last `interval` up to now at minute steps
(`{"start": "2024-01-01 1155", "end": "2024-01-01 1200", "step": "MINUTE"}`, UTC). The answer's `data` is what
the conditions see as `result` (so `all(result.service_apdex.values.values, {asFloat(.value) >= 9900})` reads as
upstream's docs show) and its compact JSON, keys sorted as Go writes a map, the measurement's value. A GraphQL
error is an Error measurement with SkyWalking's message ("graphql: ..."); an answer without data is an Error too.

Each query has a total deadline of 30 seconds (upstream's); a password in `address` never reaches a message.
Works with `ramp.providers.base` (the contract) and `ramp.providers.prometheus_api` (transport error wording).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ramp.api.durations import parse_duration
from ramp.api.providers import SkyWalkingMetric
from ramp.providers.base import MeasurementContext, Reading, SingleShotProvider, redact_url
from ramp.providers.prometheus_api import describe_http_error

QUERY_DEADLINE_SECONDS = 30.0
STEP = "MINUTE"


class SkyWalkingError(Exception):
    """A query that could not be run or whose answer cannot be read; the message says why."""


class SkyWalkingProvider(SingleShotProvider):
    """Runs one GraphQL query against SkyWalking per measurement."""

    key = "skywalking"

    async def measure(self, context: MeasurementContext) -> Reading:
        spec = context.metric.provider.skywalking
        if spec is None:
            return Reading.error("the metric has no provider.skywalking settings")
        try:
            address, query, interval = read_settings(spec)
            data = await run_query(context.http, address, query, build_duration(context.now, interval))
        except SkyWalkingError as problem:
            return Reading.error(str(problem))
        return Reading.evaluate(data, format_value(data))


def read_settings(spec: SkyWalkingMetric) -> tuple[str, str, timedelta]:
    """The address, query and interval; raises SkyWalkingError naming the field that is missing or wrong."""
    address = (spec.address or "").strip()
    if not address:
        raise SkyWalkingError(
            "provider.skywalking.address is not set: write the OAP server's URL, such as http://skywalking-oap:12800"
        )
    query = spec.query or ""
    if not query.strip():
        raise SkyWalkingError("provider.skywalking.query is empty: write the GraphQL query to run")
    text = (spec.interval or "").strip()
    if not text:
        raise SkyWalkingError(
            'provider.skywalking.interval is not set: write the window the query covers, such as "5m"'
        )
    try:
        interval = parse_duration(text)
    except ValueError:
        raise SkyWalkingError(f'provider.skywalking.interval {text!r} is not a duration, such as "5m"') from None
    if interval <= timedelta(0):
        raise SkyWalkingError(f"provider.skywalking.interval must be positive, not {text!r}")
    return address, query, interval


def build_duration(now: datetime, interval: timedelta) -> dict[str, str]:
    """The GraphQL `duration` variable: from `now - interval` to `now`, minute precision, UTC.

    Example: now 2024-01-01 12:00:30, interval 5m -> {"start": "2024-01-01 1155", "end": "2024-01-01 1200"}.
    """
    end = now.astimezone(UTC)
    return {"start": (end - interval).strftime("%Y-%m-%d %H%M"), "end": end.strftime("%Y-%m-%d %H%M"), "step": STEP}


def format_value(data: Any) -> str:
    """The measurement's value: compact JSON with sorted keys, as Go's json.Marshal writes a decoded answer."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


async def run_query(http: httpx.AsyncClient, address: str, query: str, duration: dict[str, str]) -> Any:
    """The `data` of SkyWalking's answer; raises SkyWalkingError for a transport, HTTP or GraphQL failure."""
    url = address.rstrip("/") + "/graphql"
    shown = redact_url(url)
    payload = {"query": query, "variables": {"duration": duration}}
    try:
        async with asyncio.timeout(QUERY_DEADLINE_SECONDS):
            response = await http.post(
                url, json=payload, headers={"Accept": "application/json"}, timeout=QUERY_DEADLINE_SECONDS
            )
    except (TimeoutError, httpx.TimeoutException):
        raise SkyWalkingError(f"SkyWalking at {shown} did not answer within {QUERY_DEADLINE_SECONDS:g}s") from None
    except httpx.HTTPError as failure:
        raise SkyWalkingError(f"cannot reach SkyWalking at {shown}: {describe_http_error(failure)}") from None
    try:
        answer = response.json()
    except ValueError:
        raise SkyWalkingError(
            f"SkyWalking at {shown} answered HTTP {response.status_code} with a body that is not JSON"
        ) from None
    if not isinstance(answer, dict):
        raise SkyWalkingError(f"SkyWalking at {shown} answered with JSON that is not a GraphQL response")
    errors = answer.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        message = first.get("message") if isinstance(first, dict) else None
        raise SkyWalkingError(f"graphql: {message or 'the query failed'}")
    if not response.is_success:
        raise SkyWalkingError(f"SkyWalking at {shown} answered HTTP {response.status_code}")
    data = answer.get("data")
    if data is None:
        raise SkyWalkingError("no results returned from SkyWalking query")
    return data
