"""The providers' HTTP client: bodies stop at the size cap, each request has one total deadline, no redirects
for requests with credentials, and a whole provider call has a total deadline too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ramp.api.analysis import Metric
from ramp.api.analysis_status import AnalysisPhase
from ramp.providers.base import MeasurementContext, Reading, SingleShotProvider, measure_safely
from ramp.providers.bounded_http import BoundedTransport, ResponseTooLarge, build_provider_client
from ramp.providers.web import WebProvider

NOW = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


class Chunks(httpx.AsyncByteStream):
    """A body sent in chunks, with a pause before each."""

    def __init__(self, chunk: bytes, count: int, pause: float = 0.0) -> None:
        self.chunk, self.count, self.pause = chunk, count, pause
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            if self.pause:
                await asyncio.sleep(self.pause)
            self.sent += 1
            yield self.chunk


def client_with(handler: Any, limit: int = 1000) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=BoundedTransport(httpx.MockTransport(handler), limit))


async def test_a_body_past_the_cap_stops_reading_there() -> None:
    body = Chunks(b"x" * 100, 1000)
    async with client_with(lambda _: httpx.Response(200, stream=body)) as http:
        with pytest.raises(ResponseTooLarge, match="larger than"):
            await http.get("http://backend/")
    assert body.sent == 11  # the 11th chunk went past 1000 bytes; nothing more was read


async def test_a_content_length_past_the_cap_is_refused_before_reading() -> None:
    body = Chunks(b"x" * 100, 20)
    headers = {"content-length": "2000"}
    async with client_with(lambda _: httpx.Response(200, headers=headers, stream=body)) as http:
        with pytest.raises(ResponseTooLarge):
            await http.get("http://backend/")
    assert body.sent == 0


async def test_a_body_under_the_cap_is_read_whole() -> None:
    async with client_with(lambda _: httpx.Response(200, content=b"y" * 900)) as http:
        assert (await http.get("http://backend/")).content == b"y" * 900


async def test_a_trickling_body_meets_one_total_deadline_not_one_per_read() -> None:
    # Each chunk comes well within the read timeout; all of them together do not.
    body = Chunks(b"z", 100, pause=0.02)
    async with client_with(lambda _: httpx.Response(200, stream=body)) as http:
        with pytest.raises(httpx.ReadTimeout, match="total deadline"):
            await http.get("http://backend/", timeout=httpx.Timeout(0.2))
    assert body.sent < 100


async def test_the_provider_client_follows_no_redirect_and_bounds_every_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    async with build_provider_client() as http:
        assert http.follow_redirects is False
        assert isinstance(http._transport, BoundedTransport)
        proxies = [transport for transport in http._mounts.values() if transport is not None]
        assert proxies and all(isinstance(transport, BoundedTransport) for transport in proxies)


def web_context(http: httpx.AsyncClient, **web: Any) -> MeasurementContext:
    metric = Metric.model_validate({"name": "m", "provider": {"web": {"url": "http://backend/start", **web}}})
    return MeasurementContext(metric=metric, namespace="ns", run_name="run", run_uid="uid", now=NOW, http=http)


def redirecting(seen: list[httpx.Request]) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/start":
            return httpx.Response(302, headers={"location": "http://elsewhere/landing"})
        return httpx.Response(200, json={"ok": 1})

    return handle


async def test_the_web_provider_does_not_carry_credentials_through_a_redirect() -> None:
    seen: list[httpx.Request] = []
    async with client_with(redirecting(seen), limit=10_000) as http:
        reading = await WebProvider().measure(web_context(http, headers=[{"key": "X-Api-Key", "value": "s3cret"}]))
    assert reading.phase == AnalysisPhase.ERROR and "302" in (reading.message or "")
    assert [request.url.host for request in seen] == ["backend"]


async def test_the_web_provider_follows_a_redirect_when_it_sends_no_credentials() -> None:
    seen: list[httpx.Request] = []
    async with client_with(redirecting(seen), limit=10_000) as http:
        reading = await WebProvider().measure(web_context(http, jsonPath="{$.ok}"))
    assert reading.result == 1
    assert [request.url.host for request in seen] == ["backend", "elsewhere"]


async def test_the_web_provider_reports_a_too_large_answer_as_an_error_measurement() -> None:
    async with client_with(lambda _: httpx.Response(200, stream=Chunks(b"x" * 100, 50))) as http:
        reading = await WebProvider().measure(web_context(http))
    assert reading.phase == AnalysisPhase.ERROR
    assert "larger than" in (reading.message or "")


class Hanging(SingleShotProvider):
    key = "hanging"

    async def measure(self, context: MeasurementContext) -> Reading:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


async def test_a_provider_call_has_a_total_deadline() -> None:
    async with httpx.AsyncClient() as http:
        reading = await measure_safely(Hanging(), web_context(http), deadline_seconds=0.05)
    assert reading.phase == AnalysisPhase.ERROR
    assert "total deadline" in (reading.message or "")
