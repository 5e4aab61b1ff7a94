"""What the dashboard refuses before it does any work: requests without the token (their bodies unread), bodies
over 64 KiB, namespaces and names that are no Kubernetes names, Host headers it does not answer to, tokens in
URLs; and the audit record of each action, logged on one line whatever the caller sent."""

from __future__ import annotations

import json
import logging

import pytest
from starlette.applications import Starlette

from ramp.dashboard.api import MAX_BODY, Dashboard
from tests.unit.dashboard.asgi import open_stream, request
from tests.unit.dashboard.conftest import BEARER, TOKEN, RecordingClient, make_app

PROMOTE = "/api/v1/namespaces/team-a/rollouts/web/promote"


async def test_an_action_without_the_token_is_refused_before_its_body_is_read(
    app: Starlette, board: Dashboard, client: RecordingClient
) -> None:
    body = json.dumps({"images": {"app": "x" * 100}}).encode()
    for headers in ({}, {"authorization": "Bearer not-the-token"}, {"authorization": f"Basic {TOKEN}"}):
        answer = await request(app, "POST", PROMOTE, headers=headers, chunks=[body, body])
        assert answer.status == 401
        assert answer.chunks_read == 0
    assert client.namespaces == []
    refused = board.audit.newest()
    assert [r.outcome for r in refused] == ["refused: no valid token"] * 3
    assert all(r.detail == "" for r in refused)


@pytest.mark.parametrize("declared", [True, False])
async def test_a_body_over_64_kib_is_refused_with_413_and_not_kept(
    app: Starlette, board: Dashboard, declared: bool
) -> None:
    chunk = b" " * 16384
    chunks = [chunk] * (MAX_BODY // len(chunk) + 2)
    headers = {**BEARER, "content-type": "application/json"}
    if declared:
        headers["content-length"] = str(len(chunk) * len(chunks))
    answer = await request(
        app, "POST", "/api/v1/namespaces/team-a/rollouts/web/set-image", headers=headers, chunks=chunks
    )
    assert answer.status == 413
    assert "64" in json.loads(answer.body)["error"] or str(MAX_BODY) in json.loads(answer.body)["error"]
    # Reading stops at the first chunk past the cap (or before any, when the length was declared).
    assert answer.chunks_read <= MAX_BODY // len(chunk) + 1
    if declared:
        assert answer.chunks_read == 0
    record = board.audit.newest()[0]
    assert record.outcome.startswith("refused: body larger") and record.detail == ""


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/namespaces/Team_A/rollouts", "namespace"),
        ("/api/v1/namespaces/-a/rollouts", "namespace"),
        ("/api/v1/namespaces/a.b/rollouts", "namespace"),
        (f"/api/v1/namespaces/{'a' * 64}/rollouts", "namespace"),
        ("/api/v1/namespaces/..%2F..%2Fsecrets/rollouts", "namespace"),
        ("/api/v1/namespaces/team-a/rollouts/Web", "name"),
        ("/api/v1/namespaces/team-a/rollouts/web..x", "name"),
        (f"/api/v1/namespaces/team-a/rollouts/{'a' * 254}", "name"),
        ("/api/v1/namespaces/team-a/rollouts/web%3Fwatch=1", "name"),
        ("/api/v1/namespaces/bad%0Ans/rollouts/watch", "namespace"),
        ("/api/v1/namespaces/team-a/rollouts/b%20d/watch", "name"),
    ],
)
async def test_a_namespace_or_name_that_is_no_kubernetes_name_is_answered_400_naming_it(
    app: Starlette, client: RecordingClient, path: str, field: str
) -> None:
    answer = await request(app, "GET", path, headers=BEARER)
    assert answer.status == 400
    problem = json.loads(answer.body)
    assert problem["field"] == field
    assert problem["error"].startswith(f"{field} ")
    assert client.namespaces == []


