"""Live updates: the change signal streams wait on, the event stream with many clients coming and going, and the
bounded set of namespace watches (least recently used evicted, idle ones stopped)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import cast

import pytest
from starlette.applications import Starlette

from ramp.dashboard.api import Dashboard
from ramp.dashboard.live import ChangeSignal, LiveState, TooManyNamespaces
from ramp.kube.client import KubeClient
from tests.unit.dashboard.asgi import open_stream
from tests.unit.dashboard.conftest import BEARER, IdleWatch, RecordingClient

WATCH = "/api/v1/namespaces/team-a/rollouts/watch"


async def test_a_change_wakes_every_waiter_and_cancelled_waiters_leave_nothing_behind() -> None:
    signal = ChangeSignal()
    for _ in range(3):
        cancelled = [asyncio.create_task(signal.wait_for_change(signal.version, 60)) for _ in range(50)]
        await asyncio.sleep(0)
        for task in cancelled:
            task.cancel()
        for task in cancelled:
            with contextlib.suppress(asyncio.CancelledError):
                await task
    waiters = [asyncio.create_task(signal.wait_for_change(0, 60)) for _ in range(10)]
    await asyncio.sleep(0)
    signal.bump()
    assert await asyncio.wait_for(asyncio.gather(*waiters), 2) == [1] * 10


async def test_clients_cancelled_again_and_again_while_changes_fire_do_not_freeze_the_others() -> None:
    # Starlette's task group (anyio) cancels a gone client's task again on every turn of the loop until it ends:
    # with the former asyncio.Condition, wait_for's inner task took the lock back after its client had left, and
    # every stream waited for that lock forever after a few disconnects.
    signal = ChangeSignal()

    async def client() -> None:
        seen = -1
        while True:
            seen = await signal.wait_for_change(seen, 15)

    clients = [asyncio.create_task(client()) for _ in range(3)]
    for _ in range(60):
        clients.append(asyncio.create_task(client()))
        signal.bump()
        await asyncio.sleep(0)
        gone = clients.pop(0)
        for _ in range(4):
            gone.cancel()
            await asyncio.sleep(0)
        await asyncio.wait_for(asyncio.gather(gone, return_exceptions=True), 1)
    seen = signal.version
    fresh = asyncio.create_task(signal.wait_for_change(seen, 60))
    await asyncio.sleep(0)
    signal.bump()
    assert await asyncio.wait_for(fresh, 1) == seen + 1
    for task in clients:
        task.cancel()
    await asyncio.wait_for(asyncio.gather(*clients, return_exceptions=True), 1)


async def test_a_wait_ends_after_its_patience_and_at_once_when_already_changed() -> None:
    signal = ChangeSignal()
    assert await signal.wait_for_change(0, 0.01) == 0
    signal.bump()
    assert await asyncio.wait_for(signal.wait_for_change(0, 60), 1) == 1
    signal.close()
    assert await asyncio.wait_for(signal.wait_for_change(signal.version, 60), 1) == signal.version


async def test_the_stream_keeps_working_while_50_clients_connect_and_disconnect(
    app: Starlette, board: Dashboard
) -> None:
    # Given a client that stays, and 50 that come and go in waves, each hanging up while it waits for a change
    stays = await open_stream(app, WATCH, BEARER)
    assert "version-0" in await stays.next_event()
    watch = await board.live.watch("team-a")
    for wave in range(5):
        comers = await asyncio.gather(*(open_stream(app, WATCH, BEARER) for _ in range(10)))
        for stream in comers:
            assert await stream.status == 200
            await stream.next_event()
        if wave % 2:
            watch.changes.bump()  # some hang up right after a change, some while waiting for one
        await asyncio.gather(*(stream.hang_up() for stream in comers))
    # Then every one of them has let go of the namespace
    assert watch.followers == 1
    # And a change still reaches the client that stayed and a new one
    watch.changes.bump()
    latest = f"version-{watch.version}"
    while latest not in await stays.next_event():
        pass
    fresh = await open_stream(app, WATCH, BEARER)
    assert latest in await fresh.next_event()
    watch.changes.bump()
    assert f"version-{watch.version}" in await fresh.next_event()
    await fresh.hang_up()
    await stays.hang_up()
    assert watch.followers == 0


async def test_a_stream_ends_when_its_namespace_watch_is_stopped(app: Starlette, board: Dashboard) -> None:
    stream = await open_stream(app, WATCH, BEARER)
    await stream.next_event()
    await board.live.stop()
    assert stream.task is not None
    await asyncio.wait_for(stream.task, 5)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _live(client: RecordingClient, clock: Clock, max_watches: int = 3) -> LiveState:
    return LiveState(
        cast(KubeClient, client), max_watches=max_watches, idle_after=60, clock=clock, make_watch=IdleWatch
    )


async def test_at_most_max_watches_namespaces_are_watched_and_the_least_recently_used_goes(
    client: RecordingClient,
) -> None:
    clock = Clock()
    live = _live(client, clock)
    try:
        first = await live.watch("a")
        await live.watch("b")
        await live.watch("c")
        clock.now += 1
        await live.watch("a")  # a is used again: b is now the least recently used
        await live.watch("d")
        assert live.watched == ["c", "a", "d"]
        assert not first.closed
        # A followed watch is kept over an unfollowed one even when used longer ago
        c = await live.watch("c")
        with c.following():
            await live.watch("a")
            await live.watch("e")
            assert "c" in live.watched and "d" not in live.watched
    finally:
        await live.stop()


async def test_watches_nobody_used_or_followed_for_a_while_are_stopped(client: RecordingClient) -> None:
    clock = Clock()
    live = _live(client, clock)
    try:
        idle = await live.watch("idle")
        followed = await live.watch("followed")
        with followed.following():
            clock.now += 61
            assert await live.reap_idle() == ["idle"]
            assert idle.closed and not followed.closed
        assert live.watched == ["followed"]
        clock.now += 61
        await live.watch("other")
        assert live.watched == ["other"]
    finally:
        await live.stop()


async def test_too_many_namespaces_starting_at_once_is_refused_in_words(client: RecordingClient) -> None:
    gate = asyncio.Event()

    class SlowClient(RecordingClient):
        async def list(self, resource: object, namespace: str | None = None, **_: object) -> dict[str, object]:
            await gate.wait()
            return {"items": []}

    live = _live(SlowClient(), Clock(), max_watches=2)
    starting = [asyncio.create_task(live.watch(ns)) for ns in ("a", "b")]
    await asyncio.sleep(0.01)
    with pytest.raises(TooManyNamespaces, match="at most 2"):
        await live.watch("c")
    gate.set()
    await asyncio.gather(*starting)
    await live.stop()


async def test_a_watch_counts_as_used_until_its_last_stream_ends(client: RecordingClient) -> None:
    clock = Clock()
    live = _live(client, clock)
    try:
        watch = await live.watch("a")
        with watch.following():
            clock.now += 500
            assert await live.reap_idle() == []
        clock.now += 30
        assert await live.reap_idle() == []
        clock.now += 31
        assert await live.reap_idle() == ["a"]
    finally:
        await live.stop()
