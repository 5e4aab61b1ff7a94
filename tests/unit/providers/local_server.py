"""A local stand-in for a metrics backend: recorded responses served per path on 127.0.0.1.

`serve_recorded({"/api/v1/query": recorded_reply("datadog/v1_query.json")})` runs a real threaded HTTP server
(`tests.backends.LocalHttpServer`, on a free port) that answers each path with its recorded response (files under
`recorded/`, in the backend's documented format) and 404 for any other path, and keeps every request it got, so a
test can check the path, query, headers and body a provider sent.

Used by the provider tests in this folder (datadog, newrelic, cloudwatch, wavefront, graphite, influxdb).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.backends import LocalHttpServer, ReceivedRequest, Reply, serve

RECORDED = Path(__file__).parent / "recorded"
CONTENT_TYPES = {".json": "application/json", ".csv": "text/csv; charset=utf-8", ".xml": "text/xml"}


def read_recorded(name: str) -> str:
    """The text of a recorded response, such as "datadog/v1_query.json"."""
    return (RECORDED / name).read_text()


def recorded_reply(name: str, status: int = 200) -> Reply:
    """A recorded response as the server's answer, with the content type its format calls for."""
    content_type = CONTENT_TYPES.get(Path(name).suffix, "application/octet-stream")
    return Reply(status, read_recorded(name), {"Content-Type": content_type})


@contextmanager
def serve_recorded(routes: Mapping[str, Reply]) -> Iterator[LocalHttpServer]:
    """A running server answering each path in `routes` with its reply, and 404 elsewhere."""

    def respond(request: ReceivedRequest) -> Reply:
        return routes.get(request.path) or Reply(404, '{"error": "no recorded response"}')

    with serve(respond) as server:
        yield server


def only_request(server: LocalHttpServer) -> ReceivedRequest:
    """The single request the server received (fails the test when there were more or none)."""
    assert len(server.requests) == 1, [request.path for request in server.requests]
    return server.requests[0]
