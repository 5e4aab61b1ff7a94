"""The `wavefront` metric provider: one Wavefront chart API query per measurement.

Follows upstream Argo Rollouts' documented behaviour: the token for `address` (such as "example.wavefront.com")
is the value under that key in the Secret "wavefront-api-tokens" in the controller's namespace, sent as a bearer
token to `https://{address}/api/v2/chart/api` with the query at the measurement's time (start and end both now,
in epoch milliseconds, one point at second granularity, series outside the window included). For each series
the data point closest to now is taken: one series gives a number, several a list of numbers; the status text
writes them with two decimals ("0.95", "[0.95,0.97]"), and the metadata records each point's timestamp and its
drift from now in seconds, plus Wavefront's warnings. No series at all is an error, as upstream.

An address written with a scheme (http://127.0.0.1:8080) is used as written, for proxies and local stand-ins.

Works with `ramp.providers.base` (the contract) and `ramp.providers.prometheus_api` (transport error wording).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from ramp.providers.base import MeasurementContext, Reading, SecretReader, SingleShotProvider, describe_exception
from ramp.providers.prometheus_api import describe_http_error

TOKENS_SECRET_NAME = "wavefront-api-tokens"
HTTP_TIMEOUT_SECONDS = 30.0
GO_INT64_MIN = -(2**63)
"""What Go's int64 conversion of +Inf gives on amd64: upstream's drift for a series without points."""


class WavefrontError(ValueError):
    """A query that could not be made or whose answer cannot be read; the message says why."""


@dataclass(frozen=True)
class ClosestPoint:
    value: float
    timestamp: int
    drift: int


class WavefrontProvider(SingleShotProvider):
    """Queries Wavefront once per measurement."""

    key = "wavefront"

    async def measure(self, context: MeasurementContext) -> Reading:
        spec = context.metric.provider.wavefront
        if spec is None:
            return Reading.error("the metric has no provider.wavefront settings")
        try:
            address = spec.address or ""
            token = await find_token(context.read_secret, context.controller_namespace, address)
            url = build_url(address)
            params = build_params(spec.query or "", context.now)
            response = await send_query(context.http, url, params, token)
            return read_answer(response.status_code, response.content, context.now)
        except WavefrontError as problem:
            return Reading.error(str(problem))


async def find_token(read_secret: SecretReader | None, namespace: str, address: str) -> str:
    """The API token stored under `address` in the tokens Secret; raises WavefrontError saying what is missing."""
    secret = f"{namespace}/{TOKENS_SECRET_NAME}"
    if read_secret is None:
        raise WavefrontError(f"cannot read Secret {secret}: Secrets cannot be read here")
    try:
        tokens = await read_secret(namespace, TOKENS_SECRET_NAME)
    except Exception as problem:  # reported on the measurement, like any other failure to query
        raise WavefrontError(f"cannot read Secret {secret}: {describe_exception(problem)}") from None
    if address not in tokens:
        raise WavefrontError(f"API token not found: Secret {secret} has no key for address {address!r}")
    return tokens[address]


def build_url(address: str) -> str:
    base = address if "://" in address else f"https://{address}"
    return base.rstrip("/") + "/api/v2/chart/api"


def build_params(query: str, now: datetime) -> dict[str, str]:
    """The chart API parameters upstream's client sends: every flag spelled out, start and end at `now`."""
    moment = str(int(now.timestamp()) * 1000)
    return {
        "autoEvents": "false",
        "e": moment,
        "g": "s",
        "i": "true",
        "includeObsoleteMetrics": "false",
        "listmode": "false",
        "p": "1",
        "q": query,
        "s": moment,
        "strict": "false",
    }


async def send_query(http: httpx.AsyncClient, url: str, params: Mapping[str, str], token: str) -> httpx.Response:
    try:
        return await http.get(
            url,
            params=dict(params),
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=httpx.Timeout(HTTP_TIMEOUT_SECONDS),
        )
    except httpx.TimeoutException:
        raise WavefrontError(f"Wavefront at {url} did not answer within {HTTP_TIMEOUT_SECONDS:g}s") from None
    except httpx.HTTPError as failure:
        raise WavefrontError(f"cannot reach Wavefront at {url}: {describe_http_error(failure)}") from None


def read_answer(status: int, body: bytes, now: datetime) -> Reading:
    """The reading for a chart API answer: the point closest to `now` of each series."""
    if status != 200:
        raise WavefrontError(f"Wavefront answered HTTP {status}: {body.decode('utf-8', 'replace').strip()}")
    try:
        document = json.loads(body)
    except ValueError as problem:
        raise WavefrontError(f"Wavefront's answer is not JSON: {problem}") from None
    if not isinstance(document, dict):
        raise WavefrontError("Wavefront's answer is not a JSON object")
    metadata: dict[str, str] = {}
    warnings = document.get("warnings")
    if isinstance(warnings, str) and warnings:
        metadata["warnings"] = warnings
    series = read_series(document.get("timeseries"))
    if not series:
        raise WavefrontError("No TimeSeries found in response from Wavefront")
    points = [find_closest_point(points, now.timestamp()) for points in series]
    if len(points) == 1:
        point = points[0]
        metadata.update(timestamps=str(point.timestamp), drift=str(point.drift))
        return Reading.evaluate(point.value, f"{point.value:.2f}", metadata)
    metadata["timestamps"] = "[" + ",".join(str(point.timestamp) for point in points) + "]"
    metadata["drift"] = "[" + ",".join(str(point.drift) for point in points) + "]"
    text = "[" + ",".join(f"{point.value:.2f}" for point in points) + "]"
    return Reading.evaluate([point.value for point in points], text, metadata)


def read_series(raw: Any) -> list[list[tuple[float, float]]]:
    """Each series' data points as (epoch seconds, value)."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(entry, dict) for entry in raw):
        raise WavefrontError("Wavefront's answer has timeseries that are not a list of objects")
    series: list[list[tuple[float, float]]] = []
    for entry in raw:
        points = entry.get("data") or []
        if not isinstance(points, list):
            raise WavefrontError("Wavefront's answer has a series whose data is not a list")
        series.append([read_point(point) for point in points])
    return series


def read_point(point: Any) -> tuple[float, float]:
    if not isinstance(point, list) or len(point) < 2 or not all(is_number(item) for item in point):
        raise WavefrontError(f"Wavefront's answer has a data point that is not [timestamp, value]: {point!r}")
    return float(point[0]), float(point[1])


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def find_closest_point(points: Sequence[tuple[float, float]], now_seconds: float) -> ClosestPoint:
    """The point nearest to now (the first of equals), with its drift: its time minus now, in whole seconds."""
    start = float(int(now_seconds))  # upstream compares with the measurement's start in whole seconds
    best: tuple[float, float] | None = None
    best_delta = math.inf
    for timestamp, value in points:
        delta = timestamp - start
        if abs(delta) < abs(best_delta):
            best, best_delta = (timestamp, value), delta
    if best is None:
        return ClosestPoint(0.0, 0, GO_INT64_MIN)
    return ClosestPoint(best[1], int(best[0]), int(best_delta))
