"""`service.opsgenie`: create an Opsgenie alert through the Alert API (`POST /v2/alerts`, `GenieKey` auth).

Options (upstream's): `apiUrl` (the API host, `api.opsgenie.com` or `api.eu.opsgenie.com`; a full `https://` URL
works too; default `api.opsgenie.com`), `apiKeys: {<team>: <API integration key>}` (the subscription's recipient
picks the key), `insecureSkipVerify`.

The alert's `message` is the template's message (Opsgenie keeps 130 characters: a longer one is cut with "...");
the template's `opsgenie` block adds `description` (required when the block is given, as upstream), `priority`
(P1-P5), `alias`, `note`, `actions`, `tags`, `details`, `entity`, `user` and `visibleTo` (each `{type: team|user,
id|name|username}`, keys in any case as upstream's docs write them). The recipient team is the alert's responder:
by `id` when the recipient is an Opsgenie id (a UUID), else by `name`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ramp.notifications.services.base import Notification, SendError, Service, ServiceContext, register
from ramp.notifications.services.paging import Options, TemplateFields, api_error, post

DEFAULT_API_HOST = "api.opsgenie.com"
MESSAGE_LIMIT = 130
SOURCE = "Ramp"
FIELDS = (
    "description",
    "priority",
    "alias",
    "note",
    "actions",
    "tags",
    "visibleTo",
    "details",
    "entity",
    "user",
)
RESPONDER_KEYS = ("type", "id", "name", "username")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass
class OpsgenieService:
    name: str
    label: str
    alerts_url: str
    api_keys: Mapping[str, str]
    http: httpx.AsyncClient

    async def send(self, notification: Notification, recipient: str) -> None:
        api_key = self.api_keys.get(recipient)
        if api_key is None:
            known = ", ".join(sorted(self.api_keys))
            raise SendError(f"{self.label}: no API key for team {recipient!r}: add it to apiKeys (it has: {known})")
        alert = alert_for(self.label, notification, recipient)
        secrets = [api_key]
        response = await post(
            self.http,
            self.alerts_url,
            label=self.label,
            body=alert,
            headers={"Authorization": f"GenieKey {api_key}", "Accept": "application/json"},
            secrets=secrets,
        )
        if not response.is_success:
            raise api_error(self.label, "Opsgenie Alert API", response, secrets)


def alert_for(label: str, notification: Notification, recipient: str) -> dict[str, Any]:
    """The Alert API body for a notification sent to team `recipient`."""
    message = notification.message.strip()
    if not message:
        raise SendError(f"{label}: the template's message is empty; Opsgenie alerts need one")
    if len(message) > MESSAGE_LIMIT:
        message = message[: MESSAGE_LIMIT - 3] + "..."
    responder_key = "id" if _UUID.match(recipient) else "name"
    alert: dict[str, Any] = {
        "message": message,
        "responders": [{"type": "team", responder_key: recipient}],
        "source": SOURCE,
    }
    fields = TemplateFields(label, "opsgenie", notification.of("opsgenie"), FIELDS)
    if not fields:
        return alert
    if not fields.text("description"):
        raise fields.error("description", "is missing; Opsgenie alerts from a template's opsgenie block need it")
    for key in ("description", "priority", "alias", "note", "entity", "user"):
        if value := fields.text(key):
            alert[key] = value
    for key in ("actions", "tags"):
        if values := fields.text_list(key):
            alert[key] = values
    if details := fields.text_map("details"):
        alert["details"] = details
    if visible_to := [responder_for(fields, item) for item in fields.records("visibleTo")]:
        alert["visibleTo"] = visible_to
    return alert


def responder_for(fields: TemplateFields, item: Mapping[str, Any]) -> dict[str, str]:
    """One `visibleTo` entry with upstream's keys in any case (`Id`, `Type`, ...), empty ones left out."""
    responder: dict[str, str] = {}
    for key, value in item.items():
        canonical = next((k for k in RESPONDER_KEYS if k == str(key).lower()), None)
        if canonical is None:
            raise fields.error("visibleTo", f"has an unknown key {key!r} (it takes: {', '.join(RESPONDER_KEYS)})")
        if value not in (None, ""):
            responder[canonical] = str(value)
    return responder


def alerts_url_for(reader: Options) -> str:
    api_url = reader.text("apiUrl", default=DEFAULT_API_HOST).strip().rstrip("/")
    base = api_url if "://" in api_url else f"https://{api_url}"
    try:
        parsed = httpx.URL(base)
    except httpx.InvalidURL:
        raise reader.error("apiUrl", "is not a host name or an http(s) URL (e.g. api.opsgenie.com)") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise reader.error("apiUrl", "is not a host name or an http(s) URL (e.g. api.opsgenie.com)")
    return f"{base}/v2/alerts"


@register("opsgenie")
def build(name: str, options: Mapping[str, Any], context: ServiceContext) -> Service:
    reader = Options("opsgenie", name, options)
    alerts_url = alerts_url_for(reader)
    api_keys = reader.text_map("apiKeys", required=True)
    insecure = reader.flag("insecureSkipVerify")
    reader.finish()
    http = context.client_for(insecure=True) if insecure else context.http
    return OpsgenieService(name=name, label=reader.label, alerts_url=alerts_url, api_keys=api_keys, http=http)
