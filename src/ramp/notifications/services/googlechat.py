"""The `googlechat` service: a Google Chat space's incoming webhook (`spaces.messages.create` with a key).

ConfigMap entry (`service.googlechat[.<name>]`), as upstream:

    webhooks:                      # required: recipient name -> webhook URL (keep the URLs in the Secret)
      spaceName: $space-webhook-url
    insecureSkipVerify: false

The recipient is a key of `webhooks`. Connection-pool options are accepted and named in `service.warnings`.

The request is Google Chat's Message JSON: `text` (the message) or, when the template has them, `cardsV2`
(`googlechat.cardsV2`: a YAML or JSON list of cards, each sent as `{"cardId": <uuid>, "card": <card>}`) and the
deprecated `cards` (`googlechat.cards`, sent as given). `googlechat.threadKey` puts the message in a thread:
`"thread": {"threadKey": ...}` and `messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD`. Google answers the
created Message, or `{"error": {"code", "message", "status"}}` which becomes a `SendError` with those three. The
webhook URL's `key` and `token` never appear in a message.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from ramp.notifications.services.base import Notification, SendError, ServiceContext, register
from ramp.notifications.services.chat_common import (
    TRANSPORT_OPTIONS,
    OptionReader,
    attempt,
    body_excerpt,
    check_fields,
    check_rate_limit,
    check_url,
    client_for,
    origin,
    parse_structured,
    redact,
    service_label,
    url_secrets,
)

_TEMPLATE_FIELDS = ("cards", "cardsV2", "threadKey")
REPLY_OPTION = "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"


class GoogleChatService:
    """`service.googlechat[.<name>]`."""

    def __init__(
        self, name: str, webhooks: Mapping[str, str], client: httpx.AsyncClient, warnings: tuple[str, ...]
    ) -> None:
        self.name = name
        self.label = service_label("googlechat", name)
        self.webhooks = dict(webhooks)
        self.client = client
        self.warnings = warnings
        self._secrets = [secret for url in webhooks.values() for secret in url_secrets(url)]

    def message_for(self, notification: Notification) -> tuple[dict[str, Any], str]:
        """(the Message JSON, the thread key or "")."""
        fields = notification.of("googlechat")
        check_fields(fields, _TEMPLATE_FIELDS, prefix="googlechat", label=self.label)
        message: dict[str, Any] = {}
        for key in ("cardsV2", "cards"):
            value = fields.get(key)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            cards = parse_structured(value, field=f"googlechat.{key}", label=self.label, yaml_allowed=True)
            if not isinstance(cards, list) or not all(isinstance(card, Mapping) for card in cards):
                raise SendError(f"{self.label}: template field googlechat.{key} must be a list of cards")
            if key == "cardsV2":
                cards = [{"cardId": str(uuid.uuid4()), "card": card} for card in cards]
            message[key] = cards
        if not message:
            message["text"] = notification.message
        thread_key = str(fields.get("threadKey") or "").strip()
        if thread_key:
            message["thread"] = {"threadKey": thread_key}
        return message, thread_key

    async def send(self, notification: Notification, recipient: str) -> None:
        url = self.webhooks.get(recipient.strip())
        if url is None:
            known = ", ".join(sorted(self.webhooks)) or "none"
            raise SendError(f"{self.label}: no webhook for recipient {recipient!r} in webhooks (it has: {known})")
        message, thread_key = self.message_for(notification)
        if thread_key:
            url = with_query(url, messageReplyOption=REPLY_OPTION)
        response = await attempt(
            self.client,
            "POST",
            url,
            label=self.label,
            secrets=self._secrets,
            content=json.dumps(message).encode(),
            headers={"Content-Type": "application/json; charset=UTF-8"},
        )
        where = f"{self.label}: POST to space {recipient!r} at {origin(url)}"
        check_rate_limit(response, where, self._secrets)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        error = answer.get("error") if isinstance(answer, Mapping) else None
        if isinstance(error, Mapping):
            raise SendError(
                f"{where}: Google Chat refused the message: code={error.get('code')} status={error.get('status')} "
                f"message={redact(str(error.get('message')), self._secrets)}"
            )
        if not 200 <= response.status_code <= 299:
            detail = redact(body_excerpt(response), self._secrets)
            raise SendError(f"{where} answered HTTP {response.status_code}: {detail}")


def with_query(url: str, **params: str) -> str:
    """`url` with `params` added to (or replacing those in) its query."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode([*query, *params.items()]), parts.fragment))


@register("googlechat")
def build(name: str, options: Mapping[str, Any], context: ServiceContext) -> GoogleChatService:
    reader = OptionReader(service_label("googlechat", name), options)
    webhooks = reader.string_map("webhooks", required=True)
    for space, url in webhooks.items():
        check_url(reader, f"webhooks.{space}", url)
    insecure = reader.boolean("insecureSkipVerify")
    reader.accept_without_effect(TRANSPORT_OPTIONS, "Ramp's services share the controller's HTTP connection pool")
    warnings = reader.finish()
    return GoogleChatService(name, webhooks, client_for(context, insecure), warnings)
