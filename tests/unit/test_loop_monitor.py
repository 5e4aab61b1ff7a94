"""The event-loop monitor (ramp.manager.loop_monitor): the pure tick arithmetic, the worst-figure bookkeeping,
and that a callback holding the loop is counted as held (CPU) while a sleeping thread is not."""

from __future__ import annotations

import asyncio
import contextlib
import doctest
import gc
import logging
import time

import pytest

from ramp.manager import loop_monitor
from ramp.manager.loop_monitor import CallbackTimer, LoopSample, LoopStats, measure_tick, monitor_loop


def test_doctests() -> None:
    assert doctest.testmod(loop_monitor).failed == 0


@pytest.mark.parametrize(
    ("woke_at", "cpu_woke", "expected"),
    [
        (100.010, 5.010, LoopSample(0.0, 0.0)),  # on time, the loop busy with short callbacks: not held
        (100.110, 5.110, LoopSample(0.1, 0.1)),  # one 100 ms callback: late and held
        (100.110, 5.001, LoopSample(0.1, 0.001)),  # late, but the thread was off the CPU: lag, not held
        (100.005, 5.0, LoopSample(0.0, 0.0)),  # woke early (clock granularity): never negative
        (100.030, 5.200, LoopSample(0.02, 0.02)),  # never more held than late
    ],
    ids=["on-time", "held", "descheduled", "early", "held-capped-by-lag"],
)
def test_a_tick_is_late_by_its_wall_lag_and_held_by_its_cpu_share(
    woke_at: float, cpu_woke: float, expected: LoopSample
) -> None:
    assert measure_tick(0.01, 100.0, woke_at, 5.0, cpu_woke) == expected


def test_stats_keep_the_worst_of_each_figure_and_say_when_one_grew() -> None:
    stats = LoopStats()
    assert stats.add(LoopSample(0.02, 0.001))
    assert not stats.add(LoopSample(0.01, 0.001))
    assert stats.add(LoopSample(0.0, 0.005))
    assert (stats.ticks, stats.worst_lag, stats.worst_held) == (3, 0.02, 0.005)


async def _watch(work: float, stats: LoopStats) -> None:
    task = asyncio.create_task(monitor_loop(0.005, stats))
    await asyncio.sleep(0.05)
    deadline = time.thread_time() + work
    while time.thread_time() < deadline:  # hold the loop: CPU on the loop's own thread
        pass
    await asyncio.sleep(0.05)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_a_callback_that_spins_on_the_loop_is_held_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    stats = LoopStats()
    with caplog.at_level(logging.WARNING, logger="ramp.manager.loop"):
        asyncio.run(_watch(0.12, stats))
    assert stats.worst_held >= 0.08
    assert stats.worst_lag >= stats.worst_held
    assert any("event loop held" in record.getMessage() for record in caplog.records)


async def _blocked_off_cpu(stats: LoopStats) -> None:
    task = asyncio.create_task(monitor_loop(0.005, stats))
    await asyncio.sleep(0.05)
    time.sleep(0.12)  # noqa: ASYNC251 (on purpose: late, but the loop's thread sleeps, not our CPU)
    await asyncio.sleep(0.05)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_a_loop_blocked_off_the_cpu_is_late_but_not_held() -> None:
    stats = LoopStats()
    asyncio.run(_blocked_off_cpu(stats))
    assert stats.worst_lag >= 0.08
    assert stats.worst_held < 0.05


def test_the_tick_costs_microseconds() -> None:
    """A figure for the report, not a bound: what one tick's bookkeeping costs (no sleeping)."""
    stats = LoopStats()
    rounds = 20000
    started = time.perf_counter()
    for _ in range(rounds):
        sample = measure_tick(0.01, time.monotonic(), time.monotonic(), time.thread_time(), time.thread_time())
        loop_monitor.LAG.observe(sample.lag)
        loop_monitor.HELD.observe(sample.held)
        stats.add(sample)
    per_tick = (time.perf_counter() - started) / rounds
    print(f"loop monitor tick bookkeeping: {per_tick * 1e6:.1f} us ({per_tick / 0.01:.3%} of a core at 10 ms)")
    assert stats.ticks == rounds


def test_with_loop_stacks_on_an_overdue_loop_logs_where_it_is_held(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("RAMP_LOOP_STACKS", "1")
    with caplog.at_level(logging.WARNING, logger="ramp.manager.loop"):
        asyncio.run(_watch(0.15, LoopStats()))
    stacks = [record for record in caplog.records if record.getMessage() == "event loop overdue; its stack"]
    assert stacks and "_watch" in stacks[0].stack  # type: ignore[attr-defined]


def test_garbage_collection_pauses_are_timed_by_generation() -> None:
    stop = loop_monitor.watch_gc_pauses()
    try:
        gc.collect()
    finally:
        stop()
    assert loop_monitor.GC_PAUSE_MAX.labels("2")._value.get() > 0


def test_the_callback_timer_counts_and_names_a_callback_that_holds_the_loop(caplog: pytest.LogCaptureFixture) -> None:
    cpu = [0.0]  # a CPU clock the callbacks below advance: one spends 2 ms, the other 80 ms

    def spend(seconds: float) -> None:
        cpu[0] += seconds

    def slow_step() -> None:
        spend(0.08)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        loop.call_soon(spend, 0.002)
        loop.call_soon(slow_step)
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    timer = CallbackTimer(limit=0.05, cpu_clock=lambda: cpu[0])
    original = asyncio.Handle._run
    timer.install()
    try:
        with caplog.at_level(logging.WARNING, logger="ramp.manager.loop"):
            asyncio.run(run())
    finally:
        timer.uninstall()
    assert asyncio.Handle._run is original
    assert timer.slow == 1
    assert timer.worst == pytest.approx(0.08)
    assert any("slow_step" in record.getMessage() for record in caplog.records)
