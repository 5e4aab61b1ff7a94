"""Microsoft Teams: `teams-workflows` (Power Automate workflow webhooks) and `teams` (Office 365 connectors).

Both take the same ConfigMap options, as upstream:

    recipientUrls:                 # required: recipient name -> webhook URL (keep the URLs in the Secret)
      channelName: $channel-teams-url
    insecureSkipVerify: false

The recipient is a key of `recipientUrls`. Connection-pool options are accepted and named in `service.warnings`.

`teams-workflows` POSTs the envelope a workflow's "When a Teams webhook request is received" trigger reads:
`{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
"content": <AdaptiveCard 1.4>}]}`. Template fields (`teams-workflows.*`):
- `adaptiveCard`: a whole card (JSON), sent as it is; it wins over the fields below.
- `title`: a large bold TextBlock coloured by `themeColor` (a card colour: Good, Warning, Attention, Accent, ...;
  a hex colour becomes the nearest of them, since cards take no hex).
- `text`: a TextBlock (default: the message).
- `facts` and `sections[].facts`: FactSets of name/value.
- `potentialAction`: OpenUri actions become Action.OpenUrl.
- `summary`: accepted for compatibility; Adaptive Cards do not show it (upstream neither).
- `template`: refused (upstream documents it as legacy and never sends it).
URLs must be https (http only on loopback) on a workflow host (`*.powerautomate.com`, `*.powerplatform.com`,
`flow.microsoft.com`, `*.logic.azure.com/workflows`, `webhook.office.com/workflows`, or a `/powerautomate/`
path). Any 2xx answer (Teams answers 202) is success.

`teams` POSTs a legacy MessageCard: `@type`, `@context`, `title`, `summary`, `text` (default: the message),
`themeColor`, `sections` (JSON), `facts` (JSON, appended as a section), `potentialAction` (JSON); or the
template's `template` field verbatim (raw JSON). A connector answers `1` on success; any other answer is a
`SendError` carrying the connector's text. Microsoft retires these connectors: prefer `teams-workflows`.

No message or error shows a webhook URL: only its host.
"""

from __future__ import annotations

import colorsys
import json
import re
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
    url_secrets,
)

_WORKFLOW_URL = re.compile(
    r"(?i)(api\.(powerautomate|powerplatform)\.com|\.environment\.api\.powerplatform\.com|flow\.microsoft\.com"
    r"|\.logic\.azure\.com(:\d+)?/workflows/|webhook\.office\.com/workflows|/powerautomate/)"
)
_COMMON_FIELDS = ("title", "summary", "text", "themeColor", "facts", "sections", "potentialAction")
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
_CARD_COLORS = ("Default", "Dark", "Light", "Accent", "Good", "Warning", "Attention")


class _TeamsBase:
    service_type = ""

    def __init__(
        self, name: str, urls: Mapping[str, str], client: httpx.AsyncClient, warnings: tuple[str, ...]
    ) -> None:
        self.name = name
        self.label = service_label(self.service_type, name)
        self.urls = dict(urls)
        self.client = client
        self.warnings = warnings
        self._secrets = [secret for url in urls.values() for secret in url_secrets(url)]

    def url_for(self, recipient: str) -> str:
        url = self.urls.get(recipient.strip())
        if url is None:
            known = ", ".join(sorted(self.urls)) or "none"
            raise SendError(f"{self.label}: no webhook for recipient {recipient!r} in recipientUrls (it has: {known})")
        return url

    def payload(self, notification: Notification) -> bytes:
        raise NotImplementedError

    async def send(self, notification: Notification, recipient: str) -> None:
        url = self.url_for(recipient)
        content = self.payload(notification)
        response = await attempt(
            self.client,
            "POST",
            url,
            label=self.label,
            secrets=self._secrets,
            content=content,
            headers={"Content-Type": "application/json"},
        )
        self.check(response, f"{self.label}: POST to recipient {recipient!r} at {origin(url)}")

    def check(self, response: httpx.Response, where: str) -> None:
        check_rate_limit(response, where, self._secrets)
        if not 200 <= response.status_code <= 299:
            detail = redact(body_excerpt(response), self._secrets) or "no details"
            raise SendError(f"{where} answered HTTP {response.status_code}: {detail}")

    def _array(self, fields: Mapping[str, Any], key: str) -> list[Any]:
        value = fields.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return []
        parsed = parse_structured(value, field=f"{self.service_type}.{key}", label=self.label)
        if not isinstance(parsed, list):
            raise SendError(f"{self.label}: template field {self.service_type}.{key} must be a JSON array")
        return parsed


