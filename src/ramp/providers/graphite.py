"""The `graphite` metric provider: one Graphite render API query per measurement.

Follows upstream Argo Rollouts' documented behaviour: `query` holds the render parameters as written in a URL
(`target=...`, and `from=-5min` or others when wanted); its whitespace is removed, so templates may spread a
long target over lines, `format=json` is set, and the request is `GET {address}/render?...` with the parameters
in name order, as Go's `url.Values.Encode` writes them. The first target's data points with a value make the
`result` list (numbers); the status text writes each with six decimals ("[90.000000,95.500000]"). No target,
or a first target without data points, is an error ("no values found"); points that are all null give `[]`.

Works with `ramp.providers.base` (the contract) and `ramp.providers.prometheus_api` (transport error wording).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode

import httpx

from ramp.providers.base import MeasurementContext, Reading, SingleShotProvider
from ramp.providers.prometheus_api import describe_http_error

HTTP_TIMEOUT_SECONDS = 10.0
_WHITESPACE = re.compile(r"\s+")


class GraphiteError(ValueError):
    """A query that could not be made or whose answer cannot be read; the message says why."""


class GraphiteProvider(SingleShotProvider):
    """Queries Graphite once per measurement."""

    key = "graphite"

    async def measure(self, context: MeasurementContext) -> Reading:
        spec = context.metric.provider.graphite
        if spec is None:
            return Reading.error("the metric has no provider.graphite settings")
        try:
            url = build_render_url(spec.address or "", spec.query or "")
            response = await send_query(context.http, url)
            return read_answer(response.status_code, response.content)
        except GraphiteError as problem:
            return Reading.error(str(problem))


def build_render_url(address: str, query: str) -> str:
    """The render URL for `query` (render parameters, whitespace removed) under `address`'s path."""
    try:
        base = httpx.URL(address)
    except httpx.InvalidURL:
        base = httpx.URL("")
    if not address or not base.scheme or not base.host:
        raise GraphiteError(f"provider.graphite.address {address!r} is not a URL, such as http://graphite:8080")
    compact = _WHITESPACE.sub("", query).split("#", 1)[0]
    parameters = [(name, value) for name, value in parse_qsl(compact, keep_blank_values=True) if name != "format"]
    parameters.append(("format", "json"))
    parameters.sort(key=lambda pair: pair[0])  # stable: repeated names keep their order, as Go's Encode does
    path = base.path.rstrip("/") + "/render"
    origin = f"{base.scheme}://{base.netloc.decode()}"
    return f"{origin}{path}?{urlencode(parameters, quote_via=quote_plus)}"


async def send_query(http: httpx.AsyncClient, url: str) -> httpx.Response:
    try:
        return await http.get(url, timeout=httpx.Timeout(HTTP_TIMEOUT_SECONDS))
    except httpx.TimeoutException:
        raise GraphiteError(f"Graphite did not answer {url} within {HTTP_TIMEOUT_SECONDS:g}s") from None
    except httpx.HTTPError as failure:
        raise GraphiteError(f"cannot reach Graphite at {url}: {describe_http_error(failure)}") from None


def read_answer(status: int, body: bytes) -> Reading:
    """The reading for a render answer in JSON: the first target's values."""
    if status >= 400:
        raise GraphiteError(f"Graphite answered HTTP {status}: {body.decode('utf-8', 'replace').strip()}")
    try:
        document = json.loads(body)
    except ValueError as problem:
        raise GraphiteError(f"Graphite's answer is not JSON: {problem}") from None
    if not isinstance(document, list) or not all(isinstance(target, dict) for target in document):
        raise GraphiteError("Graphite's answer is not a list of targets")
    # Every target is read (a malformed one fails the answer, as upstream decodes them all); the first is measured.
    targets = [[read_point(point) for point in read_datapoints(target)] for target in document]
    first = targets[0] if targets else []
    if not first:
        raise GraphiteError("no values found")
    values = [value for value in first if value is not None]
    return Reading.evaluate(values, "[" + ",".join(f"{value:f}" for value in values) + "]")


def read_datapoints(target: dict[str, Any]) -> list[Any]:
    points = target.get("datapoints")
    if points is None:
        return []
    if not isinstance(points, list):
        raise GraphiteError(f"Graphite's target {target.get('target')!r} has datapoints that are not a list")
    return points


def read_point(point: Any) -> float | None:
    """A `[value, timestamp]` pair's value (None for a gap); the value may be a number or numeric text."""
    if not isinstance(point, list) or len(point) != 2:
        raise GraphiteError(f"Graphite's answer has a data point that is not [value, timestamp]: {point!r}")
    value, timestamp = point
    if timestamp is not None and not is_timestamp(timestamp):
        raise GraphiteError(f"Graphite's answer has a timestamp that is not a number: {timestamp!r}")
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            raise GraphiteError(f"Graphite's answer has a value that is not a number: {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GraphiteError(f"Graphite's answer has a value that is not a number: {value!r}")
    return float(value)


def is_timestamp(value: Any) -> bool:
    if isinstance(value, str):
        return re.fullmatch(r"[+-]?\d+", value) is not None
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
