"""The healthz and metrics endpoints, over a real socket on a free port."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client import CollectorRegistry, generate_latest

from ramp.kube.endpoints import healthz_routes, metrics_routes, start_http_server
from ramp.kube.exposition import CHUNK_BYTES, render_chunks
from ramp.kube.metrics import LeanHistogram, reconcile_metrics


async def _serve(routes) -> tuple[asyncio.Server, str]:
    server = await start_http_server("127.0.0.1", 0, routes)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


async def test_healthz_answers_ok_and_unknown_paths_404() -> None:
    server, base = await _serve(healthz_routes())
    async with httpx.AsyncClient() as client:
        health = await client.get(f"{base}/healthz?verbose=1")
        missing = await client.get(f"{base}/nope")
        posted = await client.post(f"{base}/healthz")
        head = await client.head(f"{base}/healthz")
    server.close()
    assert (health.status_code, health.text) == (200, "ok")
    assert missing.status_code == 404
    assert posted.status_code == 405
    assert head.status_code == 200
    assert head.content == b""


async def test_metrics_expose_upstream_names_and_process_metrics() -> None:
    reconcile_metrics("rollout").errors.inc("ns", "demo")
    server, base = await _serve(metrics_routes())
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{base}/metrics")
    server.close()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'rollout_reconcile_error{name="demo",namespace="ns"}' in text
    assert "# TYPE rollout_reconcile_error untyped" in text
    for name in (
        "# TYPE rollout_reconcile histogram",
        "process_resident_memory_bytes",
        "# TYPE workqueue_depth",
    ):
        assert name in text, name


async def test_a_client_that_sends_nothing_does_not_stop_the_server() -> None:
    server, base = await _serve(healthz_routes())
    port = int(base.rsplit(":", 1)[1])
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"garbage without end of headers")
    writer.close()
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{base}/healthz")).status_code == 200
    server.close()


async def test_a_large_page_is_sent_whole_in_chunks_with_its_length() -> None:
    registry = CollectorRegistry()
    histogram = LeanHistogram("x_large", "Large.", ["namespace", "name"], buckets=(0.1, 1.0), registry=registry)
    for index in range(5000):
        histogram.observe(0.05, "ns", f"rollout-{index:05d}")
    chunks = render_chunks(registry)
    assert len(chunks) > 10
    assert all(len(chunk) < CHUNK_BYTES + 1024 for chunk in chunks)
    server, base = await _serve(metrics_routes(registry))
    async with httpx.AsyncClient() as client:
        page = await client.get(f"{base}/metrics")
        head = await client.head(f"{base}/metrics")
    server.close()
    assert page.content == generate_latest(registry) == b"".join(chunks)
    assert int(page.headers["content-length"]) == len(page.content)
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) == len(page.content)
