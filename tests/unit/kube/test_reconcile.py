"""Workers driving a reconciler: success forgets backoff, Result.requeue_after comes back, errors retry."""

from __future__ import annotations

import asyncio

from ramp.kube.metrics import reconcile_metrics
from ramp.kube.ratelimit import ControllerRateLimiter
from ramp.kube.reconcile import Controller, Result


class Scripted:
    """A reconciler whose answers per call are scripted: a Result, or an exception to raise."""

    def __init__(self, *answers: Result | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, float]] = []
        self.active: set[str] = set()
        self.overlapped = False

    async def reconcile(self, key: str) -> Result:
        self.calls.append((key, asyncio.get_running_loop().time()))
        self.overlapped |= key in self.active
        self.active.add(key)
        try:
            await asyncio.sleep(0)
            answer = self.answers.pop(0) if self.answers else Result()
            if isinstance(answer, Exception):
                raise answer
            return answer
        finally:
            self.active.discard(key)


async def _until(predicate) -> None:
    """Poll `predicate` for up to 3 s."""
    for _ in range(600):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached in 3 s")


async def test_a_failed_reconcile_is_retried_with_backoff_and_counted() -> None:
    reconciler = Scripted(RuntimeError("API conflict"), RuntimeError("again"), Result())
    controller = Controller(
        "TestRetries",
        reconciler,
        workers=2,
        metrics_prefix="test_retry",
        rate_limiter=ControllerRateLimiter(base=0.01, cap=1.0),
    )
    errors_before = reconcile_metrics("test_retry").errors.value("ns", "r")
    controller.start()
    controller.queue.add("ns/r")
    await _until(lambda: len(reconciler.calls) == 3)
    times = [t for _, t in reconciler.calls]
    assert times[1] - times[0] >= 0.01  # first retry after the base delay
    assert times[2] - times[1] >= 0.02  # then doubled
    await _until(lambda: controller.queue.num_requeues("ns/r") == 0)  # success forgot the failures
    assert reconcile_metrics("test_retry").errors.value("ns", "r") - errors_before == 2
    assert await controller.stop(grace_seconds=1)


async def test_requeue_after_brings_the_key_back_after_that_long() -> None:
    reconciler = Scripted(Result.after(0.1), Result())
    controller = Controller("TestRequeue", reconciler, workers=1, metrics_prefix="test_requeue")
    controller.start()
    controller.queue.add("ns/r")
    await _until(lambda: len(reconciler.calls) == 2)
    assert reconciler.calls[1][1] - reconciler.calls[0][1] >= 0.1
    assert await controller.stop(grace_seconds=1)


async def test_many_workers_never_reconcile_one_key_concurrently() -> None:
    reconciler = Scripted()
    controller = Controller("TestConcurrency", reconciler, workers=8, metrics_prefix="test_concurrency")
    controller.start()
    for _ in range(50):
        for key in ("ns/a", "ns/b"):
            controller.queue.add(key)
        await asyncio.sleep(0)
    await _until(lambda: len(controller.queue) == 0 and not reconciler.active)
    assert not reconciler.overlapped
    assert {key for key, _ in reconciler.calls} == {"ns/a", "ns/b"}
    assert await controller.stop(grace_seconds=1)


async def test_stop_lets_an_in_flight_reconcile_finish_within_the_grace_period() -> None:
    finished = asyncio.Event()

    class Slow:
        async def reconcile(self, key: str) -> Result:
            await asyncio.sleep(0.05)
            finished.set()
            return Result()

    controller = Controller("TestDrain", Slow(), workers=1, metrics_prefix="test_drain")
    controller.start()
    controller.queue.add("ns/r")
    await asyncio.sleep(0.01)
    assert await controller.stop(grace_seconds=2)
    assert finished.is_set()


async def test_stop_cancels_a_reconcile_that_outlives_the_grace_period() -> None:
    class Stuck:
        async def reconcile(self, key: str) -> Result:
            await asyncio.sleep(60)
            return Result()

    controller = Controller("TestStuck", Stuck(), workers=1, metrics_prefix="test_stuck")
    controller.start()
    controller.queue.add("ns/r")
    await asyncio.sleep(0.01)
    assert not await controller.stop(grace_seconds=0.05)


