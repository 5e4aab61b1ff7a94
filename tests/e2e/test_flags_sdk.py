"""`ramp flags serve --file` (local mode) with the real OpenFeature SDKs: no cluster needed.

`ramp flags serve` runs as its own process on an ephemeral port. The real Python SDK (`openfeature-sdk` +
`openfeature-provider-ofrep`) evaluates boolean, string, integer, float and object flags; 10,000 targeting keys
against a fractional rollout at 10% then 50% (the file rewritten between steps, the server picking it up and telling
event-stream clients to refetch) land in the new variant within 1% of the weight, and no key in it at 10% leaves it
at 50%; errors reach the SDK as its documented codes. The real JavaScript SDK (`@openfeature/server-sdk` +
`@openfeature/ofrep-provider` from npm, pinned in tests/e2e/flags_js, run with node) makes the same shares check,
sees the same users as the Python SDK, and gets its error codes (unknown flag, bad context, wrong type, no auth).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from tests.e2e.flags_clients import js_env, python_client, run_js, start_flag_server, stop_process
from tests.e2e.harness import wait_until

# Part of the e2e suite (a real process, real SDKs); this file needs no cluster.
pytestmark = pytest.mark.cluster

KEYS = 10_000
FLAG = "new-checkout"


def rollout_file(weight: int) -> bytes:
    """The shape the FeatureFlag conversion writes: the new variant first, then the default."""
    flags: dict[str, Any] = {
        FLAG: {
            "state": "ENABLED",
            "variants": {"new": True, "old": False},
            "defaultVariant": "old",
            "targeting": {"fractional": [["new", weight], ["old", 100 - weight]]},
        },
        "banner": {"state": "ENABLED", "variants": {"blue": "blue", "red": "red"}, "defaultVariant": "blue"},
        "max-items": {"state": "ENABLED", "variants": {"few": 5, "many": 50}, "defaultVariant": "many"},
        "ratio": {"state": "ENABLED", "variants": {"one": 1, "half": 0.5}, "defaultVariant": "one"},
        "theme": {
            "state": "ENABLED",
            "variants": {"dark": {"bg": "black", "sizes": [1, 2]}, "light": {"bg": "white", "sizes": []}},
            "defaultVariant": "light",
            "targeting": {"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "dark", None]},
        },
    }
    return json.dumps({"flags": flags}, indent=2).encode()


def version_of(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass
class FlagServer:
    process: subprocess.Popen[bytes]
    url: str
    file: Path
    log: Path

    def write(self, raw: bytes) -> None:
        """Replace the file atomically, as an editor or a ConfigMap update does."""
        partial = self.file.with_suffix(".tmp")
        partial.write_bytes(raw)
        partial.replace(self.file)

    def serving(self) -> str:
        return str(httpx.get(f"{self.url}/healthz", timeout=5).json()["version"])

    def wait_serving(self, raw: bytes) -> None:
        wanted = version_of(raw)
        wait_until(lambda: self.serving() == wanted, 30, f"the server to serve version {wanted}")


def start_server(tmp_path: Path, raw: bytes, *extra: str) -> FlagServer:
    flag_file = tmp_path / "flags.json"
    flag_file.write_bytes(raw)
    started = start_flag_server(["--file", str(flag_file), *extra], tmp_path / "serve.log", timeout=30)
    server = FlagServer(started.process, started.url, flag_file, started.log)
    server.wait_serving(raw)
    return server


@pytest.fixture
def servers() -> Iterator[Callable[..., FlagServer]]:
    started: list[FlagServer] = []

    def start(tmp_path: Path, raw: bytes, *extra: str) -> FlagServer:
        server = start_server(tmp_path, raw, *extra)
        started.append(server)
        return server

    yield start
    for server in started:
        stop_process(server.process)


def new_keys(client: Any) -> set[int]:
    """Which of user-0..user-9999 get the new variant, through the SDK."""
    chosen: set[int] = set()
    for i in range(KEYS):
        details = client.get_boolean_details(FLAG, False, EvaluationContext(targeting_key=f"user-{i}"))
        assert details.error_code is None, (i, details.error_code, details.error_message)
        assert details.reason == Reason.SPLIT
        if details.value:
            chosen.add(i)
    return chosen


class EventListener(threading.Thread):
    """Reads the server's event stream; `refetches` collects the `refetchEvaluation` events."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.connected = threading.Event()
        self.refetches: list[dict[str, Any]] = []

    def run(self) -> None:
        with httpx.Client(timeout=httpx.Timeout(5, read=60)) as client, client.stream("GET", self.url) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if line.startswith(": connected"):
                    self.connected.set()
                if line.startswith("data: "):
                    event = json.loads(line.removeprefix("data: "))
                    if event.get("type") == "refetchEvaluation":
                        self.refetches.append(event)
                        return


