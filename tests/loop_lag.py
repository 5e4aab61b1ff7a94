"""A loop-lag probe for tests: how late the event loop runs a callback it was asked to run every `interval`.

async with LoopLagProbe() as probe:
    ...  # work that shares the loop
probe.worst  # seconds the loop was late at worst (a figure to report; tests never assert on wall time)
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType


class LoopLagProbe:
    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.samples = 0
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            self.samples += 1
            self.worst = max(self.worst, loop.time() - due)

    async def __aenter__(self) -> LoopLagProbe:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await asyncio.sleep(self.interval * 2)  # let the probe see the loop after the last piece of work
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
