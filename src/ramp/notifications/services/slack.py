"""The `slack` service: Slack's Web API `chat.postMessage` (and `chat.update`) with a bot token.

ConfigMap entry (`service.slack[.<name>]`), as upstream:

    token: $slack-token          # required: a bot (xoxb-) or user token, sent as `Authorization: Bearer`
    apiURL: https://slack.com/api/   # optional: another Slack-API server (methods are appended to it)
    username: ramp               # optional default sender name (needs the chat:write.customize scope)
    icon: ":rocket:"             # optional default icon: an :emoji: or an http(s) image URL
    disableUnfurl: false         # optional: unfurl_links/unfurl_media false
    insecureSkipVerify: false

`signingSecret` and `channels` (used by upstream's interactive bot, which Ramp does not have) and the
connection-pool options are accepted and named in `service.warnings`. The recipient is the channel (name or ID).

Template fields (`slack.*`): `username`, `icon` (override the service's), `attachments` and `blocks` (JSON arrays,
sent as Slack's `attachments`/`blocks`), `groupingKey` (messages with the same key in one channel go into one
thread: the first message's `ts` becomes the others' `thread_ts`), `notifyBroadcast` (a threaded reply is also
sent to the channel: `reply_broadcast`), `deliveryPolicy` (`Post` default; `PostAndUpdate`: post in the thread
and update the thread's first message; `Update`: only update it; both need a `groupingKey`).
The thread `ts` of each (channel, groupingKey) is kept in memory, as upstream does (the latest `MAX_THREADS`):
after a controller restart the next grouped message starts a new thread.

Slack answers HTTP 200 with `{"ok": false, "error": "channel_not_found"}` for API errors: each is a `SendError`
naming Slack's error code; HTTP 429 names the `Retry-After`. Slack's incoming-webhook URLs are sent with the
`webhook` service, as upstream's docs show.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

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
    template_bool,
)

DEFAULT_API_URL = "https://slack.com/api/"
POLICIES = ("Post", "PostAndUpdate", "Update")
MAX_THREADS = 10_000
"""Threads remembered (the oldest forgotten first), so a controller running for months holds a bounded map."""
_TEMPLATE_FIELDS = ("username", "icon", "attachments", "blocks", "groupingKey", "notifyBroadcast", "deliveryPolicy")
_EMOJI = re.compile(r"^:[^:\s]+:$")


class _Threads:
    """The `ts` of each thread's first message and the channel ID Slack answered, per API and channel."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ts: dict[tuple[str, str, str], str] = {}
        self._channel_ids: dict[tuple[str, str], str] = {}

    def thread(self, api: str, channel: str, key: str) -> str:
        with self._lock:
            return self._ts.get((api, channel, key), "")

    def remember(self, api: str, channel: str, key: str, ts: str, channel_id: str) -> None:
        with self._lock:
            if key and ts and (api, channel, key) not in self._ts:
                self._ts[(api, channel, key)] = ts
                while len(self._ts) > MAX_THREADS:  # the oldest threads go first
                    del self._ts[next(iter(self._ts))]
            if channel_id:
                self._channel_ids[(api, channel)] = channel_id

    def channel_id(self, api: str, channel: str) -> str:
        with self._lock:
            return self._channel_ids.get((api, channel), channel)


THREADS = _Threads()
"""Process-wide, like upstream's: services are rebuilt when the ConfigMap changes, threads carry on."""


def is_icon(icon: str) -> bool:
    """An `:emoji:` or an http(s) URL with a host."""
    parts = urlsplit(icon)
    return bool(_EMOJI.match(icon)) or (parts.scheme in ("http", "https") and bool(parts.hostname))


