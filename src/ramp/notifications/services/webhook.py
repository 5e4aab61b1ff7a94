"""The `webhook` service: any HTTP request, with the method, path and body a template gives.

ConfigMap entry (`service.webhook.<name>`), as upstream:

    url: https://api.example.com          # required
    headers: [{name: Authorization, value: token $github-token}]
    basicAuth: {username: ci, password: $api-key}
    insecureSkipVerify: false
    retryWaitMin: 1s      # retries belong to Ramp's delivery layer: these three become `service.retry_policy`
    retryWaitMax: 5s
    retryMax: 3

A template's `webhook.<name>: {method, path, body}` picks the request: `method` (GET, POST, PUT, PATCH, DELETE;
default GET), `path` appended to the URL's path (its own `?query` joins the URL's), `body` the request body.
Without one, upstream sends `GET <url>` with the message as the body; so does Ramp. The recipient is not used
(subscriptions name the service with an empty recipient). A 2xx answer is success; anything else is a
`SendError` with the status and the start of the answer, showing only the URL's scheme and host.

Slack incoming webhooks (`https://hooks.slack.com/services/...`) are sent with this service, as upstream's docs
show: a JSON `body` and a `Content-Type: application/json` header.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from ramp.notifications.services.base import Notification, RetryPolicy, SendError, ServiceContext, register
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
    redact,
    service_label,
    url_secrets,
)

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_TEMPLATE_FIELDS = ("method", "path", "body")


class WebhookService:
    """`service.webhook.<name>`: one configured URL."""

    def __init__(
        self,
        name: str,
        *,
        url: str,
        headers: list[tuple[str, str]],
        basic_auth: tuple[str, str] | None,
        client: httpx.AsyncClient,
        retry_policy: RetryPolicy,
        warnings: tuple[str, ...],
    ) -> None:
        self.name = name
        self.label = service_label("webhook", name)
        self.url = url
        self.headers = headers
        self.basic_auth = basic_auth
        self.client = client
        self.retry_policy = retry_policy
        """Read by the delivery layer: the options' retryWaitMin/retryWaitMax/retryMax (upstream's defaults)."""
        self.warnings = warnings
        self._secrets = [value for _, value in headers] + url_secrets(url)
        if basic_auth:
            self._secrets += [basic_auth[1]]

    def request_for(self, notification: Notification) -> tuple[str, str, str]:
        """(method, url, body) this notification sends."""
        fields = notification.of("webhook").get(self.name)
        if not isinstance(fields, Mapping):
            return "GET", self.url, notification.message
        check_fields(fields, _TEMPLATE_FIELDS, prefix=f"webhook.{self.name}", label=self.label)
        method = str(fields.get("method") or "GET").strip().upper()
        if method not in METHODS:
            allowed = ", ".join(METHODS)
            raise SendError(f"{self.label}: template field webhook.{self.name}.method is {method!r}; use {allowed}")
        path = str(fields.get("path") or "")
        body = fields.get("body")
        return method, join_path(self.url, path) if path.strip() else self.url, "" if body is None else str(body)

    async def send(self, notification: Notification, recipient: str) -> None:
        method, url, body = self.request_for(notification)
        headers = dict(self.headers)
        auth = httpx.BasicAuth(*self.basic_auth) if self.basic_auth else None
        response = await attempt(
            self.client,
            method,
            url,
            label=self.label,
            secrets=self._secrets,
            content=body.encode(),
            headers=headers,
            auth=auth,
        )
        check_rate_limit(response, f"{self.label}: {method} {origin(url)}", self._secrets)
        if not 200 <= response.status_code <= 299:
            detail = redact(body_excerpt(response), self._secrets)
            raise SendError(f"{self.label}: {method} {origin(url)} answered HTTP {response.status_code}: {detail}")


def join_path(base: str, path: str) -> str:
    """`base` with `path` appended to its path; a `?query` in `path` joins `base`'s query."""
    parts = urlsplit(base)
    extra_path, _, extra_query = path.partition("?")
    joined = parts.path.rstrip("/") + "/" + extra_path.lstrip("/")
    query = "&".join(q for q in (parts.query, extra_query) if q)
    return urlunsplit((parts.scheme, parts.netloc, joined, query, parts.fragment))


def _headers(reader: OptionReader) -> list[tuple[str, str]]:
    value = reader.raw("headers")
    if value is None:
        return []
    problem = "must be a list of {name: ..., value: ...}"
    if not isinstance(value, list):
        raise reader.fail("headers", problem)
    headers = []
    for item in value:
        if not isinstance(item, Mapping) or set(item) - {"name", "value"} or not isinstance(item.get("name"), str):
            raise reader.fail("headers", problem)
        header_value = item.get("value")
        if not isinstance(header_value, str | int | float) or isinstance(header_value, bool):
            raise reader.fail("headers", f"{problem}; header {item['name']!r} has no string value")
        headers.append((str(item["name"]), str(header_value)))
    return headers


def _basic_auth(reader: OptionReader) -> tuple[str, str] | None:
    value = reader.raw("basicAuth")
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) - {"username", "password"}:
        raise reader.fail("basicAuth", "must be {username: ..., password: ...}")
    username, password = value.get("username") or "", value.get("password") or ""
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        raise reader.fail("basicAuth", "needs a string username (and password)")
    return username, password


@register("webhook")
def build(name: str, options: Mapping[str, Any], context: ServiceContext) -> WebhookService:
    reader = OptionReader(service_label("webhook", name), options)
    url = check_url(reader, "url", reader.string("url", required=True))
    headers = _headers(reader)
    basic_auth = _basic_auth(reader)
    insecure = reader.boolean("insecureSkipVerify")
    wait_min = reader.duration("retryWaitMin", default=1.0)
    wait_max = reader.duration("retryWaitMax", default=5.0)
    retry_max = reader.integer("retryMax", default=3, maximum=100)
    # Upstream treats zero as "use the default" for all three.
    policy = RetryPolicy(wait_min or 1.0, wait_max or 5.0, retry_max or 3)
    if policy.wait_max_seconds < policy.wait_min_seconds:
        raise reader.fail("retryWaitMax", "must not be shorter than retryWaitMin")
    reader.accept_without_effect(TRANSPORT_OPTIONS, "Ramp's services share the controller's HTTP connection pool")
    warnings = reader.finish()
    return WebhookService(
        name,
        url=url,
        headers=headers,
        basic_auth=basic_auth,
        client=client_for(context, insecure),
        retry_policy=policy,
        warnings=warnings,
    )
