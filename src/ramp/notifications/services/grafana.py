"""`service.grafana`: add a Grafana annotation (`POST <apiUrl>/annotations`, `Authorization: Bearer <apiKey>`).

Options (upstream's): `apiUrl` (Grafana's API root, e.g. `https://grafana.example.com/api`; upstream's docs also
spell it `apiURL`), `apiKey` (a service account token or API key with annotation rights), `insecureSkipVerify`.
The subscription's recipient is the annotation's tags, `tag1|tag2`. The text is the template's message (Grafana
refuses an annotation without text, so an empty message is refused before sending); Grafana has no template
block of its own, so a `grafana` block in a template is refused rather than ignored. The annotation marks the
moment of sending (a point, not a region), as upstream's does.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ramp.notifications.services.base import Notification, SendError, Service, ServiceContext, register
from ramp.notifications.services.paging import Options, api_error, post


@dataclass
class GrafanaService:
    name: str
    label: str
    annotations_url: str
    api_key: str
    http: httpx.AsyncClient

    async def send(self, notification: Notification, recipient: str) -> None:
        if notification.of("grafana"):
            raise SendError(
                f"{self.label}: the template has a grafana block, but Grafana annotations take only the template's "
                "message (and the recipient's tags); remove the block"
            )
        if not notification.message.strip():
            raise SendError(f"{self.label}: the template's message is empty; a Grafana annotation needs text")
        annotation = {
            "time": int(time.time() * 1000),
            "isRegion": False,
            "tags": [tag for tag in recipient.split("|") if tag],
            "text": notification.message,
        }
        secrets = [self.api_key]
        response = await post(
            self.http,
            self.annotations_url,
            label=self.label,
            body=annotation,
            headers={"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"},
            secrets=secrets,
        )
        if response.status_code != httpx.codes.OK:
            raise api_error(self.label, "Grafana annotations API", response, secrets)


def annotations_url_for(reader: Options) -> str:
    api_url = reader.text("apiUrl", required=True).strip()
    try:
        parsed = httpx.URL(api_url)
    except httpx.InvalidURL:
        parsed = httpx.URL()
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise reader.error("apiUrl", "must be Grafana's API address, e.g. https://grafana.example.com/api")
    return api_url.rstrip("/") + "/annotations"


@register("grafana")
def build(name: str, options: Mapping[str, Any], context: ServiceContext) -> Service:
    reader = Options("grafana", name, options)
    annotations_url = annotations_url_for(reader)
    api_key = reader.text("apiKey", required=True)
    insecure = reader.flag("insecureSkipVerify")
    reader.finish()
    http = context.client_for(insecure=True) if insecure else context.http
    return GrafanaService(name=name, label=reader.label, annotations_url=annotations_url, api_key=api_key, http=http)
