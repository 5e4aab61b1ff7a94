"""The connections under `kube.client`: an httpx transport that sends requests over aiohttp's connection pool.

Why: measured on the local cluster (2 cores, merge patches of one ConfigMap, 20 in flight), httpx's own
transport (httpcore over anyio) spent 4.5 ms of CPU per request and aiohttp 0.5 ms. httpcore scans its whole
pool on every request, asking each connection's socket whether it is readable through anyio's attribute
lookups; aiohttp keeps idle connections in a per-host queue and parses HTTP in C. The controller sends tens
of requests per rollout, so the transport was most of its CPU.

httpx stays the client API: auth flows (tokens re-read from files, exec plugins, OIDC), default headers,
timeouts, error types (`httpx.TransportError` and its subclasses, which callers catch) and test transports all
behave as before. `kube.client` uses this transport unless a proxy is configured (a cluster's `proxy-url`, or
the `*_PROXY` environment), where httpx's own transport, which speaks to proxies, is kept.

Mapping: httpx's timeout extension becomes aiohttp's `sock_connect`/`sock_read` (a watch's read timeout is the
longest silence between chunks, as with httpx); `sni_hostname` becomes `server_hostname`; aiohttp neither
decompresses nor follows redirects nor keeps cookies (httpx does the first, Ramp wants none of the others).
aiohttp's errors become httpx's: a connection that cannot be made is `ConnectError`/`ConnectTimeout`, a read
that times out `ReadTimeout`, a connection lost mid-answer `ReadError`/`RemoteProtocolError`.
"""

from __future__ import annotations

import asyncio
import gzip
import ssl
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
import yarl

# Headers aiohttp writes itself from the request it sends; passing httpx's copies would send them twice.
_OWN_HEADERS = frozenset({b"host", b"content-length", b"transfer-encoding", b"connection"})
# Idle connections kept per host (the API server is one host): enough for the workers' concurrency; watches
# hold their own connections while they stream.
_IDLE_SECONDS = 30.0


def proxied(server: str) -> bool:
    """Whether the `*_PROXY` environment would send requests to `server` through a proxy (httpx honours it)."""
    proxies = urllib.request.getproxies()
    if not any(key in proxies for key in ("https", "http", "all")):
        return False
    host = httpx.URL(server).host
    return not urllib.request.proxy_bypass(host)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """httpx requests sent over one aiohttp session (created on first use, on the running loop)."""

    def __init__(self, tls: ssl.SSLContext | None, *, max_connections: int = 200) -> None:
        self._tls = tls
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                ssl=self._tls if self._tls is not None else True,
                limit=self._max_connections,
                keepalive_timeout=_IDLE_SECONDS,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding"),
                timeout=aiohttp.ClientTimeout(total=None),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._open()
        headers = [
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw if k.lower() not in _OWN_HEADERS
        ]
        body = await request.aread()
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        options: dict[str, Any] = {}
        sni = request.extensions.get("sni_hostname")
        if sni:
            options["server_hostname"] = sni
        try:
            response = await session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    sock_connect=timeouts.get("connect"),
                    sock_read=timeouts.get("read"),
                ),
                **options,
            )
        except BaseException as problem:
            mapped = _as_httpx(problem, request, connecting=True)
            if mapped is problem:
                raise
            raise mapped from problem
        return httpx.Response(
            status_code=response.status,
            headers=[(k, v) for k, v in response.raw_headers],
            stream=_Body(response, request),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode("latin-1")},
        )

    async def send(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        limit: float | None,
        sni: str | None = None,
    ) -> tuple[int, bytes]:
        """One request answered in full, without building httpx's request and response objects (the client's
        direct path, which adds its own headers and auth): the status and the body."""
        session = self._open()
        options: dict[str, Any] = {"server_hostname": sni} if sni else {}
        try:
            async with session.request(
                method,
                yarl.URL(url, encoded=True),
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=limit, sock_read=limit),
                **options,
            ) as response:
                answer = await response.read()
                if response.headers.get("Content-Encoding") == "gzip":
                    answer = await _gunzip(answer)
                return response.status, answer
        except BaseException as problem:
            mapped = _as_httpx(problem, httpx.Request(method, url), connecting=False)
            if mapped is problem:
                raise
            raise mapped from problem

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class _Body(httpx.AsyncByteStream):
    """An answer's body as it arrives; closing it returns the connection to the pool (or drops it if unread)."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except BaseException as problem:
            mapped = _as_httpx(problem, self._request, connecting=False)
            if mapped is problem:
                raise
            raise mapped from problem

    async def aclose(self) -> None:
        self._response.release()


async def _gunzip(data: bytes) -> bytes:
    """A compressed answer (the API server compresses those over 128 KiB: large lists) inflated off the loop."""
    return await asyncio.to_thread(gzip.decompress, data)


def _as_httpx(problem: BaseException, request: httpx.Request, *, connecting: bool) -> BaseException:
    """aiohttp's (and asyncio's) errors as the httpx errors callers handle; others (cancellation) unchanged."""
    if isinstance(problem, asyncio.CancelledError) or not isinstance(
        problem, (aiohttp.ClientError, TimeoutError, OSError)
    ):
        return problem
    message = str(problem) or type(problem).__name__
    if isinstance(problem, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(problem, (aiohttp.SocketTimeoutError, TimeoutError)):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(problem, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(problem, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        return httpx.RemoteProtocolError(message, request=request)
    if isinstance(problem, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol(message, request=request)
    if connecting and isinstance(problem, aiohttp.ClientOSError):
        return httpx.ConnectError(message, request=request)
    return httpx.ReadError(message, request=request)
