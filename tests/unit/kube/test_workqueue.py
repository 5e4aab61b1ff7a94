"""Work queue semantics: dedupe, one worker per key, precise delays, backoff, shutdown."""

from __future__ import annotations

import asyncio

import pytest

from ramp.kube.metrics import WORKQUEUE_ADDS, WORKQUEUE_RETRIES
from ramp.kube.ratelimit import ControllerRateLimiter
from ramp.kube.workqueue import WorkQueue


async def _get_now(queue: WorkQueue) -> str | None:
    return await asyncio.wait_for(queue.get(), timeout=1)


async def test_a_key_added_many_times_is_processed_once() -> None:
    queue = WorkQueue("dedupe")
    for _ in range(5):
        queue.add("ns/a")
    queue.add("ns/b")
    assert len(queue) == 2
    assert await _get_now(queue) == "ns/a"
    assert await _get_now(queue) == "ns/b"
    assert len(queue) == 0


async def test_a_key_is_not_handed_out_while_it_is_processed_and_comes_back_after_done() -> None:
    queue = WorkQueue("one-at-a-time")
    queue.add("ns/a")
    key = await _get_now(queue)
    assert queue.is_processing("ns/a")
    queue.add("ns/a")  # changed again while a worker holds it
    queue.add("ns/a")
    assert len(queue) == 0, "a second worker must not get the key meanwhile"
    queue.done(key or "")
    assert len(queue) == 1
    assert await _get_now(queue) == "ns/a"
    queue.done("ns/a")
    assert len(queue) == 0


async def test_two_workers_never_hold_the_same_key() -> None:
    queue = WorkQueue("workers")
    holding: set[str] = set()
    overlaps = 0
    processed = 0

    async def worker() -> None:
        nonlocal overlaps, processed
        while (key := await queue.get()) is not None:
            if key in holding:
                overlaps += 1
            holding.add(key)
            await asyncio.sleep(0.001)
            holding.discard(key)
            processed += 1
            queue.done(key)

    workers = [asyncio.create_task(worker()) for _ in range(4)]
    for round_ in range(20):
        for key in ("a", "b", "c"):
            queue.add(key)
        await asyncio.sleep(0.0005 * (round_ % 3))
    await asyncio.sleep(0.05)
    queue.shut_down()
    await asyncio.gather(*workers)
    assert overlaps == 0
    assert processed >= 3


async def test_add_after_delivers_the_key_no_earlier_than_asked() -> None:
    loop = asyncio.get_running_loop()
    queue = WorkQueue("delay")
    start = loop.time()
    queue.add_after("ns/a", 0.2)
    assert queue.is_waiting("ns/a")
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0.1)
    assert not getter.done(), "not before its time"
    key = await asyncio.wait_for(getter, timeout=2)
    assert key == "ns/a"
    waited = loop.time() - start
    assert waited >= 0.2
    assert waited < 1.0  # delivered at its time, not at some later poll


async def test_of_two_pending_delays_for_a_key_the_earlier_wins() -> None:
    loop = asyncio.get_running_loop()
    queue = WorkQueue("earliest")
    start = loop.time()
    queue.add_after("k", 30)
    queue.add_after("k", 0.05)
    queue.add_after("k", 10)
    assert await asyncio.wait_for(queue.get(), timeout=2) == "k"
    assert loop.time() - start < 5
    queue.done("k")
    assert not queue.is_waiting("k")


async def test_add_rate_limited_backs_off_exponentially_and_forget_resets() -> None:
    limiter = ControllerRateLimiter(base=0.01, cap=0.04)
    queue = WorkQueue("backoff", limiter)
    retries_before = WORKQUEUE_RETRIES.labels("backoff")._value.get()
    delays = [limiter.items.when("probe") for _ in range(4)]
    assert delays == pytest.approx([0.01, 0.02, 0.04, 0.04])  # capped
    queue.add_rate_limited("k")
    queue.add_rate_limited("k")
    assert queue.num_requeues("k") == 2
    assert await asyncio.wait_for(queue.get(), timeout=2) == "k"
    queue.done("k")
    queue.forget("k")
    assert queue.num_requeues("k") == 0
    assert WORKQUEUE_RETRIES.labels("backoff")._value.get() - retries_before == 2


async def test_shut_down_wakes_waiting_workers_and_drops_pending_keys() -> None:
    queue = WorkQueue("shutdown")
    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.add_after("later", 10)
    queue.shut_down()
    assert await asyncio.wait_for(waiting, timeout=1) is None
    queue.add("after-shutdown")
    assert await _get_now(queue) is None
    assert not queue.is_waiting("later")


async def test_adds_are_counted() -> None:
    queue = WorkQueue("counted")
    before = WORKQUEUE_ADDS.labels("counted")._value.get()
    queue.add("a")
    queue.add("a")  # deduplicated: not an add
    queue.add("b")
    assert WORKQUEUE_ADDS.labels("counted")._value.get() - before == 2