def test_the_python_sdk_evaluates_every_flag_type(tmp_path: Path, servers: Callable[..., FlagServer]) -> None:
    # Given a flag file served locally
    server = servers(tmp_path, rollout_file(10))
    client = python_client(server.url, "types")
    # When the real Python SDK evaluates each type, Then it gets the values of the file
    assert client.get_string_value("banner", "none") == "blue"
    assert client.get_integer_value("max-items", 0) == 50
    ratio = client.get_float_details("ratio", 0.0)
    assert (ratio.value, ratio.variant, ratio.error_code) == (1.0, "one", None)
    theme = client.get_object_details("theme", {}, EvaluationContext("u1", {"email": "dev@example.com"}))
    assert (theme.value, theme.reason) == ({"bg": "black", "sizes": [1, 2]}, Reason.TARGETING_MATCH)
    # and no targeting rule matches -> the default variant
    assert client.get_object_value("theme", {}, EvaluationContext("u1", {"email": "a@b.org"})) == {
        "bg": "white",
        "sizes": [],
    }
    # and an evaluation with no context at all is served (the static result)
    banner = client.get_string_details("banner", "none")
    assert (banner.value, banner.reason, banner.variant) == ("blue", Reason.STATIC, "blue")
    assert client.get_boolean_value(FLAG, True) is False  # no targetingKey to bucket by: the default variant


def test_a_rollout_from_10_to_50_percent_with_the_python_sdk(
    tmp_path: Path, servers: Callable[..., FlagServer]
) -> None:
    # Given the flag at 10%
    server = servers(tmp_path, rollout_file(10))
    client = python_client(server.url, "shares")
    # When 10,000 users evaluate it, Then 10% (within 1%) get the new variant
    at_10 = new_keys(client)
    assert abs(len(at_10) / KEYS - 0.10) <= 0.01, len(at_10)
    # When the file moves the flag to 50% while an event-stream client listens
    listener = EventListener(f"{server.url}/ofrep/v1/events")
    listener.start()
    assert listener.connected.wait(10)
    raw = rollout_file(50)
    server.write(raw)
    # Then the stream tells it to refetch, naming the new version
    listener.join(30)
    assert listener.refetches == [{"type": "refetchEvaluation", "etag": version_of(raw)}]
    server.wait_serving(raw)
    # and 50% (within 1%) get the new variant, every user of the 10% step among them
    at_50 = new_keys(client)
    assert abs(len(at_50) / KEYS - 0.50) <= 0.01, len(at_50)
    assert at_10 <= at_50, f"{len(at_10 - at_50)} users flipped back to the old variant"


def test_a_broken_rewrite_keeps_the_last_good_flags(tmp_path: Path, servers: Callable[..., FlagServer]) -> None:
    raw = rollout_file(10)
    server = servers(tmp_path, raw)
    server.write(b'{"flags": {"banner": {"state": "SOMETIMES"}}}')
    wait_until(lambda: "FlagFileInvalid" in server.log.read_text(), 30, "the server to log the bad file")
    assert "flags.banner.state" in server.log.read_text()
    assert server.serving() == version_of(raw)
    assert python_client(server.url, "broken").get_string_value("banner", "none") == "blue"


def test_errors_reach_the_python_sdk_as_its_error_codes(tmp_path: Path, servers: Callable[..., FlagServer]) -> None:
    server = servers(tmp_path, rollout_file(10))
    client = python_client(server.url, "errors")
    context = EvaluationContext("u1")
    # unknown flag
    unknown = client.get_boolean_details("no-such-flag", False, context)
    assert (unknown.value, unknown.error_code, unknown.reason) == (False, ErrorCode.FLAG_NOT_FOUND, Reason.ERROR)
    # bad context: a targetingKey that is not a string
    bad = client.get_boolean_details(FLAG, False, EvaluationContext(None, {"targetingKey": 7}))
    assert (bad.value, bad.error_code) == (False, ErrorCode.INVALID_CONTEXT)
    assert "targetingKey" in (bad.error_message or "")
    # wrong type: a string flag read as a boolean
    mismatch = client.get_boolean_details("banner", True, context)
    assert (mismatch.value, mismatch.error_code) == (True, ErrorCode.TYPE_MISMATCH)

    # no auth: a server with tokens refuses a client without one (the provider maps 401/403 to GENERAL)
    tokens = tmp_path / "tokens"
    tokens.write_text("# one token a line\ns3cret-token\n")
    guarded_dir = tmp_path / "guarded"
    guarded_dir.mkdir()
    guarded = servers(guarded_dir, rollout_file(10), "--auth-tokens-file", str(tokens))
    anonymous = python_client(guarded.url, "anonymous").get_string_details("banner", "none", context)
    assert (anonymous.value, anonymous.error_code, anonymous.error_message) == (
        "none",
        ErrorCode.GENERAL,
        "unauthorized",
    )
    wrong = python_client(guarded.url, "wrong", {"Authorization": "Bearer nope"})
    assert wrong.get_string_details("banner", "none", context).error_message == "forbidden"
    for headers in ({"Authorization": "Bearer s3cret-token"}, {"X-API-Key": "s3cret-token"}):
        assert python_client(guarded.url, "ok", headers).get_string_value("banner", "none", context) == "blue"
    assert "no auth tokens configured" not in guarded.log.read_text()
    assert "no auth tokens configured" in server.log.read_text()


