"""The delivery queue: sends rendered notifications on workers of its own, with retries, a timeout per attempt,
and the metrics; a reconcile never waits for a send.

`DeliveryQueue.enqueue` returns at once (a full queue refuses, and the caller reports it); `run()` runs the
workers. Each `Delivery` is tried up to `RetryPolicy.attempts` times, each attempt bounded by
`RetryPolicy.timeout`, with exponential backoff between attempts. The outcome goes to `on_done(delivery, error)`
(None when delivered), which the notifier uses for its bookkeeping and the NotificationFailed event. Errors are
logged with the service's own message, which never carries a secret (`services.base`), never the options.

Used by `ramp.notifications.notifier`; metrics in `ramp.notifications.metrics`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ramp.notifications.metrics import SEND_ERROR, SEND_SECONDS, SEND_SUCCESS
from ramp.notifications.services.base import Notification, SendError, Service
from ramp.notifications.services.base import RetryPolicy as ServiceRetryPolicy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    timeout: float = 10.0
    """Seconds one attempt may take."""
    backoff: float = 1.0
    """Seconds before the second attempt; doubled before each next one."""
    max_backoff: float = 30.0

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number `attempt` (1-based): none before the first.

        >>> [RetryPolicy(backoff=1.0, max_backoff=3.0).delay_before(n) for n in (1, 2, 3, 4)]
        [0.0, 1.0, 2.0, 3.0]
        """
        if attempt <= 1:
            return 0.0
        return float(min(self.max_backoff, self.backoff * 2 ** (attempt - 2)))


@dataclass(frozen=True)
class Delivery:
    """One message for one destination, about one object's event."""

    key: str
    about: Mapping[str, Any]
    """The object the event was about (for events and metric labels)."""
    trigger: str
    service_name: str
    service: Service
    recipient: str
    reason: str
    event_type: str
    render: Callable[[], Awaitable[Notification]]
    """Renders the message just before the first attempt (the freshest state of the object); may raise."""

    @property
    def namespace(self) -> str:
        return str((self.about.get("metadata") or {}).get("namespace", ""))

    @property
    def name(self) -> str:
        return str((self.about.get("metadata") or {}).get("name", ""))


def policy_for(service: Service, default: RetryPolicy) -> RetryPolicy:
    """The service's own retry settings when its options give them (the webhook's retryMax, retryWaitMin,
    retryWaitMax: `services.base.RetryPolicy`), else the delivery layer's."""
    own = getattr(service, "retry_policy", None)
    if not isinstance(own, ServiceRetryPolicy):
        return default
    return replace(
        default, attempts=own.max_retries + 1, backoff=own.wait_min_seconds, max_backoff=own.wait_max_seconds
    )


DoneCallback = Callable[[Delivery, Exception | None], Awaitable[None]]


class DeliveryQueue:
    """Bounded queue + workers; see the module docstring."""

    def __init__(
        self,
        on_done: DoneCallback,
        *,
        workers: int = 4,
        policy: RetryPolicy | None = None,
        max_queued: int = 1000,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.on_done = on_done
        self.workers = max(1, workers)
        self.policy = policy or RetryPolicy()
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue(max_queued)
        self._sleep = sleep

    def enqueue(self, delivery: Delivery) -> bool:
        """Queue one delivery; False when the queue is full."""
        try:
            self._queue.put_nowait(delivery)
        except asyncio.QueueFull:
            return False
        return True

    def discard(self) -> int:
        """Drop every delivery not yet started (the leader term ended: they stay pending on their objects for
        the next leader). Returns how many."""
        dropped = 0
        while not self._queue.empty():
            self._queue.get_nowait()
            self._queue.task_done()
            dropped += 1
        return dropped

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for n in range(self.workers):
                group.create_task(self._work(), name=f"notification-sender-{n}")

    async def join(self, grace_seconds: float) -> bool:
        """Wait up to `grace_seconds` for every queued delivery to finish; True if they did."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace_seconds):
                await self._queue.join()
                return True
        return False

    async def _work(self) -> None:
        while True:
            delivery = await self._queue.get()
            try:
                error = await self.deliver(delivery)
                await self.on_done(delivery, error)
            except Exception:
                log.exception("notification delivery failed unexpectedly", extra={"trigger": delivery.trigger})
            finally:
                self._queue.task_done()

    async def deliver(self, delivery: Delivery) -> Exception | None:
        """Render, then send with retries; count the outcome. Returns the last error, None when delivered."""
        started = time.monotonic()
        labels = (delivery.namespace, delivery.name, delivery.event_type, delivery.reason)
        try:
            notification = await delivery.render()
        except Exception as err:  # a template error is the user's: report it, retrying cannot help
            SEND_ERROR.inc(*labels)
            return err
        error: Exception | None = None
        policy = policy_for(delivery.service, self.policy)
        for attempt in range(1, policy.attempts + 1):
            await self._sleep(policy.delay_before(attempt))
            try:
                async with asyncio.timeout(policy.timeout):
                    await delivery.service.send(notification, delivery.recipient)
            except TimeoutError:
                error = SendError(f"{delivery.service_name}: no answer within {policy.timeout:g}s")
            except SendError as err:
                error = err
            except Exception as err:
                # Outside the services' contract: its text may hold a URL with a key in it, so only the type.
                error = SendError(f"{delivery.service_name}: {type(err).__name__}")
            else:
                SEND_SUCCESS.inc(*labels)
                SEND_SECONDS.labels(delivery.namespace, delivery.name).observe(time.monotonic() - started)
                return None
            log.warning(
                "notification not sent",
                extra={
                    "namespace": delivery.namespace,
                    "object": delivery.name,
                    "trigger": delivery.trigger,
                    "service": delivery.service_name,
                    "attempt": attempt,
                    "error": str(error),
                },
            )
        SEND_ERROR.inc(*labels)
        SEND_SECONDS.labels(delivery.namespace, delivery.name).observe(time.monotonic() - started)
        return error
