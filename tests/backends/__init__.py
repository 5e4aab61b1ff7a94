"""Real backends for provider tests, on 127.0.0.1 only.

`LocalHttpServer` is a threaded `http.server` that answers each request through a function the test gives
(recorded responses in a backend's documented format) and keeps every request it received, so tests can check
what a provider sent. `tests.backends.prometheus` runs a real Prometheus from Debian's package.

Used by tests/unit/providers (web, Prometheus API) and tests/e2e (a proxy in front of the real Prometheus).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the server saw it (header names lower-cased; query and form values: the last given)."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        """The body read as an urlencoded form."""
        return {name: values[-1] for name, values in parse_qs(self.body.decode()).items()}


@dataclass(frozen=True)
class Reply:
    """What the server answers; `delay_seconds` holds the answer back (for timeouts)."""

    status: int = 200
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0

    @classmethod
    def json(cls, text: str, status: int = 200) -> Reply:
        return cls(status, text, {"Content-Type": "application/json"})


Responder = Callable[[ReceivedRequest], Reply]


class LocalHttpServer:
    """A threaded HTTP server on a free port of 127.0.0.1; `url` is its base address."""

    def __init__(self, respond: Responder) -> None:
        self.respond = respond
        self.requests: list[ReceivedRequest] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll keeps stop() quick: shutdown waits for the serving loop's next poll.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="local-http", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalHttpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def serve(respond: Responder) -> Iterator[LocalHttpServer]:
    """Run a LocalHttpServer for the duration of the block."""
    server = LocalHttpServer(respond).start()
    try:
        yield server
    finally:
        server.stop()


def _handler_for(server: LocalHttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = ReceivedRequest(
                method=self.command,
                path=parts.path,
                query={name: values[-1] for name, values in parse_qs(parts.query).items()},
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
            )
            server.requests.append(request)
            reply = server.respond(request)
            if reply.delay_seconds:
                time.sleep(reply.delay_seconds)
            payload = reply.body.encode() if isinstance(reply.body, str) else reply.body
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