class TeamsWorkflowsService(_TeamsBase):
    """`service.teams-workflows[.<name>]`."""

    service_type = "teams-workflows"

    def payload(self, notification: Notification) -> bytes:
        return json.dumps({"type": "message", "attachments": [self.card_attachment(notification)]}).encode()

    def card_attachment(self, notification: Notification) -> dict[str, Any]:
        return {"contentType": CARD_CONTENT_TYPE, "content": self.card(notification)}

    def card(self, notification: Notification) -> Any:
        fields = notification.of(self.service_type)
        check_fields(fields, (*_COMMON_FIELDS, "adaptiveCard"), prefix=self.service_type, label=self.label)
        raw = fields.get("adaptiveCard")
        if raw is not None and (not isinstance(raw, str) or raw.strip()):
            card = parse_structured(raw, field=f"{self.service_type}.adaptiveCard", label=self.label)
            if not isinstance(card, Mapping) or card.get("type") != "AdaptiveCard":
                raise SendError(
                    f"{self.label}: template field {self.service_type}.adaptiveCard must be a JSON object "
                    'with "type": "AdaptiveCard"'
                )
            return card
        body: list[dict[str, Any]] = []
        title = str(fields.get("title") or "")
        if title:
            block: dict[str, Any] = {"type": "TextBlock", "text": title, "size": "Large", "weight": "Bolder"}
            if fields.get("themeColor"):
                block["color"] = card_color(str(fields["themeColor"]), label=self.label)
            body.append(block | {"wrap": True})
        text = str(fields.get("text") or "") or notification.message
        if text:
            body.append({"type": "TextBlock", "text": text, "wrap": True})
        fact_lists = [self._array(fields, "facts")]
        for section in self._array(fields, "sections"):
            if isinstance(section, Mapping) and isinstance(section.get("facts"), list):
                fact_lists.append(section["facts"])
        for facts in fact_lists:
            fact_set = [
                {"title": fact["name"], "value": _text(fact.get("value"))}
                for fact in facts
                if isinstance(fact, Mapping) and isinstance(fact.get("name"), str)
            ]
            if fact_set:
                body.append({"type": "FactSet", "facts": fact_set})
        built: dict[str, Any] = {"type": "AdaptiveCard", "version": "1.4", "body": body}
        actions = [_open_url(action) for action in self._array(fields, "potentialAction")]
        if any(actions):
            built["actions"] = [action for action in actions if action]
        return built


class TeamsConnectorService(_TeamsBase):
    """`service.teams[.<name>]`: an Office 365 connector's incoming webhook."""

    service_type = "teams"

    def payload(self, notification: Notification) -> bytes:
        fields = notification.of(self.service_type)
        check_fields(fields, (*_COMMON_FIELDS, "template"), prefix=self.service_type, label=self.label)
        raw = fields.get("template")
        if isinstance(raw, str) and raw.strip():
            parse_structured(raw, field="teams.template", label=self.label)  # refuse what is not JSON
            return raw.encode()
        card: dict[str, Any] = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "title": str(fields.get("title") or ""),
            "summary": str(fields.get("summary") or ""),
            "text": str(fields.get("text") or "") or notification.message,
        }
        if fields.get("themeColor"):
            card["themeColor"] = str(fields["themeColor"])
        sections = self._array(fields, "sections")
        facts = self._array(fields, "facts")
        if facts:
            sections.append({"facts": facts})
        if sections:
            card["sections"] = sections
        actions = self._array(fields, "potentialAction")
        if actions:
            card["potentialAction"] = actions
        return json.dumps(card).encode()

    def check(self, response: httpx.Response, where: str) -> None:
        super().check(response, where)
        if response.text.strip() != "1":
            detail = redact(body_excerpt(response), self._secrets) or "an empty answer"
            raise SendError(f"{where}: the connector did not accept the card (it answered {detail!r}, not '1')")