# -- which exceptions are retried, and which are the object's own spec problem ----------------------------------

import httpx  # noqa: E402
import pytest  # noqa: E402

from ramp.kube.errors import ApiError  # noqa: E402
from ramp.kube.reconcile import MAX_SPEC_ERROR_LENGTH, describe_spec_error, is_transient  # noqa: E402


@pytest.mark.parametrize(
    "error",
    [
        ApiError(500, "InternalError", "etcd"),
        ApiError(503, "ServiceUnavailable", ""),
        ApiError(429, "TooManyRequests", ""),
        ApiError(409, "Conflict", "stale"),
        ApiError(403, "Forbidden", "rbac"),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        ConnectionResetError(),
        TimeoutError(),
    ],
    ids=repr,
)
def test_api_and_network_failures_are_transient_and_retried(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError('spec.strategy.canary.maxSurge: "abc%"'),
        OverflowError("cannot convert float infinity to integer"),
        TypeError("string indices must be integers"),
        KeyError("name"),
        RecursionError(),
        ApiError(422, "Invalid", "spec.replicas: Invalid value"),
        ApiError(400, "BadRequest", "bad body"),
    ],
    ids=repr,
)
def test_anything_raised_by_the_spec_itself_is_not_transient(error: BaseException) -> None:
    assert not is_transient(error)


def test_a_spec_error_message_keeps_the_text_and_type_and_is_bounded() -> None:
    assert describe_spec_error(ValueError("spec.replicas: bad")) == "spec.replicas: bad (ValueError)"
    assert describe_spec_error(OverflowError("too big")) == (
        "spec: cannot be processed: too big (OverflowError); fix the value"
    )
    assert describe_spec_error(KeyError()) == "spec: cannot be processed: no detail (KeyError); fix the value"
    long = describe_spec_error(ValueError("9" * 100_000))
    assert len(long) == MAX_SPEC_ERROR_LENGTH and long.endswith("...")


class Blocking:
    """A reconciler that waits until released, recording the keys it started and finished."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []
        self.release = asyncio.Event()

    async def reconcile(self, key: str) -> Result:
        self.started.append(key)
        await self.release.wait()
        self.finished.append(key)
        return Result()


async def test_a_sharded_controller_reconciles_only_keys_of_shards_it_holds() -> None:
    reconciler = Scripted()
    held = {0}
    controller = Controller(
        "Sharded",
        reconciler,
        workers=2,
        metrics_prefix="sharded_test",
        shard_of=lambda key: 0 if key.endswith("mine") else 1,
        holds=held.__contains__,
    )
    controller.start()
    controller.queue.add("ns/mine")
    controller.queue.add("ns/theirs")
    await _until(lambda: len(reconciler.calls) == 1 and len(controller.queue) == 0)
    await asyncio.sleep(0.01)
    assert [key for key, _ in reconciler.calls] == ["ns/mine"]
    held.add(1)
    controller.queue.add("ns/theirs")
    await _until(lambda: len(reconciler.calls) == 2)
    await controller.stop(1)


async def test_cancelling_a_shard_ends_its_in_flight_reconciles_before_returning_and_spares_the_others() -> None:
    reconciler = Blocking()
    controller = Controller(
        "ShardedCancel",
        reconciler,
        workers=2,
        metrics_prefix="sharded_cancel_test",
        shard_of=lambda key: 0 if key.endswith("a") else 1,
        holds=lambda shard: True,
    )
    controller.start()
    controller.queue.add("ns/a")
    controller.queue.add("ns/b")
    await _until(lambda: len(reconciler.started) == 2)
    assert await controller.cancel_shard(0) == 1
    reconciler.release.set()
    await _until(lambda: reconciler.finished == ["ns/b"])
    # The cancelled key is not retried by this replica: the shard's next holder enqueues it.
    await asyncio.sleep(0.05)
    assert reconciler.started.count("ns/a") == 1
    assert all(not t.done() for t in controller.tasks)  # the workers themselves live on
    await controller.stop(1)


def test_a_controller_needs_both_shard_callbacks_or_neither() -> None:
    import pytest

    with pytest.raises(ValueError, match="both"):
        Controller("Half", Scripted(), workers=1, metrics_prefix="half_test", shard_of=lambda key: 0)
