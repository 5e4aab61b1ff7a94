"""The `mattermost` service: Mattermost's REST API v4 `POST /api/v4/posts` with a bot token.

ConfigMap entry (`service.mattermost[.<name>]`), as upstream:

    apiURL: https://mattermost.example.com   # required: the server's address (the API path is appended)
    token: $mattermost-token                 # required: a bot or personal access token (Authorization: Bearer)
    insecureSkipVerify: false

Connection-pool options are accepted and named in `service.warnings`. The recipient is the channel ID.

The post is `{"channel_id": <recipient>, "message": <message>, "props": {"attachments": [...]}}`; attachments
come from the template's `mattermost.attachments` (a JSON array in Slack's attachment format, which Mattermost
reads). Mattermost answers 201 with the post; an error answer's JSON `message` and `id` become the `SendError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
)


class MattermostService:
    """`service.mattermost[.<name>]`."""

    def __init__(
        self, name: str, *, api_url: str, token: str, client: httpx.AsyncClient, warnings: tuple[str, ...]
    ) -> None:
        self.name = name
        self.label = service_label("mattermost", name)
        self.posts_url = api_url.rstrip("/") + "/api/v4/posts"
        self.client = client
        self.warnings = warnings
        self._token = token

    def post_for(self, notification: Notification, channel_id: str) -> dict[str, Any]:
        fields = notification.of("mattermost")
        check_fields(fields, ("attachments",), prefix="mattermost", label=self.label)
        attachments: Any = []
        raw = fields.get("attachments")
        if raw is not None and (not isinstance(raw, str) or raw.strip()):
            attachments = parse_structured(raw, field="mattermost.attachments", label=self.label)
            if not isinstance(attachments, list):
                raise SendError(f"{self.label}: template field mattermost.attachments must be a JSON array")
        return {"channel_id": channel_id, "message": notification.message, "props": {"attachments": attachments}}

    async def send(self, notification: Notification, recipient: str) -> None:
        channel_id = recipient.strip()
        if not channel_id:
            raise SendError(f"{self.label}: the subscription names no channel ID (recipient)")
        secrets = [self._token]
        response = await attempt(
            self.client,
            "POST",
            self.posts_url,
            label=self.label,
            secrets=secrets,
            json=self.post_for(notification, channel_id),
            headers={"Authorization": f"Bearer {self._token}"},
        )
        if 200 <= response.status_code <= 299:
            return
        check_rate_limit(response, f"{self.label}: POST /api/v4/posts at {origin(self.posts_url)}", secrets)
        where = f"{self.label}: POST /api/v4/posts at {origin(self.posts_url)} answered HTTP {response.status_code}"
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, Mapping) and answer.get("message"):
            raise SendError(f"{where}: {redact(str(answer['message']), secrets)} ({answer.get('id', 'no id')})")
        raise SendError(f"{where}: {redact(body_excerpt(response), secrets)}")


@register("mattermost")
def build(name: str, options: Mapping[str, Any], context: ServiceContext) -> MattermostService:
    reader = OptionReader(service_label("mattermost", name), options)
    api_url = check_url(reader, "apiURL", reader.string("apiURL", required=True))
    token = reader.string("token", required=True)
    insecure = reader.boolean("insecureSkipVerify")
    reader.accept_without_effect(TRANSPORT_OPTIONS, "Ramp's services share the controller's HTTP connection pool")
    warnings = reader.finish()
    return MattermostService(
        name, api_url=api_url, token=token, client=client_for(context, insecure), warnings=warnings
    )
