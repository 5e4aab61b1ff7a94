"""The `mattermost` service against a local server speaking Mattermost's REST API v4 (`POST /api/v4/posts`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ramp.notifications.services.base import Notification, SendError, ServiceConfigError
from ramp.notifications.services.registry import build_service
from tests.backends.chat import MattermostApi, service_context

TOKEN = "mm-bot-token-secret"
CHANNEL = "a" * 26
ATTACHMENTS = '[{"title": "guestbook", "color": "#18be52", "fields": [{"title": "Phase", "value": "Healthy"}]}]'


async def test_posts_the_message_and_attachments_to_the_channel_with_a_bearer_token() -> None:
    with MattermostApi(TOKEN) as api:
        async with service_context() as context:
            service = build_service("mattermost", "mattermost", {"apiURL": api.api_url + "/", "token": TOKEN}, context)
            fields = {"mattermost": {"attachments": ATTACHMENTS}}
            await service.send(Notification("Rollout guestbook has been completed.", fields), CHANNEL)
            await service.send(Notification("no attachments"), CHANNEL)
    first, second = api.requests
    assert (first.method, first.path) == ("POST", "/api/v4/posts")
    assert first.headers["authorization"] == f"Bearer {TOKEN}"
    assert json.loads(first.body) == {
        "channel_id": CHANNEL,
        "message": "Rollout guestbook has been completed.",
        "props": {"attachments": json.loads(ATTACHMENTS)},
    }
    assert json.loads(second.body)["props"] == {"attachments": []}
    assert [post["message"] for post in api.accepted] == ["Rollout guestbook has been completed.", "no attachments"]


async def test_mattermosts_errors_name_its_message_and_id_and_never_the_token() -> None:
    with MattermostApi(TOKEN) as api:
        async with service_context() as context:
            service = build_service("mattermost", "mm", {"apiURL": api.api_url, "token": TOKEN}, context)
            with pytest.raises(SendError) as forbidden:
                await service.send(Notification("m"), "b" * 26)
            with pytest.raises(SendError) as invalid:
                await service.send(Notification("m"), "town-square")
            wrong = build_service("mattermost", "mm", {"apiURL": api.api_url, "token": "wrong-token-xyz"}, context)
            with pytest.raises(SendError) as unauthorized:
                await wrong.send(Notification("m"), CHANNEL)
            with pytest.raises(SendError, match=r"mattermost\.attachments is not valid JSON"):
                await service.send(Notification("m", {"mattermost": {"attachments": "[{"}}), CHANNEL)
            with pytest.raises(SendError, match=r"mattermost\.blocks not supported"):
                await service.send(Notification("m", {"mattermost": {"blocks": "[]"}}), CHANNEL)
            with pytest.raises(SendError, match="names no channel ID"):
                await service.send(Notification("m"), "")
    assert "HTTP 403: You do not have the appropriate permissions. (api.context.permissions.app_error)" in str(
        forbidden.value
    )
    assert "HTTP 400: Invalid channel_id parameter." in str(invalid.value)
    assert "HTTP 401" in str(unauthorized.value) and "wrong-token-xyz" not in str(unauthorized.value)
    assert all(TOKEN not in str(caught.value) for caught in (forbidden, invalid, unauthorized))


@pytest.mark.parametrize(
    ("options", "error"),
    [
        pytest.param({"token": TOKEN}, r"option 'apiURL' is required", id="no_url"),
        pytest.param({"apiURL": "https://mm"}, r"option 'token' is required", id="no_token"),
        pytest.param({"apiURL": "https://mm", "token": TOKEN, "channel": "x"}, r"unknown option\(s\) channel", id="x"),
    ],
)
async def test_bad_options_are_refused_when_built(options: dict[str, Any], error: str) -> None:
    async with service_context() as context:
        with pytest.raises(ServiceConfigError, match=error) as caught:
            build_service("mattermost", "mm", options, context)
    assert TOKEN not in str(caught.value)
