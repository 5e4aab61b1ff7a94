"""The kayenta provider against a local server speaking Kayenta's API (canary configs, judgements, results)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ramp.api.analysis import Metric
from ramp.api.analysis_status import AnalysisPhase, Measurement
from ramp.providers.base import MeasurementContext, Reading, measure_safely, resume_safely
from ramp.providers.kayenta import KayentaProvider, classify_score
from tests.backends import Reply, serve
from tests.backends.kayenta import KayentaStandIn

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


def kayenta_spec(address: str, **changes: Any) -> dict[str, Any]:
    spec = {
        "address": address,
        "application": "shop",
        "canaryConfigName": "checkout-canary",
        "metricsAccountName": "prometheus-account",
        "configurationAccountName": "config-account",
        "storageAccountName": "storage-account",
        "threshold": {"pass": 90, "marginal": 75},
        "scopes": [
            {
                "name": "default",
                "controlScope": {
                    "scope": "app=stable",
                    "region": "us-east-1",
                    "step": 60,
                    "start": "2024-01-01T11:00:00Z",
                    "end": "2024-01-01T12:00:00Z",
                },
                "experimentScope": {"scope": "app=canary", "region": "us-east-1", "step": 60},
            }
        ],
    }
    return {**spec, **changes}


@pytest.fixture
def kayenta():
    stand_in = KayentaStandIn()
    stand_in.server.start()
    yield stand_in
    stand_in.server.stop()


def context_for(spec: dict[str, Any], http: httpx.AsyncClient, now: datetime = NOW) -> MeasurementContext:
    metric = Metric.model_validate({"name": "judge", "provider": {"kayenta": spec}})
    return MeasurementContext(metric=metric, namespace="shop", run_name="run", run_uid="uid", now=now, http=http)


async def start(spec: dict[str, Any]) -> Reading:
    async with httpx.AsyncClient() as http:
        return await measure_safely(KayentaProvider(), context_for(spec, http))


async def poll(spec: dict[str, Any], reading: Reading, now: datetime) -> Reading:
    measurement = Measurement.model_validate(
        {"phase": reading.phase, "metadata": dict(reading.metadata), "startedAt": "2024-01-01T12:00:00Z"}
    )
    async with httpx.AsyncClient() as http:
        return await resume_safely(KayentaProvider(), context_for(spec, http, now), measurement)


async def test_a_judgement_is_started_for_the_named_config_and_runs(kayenta: KayentaStandIn) -> None:
    reading = await start(kayenta_spec(kayenta.server.url))
    assert (reading.phase, reading.metadata, reading.message) == ("Running", {"canaryExecutionId": "exec-7"}, None)
    assert reading.resume_at == NOW + timedelta(seconds=15)
    lookup, started = kayenta.server.requests
    assert lookup.query == {"application": "shop", "configurationAccountName": "config-account"}
    assert (started.method, started.path) == ("POST", "/canary/cfg-1")
    assert started.query == {
        "application": "shop",
        "metricsAccountName": "prometheus-account",
        "configurationAccountName": "config-account",
        "storageAccountName": "storage-account",
    }
    assert json.loads(started.body) == {
        "scopes": {
            "default": {
                "controlScope": {
                    "scope": "app=stable",
                    "region": "us-east-1",
                    "step": 60,
                    "start": "2024-01-01T11:00:00Z",
                    "end": "2024-01-01T12:00:00Z",
                },
                "experimentScope": {"scope": "app=canary", "region": "us-east-1", "step": 60, "start": "", "end": ""},
            }
        },
        "thresholds": {"pass": 90, "marginal": 75},
    }


async def test_an_incomplete_judgement_stays_running_and_is_looked_at_again(kayenta: KayentaStandIn) -> None:
    spec = kayenta_spec(kayenta.server.url)
    later = NOW + timedelta(seconds=15)
    reading = await poll(spec, await start(spec), later)
    assert (reading.phase, reading.metadata, reading.resume_at) == (
        "Running",
        {"canaryExecutionId": "exec-7"},
        later + timedelta(seconds=15),
    )


@pytest.mark.parametrize(
    ("score", "phase", "value"),
    [(95.6, "Successful", "95"), (90.0, "Successful", "90"), (80.0, "Inconclusive", "80"), (60.0, "Failed", "60")],
    ids=["above_pass", "at_pass", "marginal", "below_marginal"],
)
async def test_a_complete_judgement_is_scored_with_the_thresholds(
    kayenta: KayentaStandIn, score: float, phase: str, value: str
) -> None:
    spec = kayenta_spec(kayenta.server.url)
    started = await start(spec)
    kayenta.score = score
    reading = await poll(spec, started, NOW + timedelta(seconds=30))
    assert (reading.phase, reading.value, reading.metadata) == (phase, value, {"canaryExecutionId": "exec-7"})
    assert reading.resume_at is None


@pytest.mark.parametrize(
    ("score", "phase"),
    [
        (100, AnalysisPhase.SUCCESSFUL),
        (90, AnalysisPhase.SUCCESSFUL),
        (89, AnalysisPhase.INCONCLUSIVE),
        (75, AnalysisPhase.INCONCLUSIVE),
        (74, AnalysisPhase.FAILED),
        (0, AnalysisPhase.FAILED),
    ],
)
def test_classify_score_with_pass_90_and_marginal_75(score: int, phase: AnalysisPhase) -> None:
    assert classify_score(score, 90, 75) == phase


async def test_an_unknown_config_name_is_an_error_naming_it_and_nothing_starts(kayenta: KayentaStandIn) -> None:
    reading = await start(kayenta_spec(kayenta.server.url, canaryConfigName="missing"))
    assert reading.phase == "Error"
    assert reading.message == (
        "Kayenta has no canary config named 'missing' for application 'shop': "
        "check provider.kayenta.canaryConfigName and application"
    )
    assert [request.method for request in kayenta.server.requests] == ["GET"]


async def test_a_completed_judgement_without_a_score_is_an_error(kayenta: KayentaStandIn) -> None:
    spec = kayenta_spec(kayenta.server.url)
    started = await start(spec)
    kayenta.completed_without_score = True
    reading = await poll(spec, started, NOW)
    assert reading.phase == "Error"
    assert reading.message == "Kayenta's completed judgement has no score (result.judgeResult.score.score)"
    assert reading.metadata == {"canaryExecutionId": "exec-7"}


async def test_an_http_error_is_an_error_with_kayentas_answer() -> None:
    with serve(lambda request: Reply(500, "internal failure\nstack")) as server:
        reading = await start(kayenta_spec(server.url))
    assert reading.phase == "Error"
    assert reading.message == f"Kayenta at {server.url}/canaryConfig answered HTTP 500: internal failure"


async def test_an_unreachable_kayenta_is_an_error_without_the_password_in_the_address() -> None:
    with serve(lambda request: Reply()) as server:
        port = server.url.rsplit(":", 1)[1]
    reading = await start(kayenta_spec(f"http://judge:hunter2@127.0.0.1:{port}"))
    assert reading.phase == "Error"
    assert (
        reading.message
        == f"cannot reach Kayenta at http://judge:*****@127.0.0.1:{port}/canaryConfig: connection refused"
    )
