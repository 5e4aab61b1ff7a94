"""The `cloudWatch` metric provider: one CloudWatch `GetMetricData` call per measurement, signed with AWS SigV4.

Follows upstream Argo Rollouts' documented behaviour: the metric's `metricDataQueries` are sent as written over
the last `interval` (5m by default), ending now; the `result` the conditions see is the list of
`MetricDataResults`, each a map with AWS's field names (`Id`, `Label`, `StatusCode`, `Timestamps`, `Values`,
`Messages`), so `len(result[0].Values) >= 5 and all(result[0].Values, {# <= 0.01})` reads as upstream's docs
show; the status text is the values as Go's `%+v` writes them (`[[0.01 0.02] []]`), and CloudWatch's messages
go to the `messages` metadata. An empty answer is the empty list, judged by the conditions.

The call uses CloudWatch's documented Query protocol (a form POST, an XML answer), signed with SigV4 by botocore.
Like upstream's AWS SDK, credentials come from the standard AWS chain (`ramp.providers.aws`: environment keys,
shared config and credentials files, a web identity token through STS, instance roles); the region from
`AWS_REGION` (or `AWS_DEFAULT_REGION`, else the shared config); `AWS_ENDPOINT_URL_CLOUDWATCH` or
`AWS_ENDPOINT_URL` call another endpoint (a local stand-in).

Works with `ramp.providers.base` (the contract), `ramp.providers.aws` (credentials and signing),
`ramp.providers.go_text` (upstream's number text) and `ramp.providers.prometheus_api` (transport error wording).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode
from xml.etree import ElementTree

import httpx

from ramp.api.durations import parse_duration
from ramp.api.meta import IntOrString
from ramp.api.providers import CloudWatchMetricDataQuery
from ramp.providers.aws import AwsCredentialSource, AwsError, AwsSettings, sign_headers
from ramp.providers.base import MeasurementContext, Reading, SingleShotProvider
from ramp.providers.go_text import format_float_general
from ramp.providers.prometheus_api import describe_http_error

DEFAULT_INTERVAL = "5m"
API_VERSION = "2010-08-01"
SERVICE = "monitoring"
HTTP_TIMEOUT_SECONDS = 30.0
ENVIRONMENT_KEYS = (
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_CLOUDWATCH",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)


class CloudWatchError(ValueError):
    """A call that could not be made or whose answer cannot be read; the message says why."""


class CloudWatchProvider(SingleShotProvider):
    """Calls CloudWatch GetMetricData once per measurement."""

    key = "cloudWatch"

    def __init__(self, environment: Mapping[str, str] | None = None, aws: AwsCredentialSource | None = None) -> None:
        self.environment = dict(environment or {})
        self.aws = aws or AwsCredentialSource()

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> CloudWatchProvider:
        """A provider with the AWS region and endpoint found in `environment` (credentials: the AWS chain)."""
        return cls({name: environment[name] for name in ENVIRONMENT_KEYS if name in environment})

    async def measure(self, context: MeasurementContext) -> Reading:
        spec = context.metric.provider.cloud_watch
        if spec is None:
            return Reading.error("the metric has no provider.cloudWatch settings")
        try:
            interval = read_interval(spec.interval)
            form = encode_request(spec.metric_data_queries, context.now - interval, context.now)
            access = await self.aws.resolve(AwsSettings(region=read_region(self.environment)))
            url = read_endpoint(self.environment, access.region)
            body = urlencode(form, quote_via=quote).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
            headers.update(sign_headers(access, SERVICE, "POST", url, body, headers))
            response = await send_request(context.http, url, body, headers)
            return read_answer(response.status_code, response.content)
        except (CloudWatchError, AwsError) as problem:
            return Reading.error(str(problem))


def read_region(environment: Mapping[str, str]) -> str | None:
    """`AWS_REGION` or `AWS_DEFAULT_REGION`; None leaves the region to the shared config."""
    return environment.get("AWS_REGION") or environment.get("AWS_DEFAULT_REGION") or None


def read_endpoint(environment: Mapping[str, str], region: str) -> str:
    """The URL to POST to: `AWS_ENDPOINT_URL_CLOUDWATCH`, else `AWS_ENDPOINT_URL`, else the regional endpoint."""
    endpoint = ""
    if environment.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() != "true":
        endpoint = environment.get("AWS_ENDPOINT_URL_CLOUDWATCH") or environment.get("AWS_ENDPOINT_URL") or ""
    if not endpoint:
        suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        endpoint = f"https://{SERVICE}.{region}.{suffix}"
    return endpoint.rstrip("/") + "/"


def read_interval(text: str | None) -> timedelta:
    try:
        return parse_duration(text or DEFAULT_INTERVAL)
    except ValueError:
        raise CloudWatchError(f'provider.cloudWatch.interval {text!r} is not a duration, such as "5m"') from None


def encode_request(
    queries: Sequence[CloudWatchMetricDataQuery], start: datetime, end: datetime
) -> list[tuple[str, str]]:
    """The Query protocol form of a GetMetricData call, with the fields upstream's AWS SDK sends."""
    form = [("Action", "GetMetricData"), ("Version", API_VERSION)]
    form += [("StartTime", format_timestamp(start)), ("EndTime", format_timestamp(end))]
    for number, query in enumerate(queries, start=1):
        prefix = f"MetricDataQueries.member.{number}."
        form.append((prefix + "Id", query.id or ""))
        if query.expression is not None:
            form.append((prefix + "Expression", query.expression))
        if query.label is not None:
            form.append((prefix + "Label", query.label))
        stat = query.metric_stat
        if stat is not None:
            metric = stat.metric
            if metric is not None and metric.namespace is not None:
                form.append((prefix + "MetricStat.Metric.Namespace", metric.namespace))
            form.append((prefix + "MetricStat.Metric.MetricName", (metric.metric_name if metric else None) or ""))
            for index, dimension in enumerate((metric.dimensions if metric else None) or [], start=1):
                dimension_prefix = f"{prefix}MetricStat.Metric.Dimensions.member.{index}."
                form.append((dimension_prefix + "Name", dimension.name or ""))
                form.append((dimension_prefix + "Value", dimension.value or ""))
            form.append((prefix + "MetricStat.Period", str(read_int_or_string(stat.period))))
            form.append((prefix + "MetricStat.Stat", stat.stat or ""))
            if stat.unit:
                form.append((prefix + "MetricStat.Unit", stat.unit))
        if query.period is not None:
            form.append((prefix + "Period", str(read_int_or_string(query.period))))
        if query.return_data is not None:
            form.append((prefix + "ReturnData", "true" if query.return_data else "false"))
    return form


