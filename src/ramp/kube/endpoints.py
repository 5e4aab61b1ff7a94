"""The controller's own small HTTP endpoints: `/healthz` (liveness) and `/metrics` (Prometheus).

A minimal HTTP/1.1 server on asyncio streams: GET or HEAD of a fixed set of paths, one request per
connection. That is all probes and scrapers need, and it keeps a web framework out of the controller.
`/metrics` renders prometheus_client's default registry (which includes process metrics) with
`kube.metrics` registered on it (`kube.exposition.render_chunks`: the per-object series written as text directly, the
page in chunks).
`ramp.manager` starts both before competing for the Lease, so a standby replica is live and scrapeable too
(as upstream).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry

from ramp.kube.exposition import render_chunks

log = logging.getLogger(__name__)

Response = tuple[int, str, bytes | list[bytes]]
"""Status code, content type, body (or the body in chunks, written one after another)."""
Route = Callable[[], Response]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
}
_MAX_HEAD = 16 * 1024
# Rendering every series takes time that grows with the objects watched (~0.2 s of CPU for a few hundred
# AnalysisRuns): done on a worker thread, so a scrape never holds the event loop (issue 13). prometheus_client
# is thread-safe, and the collectors only copy the informer caches (`Informer.list`, one C-level copy).
_OFF_LOOP = frozenset({"/metrics"})
_READ_TIMEOUT = 10.0


def healthz_routes() -> dict[str, Route]:
    """`/healthz` answers 200 `ok` while the event loop is serving (upstream's liveness contract)."""
    return {"/healthz": lambda: (200, "text/plain; charset=utf-8", b"ok")}


def metrics_routes(registry: CollectorRegistry = REGISTRY) -> dict[str, Route]:
    return {"/metrics": lambda: (200, CONTENT_TYPE_LATEST, render_chunks(registry))}


async def start_http_server(host: str, port: int, routes: Mapping[str, Route]) -> asyncio.Server:
    """Listen on host:port and answer GET/HEAD for `routes`; close the returned server to stop."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_READ_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            method, path = _parse_request_line(head)
            if path in _OFF_LOOP:
                status, content_type, body = await asyncio.to_thread(_respond, method, path, routes)
            else:
                status, content_type, body = _respond(method, path, routes)
            chunks = [body] if isinstance(body, bytes) else body
            header = (
                f"HTTP/1.1 {status} {_REASONS.get(status, 'Unknown')}\r\n"
                f"Content-Type: {content_type}\r\nContent-Length: {sum(map(len, chunks))}\r\n"
                "Connection: close\r\n\r\n"
            )
            writer.write(header.encode("latin-1"))
            if method == "HEAD":
                chunks = []
            # One chunk at a time, each let go once it is in the socket's buffer: a large page is not copied whole
            # into the transport's buffer while the client reads it.
            chunks.reverse()
            while chunks:
                writer.write(chunks.pop())
                await writer.drain()
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass  # a client that hangs up or sends garbage gets nothing more
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return await asyncio.start_server(handle, host, port, limit=_MAX_HEAD, reuse_address=True)


def _parse_request_line(head: bytes) -> tuple[str, str]:
    parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    if len(parts) != 3:
        return "", ""
    return parts[0], parts[1].split("?", 1)[0]


def _respond(method: str, path: str, routes: Mapping[str, Route]) -> Response:
    if not method:
        return 400, "text/plain", b"bad request"
    route = routes.get(path)
    if route is None:
        return 404, "text/plain", b"not found"
    if method not in ("GET", "HEAD"):
        return 405, "text/plain", b"method not allowed"
    try:
        return route()
    except Exception:
        log.exception("endpoint failed", extra={"path": path})
        return 500, "text/plain", b"internal error"
