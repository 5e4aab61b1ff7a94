"""The delivery queue: retries with backoff until a send succeeds, a timeout per attempt, upstream's metrics for
each outcome, template errors reported without retrying, and errors outside the services' contract reported by
type only (their text may hold a secret)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from ramp.notifications.delivery import Delivery, DeliveryQueue, RetryPolicy
from ramp.notifications.metrics import SEND_ERROR, SEND_SUCCESS
from ramp.notifications.services.base import Notification, SendError

ROLLOUT = {"kind": "Rollout", "metadata": {"name": "web", "namespace": "shop"}}


class _Flaky:
    def __init__(self, name: str, failures: int, *, hang: bool = False, error: Exception | None = None) -> None:
        self.name = name
        self.failures = failures
        self.hang = hang
        self.error = error
        self.sent: list[tuple[str, str]] = []
        self.attempts = 0

    async def send(self, notification: Notification, recipient: str) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            if self.hang:
                await asyncio.sleep(3600)
            raise self.error or SendError(f"{self.name}: HTTP 503")
        self.sent.append((notification.message, recipient))


async def _aborted_message() -> Notification:
    return Notification("Rollout web has been aborted.")


def _delivery(service: _Flaky, render: Callable[[], Awaitable[Notification]] | None = None) -> Delivery:
    return Delivery(
        key="k",
        about=ROLLOUT,
        trigger="on-rollout-aborted",
        service_name=service.name,
        service=service,
        recipient="ops",
        reason="RolloutAborted",
        event_type="Warning",
        render=render or _aborted_message,
    )


def _queue(policy: RetryPolicy, slept: list[float]) -> DeliveryQueue:
    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def done(delivery: Delivery, error: Exception | None) -> None:
        return None

    return DeliveryQueue(done, policy=policy, sleep=sleep)


async def test_a_send_that_fails_twice_is_retried_with_backoff_and_counted_once_as_a_success() -> None:
    service = _Flaky("hook-retry", failures=2)
    slept: list[float] = []
    before = SEND_SUCCESS.value("shop", "web", "Warning", "RolloutAborted")
    error = await _queue(RetryPolicy(attempts=3, backoff=0.5), slept).deliver(_delivery(service))
    assert error is None
    assert service.sent == [("Rollout web has been aborted.", "ops")]
    assert slept == [0.0, 0.5, 1.0]
    assert SEND_SUCCESS.value("shop", "web", "Warning", "RolloutAborted") == before + 1


async def test_a_send_that_never_succeeds_is_given_up_after_the_last_attempt_and_counted_as_an_error() -> None:
    service = _Flaky("hook-down", failures=10)
    before = SEND_ERROR.value("shop", "web", "Warning", "RolloutAborted")
    error = await _queue(RetryPolicy(attempts=3), []).deliver(_delivery(service))
    assert isinstance(error, SendError) and "HTTP 503" in str(error)
    assert service.attempts == 3
    assert SEND_ERROR.value("shop", "web", "Warning", "RolloutAborted") == before + 1


async def test_each_attempt_is_bounded_by_the_timeout() -> None:
    service = _Flaky("hook-slow", failures=1, hang=True)
    error = await _queue(RetryPolicy(attempts=2, timeout=0.05), []).deliver(_delivery(service))
    assert error is None, "the hung first attempt timed out and the second went through"
    assert service.attempts == 2


async def test_a_template_that_cannot_render_is_reported_without_any_attempt() -> None:
    service = _Flaky("hook-template", failures=0)

    async def broken() -> Notification:
        raise ValueError('template: rollout-aborted:1:3: function "nope" not defined')

    error = await _queue(RetryPolicy(), []).deliver(_delivery(service, broken))
    assert isinstance(error, ValueError)
    assert service.attempts == 0


async def test_an_error_outside_the_services_contract_is_reported_by_its_type_only() -> None:
    service = _Flaky("hook-bug", failures=5, error=RuntimeError("https://hooks.example/T0/secret-token"))
    error = await _queue(RetryPolicy(attempts=1), []).deliver(_delivery(service))
    assert str(error) == "hook-bug: RuntimeError"


@pytest.mark.parametrize(("attempt", "delay"), [(1, 0.0), (2, 1.0), (3, 2.0), (4, 4.0), (9, 30.0)])
def test_backoff_doubles_up_to_its_cap(attempt: int, delay: float) -> None:
    assert RetryPolicy(backoff=1.0, max_backoff=30.0).delay_before(attempt) == delay


async def test_a_services_own_retry_settings_replace_the_defaults() -> None:
    from ramp.notifications.services.base import RetryPolicy as ServiceRetryPolicy

    service = _Flaky("hook-own", failures=10)
    service.retry_policy = ServiceRetryPolicy(wait_min_seconds=0.25, wait_max_seconds=0.5, max_retries=4)  # type: ignore[attr-defined]
    slept: list[float] = []
    await _queue(RetryPolicy(attempts=2), slept).deliver(_delivery(service))
    assert service.attempts == 5
    assert slept == [0.0, 0.25, 0.5, 0.5, 0.5]
