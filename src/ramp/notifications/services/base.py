"""The contract every notification service keeps, and the registry of service types.

A service is built from its `service.<type>[.<name>]` entry of the notifications ConfigMap (its options, with
`$secret-key` references already replaced by the Secret's values) and sends one rendered `Notification` to one
recipient. One attempt per `send`: retries, backoff, queueing, metrics and events belong to the delivery layer.

Rules every service keeps:
- `send` raises `SendError` for any failure (connection refused, timeout, an answer the API calls an error) and
  nothing else; its message says what failed (service, HTTP status, the API's own error text) and never contains
  a secret: no token, password, webhook URL with a key in it, or Authorization header.
- Bad options are refused when the service is built (`ServiceConfigError`, naming the option and the fix), not
  at the first send.
- HTTP goes through the `httpx.AsyncClient` it is given (timeouts are set there), so tests and the controller
  control the transport; a service that needs TLS options of its own (`insecureSkipVerify`) builds its own client
  from `ServiceContext.client_for(insecure=True)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx


class SendError(Exception):
    """One send failed. The message names the service and the cause and never carries a secret."""


class ServiceConfigError(ValueError):
    """A `service.<type>` entry cannot be used; the message names the option and the fix."""


@dataclass(frozen=True)
class Notification:
    """A rendered template: `message` plus each service's own rendered fields.

    `fields` is the rendered template without `message`, keyed by service type as upstream's templates write it,
    every string leaf already rendered, for example:
    `{"email": {"subject": "..."}, "slack": {"attachments": "[...]", "blocks": "...", "groupingKey": "..."},
    "webhook": {"<webhook service name>": {"method": "POST", "path": "/x", "body": "{...}"}},
    "teams": {"title": "...", "facts": "...", ...}, "pagerdutyv2": {"summary": "...", "severity": "..."}}`.
    A service reads its own key and ignores the others.
    """

    message: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    template: str = ""
    """The name of the template it was rendered from (`template.<name>`); upstream's alertmanager service names
    the alert after it when the template gives no `alertname` label. Empty when unknown."""

    def of(self, key: str) -> Mapping[str, Any]:
        """The rendered fields under `key` (a service type, or `webhook`), empty if the template has none."""
        value = self.fields.get(key)
        return value if isinstance(value, Mapping) else {}


class Service(Protocol):
    """One configured destination: `service.<type>[.<name>]`."""

    name: str
    """The name subscriptions use: `<name>` of `service.<type>.<name>`, else `<type>`."""

    async def send(self, notification: Notification, recipient: str) -> None:
        """Deliver once; raise `SendError` on failure. `recipient` is the subscription's (a channel, an address,
        a routing key, ...; empty when the service needs none)."""
        ...


@dataclass(frozen=True)
class ServiceContext:
    """What a service factory gets besides its options."""

    http: httpx.AsyncClient
    """Shared client (timeouts set); use it unless the options need TLS settings of their own."""
    client_for: Callable[..., httpx.AsyncClient]
    """`client_for(insecure=True)` -> a client that skips certificate checks (owned by the caller's lifetime)."""


ServiceFactory = Callable[[str, Mapping[str, Any], ServiceContext], Service]
"""`factory(name, options, context) -> Service`; raises `ServiceConfigError` for bad options."""

SERVICE_TYPES: dict[str, ServiceFactory] = {}
"""Service type (`webhook`, `slack`, `email`, ...) -> factory. Filled by `ramp.notifications.services.registry`."""


def register(service_type: str) -> Callable[[ServiceFactory], ServiceFactory]:
    """Decorator a service module uses to add its factory under its upstream type name."""

    def add(factory: ServiceFactory) -> ServiceFactory:
        if service_type in SERVICE_TYPES:
            raise RuntimeError(f"notification service type {service_type!r} registered twice")
        SERVICE_TYPES[service_type] = factory
        return factory

    return add


@dataclass(frozen=True)
class RetryPolicy:
    """How the delivery layer should retry one service's failed sends, when its options say so.

    A service whose options carry retry settings (the webhook's `retryWaitMin`, `retryWaitMax`, `retryMax`) has a
    `retry_policy: RetryPolicy` attribute; services without one leave retries to the delivery layer's defaults.
    Upstream retries connection errors, timeouts, HTTP 429 and 5xx answers, waiting between `wait_min_seconds`
    and `wait_max_seconds` (exponential backoff), at most `max_retries` times after the first attempt.
    """

    wait_min_seconds: float = 1.0
    wait_max_seconds: float = 5.0
    max_retries: int = 3
