"""The `influxdb` metric provider: one Flux query per measurement, read from InfluxDB's annotated CSV.

Follows upstream Argo Rollouts' documented behaviour: the Secret named by `profile` (default "influxdb") in the
controller's namespace holds `address`, `authToken` and `org`; the query goes to `POST {address}/api/v2/query?org=`
with `Authorization: Token ...` and the annotated-CSV dialect (datatype, group and default annotations), as
InfluxDB's Go client sends it, within 30 seconds. The `_value` of every record of every table, typed by its
`#datatype` annotation (double, long, unsignedLong, boolean, string, dateTime, duration, base64Binary), makes the
`result` list, so conditions read `result[0]`; the status text is that list as Go's `fmt.Sprint` writes it
(`[0.5 1 true]`). No record is an error. Like the Go client, reading stops at the first malformed row or
in-band query error, and the records read before it are judged; with none, the error is reported.

Works with `ramp.providers.base` (the contract), `ramp.providers.go_text` (upstream's value text) and
`ramp.providers.prometheus_api` (transport error wording).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from ramp.api.durations import parse_duration
from ramp.providers.base import MeasurementContext, Reading, SecretReader, SingleShotProvider, describe_exception
from ramp.providers.go_text import format_go_value
from ramp.providers.prometheus_api import describe_http_error

DEFAULT_SECRET_NAME = "influxdb"
HTTP_TIMEOUT_SECONDS = 30.0
DIALECT = {"annotations": ["datatype", "group", "default"], "delimiter": ",", "header": True}


class InfluxdbError(ValueError):
    """A query that could not be made or whose answer cannot be read; the message says why."""


@dataclass(frozen=True)
class Profile:
    address: str
    token: str
    org: str


@dataclass
class FluxValues:
    """The `_value` of each record read, and why reading stopped early (None: it did not)."""

    values: list[Any] = field(default_factory=list)
    problem: str | None = None


class InfluxdbProvider(SingleShotProvider):
    """Runs one Flux query per measurement."""

    key = "influxdb"

    async def measure(self, context: MeasurementContext) -> Reading:
        spec = context.metric.provider.influxdb
        if spec is None:
            return Reading.error("the metric has no provider.influxdb settings")
        try:
            name = spec.profile or DEFAULT_SECRET_NAME
            profile = await read_profile(context.read_secret, context.controller_namespace, name)
            response = await send_query(context.http, profile, spec.query or "")
            return read_answer(response.status_code, response.content)
        except InfluxdbError as problem:
            return Reading.error(str(problem))


async def read_profile(read_secret: SecretReader | None, namespace: str, name: str) -> Profile:
    """The address, token and organisation from the profile Secret; raises InfluxdbError naming what is missing."""
    if read_secret is None:
        raise InfluxdbError(f"cannot read Secret {namespace}/{name}: Secrets cannot be read here")
    try:
        data = await read_secret(namespace, name)
    except Exception as problem:  # reported on the measurement, like any other failure to query
        raise InfluxdbError(f"cannot read Secret {namespace}/{name}: {describe_exception(problem)}") from None
    profile = Profile(data.get("address", ""), data.get("authToken", ""), data.get("org", ""))
    if not profile.address or not profile.token or not profile.org:
        raise InfluxdbError(f"Secret {namespace}/{name} needs the keys address, authToken and org")
    return profile


async def send_query(http: httpx.AsyncClient, profile: Profile, query: str) -> httpx.Response:
    url = profile.address.rstrip("/") + "/api/v2/query"
    body = {"dialect": DIALECT, "query": query, "type": "flux"}
    try:
        return await http.post(
            url,
            params={"org": profile.org},
            content=json.dumps(body).encode(),
            headers={
                "Authorization": f"Token {profile.token}",
                "Content-Type": "application/json",
                "Accept-Encoding": "gzip",
            },
            timeout=httpx.Timeout(HTTP_TIMEOUT_SECONDS),
        )
    except httpx.TimeoutException:
        raise InfluxdbError(f"InfluxDB at {url} did not answer within {HTTP_TIMEOUT_SECONDS:g}s") from None
    except httpx.HTTPError as failure:
        raise InfluxdbError(f"cannot reach InfluxDB at {url}: {describe_http_error(failure)}") from None


def read_answer(status: int, body: bytes) -> Reading:
    """The reading for a query answer: every record's `_value`."""
    text = body.decode("utf-8", "replace")
    if not 200 <= status < 300:
        raise InfluxdbError(f"InfluxDB answered HTTP {status}: {describe_error_body(text)}")
    found = read_flux_values(io.StringIO(text, newline=""))
    if not found.values:
        reason = f": {found.problem}" if found.problem else ""
        raise InfluxdbError(f"no results returned from flux query{reason}")
    return Reading.evaluate(found.values, format_go_value(found.values))


