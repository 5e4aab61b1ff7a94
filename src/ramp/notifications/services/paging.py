"""What the paging, alerting and status services share (pagerdutyv2, opsgenie, grafana, alertmanager, github).

- `Options` reads a `service.<type>[.<name>]` entry strictly: each option is read with its type checked, and
  `finish()` refuses every option the service did not read, so nothing a user wrote is silently ignored. Keys match
  case-insensitively, as Go's JSON decoding (upstream's) matches them (`apiUrl` and `apiURL` are one option).
- `TemplateFields` reads the template's block for one service (`notification.of("<type>")`) the same way, at send
  time, and refuses fields the service does not know with a `SendError`.
- `post` sends one JSON request through the given `httpx.AsyncClient` and turns transport failures into
  `SendError`; `api_error` words an error answer. Messages never carry a secret: values of options are never
  quoted, URLs lose their user info and query, and every known secret is masked from the API's own error text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from ramp.notifications.services.base import SendError, ServiceConfigError

TRANSPORT_TUNING = ("maxIdleConns", "maxIdleConnsPerHost", "maxConnsPerHost", "idleConnTimeout")
"""Upstream's per-service connection-pool options; Ramp's services share the controller's HTTP client."""

_ERROR_TEXT_LIMIT = 500


def entry_label(service_type: str, name: str) -> str:
    """`service.<type>` for the unnamed entry, else `service.<type>.<name>`: how the ConfigMap names it."""
    return f"service.{service_type}" if name in ("", service_type) else f"service.{service_type}.{name}"


def _kind(value: Any) -> str:
    """The YAML kind of a value, for errors that must not quote the value itself (it may be a secret)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return "null" if value is None else type(value).__name__


def _find_key(data: Mapping[str, Any], key: str) -> str | None:
    """The key of `data` Go's JSON decoding would take for `key`: the exact one, else a case-insensitive match."""
    if key in data:
        return key
    folded = key.casefold()
    return next((k for k in data if isinstance(k, str) and k.casefold() == folded), None)


