"""The `googlechat` service against a local server speaking a Google Chat space's incoming webhook."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from ramp.notifications.services.base import Notification, SendError, ServiceConfigError
from ramp.notifications.services.registry import build_service
from tests.backends.chat import GoogleChatWebhook, service_context

CARDS_V2_YAML = """
- header:
    title: Ramp
  sections:
    - widgets:
        - decoratedText:
            topLabel: Rollout
            text: guestbook completed
"""


async def test_a_plain_message_is_sent_as_text() -> None:
    with GoogleChatWebhook() as chat:
        async with service_context() as context:
            service = build_service("googlechat", "googlechat", {"webhooks": {"space": chat.url}}, context)
            await service.send(Notification("Rollout guestbook has been completed."), "space")
    assert chat.accepted == [{"text": "Rollout guestbook has been completed.", "messageReplyOption": None}]
    assert chat.requests[0].headers["content-type"].startswith("application/json")


async def test_cards_v2_from_yaml_get_a_card_id_each_and_replace_the_text() -> None:
    with GoogleChatWebhook() as chat:
        async with service_context() as context:
            service = build_service("googlechat", "gc", {"webhooks": {"space": chat.url}}, context)
            await service.send(Notification("ignored", {"googlechat": {"cardsV2": CARDS_V2_YAML}}), "space")
    [sent] = chat.accepted
    assert "text" not in sent
    [card] = sent["cardsV2"]
    uuid.UUID(card["cardId"])
    assert card["card"]["header"] == {"title": "Ramp"}
    assert card["card"]["sections"][0]["widgets"][0]["decoratedText"]["text"] == "guestbook completed"


async def test_a_thread_key_puts_messages_in_one_thread() -> None:
    with GoogleChatWebhook() as chat:
        async with service_context() as context:
            service = build_service("googlechat", "gc", {"webhooks": {"space": chat.url}}, context)
            threaded = Notification("step", {"googlechat": {"threadKey": "guestbook-rev2"}})
            await service.send(threaded, "space")
            await service.send(threaded, "space")
            await service.send(Notification("unthreaded"), "space")
    first, second, third = chat.accepted
    assert first["thread"] == {"threadKey": "guestbook-rev2"}
    assert first["messageReplyOption"] == "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
    # The key and token of the webhook URL are kept alongside the added query parameter.
    assert chat.requests[0].query["key"] == chat.key and chat.requests[0].query["token"] == "tok3nSecret="
    assert "thread" not in third
    assert second == first


async def test_googles_error_answers_are_send_errors_without_the_key_or_token() -> None:
    with GoogleChatWebhook() as chat:
        async with service_context() as context:
            wrong_token = chat.url.replace("tok3nSecret", "WrongTokenValue")
            service = build_service("googlechat", "gc", {"webhooks": {"space": wrong_token, "ok": chat.url}}, context)
            with pytest.raises(SendError) as unauthenticated:
                await service.send(Notification("m"), "space")
            with pytest.raises(SendError) as empty:
                await service.send(Notification(""), "ok")
            with pytest.raises(SendError, match=r"no webhook for recipient 'other' in webhooks \(it has: ok, space\)"):
                await service.send(Notification("m"), "other")
    assert "code=401 status=UNAUTHENTICATED" in str(unauthenticated.value)
    assert "status=INVALID_ARGUMENT message=Message cannot be empty." in str(empty.value)
    for caught in (unauthenticated, empty):
        for secret in ("WrongTokenValue", "tok3nSecret", chat.key, "AAAAspace1"):
            assert secret not in str(caught.value)


# Five levels of ten aliases each: 100,000 values once expanded, a few hundred bytes as text.
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]\n" for prev, name in zip("abcd", "bcde", strict=True)
)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        pytest.param({"cardsV2": "- [unclosed"}, r"googlechat\.cardsV2 is not valid YAML or JSON", id="yaml"),
        pytest.param({"cardsV2": "header: x"}, r"googlechat\.cardsV2 must be a list of cards", id="not_list"),
        pytest.param(
            {"cardsV2": ALIAS_BOMB},
            r"googlechat\.cardsV2 is not valid YAML or JSON: YAML holds more than",
            id="alias_bomb",
        ),
        pytest.param({"thread": "x"}, r"googlechat\.thread not supported", id="unknown"),
    ],
)
async def test_template_fields_it_cannot_use_are_refused(fields: dict[str, Any], error: str) -> None:
    async with service_context() as context:
        service = build_service("googlechat", "gc", {"webhooks": {"s": "https://chat.googleapis.com/v1/x"}}, context)
        with pytest.raises(SendError, match=error):
            await service.send(Notification("m", {"googlechat": fields}), "s")


@pytest.mark.parametrize(
    ("options", "error"),
    [
        pytest.param({}, r"option 'webhooks' is required", id="none"),
        pytest.param({"webhooks": ["https://x"]}, r"'webhooks' must be a mapping", id="list"),
        pytest.param(
            {"webhooks": {"s": "chat.googleapis.com/v1/secretkey1"}}, r"'webhooks\.s' must be an http", id="url"
        ),
        pytest.param({"webhooks": {"s": "https://x"}, "webhook": {}}, r"unknown option\(s\) webhook", id="unknown"),
    ],
)
async def test_bad_options_are_refused_when_built(options: dict[str, Any], error: str) -> None:
    async with service_context() as context:
        with pytest.raises(ServiceConfigError, match=error) as caught:
            build_service("googlechat", "gc", options, context)
    assert "secretkey1" not in str(caught.value)
