"""The influxdb provider against a local stand-in for InfluxDB's Flux query API (recorded annotated CSV)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

import httpx
import pytest

from ramp.analysis.expression import evaluate_condition
from ramp.api.analysis import Metric
from ramp.providers.base import EVALUATE, MeasurementContext, Reading
from ramp.providers.influxdb import InfluxdbProvider, read_answer, read_flux_values
from tests.unit.providers.local_server import only_request, read_recorded, recorded_reply, serve_recorded

FLUX = 'from(bucket: "app_istio") |> range(start: -15m)'


async def measure(secrets: Mapping[tuple[str, str], Mapping[str, str]], profile: str | None = None) -> Reading:
    async def read_secret(namespace: str, name: str) -> Mapping[str, str]:
        if (namespace, name) not in secrets:
            raise LookupError(f'secrets "{name}" not found')
        return secrets[(namespace, name)]

    spec = {"query": FLUX, **({"profile": profile} if profile else {})}
    metric = Metric.model_validate({"name": "errors", "provider": {"influxdb": spec}})
    async with httpx.AsyncClient() as http:
        context = MeasurementContext(
            metric=metric,
            namespace="shop",
            run_name="run",
            run_uid="uid",
            now=datetime.now(UTC),
            http=http,
            read_secret=read_secret,
        )
        return await InfluxdbProvider().measure(context)


def profile(url: str) -> dict[str, str]:
    return {"address": url, "authToken": "influx-token", "org": "shop-org"}


async def test_every_records_value_is_in_the_result_and_a_low_rate_passes():
    with serve_recorded({"/api/v2/query": recorded_reply("influxdb/query.csv")}) as server:
        reading = await measure({("argo-rollouts", "influxdb"): profile(server.url)})
    assert (reading.phase, reading.result) == (EVALUATE, [0.004, 0.0075, 1500000])
    assert reading.value == "[0.004 0.0075 1500000]"
    assert evaluate_condition("result[0] <= 0.01", reading.result) is True
    request = only_request(server)
    assert (request.method, request.path, request.query) == ("POST", "/api/v2/query", {"org": "shop-org"})
    assert request.headers["authorization"] == "Token influx-token"
    assert json.loads(request.body) == {
        "dialect": {"annotations": ["datatype", "group", "default"], "delimiter": ",", "header": True},
        "query": FLUX,
        "type": "flux",
    }


async def test_a_high_rate_fails_and_the_profile_names_the_secret():
    with serve_recorded({"/api/v2/query": recorded_reply("influxdb/query_failing.csv")}) as server:
        reading = await measure({("argo-rollouts", "team-influx"): profile(server.url)}, profile="team-influx")
    assert (reading.result, reading.value) == ([0.25], "[0.25]")
    assert evaluate_condition("result[0] <= 0.01", reading.result) is False


@pytest.mark.parametrize(
    ("recording", "status", "message"),
    [
        ("query_empty.csv", 200, "no results returned from flux query"),
        ("query_error.csv", 200, "no results returned from flux query: failed to initialize execute state"),
        ("unauthorized.json", 401, "InfluxDB answered HTTP 401: unauthorized access"),
        ("query_malformed.csv", 200, "double value that cannot be read: 'not-a-number'"),
    ],
    ids=["empty", "in-band query error", "unauthorized", "malformed value"],
)
async def test_bad_answers_are_errors(recording, status, message):
    with serve_recorded({"/api/v2/query": recorded_reply(f"influxdb/{recording}", status)}) as server:
        reading = await measure({("argo-rollouts", "influxdb"): profile(server.url)})
    assert reading.phase == "Error"
    assert message in (reading.message or "")


def test_values_are_typed_by_their_datatype_annotation():
    text = read_recorded("influxdb/query.csv").replace("1500000,true", ",true")
    lines = [
        *text.splitlines(),
        "#datatype,string,long,boolean,duration,dateTime:RFC3339",
        "#group,false,false,false,false,false",
        "#default,_result,,,,",
        ",result,table,_value,d,t",
        ",,2,false,1m30s,2024-01-01T00:00:00Z",
    ]
    found = read_flux_values(lines)
    assert found.problem is None
    assert found.values == [0.004, 0.0075, None, False]


def test_records_before_a_malformed_row_are_kept_as_upstream():
    lines = [
        "#datatype,string,long,double",
        "#group,false,false,false",
        "#default,_result,,",
        ",result,table,_value",
        ",,0,0.5",
        ",,0,oops",
    ]
    found = read_flux_values(lines)
    assert found.values == [0.5]
    assert "oops" in (found.problem or "")


@pytest.mark.parametrize(
    ("secrets", "message"),
    [
        ({}, 'cannot read Secret argo-rollouts/influxdb: secrets "influxdb" not found'),
        ({("argo-rollouts", "influxdb"): {"address": "http://x", "authToken": "t"}}, "needs the keys address"),
    ],
    ids=["no secret", "no org"],
)
async def test_missing_settings_are_errors(secrets, message):
    reading = await measure(secrets)
    assert reading.phase == "Error"
    assert message in (reading.message or "")


@pytest.mark.parametrize(
    ("datatype", "cell", "value", "text"),
    [
        ("double", "1000000", 1e6, "[1e+06]"),
        ("double", "0.00001", 1e-5, "[1e-05]"),
        ("unsignedLong", "18446744073709551615", 2**64 - 1, "[18446744073709551615]"),
        ("boolean", "true", True, "[true]"),
        ("string", "canary ok", "canary ok", "[canary ok]"),
        (
            "dateTime:RFC3339Nano",
            "2024-01-02T03:04:05.5Z",
            datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=UTC),
            "[2024-01-02 03:04:05.5 +0000 UTC]",
        ),
    ],
    ids=["large double", "small double", "unsigned", "boolean", "string", "time"],
)
def test_value_text_is_what_gos_fmt_sprint_writes(datatype, cell, value, text):
    header = f"#datatype,string,long,{datatype}\n#group,false,false,false\n#default,_result,,\n"
    body = header + f",result,table,_value\n,,0,{cell}\n"
    reading = read_answer(200, body.encode())
    assert (reading.result, reading.value) == ([value], text)