class SlackService:
    """`service.slack[.<name>]`."""

    def __init__(
        self,
        name: str,
        *,
        token: str,
        api_url: str,
        username: str,
        icon: str,
        disable_unfurl: bool,
        client: httpx.AsyncClient,
        warnings: tuple[str, ...],
    ) -> None:
        self.name = name
        self.label = service_label("slack", name)
        self.api_url = api_url.rstrip("/") + "/"
        self.username = username
        self.icon = icon
        self.disable_unfurl = disable_unfurl
        self.client = client
        self.warnings = warnings
        self._token = token

    def message_for(self, notification: Notification, channel: str) -> tuple[dict[str, Any], str, bool, str]:
        """(chat.postMessage body without thread fields, groupingKey, notifyBroadcast, deliveryPolicy)."""
        fields = notification.of("slack")
        check_fields(fields, _TEMPLATE_FIELDS, prefix="slack", label=self.label)
        body: dict[str, Any] = {"channel": channel, "text": notification.message}
        username = str(fields.get("username") or "") or self.username
        if username:
            body["username"] = username
        icon = str(fields.get("icon") or "") or self.icon
        if icon:
            if not is_icon(icon):
                raise SendError(f"{self.label}: icon {icon!r} is neither an :emoji: nor an http(s) image URL")
            body["icon_emoji" if _EMOJI.match(icon) else "icon_url"] = icon
        for key in ("attachments", "blocks"):
            if str(fields.get(key) or "").strip():
                value = parse_structured(fields[key], field=f"slack.{key}", label=self.label)
                if not isinstance(value, list):
                    raise SendError(f"{self.label}: template field slack.{key} must be a JSON array")
                body[key] = value
        if self.disable_unfurl:
            body["unfurl_links"] = False
            body["unfurl_media"] = False
        grouping_key = str(fields.get("groupingKey") or "")
        broadcast = template_bool(fields.get("notifyBroadcast"), field="slack.notifyBroadcast", label=self.label)
        policy = str(fields.get("deliveryPolicy") or "Post").strip()
        if policy not in POLICIES:
            raise SendError(
                f"{self.label}: template field slack.deliveryPolicy is {policy!r}; use one of {', '.join(POLICIES)}"
            )
        if policy != "Post" and not grouping_key:
            raise SendError(f"{self.label}: slack.deliveryPolicy {policy} needs a slack.groupingKey")
        return body, grouping_key, broadcast, policy

    async def send(self, notification: Notification, recipient: str) -> None:
        channel = recipient.strip()
        if not channel:
            raise SendError(f"{self.label}: the subscription names no channel (recipient)")
        body, grouping_key, broadcast, policy = self.message_for(notification, channel)
        ts = THREADS.thread(self.api_url, channel, grouping_key) if grouping_key else ""
        if not ts or policy in ("Post", "PostAndUpdate"):
            post = dict(body)
            if ts:
                post["thread_ts"] = ts
                if broadcast:
                    post["reply_broadcast"] = True
            answer = await self._call("chat.postMessage", post)
            THREADS.remember(
                self.api_url, channel, grouping_key, str(answer.get("ts") or ""), str(answer.get("channel") or "")
            )
        if ts and policy in ("Update", "PostAndUpdate"):
            update = {key: value for key, value in body.items() if key in ("text", "attachments", "blocks")}
            update |= {"channel": THREADS.channel_id(self.api_url, channel), "ts": ts}
            await self._call("chat.update", update)

    async def _call(self, method: str, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        url = self.api_url + method
        secrets = [self._token]
        response = await attempt(
            self.client,
            "POST",
            url,
            label=self.label,
            secrets=secrets,
            json=payload,
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json; charset=utf-8"},
        )
        where = f"{self.label}: {method} at {origin(url)}"
        check_rate_limit(response, where, secrets)
        if response.status_code != 200:
            raise SendError(f"{where} answered HTTP {response.status_code}: {redact(body_excerpt(response), secrets)}")
        try:
            answer = response.json()
        except ValueError:
            raise SendError(f"{where}: the answer is not JSON: {redact(body_excerpt(response), secrets)}") from None
        if not isinstance(answer, Mapping):
            raise SendError(f"{where}: unexpected answer {redact(body_excerpt(response), secrets)}")
        if answer.get("ok") is not True:
            error = redact(str(answer.get("error") or "unknown_error"), secrets)
            extra = answer.get("response_metadata", {}) if isinstance(answer.get("response_metadata"), Mapping) else {}
            messages = extra.get("messages") if isinstance(extra, Mapping) else None
            detail = f" ({redact('; '.join(map(str, messages)), secrets)})" if isinstance(messages, list) else ""
            raise SendError(f"{where}: Slack refused the message: {error}{detail}")
        return answer


@register("slack")
def build(name: str, options: Mapping[str, Any], context: ServiceContext) -> SlackService:
    reader = OptionReader(service_label("slack", name), options)
    token = reader.string("token", required=True)
    api_url = check_url(reader, "apiURL", reader.string("apiURL", default=DEFAULT_API_URL))
    username = reader.string("username")
    icon = reader.string("icon")
    if icon and not is_icon(icon):
        raise reader.fail("icon", f"must be an :emoji: or an http(s) image URL, not {icon!r}")
    disable_unfurl = reader.boolean("disableUnfurl")
    insecure = reader.boolean("insecureSkipVerify")
    reader.accept_without_effect(
        ("signingSecret", "channels"), "upstream uses it for its interactive bot; Ramp only sends"
    )
    reader.accept_without_effect(TRANSPORT_OPTIONS, "Ramp's services share the controller's HTTP connection pool")
    warnings = reader.finish()
    return SlackService(
        name,
        token=token,
        api_url=api_url,
        username=username,
        icon=icon,
        disable_unfurl=disable_unfurl,
        client=client_for(context, insecure),
        warnings=warnings,
    )