def test_a_rollout_from_10_to_50_percent_with_the_javascript_sdk(
    tmp_path: Path, servers: Callable[..., FlagServer]
) -> None:
    node_env = js_env()
    server = servers(tmp_path, rollout_file(10))
    # Given the flag at 10%, When 10,000 users evaluate it through the JavaScript SDK, Then 10% (within 1%) get it
    first = run_js(node_env, "shares", server.url, FLAG, str(KEYS))
    at_10 = {i for i, mark in enumerate(first["marks"]) if mark == "1"}
    assert abs(len(at_10) / KEYS - 0.10) <= 0.01, len(at_10)
    # and errors reach the SDK as its codes
    assert (first["unknown"], first["mismatch"]) == ("FLAG_NOT_FOUND", "TYPE_MISMATCH")
    # When the file moves the flag to 50%, Then 50% get it, every user of the 10% step among them
    raw = rollout_file(50)
    server.write(raw)
    server.wait_serving(raw)
    at_50 = {
        i for i, mark in enumerate(run_js(node_env, "shares", server.url, FLAG, str(KEYS))["marks"]) if mark == "1"
    }
    assert abs(len(at_50) / KEYS - 0.50) <= 0.01, len(at_50)
    assert at_10 <= at_50, f"{len(at_10 - at_50)} users flipped back to the old variant"
    # and they are the users the Python SDK sees: one hash, whatever the client
    assert at_50 == new_keys(python_client(server.url, "cross-check"))


def test_errors_reach_the_javascript_sdk_as_its_error_codes(tmp_path: Path, servers: Callable[..., FlagServer]) -> None:
    node_env = js_env()
    tokens = tmp_path / "tokens"
    tokens.write_text("s3cret-token\n")
    server = servers(tmp_path, rollout_file(10), "--auth-tokens-file", str(tokens))
    # bad context (a non-string targetingKey), with the token: INVALID_CONTEXT, and a plain evaluation works
    assert run_js(node_env, "errors", server.url, FLAG, "s3cret-token") == {
        "badContext": "INVALID_CONTEXT",
        "plain": None,
    }
    # no auth: the provider's 401 error surfaces as GENERAL
    assert run_js(node_env, "errors", server.url, FLAG) == {"badContext": "GENERAL", "plain": "GENERAL"}


def test_bulk_evaluation_answers_304_until_the_flags_change(tmp_path: Path, servers: Callable[..., FlagServer]) -> None:
    # Given a served file and a client that fetched every flag once
    server = servers(tmp_path, rollout_file(10))
    bulk = f"{server.url}/ofrep/v1/evaluate/flags"
    body = {"context": {"targetingKey": "user-1"}}
    first = httpx.post(bulk, json=body, timeout=5)
    assert first.status_code == 200
    assert {item["key"] for item in first.json()["flags"]} == {FLAG, "banner", "max-items", "ratio", "theme"}
    assert first.json()["eventStreams"] == [{"type": "sse", "endpoint": {"requestUri": "/ofrep/v1/events"}}]
    etag = first.headers["etag"]
    # When it asks again with its ETag, Then nothing changed: 304
    assert httpx.post(bulk, json=body, headers={"If-None-Match": etag}, timeout=5).status_code == 304
    # When the file changes, Then the same question gets the new flags and a new ETag
    raw = rollout_file(50)
    server.write(raw)
    server.wait_serving(raw)
    after = httpx.post(bulk, json=body, headers={"If-None-Match": etag}, timeout=5)
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert after.json()["metadata"] == {"version": version_of(raw)}
