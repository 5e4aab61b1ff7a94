"""The `slack` service against a local server speaking Slack's Web API (chat.postMessage, chat.update)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ramp.notifications.services.base import Notification, SendError, ServiceConfigError
from ramp.notifications.services.chat_common import RateLimited
from ramp.notifications.services.registry import build_service
from ramp.notifications.services.slack import SlackService
from tests.backends.chat import SlackApi, service_context

TOKEN = "xoxb-1111-2222-secrettoken"
ATTACHMENTS = """[{
  "title": "guestbook",
  "color": "#18be52",
  "fields": [{"title": "Strategy", "value": "Canary", "short": true}]
}]"""
BLOCKS = '[{"type": "section", "text": {"type": "mrkdwn", "text": "*guestbook* completed"}}]'


def slack(api: SlackApi, context: Any, **options: Any) -> SlackService:
    service = build_service("slack", "slack", {"token": TOKEN, "apiURL": api.api_url, **options}, context)
    assert isinstance(service, SlackService)
    return service


async def test_posts_the_message_with_attachments_blocks_username_and_icon_with_a_bearer_token() -> None:
    with SlackApi(TOKEN) as api:
        async with service_context() as context:
            service = slack(api, context, username="ramp", icon=":rocket:")
            fields = {"slack": {"attachments": ATTACHMENTS, "blocks": BLOCKS}}
            await service.send(Notification("Rollout guestbook has been completed.", fields), "general")
    [request] = api.requests
    assert request.path == "/api/chat.postMessage"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"].startswith("application/json")
    assert json.loads(request.body) == {
        "channel": "general",
        "text": "Rollout guestbook has been completed.",
        "username": "ramp",
        "icon_emoji": ":rocket:",
        "attachments": json.loads(ATTACHMENTS),
        "blocks": json.loads(BLOCKS),
    }


async def test_the_templates_username_and_icon_win_and_an_icon_url_is_icon_url() -> None:
    with SlackApi(TOKEN) as api:
        async with service_context() as context:
            service = slack(api, context, username="ramp", icon=":rocket:", disableUnfurl=True)
            fields = {"slack": {"username": "release-bot", "icon": "https://example.com/bot.png"}}
            await service.send(Notification("hi", fields), "#alerts")
    [sent] = api.accepted
    assert sent["username"] == "release-bot"
    assert sent["icon_url"] == "https://example.com/bot.png" and "icon_emoji" not in sent
    assert sent["unfurl_links"] is False and sent["unfurl_media"] is False
    assert sent["channel_id"] == "C0000ALERTS"


async def test_a_grouping_key_threads_messages_and_notify_broadcast_sends_the_reply_to_the_channel() -> None:
    with SlackApi(TOKEN) as api:
        async with service_context() as context:
            service = slack(api, context)
            first = Notification("step 1 of guestbook", {"slack": {"groupingKey": "guestbook-rev1"}})
            second = Notification("step 2", {"slack": {"groupingKey": "guestbook-rev1", "notifyBroadcast": True}})
            other = Notification("another rollout", {"slack": {"groupingKey": "api-rev7"}})
            await service.send(first, "general")
            await service.send(second, "general")
            await service.send(other, "general")
    parent, reply, unrelated = api.accepted
    assert "thread_ts" not in parent
    assert reply["thread_ts"] == parent["ts"] and reply["reply_broadcast"] is True
    assert "thread_ts" not in unrelated


async def test_post_and_update_posts_in_the_thread_and_updates_its_first_message() -> None:
    with SlackApi(TOKEN) as api:
        async with service_context() as context:
            service = slack(api, context)
            policy = {"groupingKey": "checkout-rev3", "deliveryPolicy": "PostAndUpdate"}
            await service.send(Notification("checkout: paused", {"slack": policy}), "alerts")
            await service.send(Notification("checkout: completed", {"slack": policy}), "alerts")
            await service.send(
                Notification("checkout: final", {"slack": policy | {"deliveryPolicy": "Update"}}), "alerts"
            )
    methods = [(sent["method"], sent["text"]) for sent in api.accepted]
    assert methods == [
        ("chat.postMessage", "checkout: paused"),
        ("chat.postMessage", "checkout: completed"),
        ("chat.update", "checkout: completed"),
        ("chat.update", "checkout: final"),
    ]
    parent = api.accepted[0]
    assert api.accepted[1]["thread_ts"] == parent["ts"]
    # chat.update takes the channel ID Slack answered, not the name the subscription gave.
    assert {api.accepted[2]["channel"], api.accepted[3]["channel"]} == {"C0000ALERTS"}
    assert api.accepted[3]["ts"] == parent["ts"]


async def test_slacks_errors_are_send_errors_naming_the_error_code_and_never_the_token() -> None:
    with SlackApi(TOKEN) as api:
        async with service_context() as context:
            service = slack(api, context)
            with pytest.raises(SendError) as unknown_channel:
                await service.send(Notification("hi"), "no-such-channel")
            wrong_token = build_service("slack", "slack", {"token": "xoxb-wrong-token", "apiURL": api.api_url}, context)
            with pytest.raises(SendError) as bad_token:
                await wrong_token.send(Notification("hi"), "general")
            api.rate_limit_next = 1
            with pytest.raises(RateLimited) as limited:
                await service.send(Notification("hi"), "general")
            with pytest.raises(SendError) as bad_blocks:
                await service.send(Notification("hi", {"slack": {"blocks": '[{"text": "no type"}]'}}), "general")
    assert "Slack refused the message: channel_not_found" in str(unknown_channel.value)
    assert "invalid_auth" in str(bad_token.value) and "xoxb-wrong-token" not in str(bad_token.value)
    assert "HTTP 429, Retry-After 7s" in str(limited.value) and limited.value.retry_after_seconds == 7.0
    assert "invalid_blocks" in str(bad_blocks.value)
    for caught in (unknown_channel, limited, bad_blocks):
        assert TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        pytest.param({"attachments": "[{not json"}, r"slack\.attachments is not valid JSON", id="attachments_json"),
        pytest.param({"blocks": '{"type": "x"}'}, r"slack\.blocks must be a JSON array", id="blocks_object"),
        pytest.param({"deliveryPolicy": "Edit"}, r"deliveryPolicy is 'Edit'; use one of Post", id="policy"),
        pytest.param({"deliveryPolicy": "Update"}, r"deliveryPolicy Update needs a slack\.groupingKey", id="no_key"),
        pytest.param({"notifyBroadcast": "maybe"}, r"notifyBroadcast must be true or false", id="broadcast"),
        pytest.param({"icon": "robot"}, r"icon 'robot' is neither an :emoji: nor", id="icon"),
        pytest.param({"color": "red"}, r"slack\.color not supported", id="unknown_field"),
    ],
)
async def test_template_fields_it_cannot_honour_are_refused_before_anything_is_sent(
    fields: dict[str, Any], error: str
) -> None:
    with SlackApi(TOKEN) as api:
        async with service_context() as context:
            with pytest.raises(SendError, match=error):
                await slack(api, context).send(Notification("hi", {"slack": fields}), "general")
    assert api.requests == []


async def test_no_channel_is_a_named_error() -> None:
    async with service_context() as context:
        service = build_service("slack", "slack", {"token": TOKEN}, context)
        with pytest.raises(SendError, match="names no channel"):
            await service.send(Notification("hi"), " ")


async def test_bot_only_and_pool_options_are_accepted_and_named_in_warnings() -> None:
    async with service_context() as context:
        service = build_service(
            "slack",
            "slack",
            {"token": TOKEN, "signingSecret": "abc", "channels": ["a"], "idleConnTimeout": "90s"},
            context,
        )
    assert isinstance(service, SlackService)
    assert service.api_url == "https://slack.com/api/"
    assert [warning.split("'")[1] for warning in service.warnings] == ["signingSecret", "channels", "idleConnTimeout"]


@pytest.mark.parametrize(
    ("options", "error"),
    [
        pytest.param({}, r"service\.slack\.ops: option 'token' is required", id="no_token"),
        pytest.param({"token": TOKEN, "icon": "robot"}, r"option 'icon' must be an :emoji:", id="icon"),
        pytest.param({"token": TOKEN, "apiURL": "slack.com"}, r"option 'apiURL' must be an http", id="api_url"),
        pytest.param({"token": TOKEN, "channel": "x"}, r"unknown option\(s\) channel", id="unknown"),
        pytest.param({"token": ["a"]}, r"option 'token' must be a string", id="token_type"),
    ],
)
async def test_bad_options_are_refused_when_built_and_never_show_the_token(options: dict[str, Any], error: str) -> None:
    async with service_context() as context:
        with pytest.raises(ServiceConfigError, match=error) as caught:
            build_service("slack", "ops", options, context)
    assert TOKEN not in str(caught.value)