def describe_error_body(text: str) -> str:
    """InfluxDB's `{"code": ..., "message": ...}` as its message, or the body's text."""
    try:
        document = json.loads(text)
    except ValueError:
        return text.strip() or "no message given"
    if isinstance(document, dict) and document.get("message"):
        return str(document["message"])
    return text.strip()


@dataclass
class _Column:
    data_type: str = ""
    default: str = ""
    name: str = ""


def read_flux_values(lines: Iterable[str]) -> FluxValues:
    """The `_value` of each record of an annotated CSV answer, in order, as InfluxDB's Go client reads them."""
    found = FluxValues()
    columns: list[_Column] | None = None
    state = "normal"  # normal -> annotation -> (name row) -> normal | error
    has_datatype = False
    for row in csv.reader(lines):
        if len(row) <= 1:
            continue
        if row[0].startswith("#") and state == "normal":
            columns = [_Column() for _ in row[1:]]
            state, has_datatype = "annotation", False
        if columns is None:
            found.problem = "parsing error, annotations not found"
            return found
        if len(row) - 1 != len(columns):
            found.problem = f"parsing error, row has {len(row) - 1} columns but the table has {len(columns)}"
            return found
        cells = row[1:]
        if row[0] == "#datatype":
            has_datatype = True
            for column, cell in zip(columns, cells, strict=True):
                column.data_type = cell
        elif row[0] == "#default":
            for column, cell in zip(columns, cells, strict=True):
                column.default = cell
        elif row[0].startswith("#"):
            continue  # #group, and annotations newer than this reader: nothing to keep
        elif row[0]:
            found.problem = f"parsing error, unexpected first column {row[0]!r}"
            return found
        elif state == "annotation" and not has_datatype:
            found.problem = "parsing error, datatype annotation not found"
            return found
        elif state == "annotation":
            if cells[0] == "error":
                state = "error"
            else:
                for column, cell in zip(columns, cells, strict=True):
                    column.name = cell
                state = "normal"
        elif state == "error":
            message = cells[0] or "unknown query error"
            found.problem = message + (f",{cells[1]}" if len(cells) > 1 and cells[1] else "")
            return found
        else:
            try:
                record = {
                    column.name: convert_cell(cell or column.default, column)
                    for column, cell in zip(columns, cells, strict=True)
                }
            except InfluxdbError as problem:
                found.problem = str(problem)
                return found
            found.values.append(record.get("_value"))
    return found


def convert_cell(text: str, column: _Column) -> Any:
    """A cell typed by its column's `#datatype`; an empty cell is None."""
    if text == "":
        return None
    kind = column.data_type
    try:
        if kind == "string":
            return text
        if kind in ("dateTime:RFC3339", "dateTime:RFC3339Nano"):
            return read_time(text)
        if kind == "duration":
            return parse_duration(text)
        if kind == "double":
            return float(text)
        if kind == "boolean":
            return text.lower() != "false"
        if kind in ("long", "unsignedLong"):
            number = int(text, 10)
            low, high = (-(2**63), 2**63 - 1) if kind == "long" else (0, 2**64 - 1)
            if not low <= number <= high:
                raise ValueError("out of range")
            return number
        if kind == "base64Binary":
            return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error) as problem:
        raise InfluxdbError(
            f"column {column.name} has a {kind} value that cannot be read: {text!r} ({problem})"
        ) from None
    raise InfluxdbError(f"{column.name} has unknown data type {kind}")


_FRACTION = re.compile(r"(\.\d{6})\d+")


def read_time(text: str) -> datetime:
    """An RFC 3339 time, nanoseconds cut to microseconds (Python's resolution)."""
    moment = datetime.fromisoformat(_FRACTION.sub(r"\1", text))
    if moment.tzinfo is None:
        raise ValueError("no time zone")
    return moment.astimezone(UTC)