def read_int_or_string(value: IntOrString | None) -> int:
    """A period as Kubernetes' IntOrString.IntValue reads it: a number, or 0 for text that is not one."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    try:
        return int(value.strip())
    except ValueError:
        return 0


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds when there are any, as AWS's Query protocol takes them."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


async def send_request(http: httpx.AsyncClient, url: str, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
    try:
        async with asyncio.timeout(HTTP_TIMEOUT_SECONDS):  # a total deadline, not one per read
            return await http.post(
                url, content=body, headers=dict(headers), timeout=httpx.Timeout(HTTP_TIMEOUT_SECONDS)
            )
    except (TimeoutError, httpx.TimeoutException):
        raise CloudWatchError(f"CloudWatch at {url} did not answer within {HTTP_TIMEOUT_SECONDS:g}s") from None
    except httpx.HTTPError as failure:
        raise CloudWatchError(f"cannot reach CloudWatch at {url}: {describe_http_error(failure)}") from None


def read_answer(status: int, body: bytes) -> Reading:
    """The reading for a GetMetricData answer (or CloudWatch's error answer)."""
    root = parse_xml(body, status)
    if not 200 <= status < 300 or local_name(root) == "ErrorResponse":
        raise CloudWatchError(describe_error(root, status))
    result_node = child(root, "GetMetricDataResult")
    if local_name(root) != "GetMetricDataResponse" or result_node is None:
        raise CloudWatchError(f"CloudWatch's answer is not a GetMetricDataResponse but <{local_name(root)}>")
    results = [read_data_result(member) for member in members(child(result_node, "MetricDataResults"))]
    messages = [read_message(member) for member in members(child(result_node, "Messages"))]
    text = (
        "["
        + " ".join("[" + " ".join(format_float_general(value) for value in entry["Values"]) + "]" for entry in results)
        + "]"
    )
    metadata = {"messages": describe_messages(messages)} if messages else {}
    return Reading.evaluate(results, text, metadata)


def read_data_result(node: ElementTree.Element) -> dict[str, Any]:
    """One MetricDataResult as a map with AWS's field names."""
    values: list[float] = []
    for member in members(child(node, "Values")):
        try:
            values.append(float((member.text or "").strip()))
        except ValueError:
            raise CloudWatchError(f"CloudWatch's answer has a value that is not a number: {member.text!r}") from None
    timestamps: list[datetime] = []
    for member in members(child(node, "Timestamps")):
        try:
            timestamps.append(datetime.fromisoformat((member.text or "").strip()).astimezone(UTC))
        except ValueError:
            raise CloudWatchError(f"CloudWatch's answer has a timestamp that is not a time: {member.text!r}") from None
    return {
        "Id": child_text(node, "Id"),
        "Label": child_text(node, "Label"),
        "Messages": [read_message(member) for member in members(child(node, "Messages"))],
        "StatusCode": child_text(node, "StatusCode") or "",
        "Timestamps": timestamps,
        "Values": values,
    }


def read_message(node: ElementTree.Element) -> dict[str, str | None]:
    return {"Code": child_text(node, "Code"), "Value": child_text(node, "Value")}


def describe_messages(messages: list[dict[str, str | None]]) -> str:
    """CloudWatch's messages as "[{Code:... Value:...}]" (upstream prints the SDK's structs the same way)."""
    return "[" + " ".join(f"{{Code:{entry['Code'] or ''} Value:{entry['Value'] or ''}}}" for entry in messages) + "]"


def describe_error(root: ElementTree.Element, status: int) -> str:
    error = child(root, "Error")
    if error is None:
        return f"CloudWatch answered HTTP {status}"
    code = child_text(error, "Code") or "an error"
    message = child_text(error, "Message")
    return f"CloudWatch answered HTTP {status} {code}{': ' + message if message else ''}"


def parse_xml(body: bytes, status: int) -> ElementTree.Element:
    # AWS never sends a DOCTYPE; refusing one keeps entity expansion out of the parser.
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise CloudWatchError("CloudWatch's answer declares a DOCTYPE, which AWS never sends")
    try:
        return ElementTree.fromstring(body)
    except ElementTree.ParseError as problem:
        raise CloudWatchError(f"CloudWatch answered HTTP {status} with a body that is not XML: {problem}") from None


def local_name(node: ElementTree.Element) -> str:
    return node.tag.rsplit("}", 1)[-1]


def child(node: ElementTree.Element | None, name: str) -> ElementTree.Element | None:
    if node is None:
        return None
    return next((item for item in node if local_name(item) == name), None)


def child_text(node: ElementTree.Element, name: str) -> str | None:
    found = child(node, name)
    return None if found is None else (found.text or "")


def members(node: ElementTree.Element | None) -> list[ElementTree.Element]:
    return [] if node is None else [item for item in node if local_name(item) == "member"]
