"""The client's request shaping, seen through an httpx.MockTransport (one transport stub, no API server):
the watch read timeout, and the leader-election view with a limiter of its own."""

from __future__ import annotations

import asyncio
import contextlib
import json

import httpx
from prometheus_client import REGISTRY

from ramp import __version__
from ramp.kube.client import LARGE_ANSWER, WATCH_IDLE_TIMEOUT, KubeClient
from ramp.kube.config import ClusterConfig, ConfigOverrides, apply_overrides
from ramp.kube.metrics import K8S_REQUESTS
from ramp.kube.resources import LEASES, REPLICA_SETS, ROLLOUTS


def _client(answer, **kwargs) -> KubeClient:
    return KubeClient(ClusterConfig(server="https://mock"), transport=httpx.MockTransport(answer), **kwargs)


async def test_a_watch_gives_up_on_a_connection_silent_for_two_minutes_not_for_the_whole_watch() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"")

    async with _client(answer, qps=0) as client:
        events = client.watch(ROLLOUTS, "ns", resource_version="5", timeout_seconds=540)
        async with contextlib.aclosing(events):
            assert [e async for e in events] == []
        events = client.watch(ROLLOUTS, "ns", timeout_seconds=540, allow_bookmarks=False)
        async with contextlib.aclosing(events):
            assert [e async for e in events] == []
    bookmarked, plain = seen
    assert bookmarked.url.params["timeoutSeconds"] == "540"  # the server still ends it after 5-10 minutes
    assert bookmarked.extensions["timeout"]["read"] == WATCH_IDLE_TIMEOUT == 120.0
    # Without bookmarks a healthy watch may be silent until the server ends it.
    assert plain.extensions["timeout"]["read"] == 540 + 30


async def test_lease_requests_never_wait_behind_reconcile_traffic_on_the_shared_limiter() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"kind": "Lease", "metadata": {"name": "lock"}})

    client = _client(answer, qps=0.001, burst=1)  # a pool of three requests, then the next in ~333 s
    elector_client = client.with_own_limiter()
    for _ in range(3):
        await client.get(ROLLOUTS, "web", "ns")  # takes the burst
    reconcile = asyncio.create_task(client.get(ROLLOUTS, "web", "ns"))
    await asyncio.sleep(0)
    assert not reconcile.done(), "the shared limiter makes reconcile traffic wait"
    for _ in range(3):  # would never return if these waited on the shared limiter
        assert (await elector_client.get(LEASES, "lock", "ops"))["kind"] == "Lease"
    reconcile.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reconcile
    await elector_client.aclose()  # the view owns no connections: the parent's stay open
    assert not client._http.is_closed
    await client.aclose()
    assert client._http.is_closed


async def test_kubectl_flags_reach_every_request_as_impersonation_timeout_and_token() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"kind": "Rollout"})

    base = ClusterConfig(server="https://mock", client_cert_data=b"c", client_key_data=b"k", token="kubeconfig")
    config = apply_overrides(
        base,
        ConfigOverrides(
            token="from-flag",
            impersonate_user="alice",
            impersonate_groups=("dev", "ops"),
            request_timeout=7.0,
            disable_compression=True,
        ),
    )
    assert config.client_cert_data is None  # the flag's identity replaces the kubeconfig user's
    async with KubeClient(config, transport=httpx.MockTransport(answer), qps=0) as client:
        await client.get(ROLLOUTS, "web", "ns")
    (request,) = seen
    assert request.headers["Authorization"] == "Bearer from-flag"
    assert request.headers["Impersonate-User"] == "alice"
    assert request.headers.get_list("Impersonate-Group") == ["dev", "ops"]
    assert request.headers["Accept-Encoding"] == "identity"
    assert request.extensions["timeout"]["connect"] == 7.0


async def test_request_series_name_only_the_objects_whose_series_are_dropped_on_delete() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={})

    async with _client(answer, qps=0) as client:
        await client.get(ROLLOUTS, "web", "card")
        await client.get(REPLICA_SETS, "web-6f7d8", "card")
    assert K8S_REQUESTS.value("rollouts", "card", "web", "Get", "200") == 1
    # A ReplicaSet (one per revision) counts under N/A: the series do not grow with every revision.
    assert K8S_REQUESTS.value("replicasets", "card", "N/A", "Get", "200") == 1


def test_the_controller_info_gauge_carries_the_version() -> None:
    assert REGISTRY.get_sample_value("argo_rollouts_controller_info", {"version": f"v{__version__}"}) == 1.0


async def test_every_kind_spends_one_pool_as_large_as_upstreams_three_clients_together() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"metadata": {"name": "web"}})

    client = _client(answer, qps=0.001, burst=1)  # a pool of 3 tokens, then the next in ~333 s
    assert client.budget == (0.001, 1)
    # Rollout traffic may spend what ReplicaSet traffic leaves: three Rollout requests at once, no wait.
    for _ in range(3):
        assert (await client.get(ROLLOUTS, "web", "ns"))["metadata"]["name"] == "web"
    waiting = asyncio.create_task(client.get(REPLICA_SETS, "web", "ns"))
    await asyncio.sleep(0)
    assert not waiting.done(), "the pool paces every kind once it is spent"
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    await client.aclose()


async def test_a_large_list_decodes_as_a_small_one_does() -> None:
    items = [
        {"metadata": {"name": f"r{i:05d}", "labels": {"app": "web", "note": 'a "quoted" é'}}} for i in range(20000)
    ]
    body = json.dumps({"kind": "RolloutList", "metadata": {"resourceVersion": "7"}, "items": items}).encode()
    assert len(body) > LARGE_ANSWER  # decoded by the standard library's decoder, not orjson

    def answer(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params.get("limit", "0"))
        if not limit:
            return httpx.Response(200, content=body)
        return httpx.Response(200, content=json.dumps({"metadata": {}, "items": items[:limit]}).encode())

    async with _client(answer, qps=0) as client:
        large = await client.list(ROLLOUTS, "ns")
        small = await client.list(ROLLOUTS, "ns", limit=3)
    assert large["items"] == items
    assert small["items"] == items[:3]