def card_color(theme: str, *, label: str) -> str:
    """An Adaptive Card TextBlock colour from `themeColor`: a named colour as it is, a hex colour (which Adaptive
    Cards do not take) as the named colour nearest in hue: red Attention, orange/yellow Warning, green Good,
    blue/purple Accent, grey Default."""
    named = {name.lower(): name for name in _CARD_COLORS}
    if theme.strip().lower() in named:
        return named[theme.strip().lower()]
    match = re.fullmatch(r"#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})", theme.strip())
    if not match:
        raise SendError(f"{label}: themeColor {theme!r} is neither a hex colour nor one of {', '.join(_CARD_COLORS)}")
    digits = match.group(1) if len(match.group(1)) == 6 else "".join(c * 2 for c in match.group(1))
    red, green, blue = (int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))
    hue, _, saturation = colorsys.rgb_to_hls(red, green, blue)
    if saturation < 0.2 or max(red, green, blue) - min(red, green, blue) < 0.1:
        return "Default"
    degrees = hue * 360
    if degrees < 20 or degrees >= 330:
        return "Attention"
    if degrees < 70:
        return "Warning"
    if degrees < 170:
        return "Good"
    return "Accent"


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "" if value is None else json.dumps(value) if isinstance(value, list | dict) else str(value)


def _open_url(action: Any) -> dict[str, str] | None:
    """A MessageCard `OpenUri` action as an Adaptive Card `Action.OpenUrl` (others have no equivalent: None)."""
    if not isinstance(action, Mapping) or action.get("@type") != "OpenUri":
        return None
    targets = action.get("targets")
    target = targets[0] if isinstance(targets, list) and targets and isinstance(targets[0], Mapping) else {}
    uri = target.get("uri")
    if not isinstance(uri, str) or not uri:
        return None
    return {"type": "Action.OpenUrl", "title": str(action.get("name") or ""), "url": uri}


def _urls(reader: OptionReader, *, workflows: bool) -> dict[str, str]:
    urls = reader.string_map("recipientUrls", required=True)
    for recipient, url in urls.items():
        check_url(reader, f"recipientUrls.{recipient}", url)
        parts = urlsplit(url)
        loopback = parts.hostname in ("localhost", "::1") or (parts.hostname or "").startswith("127.")
        if parts.scheme != "https" and not loopback:
            raise reader.fail(f"recipientUrls.{recipient}", "must be an https:// URL")
        if not workflows and _WORKFLOW_URL.search(url):
            raise reader.fail(
                f"recipientUrls.{recipient}",
                "is a Teams workflow webhook URL, which takes Adaptive Cards, not the connector's MessageCard: "
                "configure it as service.teams-workflows (and subscribe with .teams-workflows)",
            )
        if workflows and not _WORKFLOW_URL.search(url):
            raise reader.fail(
                f"recipientUrls.{recipient}",
                "is not a Teams workflow webhook URL (expected a Power Automate / Power Platform / Logic Apps "
                "workflow URL); an Office 365 connector URL belongs in service.teams",
            )
    return urls


def _build(cls: type[_TeamsBase], name: str, options: Mapping[str, Any], context: ServiceContext) -> Any:
    reader = OptionReader(service_label(cls.service_type, name), options)
    urls = _urls(reader, workflows=cls is TeamsWorkflowsService)
    insecure = reader.boolean("insecureSkipVerify")
    reader.accept_without_effect(TRANSPORT_OPTIONS, "Ramp's services share the controller's HTTP connection pool")
    warnings = reader.finish()
    return cls(name, urls, client_for(context, insecure), warnings)


@register("teams-workflows")
def build_workflows(name: str, options: Mapping[str, Any], context: ServiceContext) -> TeamsWorkflowsService:
    service: TeamsWorkflowsService = _build(TeamsWorkflowsService, name, options, context)
    return service


@register("teams")
def build_connector(name: str, options: Mapping[str, Any], context: ServiceContext) -> TeamsConnectorService:
    service: TeamsConnectorService = _build(TeamsConnectorService, name, options, context)
    return service
