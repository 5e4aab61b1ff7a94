"""Work queue semantics: dedupe, one worker per key, precise delays, backoff, shutdown."""

from __future__ import annotations

import asyncio

from ramp.kube.metrics import WORKQUEUE_ADDS, WORKQUEUE_IN_FLIGHT, WORKQUEUE_RETRIES
from ramp.kube.ratelimit import ControllerRateLimiter
from ramp.kube.workqueue import WorkQueue


async def _get_now(queue: WorkQueue) -> str | None:
    """`get` when a key is ready (or the queue is shut down): it must not need to wait."""
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert getter.done(), "a ready key is handed out without waiting"
    return getter.result()


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


async def _settle() -> None:
    """Let every ready callback and task on the loop run (delays stay pending)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_add_after_holds_the_key_back_until_its_time_on_the_loop_clock() -> None:
    loop = asyncio.get_running_loop()
    queue = WorkQueue("delay")
    before = loop.time()
    queue.add_after("ns/a", 0.05)
    after = loop.time()
    fires_at = queue.waiting_until("ns/a")
    assert fires_at is not None
    assert before + 0.05 <= fires_at <= after + 0.05
    getter = asyncio.create_task(queue.get())
    await _settle()
    assert not getter.done(), "held back until its time"
    assert len(queue) == 0
    assert await getter == "ns/a"
    assert loop.time() >= fires_at, "never handed out before its time"
    assert not queue.is_waiting("ns/a")


async def test_of_two_pending_delays_for_a_key_the_earlier_wins() -> None:
    loop = asyncio.get_running_loop()
    queue = WorkQueue("earliest")
    queue.add_after("k", 30)
    queue.add_after("k", 10)
    first = queue.waiting_until("k")
    queue.add_after("k", 20)  # later than the pending one: ignored
    assert queue.waiting_until("k") == first
    before = loop.time()
    queue.add_after("k", 0.01)  # earlier: replaces it
    earliest = queue.waiting_until("k")
    assert earliest is not None
    assert first is not None
    assert earliest < first
    assert earliest >= before + 0.01
    assert await queue.get() == "k"
    queue.done("k")
    assert not queue.is_waiting("k"), "the replaced timers do not deliver it again"
    await _settle()
    assert len(queue) == 0


async def test_add_rate_limited_holds_the_key_back_for_its_backoff_and_forget_resets() -> None:
    loop = asyncio.get_running_loop()
    queue = WorkQueue("backoff", ControllerRateLimiter(base=10.0, cap=40.0))
    retries_before = WORKQUEUE_RETRIES.labels("backoff")._value.get()
    before = loop.time()
    queue.add_rate_limited("k")
    fires_at = queue.waiting_until("k")
    assert fires_at is not None
    assert fires_at >= before + 10.0
    getter = asyncio.create_task(queue.get())
    await _settle()
    assert not getter.done(), "a failed key is not retried before its backoff"
    assert len(queue) == 0
    queue.add_rate_limited("k")  # a second failure asks for 20 s; the pending 10 s retry stands
    assert queue.waiting_until("k") == fires_at
    assert queue.num_requeues("k") == 2
    queue.forget("k")
    assert queue.num_requeues("k") == 0
    assert WORKQUEUE_RETRIES.labels("backoff")._value.get() - retries_before == 2
    queue.shut_down()
    assert await getter is None


async def test_a_retried_key_is_delivered_after_its_backoff() -> None:
    queue = WorkQueue("retry", ControllerRateLimiter(base=0.001, cap=0.004))
    queue.add_rate_limited("k")
    assert queue.is_waiting("k")
    assert len(queue) == 0
    assert await queue.get() == "k"


async def test_in_flight_work_is_measured_on_the_queue_clock() -> None:
    now = 100.0
    queue = WorkQueue("in-flight", clock=lambda: now)
    queue.add("a")
    queue.add("b")
    assert await queue.get() == "a"
    now = 103.0
    assert await queue.get() == "b"
    now = 110.0
    assert sorted(queue.processing_durations()) == [7.0, 10.0]
    samples = {
        (s.name, s.labels["name"]): s.value
        for metric in WORKQUEUE_IN_FLIGHT.collect()
        for s in metric.samples
        if s.labels["name"] == "in-flight"
    }
    assert samples == {
        ("workqueue_unfinished_work_seconds", "in-flight"): 17.0,
        ("workqueue_longest_running_processor_seconds", "in-flight"): 10.0,
    }
    queue.done("a")
    queue.done("b")
    assert queue.processing_durations() == []


async def test_shut_down_wakes_waiting_workers_and_drops_pending_keys() -> None:
    queue = WorkQueue("shutdown")
    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.add_after("later", 10)
    queue.shut_down()
    assert await waiting is None
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
