"""A small ASGI client for the dashboard's unit tests: it sees what a server would (how much of a body was read,
when a client goes away), which starlette's TestClient hides, and it can hold many event streams open at once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message

HOST = "127.0.0.1:3100"


def _scope(method: str, path: str, headers: dict[str, str]) -> dict[str, Any]:
    target, _, query = path.partition("?")
    raw = [(k.lower().encode(), v.encode()) for k, v in {"host": HOST, **headers}.items()]
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": target,
        "raw_path": target.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": raw,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 3100),
    }


@dataclass
class Answer:
    status: int = 0
    body: bytes = b""
    chunks_read: int = 0
    """How many body chunks the app asked for."""


async def request(
    app: ASGIApp,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    chunks: Iterable[bytes] = (),
) -> Answer:
    """Send a request whose body comes in `chunks`; the answer and how much of the body the app read."""
    pending = list(chunks)
    answer = Answer()

    async def receive() -> Message:
        if answer.chunks_read < len(pending):
            answer.chunks_read += 1
            more = answer.chunks_read < len(pending)
            return {"type": "http.request", "body": pending[answer.chunks_read - 1], "more_body": more}
        if not pending and answer.chunks_read == 0:
            answer.chunks_read = -1  # an empty body, read once
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays until the answer is complete
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
        elif message["type"] == "http.response.body":
            answer.body += message.get("body", b"")

    await asyncio.wait_for(app(_scope(method, path, headers or {}), receive, send), 10)
    answer.chunks_read = max(answer.chunks_read, 0)
    return answer


@dataclass
class Stream:
    """One open event stream: its status, what it has received so far, and a way to hang up."""

    status: asyncio.Future[int]
    received: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    async def next_event(self, patience: float = 5.0) -> str:
        """The next chunk that carries an event (keep-alive comments skipped)."""
        while True:
            chunk = (await asyncio.wait_for(self.received.get(), patience)).decode()
            if chunk.startswith("event:"):
                return chunk

    async def hang_up(self) -> None:
        self.gone.set()
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self.task, 5)


async def open_stream(app: ASGIApp, path: str, headers: dict[str, str] | None = None) -> Stream:
    stream = Stream(asyncio.get_running_loop().create_future())
    asked = False

    async def receive() -> Message:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await stream.gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start" and not stream.status.done():
            stream.status.set_result(message["status"])
        elif message["type"] == "http.response.body" and message.get("body"):
            stream.received.put_nowait(message["body"])

    stream.task = asyncio.create_task(app(_scope("GET", path, headers or {}), receive, send))
    await asyncio.wait_for(asyncio.shield(stream.status), 5)
    return stream
