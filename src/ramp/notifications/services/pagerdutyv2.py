"""`service.pagerdutyv2`: trigger a PagerDuty event through the Events API v2 (`POST /v2/enqueue`).

Options (upstream's): `serviceKeys: {<recipient>: <integration key>}`; the subscription's recipient picks the key.
The template's `pagerdutyv2` block gives the event: `summary`, `severity`, `source` (PagerDuty requires all three),
`component`, `group`, `class`, `url` (the event's client link) and `dedupKey`. As upstream, `timestamp` and
`custom_details` are not supported: a template that sets them is refused, not half-sent.

The integration key travels in the body (`routing_key`), so errors never quote the body. PagerDuty answers
202 Accepted; anything else is a `SendError` with PagerDuty's own `errors`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ramp.notifications.services.base import Notification, SendError, Service, ServiceContext, register
from ramp.notifications.services.paging import Options, TemplateFields, api_error, post

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
FIELDS = ("summary", "severity", "source", "component", "group", "class", "url", "dedupKey")
CLIENT = "Ramp"


@dataclass
class PagerDutyV2Service:
    name: str
    label: str
    service_keys: Mapping[str, str]
    http: httpx.AsyncClient

    async def send(self, notification: Notification, recipient: str) -> None:
        routing_key = self.service_keys.get(recipient)
        if routing_key is None:
            known = ", ".join(sorted(self.service_keys))
            raise SendError(
                f"{self.label}: no integration key for recipient {recipient!r}: add it to serviceKeys (it has: {known})"
            )
        fields = TemplateFields(self.label, "pagerdutyv2", notification.of("pagerdutyv2"), FIELDS)
        if not fields:
            raise SendError(
                f"{self.label}: the template has no pagerdutyv2 block; PagerDuty events need pagerdutyv2.summary, "
                "severity and source"
            )
        response = await post(
            self.http,
            EVENTS_URL,
            label=self.label,
            body=event_for(routing_key, fields),
            headers={"Accept": "application/json"},
            secrets=[routing_key],
        )
        if response.status_code != httpx.codes.ACCEPTED:
            raise api_error(self.label, "PagerDuty Events API v2", response, [routing_key])


def event_for(routing_key: str, fields: TemplateFields) -> dict[str, Any]:
    """The Events API v2 trigger event for a template's `pagerdutyv2` fields (empty optional fields left out)."""
    payload: dict[str, Any] = {
        "summary": fields.text("summary"),
        "severity": fields.text("severity"),
        "source": fields.text("source"),
    }
    for field in ("component", "group", "class"):
        if value := fields.text(field):
            payload[field] = value
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "payload": payload,
        "client": CLIENT,
    }
    if dedup_key := fields.text("dedupKey"):
        event["dedup_key"] = dedup_key
    if url := fields.text("url"):
        event["client_url"] = url
    return event


@register("pagerdutyv2")
def build(name: str, options: Mapping[str, Any], context: ServiceContext) -> Service:
    reader = Options("pagerdutyv2", name, options)
    keys = reader.text_map("serviceKeys", required=True)
    reader.finish()
    return PagerDutyV2Service(name=name, label=reader.label, service_keys=keys, http=context.http)
