"""Shared pieces of the chat, webhook and mail services: option reading, secret-free errors, one HTTP attempt.

`OptionReader` reads a `service.<type>[.<name>]` entry the way upstream's notifications-engine decodes it (YAML
to the service's option struct) but strictly: a wrong type or an unknown option is a `ServiceConfigError` naming
the option and the fix. Options upstream has that change nothing in Ramp (connection-pool tuning, the Argo CD
bot's `signingSecret`) are accepted and named in the service's `warnings`, which the config and delivery layers
turn into warning events: never silently ignored.

`redact` and `origin` keep secrets out of every message: tokens, passwords, header values and the path and query
of webhook URLs (Slack, Teams and Google Chat put their keys there) are replaced before a `SendError` is raised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from ramp.notifications.services.base import SendError, ServiceConfigError, ServiceContext
from ramp.notifications.yamltext import load_yaml_text

TRANSPORT_OPTIONS = ("maxIdleConns", "maxIdleConnsPerHost", "maxConnsPerHost", "idleConnTimeout")
"""Upstream's per-service connection-pool knobs: Ramp's services share the controller's client instead."""

_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_BODY_LIMIT = 300


class OptionReader:
    """Reads one service's options; `finish()` refuses any option nobody read."""

    def __init__(self, where: str, options: Mapping[str, Any]) -> None:
        if not isinstance(options, Mapping):
            raise ServiceConfigError(f"{where}: must be a YAML mapping of options, not {type(options).__name__}")
        self.where = where
        self.options = options
        self.read: set[str] = set()
        self.warnings: list[str] = []

    def _get(self, key: str) -> Any:
        self.read.add(key)
        return self.options.get(key)

    def fail(self, key: str, problem: str) -> ServiceConfigError:
        return ServiceConfigError(f"{self.where}: option {key!r} {problem}")

    def string(self, key: str, *, required: bool = False, default: str = "") -> str:
        value = self._get(key)
        if value is None or value == "":
            if required:
                raise self.fail(key, "is required")
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.fail(key, f"must be a string, not {type(value).__name__}")
        return str(value)

    def boolean(self, key: str, *, default: bool = False) -> bool:
        value = self._get(key)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise self.fail(key, f"must be true or false, not {value!r}")

    def integer(self, key: str, *, default: int | None = None, minimum: int = 0, maximum: int = 2**31) -> int | None:
        value = self._get(key)
        if value is None or value == "":
            return default
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            raise self.fail(key, f"must be a whole number from {minimum} to {maximum}, not {value!r}")
        return value

    def duration(self, key: str, *, default: float) -> float:
        """Seconds from a Go duration (`1s`, `500ms`, `1m30s`) or, as Go's JSON reads it, integer nanoseconds."""
        value = self._get(key)
        if value is None or value == "":
            return default
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value / 1e9
        if isinstance(value, str):
            text = value.strip()
            if text == "0":
                return 0.0
            parts = _GO_DURATION.findall(text)
            if parts and "".join(number + unit for number, unit in parts) == text:
                return sum(float(number) * _GO_UNITS[unit] for number, unit in parts)
        raise self.fail(key, f"must be a duration such as 1s, 500ms or 2m, not {value!r}")

    def string_map(self, key: str, *, required: bool = False) -> dict[str, str]:
        value = self._get(key)
        if value is None or value == {}:
            if required:
                raise self.fail(key, "is required: a mapping of recipient name to URL")
            return {}
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()
        ):
            raise self.fail(key, "must be a mapping of names to non-empty strings")
        return {str(k): str(v) for k, v in value.items()}

    def raw(self, key: str) -> Any:
        return self._get(key)

    def accept_without_effect(self, keys: Iterable[str], reason: str) -> None:
        """Options upstream has that change nothing here: read, and named in `warnings`."""
        for key in keys:
            if self._get(key) is not None:
                self.warnings.append(f"{self.where}: option {key!r} has no effect in Ramp ({reason})")

    def finish(self) -> tuple[str, ...]:
        unknown = sorted(str(key) for key in self.options if key not in self.read)
        if unknown:
            known = ", ".join(sorted(self.read))
            raise ServiceConfigError(
                f"{self.where}: unknown option(s) {', '.join(unknown)}; this service takes: {known}"
            )
        return tuple(self.warnings)


def service_label(service_type: str, name: str) -> str:
    """How messages name a service: `service.slack` or `service.webhook.github`."""
    return f"service.{service_type}" if name in ("", service_type) else f"service.{service_type}.{name}"


