"""The HTTP client every metric provider uses: bounded in bytes and time, and never redirected by default.

A metric backend is named by the AnalysisRun's author, so what it answers is untrusted: `BoundedTransport`
streams each response body and stops at `MAX_RESPONSE_BYTES` (10 MiB, a Content-Length above it is refused
before reading), raising `ResponseTooLarge`, which the providers report as an Error measurement; and it puts
one total deadline on each request, from connecting to the last byte of the body (httpx's own timeouts are per
read, so a server trickling a byte a second would otherwise hold a measurement forever). The deadline is the
request's read timeout, as each provider sets it.

Redirects are off (`build_provider_client`): most providers send credentials (API keys, bearer tokens, basic
auth, signed requests) that a redirect would carry to another host. The web provider alone follows them, and
only for a request that carries none (`ramp.providers.web`).

Built by `ramp.manager.wiring` (the shared client) and by the providers that need a client of their own to skip
TLS verification (`insecure: true`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx

MAX_RESPONSE_BYTES = 10 * 1024 * 1024
"""The largest response body a provider reads: a measurement never needs more."""
DEFAULT_REQUEST_DEADLINE_SECONDS = 30.0
"""The total deadline of a request that sets no read timeout of its own."""


class ResponseTooLarge(httpx.TransportError):
    """The backend's answer went past `MAX_RESPONSE_BYTES`: reading stopped there."""


def too_large_message(limit: int) -> str:
    return f"response body larger than {limit // (1024 * 1024)} MB; stopped reading (answer with less data)"


class _BoundedStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, limit: int, deadline: float, request: httpx.Request) -> None:
        self.inner = inner
        self.limit = limit
        self.deadline = deadline
        self.request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        received = 0
        chunks = self.inner.__aiter__()
        while True:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise httpx.ReadTimeout("total deadline passed while reading the body", request=self.request)
            try:
                async with asyncio.timeout(remaining):
                    chunk = await anext(chunks)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise httpx.ReadTimeout("total deadline passed while reading the body", request=self.request) from None
            received += len(chunk)
            if received > self.limit:
                raise ResponseTooLarge(too_large_message(self.limit), request=self.request)
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class BoundedTransport(httpx.AsyncBaseTransport):
    """Wraps a transport: at most `limit` bytes of body, and one total deadline per request."""

    def __init__(self, inner: httpx.AsyncBaseTransport, limit: int = MAX_RESPONSE_BYTES) -> None:
        self.inner = inner
        self.limit = limit

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        seconds = request_deadline_seconds(request)
        deadline = time.monotonic() + seconds
        try:
            async with asyncio.timeout(seconds):
                response = await self.inner.handle_async_request(request)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no answer within {seconds:g}s", request=request) from None
        length = response.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.limit:
            await response.aclose()
            raise ResponseTooLarge(too_large_message(self.limit), request=request)
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_BoundedStream(stream, self.limit, deadline, request),
            extensions=response.extensions,
            request=request,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


def request_deadline_seconds(request: httpx.Request) -> float:
    """The request's read timeout (what each provider sets as its timeout), used as its total deadline."""
    timeout = request.extensions.get("timeout") or {}
    read = timeout.get("read") if isinstance(timeout, dict) else None
    return float(read) if isinstance(read, int | float) and read > 0 else DEFAULT_REQUEST_DEADLINE_SECONDS


def build_provider_client(*, verify: bool = True, limit: int = MAX_RESPONSE_BYTES) -> httpx.AsyncClient:
    """A client for metric providers: bounded responses, total deadlines, no redirects unless a request asks.

    Built as httpx builds it (so HTTP_PROXY/HTTPS_PROXY/NO_PROXY from the environment still apply), then every
    transport it routes through, the proxies' included, is wrapped: httpx takes no wrapper for those otherwise.
    """
    client = httpx.AsyncClient(verify=verify, follow_redirects=False)
    client._transport = BoundedTransport(client._transport, limit)
    client._mounts = {
        pattern: None if transport is None else BoundedTransport(transport, limit)
        for pattern, transport in client._mounts.items()
    }
    return client
