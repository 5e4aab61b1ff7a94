"""The client's connections (`kube.transport`) against a real HTTP server on an ephemeral port (aiohttp's own
server, in this process): what is sent, answers and errors in httpx's terms, watches streamed, token rotation."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web

from ramp.kube.client import KubeClient
from ramp.kube.config import ClusterConfig
from ramp.kube.errors import ApiError
from ramp.kube.resources import ROLLOUTS
from ramp.kube.transport import AiohttpTransport, proxied

Handler = Callable[[web.Request], Any]


@contextlib.asynccontextmanager
async def _server(handler: Handler) -> AsyncIterator[tuple[str, list[web.Request]]]:
    seen: list[web.Request] = []

    async def record(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        await request.read()
        answer: web.StreamResponse = await handler(request)
        return answer

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


def _json(body: object, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


async def test_requests_go_straight_to_aiohttp_with_the_clients_headers() -> None:
    async def answer(request: web.Request) -> web.Response:
        return _json({"kind": "Rollout", "metadata": {"name": "web", "resourceVersion": "7"}})

    async with _server(answer) as (url, seen):
        config = ClusterConfig(server=url, token="secret", impersonate_user="alice", impersonate_groups=("dev", "ops"))
        async with KubeClient(config, qps=0) as client:
            assert client._direct is not None  # a fixed token: Ramp adds it itself
            got = await client.patch(ROLLOUTS, "web", {"spec": {"paused": True}}, "ns", subresource="status")
            await client.list(ROLLOUTS, "ns", label_selector="app in (a,b)", limit=5)
    assert got["metadata"]["resourceVersion"] == "7"
    patch, listing = seen
    assert (patch.method, patch.path) == ("PATCH", "/apis/argoproj.io/v1alpha1/namespaces/ns/rollouts/web/status")
    assert patch.headers["Authorization"] == "Bearer secret"
    assert patch.headers["Content-Type"] == "application/merge-patch+json"
    assert patch.headers["Impersonate-User"] == "alice"
    assert patch.headers.getall("Impersonate-Group") == ["dev", "ops"]
    assert patch.headers["User-Agent"].startswith("ramp/")
    assert listing.query["labelSelector"] == "app in (a,b)" and listing.query["limit"] == "5"


async def test_a_compressed_answer_is_inflated() -> None:
    body = orjson.dumps({"items": [{"metadata": {"name": f"r{i}"}} for i in range(1000)]})

    async def answer(request: web.Request) -> web.Response:
        assert request.headers["Accept-Encoding"] == "gzip"
        return web.Response(body=gzip.compress(body), headers={"Content-Encoding": "gzip"})

    async with _server(answer) as (url, _), KubeClient(ClusterConfig(server=url), qps=0) as client:
        assert len((await client.list(ROLLOUTS, "ns"))["items"]) == 1000


async def test_a_refused_token_is_read_again_from_its_file_and_the_request_sent_once_more(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("old\n")

    async def answer(request: web.Request) -> web.Response:
        if request.headers["Authorization"] != "Bearer new":
            token.write_text("new\n")  # rotated meanwhile
            return _json({"kind": "Status", "code": 401, "message": "Unauthorized"}, 401)
        return _json({"metadata": {"name": "web"}})

    async with _server(answer) as (url, seen), KubeClient(ClusterConfig(server=url, token_file=str(token)), qps=0) as c:
        assert c._direct is not None
        assert (await c.get(ROLLOUTS, "web", "ns"))["metadata"]["name"] == "web"
    assert [r.headers["Authorization"] for r in seen] == ["Bearer old", "Bearer new"]


async def test_answers_over_400_are_api_errors_with_the_servers_status() -> None:
    async def answer(request: web.Request) -> web.Response:
        return _json({"kind": "Status", "code": 404, "reason": "NotFound", "message": "rollouts web not found"}, 404)

    async with _server(answer) as (url, _), KubeClient(ClusterConfig(server=url), qps=0) as client:
        with pytest.raises(ApiError) as problem:
            await client.get(ROLLOUTS, "web", "ns")
    assert problem.value.is_not_found


async def test_a_server_that_is_not_there_is_an_httpx_connect_error() -> None:
    async with _server(lambda request: _json({})) as (url, _):
        pass  # the port is closed again
    async with KubeClient(ClusterConfig(server=url), qps=0) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(ROLLOUTS, "web", "ns")


async def test_a_server_that_does_not_answer_in_time_is_an_httpx_read_timeout() -> None:
    async def answer(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return _json({})

    async with _server(answer) as (url, _), KubeClient(ClusterConfig(server=url), qps=0, timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(ROLLOUTS, "web", "ns")


async def test_a_watch_streams_events_split_across_chunks_through_the_transport() -> None:
    events = [{"type": "ADDED", "object": {"metadata": {"name": f"r{i}"}}} for i in range(3)]
    stream = b"".join(orjson.dumps(e) + b"\n" for e in events)

    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for start in range(0, len(stream), 17):  # lines cut mid-way
            await response.write(stream[start : start + 17])
            await asyncio.sleep(0)
        await response.write_eof()
        return response

    async with _server(answer) as (url, seen), KubeClient(ClusterConfig(server=url), qps=0) as client:
        watch = client.watch(ROLLOUTS, "ns", resource_version="5")
        async with contextlib.aclosing(watch):
            assert [e async for e in watch] == events
    assert seen[0].query["watch"] == "true"


async def test_a_silent_watch_is_an_httpx_read_timeout() -> None:
    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await asyncio.sleep(1)
        return response

    async with _server(answer) as (url, _), KubeClient(ClusterConfig(server=url), qps=0) as client:
        watch = client.watch(ROLLOUTS, "ns", timeout_seconds=1, allow_bookmarks=False)
        # No bookmarks: the longest silence allowed is the server's timeout plus a margin; shortened here.
        client._http.timeout = httpx.Timeout(0.3)
        request_timeout = httpx.Timeout(0.3, read=0.3)
        original = client._http.build_request

        def short(*args: Any, **kwargs: Any) -> httpx.Request:
            kwargs["timeout"] = request_timeout
            return original(*args, **kwargs)

        client._http.build_request = short  # type: ignore[method-assign]
        with pytest.raises(httpx.ReadTimeout):
            async with contextlib.aclosing(watch):
                async for _ in watch:
                    pass


async def test_httpx_requests_are_carried_too_for_credentials_ramp_does_not_add_itself() -> None:
    async def answer(request: web.Request) -> web.Response:
        return _json({"user": request.headers.get("Authorization", "")})

    async with _server(answer) as (url, _):
        config = ClusterConfig(server=url, username="u", password="p")
        async with KubeClient(config, qps=0) as client:
            assert client._direct is None  # basic auth: httpx's auth flow, over the same transport
            assert isinstance(client._http._transport, AiohttpTransport)
            got = await client.get(ROLLOUTS, "web", "ns")
    assert got["user"].startswith("Basic ")


def test_the_proxy_environment_keeps_httpxs_own_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    assert not proxied("https://api.example:6443")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    assert proxied("https://api.example:6443")
    monkeypatch.setenv("NO_PROXY", "api.example")
    assert not proxied("https://api.example:6443")
    client = KubeClient(ClusterConfig(server="https://other.example:6443"))
    assert client._direct is None and not isinstance(client._http._transport, AiohttpTransport)
