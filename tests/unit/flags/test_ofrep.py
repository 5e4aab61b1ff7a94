"""The OFREP server through starlette's TestClient: success and error shapes, ETag/304, auth, the event stream."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from ramp.flags.ofrep import MAX_BODY_BYTES, Subscribers, build_app
from ramp.flags.store import FlagSet

with warnings.catch_warnings():
    # starlette 1.x suggests httpx2 for its TestClient; httpx is what Ramp pins, and it works.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

FLAGS: dict[str, Any] = {
    "bool": {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "on", "targeting": {}},
    "ratio": {"state": "ENABLED", "variants": {"one": 1.0, "half": 0.5}, "defaultVariant": "one", "targeting": {}},
    "split": {
        "state": "ENABLED",
        "variants": {"new": "new", "old": "old"},
        "defaultVariant": "old",
        "targeting": {"fractional": [["new", 100], ["old", 0]]},
    },
    "broken": {
        "state": "ENABLED",
        "variants": {"a": "a"},
        "defaultVariant": "a",
        "targeting": {"if": [True, "ghost"]},
    },
    "meta": {
        "state": "ENABLED",
        "variants": {"a": {"k": 1}},
        "defaultVariant": "a",
        "targeting": {},
        "metadata": {"team": "web"},
    },
}


class StaticStore:
    def __init__(self, flag_set: FlagSet) -> None:
        self.flag_set = flag_set
        self.event = asyncio.Event()

    def snapshot(self) -> FlagSet:
        return self.flag_set

    async def changed(self) -> None:
        await asyncio.Event().wait()  # never


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(build_app(StaticStore(FlagSet(version="v1", flags=FLAGS)))) as test_client:
        yield test_client


def post(client: TestClient, path: str, body: Any = None, **kwargs: Any) -> Any:
    return client.post(f"/ofrep/v1/evaluate/flags{path}", json=body, **kwargs)


def test_single_success_shapes(client: TestClient) -> None:
    response = post(client, "/bool", {"context": {"targetingKey": "u1"}})
    assert response.status_code == 200
    assert response.json() == {"key": "bool", "reason": "STATIC", "variant": "on", "value": True}
    assert post(client, "/split", {"context": {"targetingKey": "u1"}}).json()["reason"] == "SPLIT"
    assert post(client, "/meta", {"context": {}}).json()["metadata"] == {"team": "web"}


def test_no_targeting_key_and_no_context_are_accepted(client: TestClient) -> None:
    assert post(client, "/bool", {"context": {}}).status_code == 200
    assert post(client, "/bool", {}).status_code == 200
    assert client.post("/ofrep/v1/evaluate/flags/bool").status_code == 200
    assert post(client, "/split", {}).json() == {"key": "split", "reason": "DEFAULT", "variant": "old", "value": "old"}


def test_floats_are_serialized_as_floats(client: TestClient) -> None:
    response = post(client, "/ratio", {"context": {}})
    assert b'"value":1.0' in response.content


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "PARSE_ERROR"),
        (b"[1]", 400, "PARSE_ERROR"),
        (b'{"context": "user"}', 400, "INVALID_CONTEXT"),
        (b'{"context": {"targetingKey": 7}}', 400, "INVALID_CONTEXT"),
        (b'{"context": {"targetingKey": ""}}', 400, "TARGETING_KEY_MISSING"),
    ],
)
def test_request_errors(client: TestClient, body: bytes, status: int, code: str) -> None:
    response = client.post("/ofrep/v1/evaluate/flags/bool", content=body)
    assert response.status_code == status
    assert response.json()["key"] == "bool"
    assert response.json()["errorCode"] == code
    assert response.json()["errorDetails"]


def test_unknown_flag_is_404(client: TestClient) -> None:
    response = post(client, "/nope", {"context": {}})
    assert response.status_code == 404
    assert response.json() == {
        "key": "nope",
        "errorCode": "FLAG_NOT_FOUND",
        "errorDetails": "flag 'nope' was not found",
    }


def test_targeting_error_is_general(client: TestClient) -> None:
    response = post(client, "/broken", {"context": {}})
    assert response.status_code == 400
    assert response.json()["errorCode"] == "GENERAL"
    assert "ghost" in response.json()["errorDetails"]


def test_body_cap(client: TestClient) -> None:
    response = client.post("/ofrep/v1/evaluate/flags/bool", content=b" " * (MAX_BODY_BYTES + 1))
    assert response.status_code == 400
    assert response.json()["errorCode"] == "PARSE_ERROR"


def test_bulk_etag_and_304(client: TestClient) -> None:
    body = {"context": {"targetingKey": "u1"}}
    first = post(client, "", body)
    assert first.status_code == 200
    payload = first.json()
    assert [item["key"] for item in payload["flags"]] == sorted(FLAGS)
    assert {"key": "nope"} not in payload["flags"]
    assert next(i for i in payload["flags"] if i["key"] == "broken")["errorCode"] == "GENERAL"
    assert payload["eventStreams"] == [{"type": "sse", "endpoint": {"requestUri": "/ofrep/v1/events"}}]
    etag = first.headers["etag"]
    again = post(client, "", body, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other = post(client, "", {"context": {"targetingKey": "u2"}}, headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag
    bad = client.post("/ofrep/v1/evaluate/flags", content=b"{")
    assert bad.status_code == 400 and bad.json()["errorCode"] == "PARSE_ERROR"


def test_a_new_version_changes_the_etag() -> None:
    store = StaticStore(FlagSet(version="v1", flags=FLAGS))
    with TestClient(build_app(store)) as test_client:
        etag = post(test_client, "", {}).headers["etag"]
        store.flag_set = FlagSet(version="v2", flags=FLAGS)
        assert post(test_client, "", {}, headers={"If-None-Match": etag}).status_code == 200


def test_auth() -> None:
    app = build_app(StaticStore(FlagSet(version="v1", flags=FLAGS)), tokens=["s3cret"])
    with TestClient(app) as test_client:
        assert post(test_client, "/bool", {}).status_code == 401
        assert post(test_client, "/bool", {}).json()["errorDetails"]
        assert post(test_client, "/bool", {}, headers={"Authorization": "Bearer wrong"}).status_code == 403
        assert post(test_client, "/bool", {}, headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert post(test_client, "/bool", {}, headers={"X-API-Key": "s3cret"}).status_code == 200
        assert post(test_client, "", {}, headers={"X-API-Key": "nope"}).status_code == 403
        assert test_client.get("/ofrep/v1/events").status_code == 401


def test_internal_errors_are_500_with_error_details() -> None:
    class Failing(StaticStore):
        def snapshot(self) -> FlagSet:
            raise RuntimeError("boom")

    app = build_app(Failing(FlagSet(version="v1", flags=FLAGS)))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = post(test_client, "/bool", {})
        assert response.status_code == 500
        assert response.json() == {"errorDetails": "internal error: RuntimeError"}


async def test_subscribers_get_one_pending_refetch() -> None:
    subscribers = Subscribers()
    queue = subscribers.add()
    subscribers.publish("v2")
    subscribers.publish("v3")
    assert queue.qsize() == 1 and await queue.get() == "v3"
    subscribers.remove(queue)
    assert len(subscribers) == 0


async def test_the_watcher_survives_a_failing_store_and_tells_subscribers() -> None:
    class Flaky(StaticStore):
        calls = 0

        async def changed(self) -> None:
            self.calls += 1
            if self.calls == 1:
                raise OSError("the source went away")
            if self.calls == 2:
                self.flag_set = FlagSet(version="v2", flags=FLAGS)
                return
            await asyncio.Event().wait()

    app = build_app(Flaky(FlagSet(version="v1", flags=FLAGS)))
    queue = app.state.subscribers.add()
    async with app.router.lifespan_context(app):
        assert await asyncio.wait_for(queue.get(), 10) == "v2"


def test_a_new_flag_set_is_served_at_once_not_a_cached_answer() -> None:
    store = StaticStore(FlagSet(version="v1", flags=FLAGS))
    with TestClient(build_app(store)) as test_client:
        assert post(test_client, "/bool", {}).json()["value"] is True
        flipped = {**FLAGS, "bool": {**FLAGS["bool"], "defaultVariant": "off"}}
        store.flag_set = FlagSet(version="v2", flags=flipped)
        assert post(test_client, "/bool", {}).json() == {
            "key": "bool",
            "reason": "STATIC",
            "variant": "off",
            "value": False,
        }
        assert next(i for i in post(test_client, "", {}).json()["flags"] if i["key"] == "bool")["value"] is False


def test_other_methods_on_the_evaluation_paths_are_405(client: TestClient) -> None:
    assert client.get("/ofrep/v1/evaluate/flags/bool").status_code == 405
    assert client.get("/ofrep/v1/evaluate/flags").status_code == 405
    assert client.post("/ofrep/v1/evaluate/flagsx").status_code == 404


async def call(app: Any, path: str, chunks: list[bytes], *, disconnect: bool = False) -> list[dict[str, Any]]:
    """Drive the ASGI app by hand: the body in `chunks`, or a disconnect before it ends."""
    incoming: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1} for i, chunk in enumerate(chunks)
    ]
    if disconnect:
        incoming = [*incoming[:-1], {"type": "http.disconnect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": [], "query_string": b""}
    await app(scope, receive, send)
    return sent


async def test_a_body_in_several_chunks_is_read_whole() -> None:
    app = build_app(StaticStore(FlagSet(version="v1", flags=FLAGS)))
    sent = await call(app, "/ofrep/v1/evaluate/flags/split", [b'{"context": {"target', b'ingKey": "u1"}}'])
    assert sent[0]["status"] == 200
    assert (b"content-length", str(len(sent[1]["body"])).encode()) in sent[0]["headers"]
    assert orjson.loads(sent[1]["body"])["reason"] == "SPLIT"


async def test_a_client_gone_before_its_body_ends_gets_nothing() -> None:
    app = build_app(StaticStore(FlagSet(version="v1", flags=FLAGS)))
    assert await call(app, "/ofrep/v1/evaluate/flags/bool", [b"{", b"}"], disconnect=True) == []