def client_for(context: ServiceContext, insecure: bool) -> httpx.AsyncClient:
    """The shared client, or one that skips certificate checks when `insecureSkipVerify` is set."""
    return context.client_for(insecure=True) if insecure else context.http


def origin(url: str) -> str:
    """`scheme://host[:port]` of a URL: what messages show of it (path and query may carry a key)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme or '?'}://{host}{port}"


def url_secrets(url: str) -> list[str]:
    """The parts of a webhook URL that may be a secret: its path segments, query values and user info."""
    parts = urlsplit(url)
    found = [segment for segment in parts.path.split("/") if _looks_secret(segment)]
    found += [value for pair in parts.query.split("&") for value in pair.split("=")[1:] if _looks_secret(value)]
    found += [unquote(value) for value in found]
    if parts.password:
        found.append(parts.password)
    if parts.path or parts.query:
        found.append(url)
    return found


def _looks_secret(text: str) -> bool:
    """A URL part that may be a key: long, or with a digit (ordinary words such as `spaces` are not)."""
    return len(text) >= 16 or (len(text) >= 6 and any(char.isdigit() for char in text))


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (longest first) replaced by `***`."""
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def check_url(reader: OptionReader, key: str, url: str) -> str:
    """An http(s) URL with a host, or a `ServiceConfigError` that does not print it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise reader.fail(
            key, "must be an http:// or https:// URL with a host (the value is not shown: it may hold a key)"
        )
    return url


class RateLimited(SendError):
    """The service answered HTTP 429. `retry_after_seconds` is its `Retry-After` (None when it gave none), for
    the delivery layer's backoff: upstream's clients wait that long and try again."""

    def __init__(self, message: str, retry_after_seconds: float | None) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


def check_rate_limit(response: httpx.Response, where: str, secrets: Iterable[str] = ()) -> None:
    """Raise `RateLimited` for an HTTP 429 answer."""
    if response.status_code != 429:
        return
    header = response.headers.get("Retry-After", "").strip()
    seconds = float(header) if re.fullmatch(r"\d+(\.\d+)?", header) else None
    after = f", Retry-After {header}s" if seconds is not None else ""
    detail = redact(body_excerpt(response), secrets)
    raise RateLimited(f"{where}: rate limited (HTTP 429{after}){': ' + detail if detail else ''}", seconds)


def body_excerpt(response: httpx.Response) -> str:
    """The start of an answer's body, for error messages."""
    text = response.text.strip().replace("\n", " ")
    return text if len(text) <= _BODY_LIMIT else text[:_BODY_LIMIT] + "…"


async def attempt(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    label: str,
    secrets: Iterable[str] = (),
    **kwargs: Any,
) -> httpx.Response:
    """One HTTP request; a transport failure or timeout becomes a secret-free `SendError`."""
    try:
        return await client.request(method, url, **kwargs)
    except httpx.TimeoutException as error:
        raise SendError(f"{label}: {method} {origin(url)} timed out ({type(error).__name__})") from None
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as error:
        detail = redact(str(error) or type(error).__name__, [*secrets, *url_secrets(url)])
        raise SendError(f"{label}: {method} {origin(url)} failed: {detail}") from None


def parse_structured(value: Any, *, field: str, label: str, yaml_allowed: bool = False) -> Any:
    """A template field holding JSON (or YAML) text, as a value; `SendError` naming the field if it does not parse.
    Already-structured values (a list or mapping) are taken as they are."""
    if not isinstance(value, str):
        return value
    try:
        # YAML through the bounded reader the configuration uses: an alias bomb in a rendered field is refused here
        # rather than expanded when the payload is serialized.
        return load_yaml_text(value) if yaml_allowed else json.loads(value)
    except ValueError as error:  # YamlTextError is a ValueError
        kind = "YAML or JSON" if yaml_allowed else "JSON"
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SendError(f"{label}: template field {field} is not valid {kind}: {first_line}") from None


def template_bool(value: Any, *, field: str, label: str) -> bool:
    """A template's boolean field (`notifyBroadcast`): a YAML bool or the rendered text true/false."""
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise SendError(f"{label}: template field {field} must be true or false, not {value!r}")


def check_fields(fields: Mapping[str, Any], known: Iterable[str], *, prefix: str, label: str) -> None:
    """Refuse template fields under `prefix` this service does not act on (named, never ignored)."""
    unknown = sorted(str(key) for key in fields if key not in set(known))
    if unknown:
        names = ", ".join(f"{prefix}.{key}" for key in unknown)
        raise SendError(f"{label}: template field(s) {names} not supported (supported: {', '.join(sorted(known))})")
