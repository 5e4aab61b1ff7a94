"""A service's health signals, as a test sets them: Prometheus text on /metrics, JSON on /health.

A real HTTP server on 127.0.0.1 (a thread in the test process). Prometheus scrapes /metrics; web metrics read
/health. Values change when the test says so, as a release's error rate would.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class MetricsSource:
    """Gauges by name (with labels) and a JSON document, served until `stop`."""

    def __init__(self) -> None:
        self.gauges: dict[str, float] = {}
        self.document: dict[str, Any] = {}
        self._lock = threading.Lock()
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.startswith("/metrics"):
                    body, kind = source.render_metrics().encode(), "text/plain; version=0.0.4"
                elif self.path.startswith("/health"):
                    with source._lock:
                        body, kind = json.dumps(source.document).encode(), "application/json"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def set(self, series: str, value: float) -> None:
        """Set a gauge, written as Prometheus would read it: `name{label="v"}`."""
        with self._lock:
            self.gauges[series] = value

    def set_document(self, document: dict[str, Any]) -> None:
        with self._lock:
            self.document = dict(document)

    def render_metrics(self) -> str:
        with self._lock:
            lines = [f"{series} {value}" for series, value in self.gauges.items()]
        return "\n".join(lines) + "\n"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