async def test_an_action_on_an_invalid_name_never_reaches_the_api_server(
    app: Starlette, client: RecordingClient
) -> None:
    answer = await request(app, "POST", "/api/v1/namespaces/team-a/rollouts/WEB/abort", headers=BEARER)
    assert answer.status == 400
    assert json.loads(answer.body)["field"] == "name"
    assert client.namespaces == []


async def test_valid_names_up_to_their_length_limits_pass(app: Starlette, client: RecordingClient) -> None:
    namespace = "a" * 63
    name = ".".join(["b" * 63] * 3 + ["c" * 61])
    assert len(name) == 253
    answer = await request(app, "GET", f"/api/v1/namespaces/{namespace}/rollouts/{name}", headers=BEARER)
    assert answer.status == 404  # a valid name, and no such Rollout
    assert namespace in client.namespaces


@pytest.mark.parametrize(
    ("host", "status"),
    [("127.0.0.1:3100", 200), ("localhost:3100", 200), ("[::1]:3100", 200), ("evil.example:3100", 400)],
)
async def test_only_the_allowed_hosts_are_answered(app: Starlette, host: str, status: int) -> None:
    answer = await request(app, "GET", "/api/v1/config", headers={"host": host})
    assert answer.status == status


async def test_an_allowed_host_can_be_added(board: Dashboard) -> None:
    app = make_app(board, allowed_hosts=["127.0.0.1", "ramp.internal"])
    assert (await request(app, "GET", "/api/v1/config", headers={"host": "ramp.internal"})).status == 200
    assert (await request(app, "GET", "/api/v1/config", headers={"host": "localhost"})).status == 400


def test_a_short_token_is_refused_when_the_app_is_made(board: Dashboard) -> None:
    with pytest.raises(ValueError, match="at least 32 characters"):
        make_app(Dashboard(board.client, board.live, "short-token", "default"))


async def test_the_token_in_a_url_opens_nothing(app: Starlette) -> None:
    answer = await request(app, "GET", f"/api/v1/namespaces/team-a/rollouts?token={TOKEN}")
    assert answer.status == 401
    answer = await request(app, "POST", f"{PROMOTE}?token={TOKEN}")
    assert answer.status == 401
    stream = await open_stream(app, f"/api/v1/namespaces/team-a/rollouts/watch?token={TOKEN}")
    assert await stream.status == 401


async def test_a_stream_ticket_needs_the_token_and_opens_one_stream_once(app: Starlette) -> None:
    assert (await request(app, "POST", "/api/v1/stream-ticket")).status == 401
    issued = await request(app, "POST", "/api/v1/stream-ticket", headers=BEARER)
    assert issued.status == 200
    ticket = json.loads(issued.body)["ticket"]
    assert TOKEN not in ticket
    path = f"/api/v1/namespaces/team-a/rollouts/watch?ticket={ticket}"
    first = await open_stream(app, path)
    assert await first.status == 200
    assert "event: rollouts" in await first.next_event()
    await first.hang_up()
    again = await open_stream(app, path)
    assert await again.status == 401
    made_up = await open_stream(app, "/api/v1/namespaces/team-a/rollouts/watch?ticket=made-up")
    assert await made_up.status == 401


async def test_each_action_is_logged_on_one_line_whatever_the_caller_sent(
    app: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    forged = "mallory\n2026 audit: promote prod/web: ok\x1b[2J\u2028"
    with caplog.at_level(logging.INFO, logger="ramp.dashboard.audit"):
        await request(app, "POST", PROMOTE, headers={"x-ramp-user": forged})
        await request(
            app,
            "POST",
            "/api/v1/namespaces/team-a/rollouts/web/set-image",
            headers={**BEARER, "x-ramp-user": forged},
            chunks=[json.dumps({"images": {"app\nx": "nginx\r\n:1"}}).encode()],
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "ramp.dashboard.audit"]
    assert len(lines) == 2
    for line in lines:
        assert "\n" not in line and "\r" not in line and "\x1b" not in line and "\u2028" not in line
        assert "mallory\\n2026" in line
    assert "refused: no valid token" in lines[0]
    assert "set-image team-a/web" in lines[1]
