"""`service.alertmanager`: push an alert to Prometheus Alertmanager (`POST <scheme>://<target><apiPath>`, API v2).

Options (upstream's): `targets` (`host:port` of each Alertmanager of a cluster; the alert goes to all of them at
once and the send succeeds when at least one takes it, as upstream), `scheme` (`http` or `https`, default
`http`), `apiPath` (default `/api/v2/alerts`), `insecureSkipVerify`, `basicAuth: {username, password}` or
`bearerToken` (one of the two: upstream lets basicAuth win silently, Ramp refuses both at once), `timeout` (seconds
per request; without it the controller's HTTP client timeout applies).

The template's `alertmanager` block gives `labels` (at least one; `alertname` defaults to the template's name, as
upstream), `annotations` and `generatorURL` (an `git@host:org/repo` address becomes `https://host/org/repo`, as
upstream). Upstream's default generatorURL reads an Argo CD Application (`.app.spec.source.repoURL`), which a
Rollout does not have: without one in the template the alert carries none. `startsAt` is the moment of sending.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from ramp.notifications.services.base import Notification, SendError, Service, ServiceContext, register
from ramp.notifications.services.paging import Options, TemplateFields, api_error, post

DEFAULT_API_PATH = "/api/v2/alerts"
FIELDS = ("labels", "annotations", "generatorURL")
ALERT_NAME = "alertname"


@dataclass
class AlertmanagerService:
    name: str
    label: str
    urls: Sequence[str]
    authorization: str | None
    secrets: Sequence[str]
    seconds: float | None
    http: httpx.AsyncClient

    async def send(self, notification: Notification, recipient: str) -> None:
        alert = alert_for(self.label, notification, now=datetime.now(UTC))
        headers = {"Accept": "application/json"}
        if self.authorization:
            headers["Authorization"] = self.authorization
        failures = await asyncio.gather(*(self._send_one(url, [alert], headers) for url in self.urls))
        if all(failures):
            raise SendError(f"{self.label}: no Alertmanager took the alert: " + "; ".join(f for f in failures if f))

    async def _send_one(self, url: str, body: list[dict[str, Any]], headers: Mapping[str, str]) -> str | None:
        """None when this Alertmanager took the alert, else what went wrong (without the service's label)."""
        try:
            response = await post(
                self.http, url, label="", body=body, headers=headers, secrets=self.secrets, seconds=self.seconds
            )
        except SendError as error:
            return str(error).removeprefix(": ")
        if response.status_code == httpx.codes.OK:
            return None
        return str(api_error("", f"POST {url}", response, self.secrets)).removeprefix(": ")


def alert_for(label: str, notification: Notification, *, now: datetime) -> dict[str, Any]:
    """The postable alert for a notification: labels (with the default alertname), annotations, generatorURL."""
    fields = TemplateFields(label, "alertmanager", notification.of("alertmanager"), FIELDS)
    labels = fields.text_map("labels")
    if not labels:
        raise fields.error("labels", "is missing; an Alertmanager alert needs at least one label pair")
    if ALERT_NAME not in labels:
        if not notification.template:
            raise fields.error("labels", "has no alertname and the template's name is unknown; set labels.alertname")
        labels[ALERT_NAME] = notification.template
    alert: dict[str, Any] = {"labels": labels}
    if annotations := fields.text_map("annotations"):
        alert["annotations"] = annotations
    if generator_url := http_url_of(fields.text("generatorURL").strip()):
        alert["generatorURL"] = generator_url
    alert["startsAt"] = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return alert


def http_url_of(url: str) -> str:
    """`git@host:org/repo` as `https://host/org/repo`; any other URL as it is."""
    if not url.startswith("git@"):
        return url
    host, _, path = url.removeprefix("git@").partition(":")
    return f"https://{host}/{path}"


def authorization_for(reader: Options) -> tuple[str | None, list[str]]:
    """The Authorization header value from basicAuth or bearerToken, and the secrets it carries."""
    basic = reader.mapping("basicAuth")
    token = reader.text("bearerToken")
    if basic is not None and token:
        raise reader.error("basicAuth", "and bearerToken are both set: keep the one the Alertmanagers expect")
    if basic is None:
        return (f"Bearer {token}", [token]) if token else (None, [])
    auth = Options("alertmanager", "", basic)
    auth.label = f"{reader.label}: option basicAuth"
    username = auth.text("username", required=True)
    password = auth.text("password", required=True)
    auth.finish()
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
    return f"Basic {encoded}", [password, encoded]


def urls_for(reader: Options) -> list[str]:
    targets = reader.text_list("targets")
    if not targets:
        raise reader.error("targets", "is required: the host:port of each Alertmanager, e.g. [alertmanager:9093]")
    scheme = reader.text("scheme", default="http")
    if scheme not in ("http", "https"):
        raise reader.error("scheme", "must be http or https")
    api_path = reader.text("apiPath", default=DEFAULT_API_PATH)
    if not api_path.startswith("/"):
        raise reader.error("apiPath", f"must be a path starting with /, e.g. {DEFAULT_API_PATH}")
    urls = []
    for target in targets:
        url = f"{scheme}://{target}{api_path}"
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL:
            parsed = httpx.URL()
        if not parsed.host or "/" in target or "@" in target:
            raise reader.error("targets", "each target must be host:port (no scheme, path or user), e.g. 10.0.0.1:9093")
        urls.append(url)
    return urls


def seconds_of(reader: Options) -> float | None:
    value = reader.integer("timeout")
    if value is not None and value <= 0:
        raise reader.error("timeout", "must be a positive number of seconds")
    return None if value is None else float(value)


@register("alertmanager")
def build(name: str, options: Mapping[str, Any], context: ServiceContext) -> Service:
    reader = Options("alertmanager", name, options)
    urls = urls_for(reader)
    authorization, secrets = authorization_for(reader)
    seconds = seconds_of(reader)
    insecure = reader.flag("insecureSkipVerify")
    reader.finish()
    return AlertmanagerService(
        name=name,
        label=reader.label,
        urls=urls,
        authorization=authorization,
        secrets=secrets,
        seconds=seconds,
        http=context.client_for(insecure=True) if insecure else context.http,
    )