class Options:
    """One service entry's options, read strictly (see the module docstring)."""

    def __init__(self, service_type: str, name: str, options: Mapping[str, Any]) -> None:
        self.label = entry_label(service_type, name)
        if not isinstance(options, Mapping):
            raise ServiceConfigError(f"{self.label}: the entry must be a YAML mapping of options, not {_kind(options)}")
        self._options = options
        self._used: set[str] = set()

    def error(self, key: str, problem: str) -> ServiceConfigError:
        return ServiceConfigError(f"{self.label}: option {key}: {problem}")

    def _take(self, key: str) -> Any:
        found = _find_key(self._options, key)
        if found is None:
            return None
        self._used.add(found)
        return self._options[found]

    def text(self, key: str, *, required: bool = False, default: str = "") -> str:
        value = self._take(key)
        if value is None or value == "":
            if required:
                raise self.error(key, "is required")
            return default
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {_kind(value)}")
        return value

    def flag(self, key: str) -> bool:
        value = self._take(key)
        if value is None:
            return False
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise self.error(key, f"must be true or false, not {_kind(value)}")

    def integer(self, key: str, *, required: bool = False) -> int | None:
        value = self._take(key)
        if value is None or value == "":
            if required:
                raise self.error(key, "is required (a whole number)")
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().isdigit():
            return int(value.strip())
        raise self.error(key, f"must be a whole number, not {_kind(value)}")

    def text_map(self, key: str, *, required: bool = False) -> dict[str, str]:
        value = self._take(key)
        if value is None or value == {}:
            if required:
                raise self.error(key, "is required: a mapping of names to strings")
            return {}
        if not isinstance(value, Mapping):
            raise self.error(key, f"must be a mapping of names to strings, not {_kind(value)}")
        result: dict[str, str] = {}
        for item, text in value.items():
            if not isinstance(text, str) or not text:
                raise self.error(f"{key}.{item}", f"must be a non-empty string, not {_kind(text)}")
            result[str(item)] = text
        return result

    def text_list(self, key: str) -> list[str]:
        value = self._take(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise self.error(key, "must be a list of non-empty strings")
        return list(value)

    def mapping(self, key: str) -> Mapping[str, Any] | None:
        value = self._take(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.error(key, f"must be a mapping, not {_kind(value)}")
        return value

    def finish(self) -> None:
        """Refuse every option no read took: Ramp never silently ignores one."""
        unknown = sorted(str(key) for key in self._options if key not in self._used)
        if not unknown:
            return
        tuning = [key for key in unknown if key in TRANSPORT_TUNING]
        if tuning:
            raise ServiceConfigError(
                f"{self.label}: option {', '.join(tuning)}: Ramp does not tune connection pools per service (every "
                "service shares the controller's HTTP client and its limits); remove the option"
            )
        raise ServiceConfigError(
            f"{self.label}: unknown option {', '.join(unknown)}: Ramp does not act on it; remove it or check its "
            "spelling against the service's documentation"
        )


class TemplateFields:
    """The template's rendered block for one service type, read strictly at send time."""

    def __init__(self, label: str, service_type: str, block: Mapping[str, Any], known: Iterable[str]) -> None:
        self.label = label
        self.prefix = service_type
        self._block: dict[str, Any] = {}
        known_keys = list(known)
        unknown: list[str] = []
        for key, value in block.items():
            canonical = next((k for k in known_keys if k.casefold() == str(key).casefold()), None)
            if canonical is None:
                unknown.append(str(key))
            else:
                self._block[canonical] = value
        if unknown:
            raise SendError(
                f"{label}: the template's {', '.join(f'{service_type}.{k}' for k in sorted(unknown))} is not a field "
                f"Ramp reads in {service_type} (it reads: {', '.join(known_keys)}); remove it from the template"
            )

    def __bool__(self) -> bool:
        return bool(self._block)

    def has(self, key: str) -> bool:
        return key in self._block

    def error(self, key: str, problem: str) -> SendError:
        return SendError(f"{self.label}: the template's {self.prefix}.{key} {problem}")

    def text(self, key: str) -> str:
        value = self._block.get(key)
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, bool | int | float):
            return str(value).lower() if isinstance(value, bool) else str(value)
        raise self.error(key, f"must be a string, not {_kind(value)}")

    def text_list(self, key: str) -> list[str]:
        value = self._block.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or any(isinstance(item, Mapping | list) for item in value):
            raise self.error(key, "must be a list of strings")
        return [str(item) for item in value]

    def text_map(self, key: str) -> dict[str, str]:
        value = self._block.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping) or any(isinstance(item, Mapping | list) for item in value.values()):
            raise self.error(key, "must be a mapping of names to strings")
        return {str(name): "" if item is None else str(item) for name, item in value.items()}

    def records(self, key: str) -> list[Mapping[str, Any]]:
        value = self._block.get(key)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
            raise self.error(key, "must be a list of mappings")
        return list(value)

    def mapping(self, key: str) -> Mapping[str, Any] | None:
        value = self._block.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.error(key, f"must be a mapping, not {_kind(value)}")
        return value


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (of 4 characters or more) masked."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def public_url(url: str | httpx.URL) -> str:
    """The URL without user info or query: what an error message may show."""
    parsed = httpx.URL(str(url))
    return str(parsed.copy_with(username=None, password=None, query=None, fragment=None))


async def post(
    client: httpx.AsyncClient,
    url: str,
    *,
    label: str,
    body: Any,
    headers: Mapping[str, str],
    secrets: Iterable[str] = (),
    seconds: float | None = None,
) -> httpx.Response:
    """POST `body` as JSON; `SendError` (no secret in it) when no answer comes. `seconds` overrides the client's
    timeout (an option such as alertmanager's `timeout`)."""
    return await request(client, "POST", url, label=label, body=body, headers=headers, secrets=secrets, seconds=seconds)


async def request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    label: str,
    headers: Mapping[str, str],
    body: Any = None,
    params: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
    seconds: float | None = None,
) -> httpx.Response:
    """One HTTP request (`body` as JSON when given); `SendError` (no secret in it) when no answer comes."""
    try:
        return await client.request(
            method,
            url,
            json=body,
            params=params,
            headers=dict(headers),
            timeout=httpx.USE_CLIENT_DEFAULT if seconds is None else seconds,
        )
    except httpx.TimeoutException:
        raise SendError(f"{label}: {method} {public_url(url)} timed out") from None
    except httpx.HTTPError as error:
        detail = redact(str(error) or type(error).__name__, secrets)
        raise SendError(f"{label}: {method} {public_url(url)} failed: {detail}") from None


def api_error(label: str, action: str, response: httpx.Response, secrets: Iterable[str] = ()) -> SendError:
    """`SendError` for an error answer: the action, the HTTP status and the API's own words (secrets masked)."""
    text = response.text.strip()
    if len(text) > _ERROR_TEXT_LIMIT:
        text = text[:_ERROR_TEXT_LIMIT] + "..."
    detail = f": {redact(text, secrets)}" if text else ""
    return SendError(f"{label}: {action} answered HTTP {response.status_code}{detail}")
