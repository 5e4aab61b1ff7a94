"""Local servers that speak the documented APIs of the paging, alerting and status services.

Each backend is a `LocalHttpServer` responder (`serve(backend)`) that checks a request as the real API does (path,
auth header, content type, required fields and their values) and answers as it answers (status codes and JSON
bodies for success and for errors), keeping what it accepted so a test can check what arrived:
- `PagerDutyEvents`: Events API v2, `POST /v2/enqueue` (the key is in the body; 202 or 400 "invalid event").
- `OpsgenieAlerts`: Alert API, `POST /v2/alerts` with `Authorization: GenieKey <key>` (202, 401, 422).
- `GrafanaAnnotations`: `POST /api/annotations` with `Authorization: Bearer <key>` (200, 401, 400).
- `AlertmanagerAlerts`: `POST /api/v2/alerts` with optional basic or bearer auth (200, 400, 401, 422).
GitHub, bigger, has its own module: `tests.backends.github`.

`redirecting_client(url)` gives an httpx client that sends every request to the local server while keeping the
Host header of the real address (events.pagerduty.com, api.github.com, ...), so services keep their real URLs.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from ramp.notifications.services.base import ServiceContext
from tests.backends import ReceivedRequest, Reply


class RedirectTransport(httpx.AsyncBaseTransport):
    """Sends each request to `target` (scheme, host, port) and keeps its Host header and path."""

    def __init__(self, target: str) -> None:
        self._target = httpx.URL(target)
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme="http", host=self._target.host, port=self._target.port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def redirecting_client(target: str, *, timeout: float = 5.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=RedirectTransport(target), timeout=timeout)


@dataclass
class ContextCalls:
    """A `ServiceContext` over one client, recording the TLS settings services ask `client_for` for."""

    client: httpx.AsyncClient
    insecure_requests: list[bool] = field(default_factory=list)

    def context(self) -> ServiceContext:
        def client_for(*, insecure: bool = False) -> httpx.AsyncClient:
            self.insecure_requests.append(insecure)
            return self.client

        return ServiceContext(http=self.client, client_for=client_for)


def _json_body(request: ReceivedRequest) -> Any:
    """The parsed body, or None when it is not JSON."""
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        return None


def _is_json(request: ReceivedRequest) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip() == "application/json"


def _not_found() -> Reply:
    return Reply.json('{"message":"Not Found"}', 404)


# --- PagerDuty Events API v2 ----------------------------------------------------------------------------------------

PAGERDUTY_SEVERITIES = ("critical", "warning", "error", "info")


@dataclass
class PagerDutyEvents:
    host: str = "events.pagerduty.com"
    events: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, request: ReceivedRequest) -> Reply:
        if request.method != "POST" or request.path != "/v2/enqueue" or request.headers.get("host") != self.host:
            return _not_found()
        event = _json_body(request) if _is_json(request) else None
        if not isinstance(event, dict):
            return self._invalid("Event object is invalid", ["Event body must be a JSON object"])
        errors = self._errors_in(event)
        if errors:
            return self._invalid("Event object is invalid", errors)
        self.events.append(event)
        dedup_key = event.get("dedup_key") or uuid.uuid4().hex
        body = {"status": "success", "message": "Event processed", "dedup_key": dedup_key}
        return Reply.json(json.dumps(body), 202)

    @staticmethod
    def _errors_in(event: Mapping[str, Any]) -> list[str]:
        errors: list[str] = []
        key = event.get("routing_key")
        if not isinstance(key, str) or not key:
            errors.append("'routing_key' is missing or blank")
        elif len(key) != 32:
            errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
        action = event.get("event_action")
        if action not in ("trigger", "acknowledge", "resolve"):
            errors.append(
                "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')"
            )
        dedup_key = event.get("dedup_key")
        if dedup_key is not None and (not isinstance(dedup_key, str) or len(dedup_key) > 255):
            errors.append("'dedup_key' must be a string of at most 255 characters")
        if action == "trigger":
            payload = event.get("payload")
            if not isinstance(payload, dict):
                return [*errors, "'payload' is missing or blank"]
            for name in ("summary", "source", "severity"):
                if not isinstance(payload.get(name), str) or not payload[name].strip():
                    errors.append(f"'payload.{name}' is missing or blank")
            severity = payload.get("severity")
            if isinstance(severity, str) and severity and severity not in PAGERDUTY_SEVERITIES:
                errors.append(
                    "'payload.severity' is invalid (must be one of the following: "
                    "'critical', 'warning', 'error' or 'info')"
                )
        return errors

    @staticmethod
    def _invalid(message: str, errors: list[str]) -> Reply:
        return Reply.json(json.dumps({"status": "invalid event", "message": message, "errors": errors}), 400)


# --- Opsgenie Alert API ---------------------------------------------------------------------------------------------


@dataclass
class OpsgenieAlerts:
    """`api_keys`: integration key -> the team it belongs to."""

    api_keys: Mapping[str, str]
    host: str = "api.opsgenie.com"
    alerts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, request: ReceivedRequest) -> Reply:
        if request.method != "POST" or request.path != "/v2/alerts" or request.headers.get("host") != self.host:
            return self._answer(404, {"message": "Could not find resource"})
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme != "GenieKey" or not key:
            return self._answer(401, {"message": "Key format is not valid!"})
        if key not in self.api_keys:
            return self._answer(401, {"message": "Could not authenticate"})
        if not _is_json(request):
            return self._answer(415, {"message": "Unsupported Media Type"})
        alert = _json_body(request)
        if not isinstance(alert, dict):
            return self._answer(400, {"message": "Request body is not a valid JSON object"})
        errors = self._errors_in(alert)
        if errors:
            return self._answer(
                422, {"message": "Request body is not processable. Please check the errors.", "errors": errors}
            )
        self.alerts.append((self.api_keys[key], alert))
        return self._answer(202, {"result": "Request will be processed"})

    @staticmethod
    def _errors_in(alert: Mapping[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        if not isinstance(alert.get("message"), str) or not alert["message"].strip():
            errors["message"] = "Message can not be empty."
        if "priority" in alert and alert["priority"] not in ("P1", "P2", "P3", "P4", "P5"):
            errors["priority"] = "Priority should be one of [P1, P2, P3, P4, P5]"
        for key, kinds in (("responders", ("team", "user", "escalation", "schedule")), ("visibleTo", ("team", "user"))):
            for item in alert.get(key, []):
                if not isinstance(item, dict) or item.get("type") not in kinds:
                    errors[key] = f"Responder type should be one of {list(kinds)}"
                elif not any(item.get(name) for name in ("id", "name", "username")):
                    errors[key] = "Responder should have an id, a name or a username"
        for key in ("actions", "tags"):
            if key in alert and not all(isinstance(item, str) for item in alert[key]):
                errors[key] = f"{key} must be a list of strings"
        if "details" in alert and not all(isinstance(v, str) for v in dict(alert["details"]).values()):
            errors["details"] = "details must be a map of strings"
        return errors

    @staticmethod
    def _answer(status: int, body: dict[str, Any]) -> Reply:
        return Reply.json(json.dumps({**body, "took": 0.01, "requestId": str(uuid.uuid4())}), status)


# --- Grafana annotations --------------------------------------------------------------------------------------------


@dataclass
class GrafanaAnnotations:
    api_key: str
    annotations: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, request: ReceivedRequest) -> Reply:
        if request.method != "POST" or request.path != "/api/annotations":
            return Reply.json('{"message":"Not found"}', 404)
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return Reply.json('{"message":"Invalid API key","traceID":""}', 401)
        annotation = _json_body(request) if _is_json(request) else None
        if not isinstance(annotation, dict):
            return Reply.json('{"message":"bad request data","traceID":""}', 400)
        tags = annotation.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            return Reply.json('{"message":"bad request data","traceID":""}', 400)
        if not isinstance(annotation.get("time", 0), int):
            return Reply.json('{"message":"bad request data","traceID":""}', 400)
        if not annotation.get("text"):
            return Reply.json('{"message":"Failed to save annotation","traceID":""}', 400)
        self.annotations.append(annotation)
        return Reply.json(json.dumps({"message": "Annotation added", "id": len(self.annotations)}))


# --- Prometheus Alertmanager API v2 ---------------------------------------------------------------------------------


def _is_date_time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return "T" in value


@dataclass
class AlertmanagerAlerts:
    """`basic_auth` (user, password) or `bearer_token`: the auth its web config demands, if any."""

    basic_auth: tuple[str, str] | None = None
    bearer_token: str | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, request: ReceivedRequest) -> Reply:
        if request.path != "/api/v2/alerts" or request.method != "POST":
            return Reply(404, "404 page not found\n", {"Content-Type": "text/plain; charset=utf-8"})
        if not self._authorized(request.headers.get("authorization", "")):
            return Reply(401, "Unauthorized\n", {"Content-Type": "text/plain; charset=utf-8"})
        if not _is_json(request):
            media = request.headers.get("content-type", "")
            problem = {"code": 415, "message": f'unsupported media type "{media}", only [application/json] are allowed'}
            return Reply.json(json.dumps(problem), 415)
        alerts = _json_body(request)
        if not isinstance(alerts, list):
            return Reply.json(json.dumps({"code": 400, "message": "parsing postableAlerts body failed"}), 400)
        for index, alert in enumerate(alerts):
            problem = self._schema_problem(index, alert)
            if problem:
                return Reply.json(json.dumps({"code": 602, "message": problem}), 422)
        for alert in alerts:
            labels = {name: value for name, value in alert["labels"].items() if value}
            if not labels:
                return Reply.json(json.dumps("at least one label pair required"), 400)
            self.alerts.append({**alert, "labels": labels})
        return Reply(200)

    def _authorized(self, header: str) -> bool:
        if self.basic_auth is not None:
            expected = base64.b64encode(":".join(self.basic_auth).encode()).decode()
            return header == f"Basic {expected}"
        if self.bearer_token is not None:
            return header == f"Bearer {self.bearer_token}"
        return True

    @staticmethod
    def _schema_problem(index: int, alert: Any) -> str | None:
        if not isinstance(alert, dict):
            return f"{index} in body must be of type object"
        labels = alert.get("labels")
        if labels is None:
            return f"{index}.labels in body is required"
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            return f"{index}.labels in body must be of type object of strings"
        annotations = alert.get("annotations", {})
        if not isinstance(annotations, dict) or not all(isinstance(v, str) for v in annotations.values()):
            return f"{index}.annotations in body must be of type object of strings"
        for name in ("startsAt", "endsAt"):
            if name in alert and not _is_date_time(alert[name]):
                return f"{index}.{name} in body must be of type date-time"
        url = alert.get("generatorURL")
        if url is not None and (not isinstance(url, str) or (url and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url))):
            return f"{index}.generatorURL in body must be of type uri"
        return None
