"""Local servers that speak the chat services' documented HTTP APIs, for the notification services' tests.

Each is a `LocalHttpServer` on 127.0.0.1 answering as the real service does, with the checks the real service
makes on what it is sent (auth, required fields, the shapes of cards and attachments) and its error answers:
- `SlackApi`: Slack's Web API `chat.postMessage` / `chat.update` (Bearer token, `{"ok": false, "error": ...}`
  on HTTP 200, channel names and IDs, threads by `thread_ts`, HTTP 429 with `Retry-After`).
- `SlackIncomingWebhook`: `hooks.slack.com/services/T/B/secret` (answers `ok`, or 400 `invalid_payload`/`no_text`,
  404 `no_service`).
- `TeamsWorkflow`: a Power Automate "When a Teams webhook request is received" trigger (`sig` in the query;
  202 for an envelope with an Adaptive Card attachment, 400 `TriggerInputSchemaMismatch` otherwise).
- `TeamsConnector`: an Office 365 connector incoming webhook (answers `1`; 400 when the MessageCard has neither
  summary nor text).
- `GoogleChatWebhook`: `spaces/<space>/messages?key=&token=` (Message JSON; Google's error JSON otherwise;
  threads by `thread.threadKey` with `messageReplyOption`).
- `MattermostApi`: `POST /api/v4/posts` (Bearer token, 26-character channel IDs, 201 with the post; Mattermost's
  AppError JSON otherwise).
Each records what it accepted in `accepted` (decoded JSON) and every request in `requests` (on the server).
`HttpsServer` is a LocalHttpServer behind TLS with a self-signed certificate. `service_context()` gives the
services the clients they are built with (a short timeout; an insecure one).
"""

from __future__ import annotations

import itertools
import json
import ssl
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from ramp.notifications.services.base import ServiceContext
from tests.backends import LocalHttpServer, ReceivedRequest, Reply


@asynccontextmanager
async def service_context(timeout_seconds: float = 5.0) -> AsyncIterator[ServiceContext]:
    """The `ServiceContext` a service is built with: a shared client and, for insecureSkipVerify, another one
    that skips certificate checks (tests tell which one a service took by identity)."""
    async with (
        httpx.AsyncClient(timeout=timeout_seconds) as http,
        httpx.AsyncClient(timeout=timeout_seconds, verify=False) as insecure,
    ):

        def client_for(**kwargs: Any) -> httpx.AsyncClient:
            return insecure if kwargs.get("insecure") else http

        yield ServiceContext(http=http, client_for=client_for)


class HttpsServer(LocalHttpServer):
    """A LocalHttpServer behind TLS with a self-signed certificate (for `insecureSkipVerify`)."""

    def __init__(self, respond: Any, cert: Path, key: Path) -> None:
        super().__init__(respond)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)

    @property
    def url(self) -> str:
        return super().url.replace("http://", "https://", 1)


class _Backend:
    """A LocalHttpServer with a list of what it accepted; use as a context manager."""

    def __init__(self) -> None:
        self.server = LocalHttpServer(self.respond)
        self.accepted: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    @property
    def requests(self) -> list[ReceivedRequest]:
        return self.server.requests

    def respond(self, request: ReceivedRequest) -> Reply:
        raise NotImplementedError

    def next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def __enter__(self) -> Any:
        self.server.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.stop()


def _json_body(request: ReceivedRequest) -> Any:
    try:
        return json.loads(request.body.decode() or "null")
    except ValueError:
        return None


def _is_list_of_objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


class SlackApi(_Backend):
    """Slack's Web API methods chat.postMessage and chat.update under `<url>/api/`."""

    def __init__(self, token: str = "xoxb-1111-2222-secrettoken", channels: dict[str, str] | None = None) -> None:
        super().__init__()
        self.token = token
        self.channels = channels or {"general": "C0000GENERAL", "alerts": "C0000ALERTS"}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel id, ts) -> message
        self.rate_limit_next = 0

    @property
    def api_url(self) -> str:
        return self.server.url + "/api/"

    def _channel_id(self, channel: str, *, names_allowed: bool) -> str | None:
        if channel in self.channels.values():
            return channel
        return self.channels.get(channel.lstrip("#")) if names_allowed else None

    def respond(self, request: ReceivedRequest) -> Reply:
        method = request.path.removeprefix("/api/")
        if request.method != "POST" or method not in ("chat.postMessage", "chat.update"):
            return Reply.json('{"ok": false, "error": "unknown_method"}', 404)
        if self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            return Reply(429, '{"ok": false, "error": "ratelimited"}', {"Retry-After": "7"})
        auth = request.headers.get("authorization", "")
        if not auth:
            return self._error("not_authed")
        if auth != f"Bearer {self.token}":
            return self._error("invalid_auth")
        if not request.headers.get("content-type", "").startswith("application/json"):
            return self._error("invalid_arguments")
        body = _json_body(request)
        if not isinstance(body, dict):
            return self._error("invalid_json")
        channel = self._channel_id(str(body.get("channel") or ""), names_allowed=method == "chat.postMessage")
        if channel is None:
            return self._error("channel_not_found")
        if not (body.get("text") or body.get("blocks") or body.get("attachments")):
            return self._error("no_text")
        if "attachments" in body and not _is_list_of_objects(body["attachments"]):
            return self._error("invalid_attachments")
        if "blocks" in body and not (
            _is_list_of_objects(body["blocks"]) and all("type" in block for block in body["blocks"])
        ):
            return self._error("invalid_blocks")
        if method == "chat.update":
            if (channel, str(body.get("ts"))) not in self.messages:
                return self._error("message_not_found")
            ts = str(body["ts"])
        else:
            thread_ts = body.get("thread_ts")
            if thread_ts is not None and (channel, str(thread_ts)) not in self.messages:
                return self._error("thread_not_found")
            ts = f"1700000000.{self.next_id():06d}"
        record = dict(body, method=method, channel_id=channel, ts=ts)
        self.messages[(channel, ts)] = record
        self.accepted.append(record)
        answer = {"ok": True, "channel": channel, "ts": ts, "message": {"text": body.get("text", ""), "ts": ts}}
        return Reply.json(json.dumps(answer))

    @staticmethod
    def _error(code: str) -> Reply:
        return Reply.json(json.dumps({"ok": False, "error": code}))


class SlackIncomingWebhook(_Backend):
    """An incoming webhook at `<url>/services/T0000/B0000/<secret>`."""

    def __init__(self, secret: str = "XXXXsecretpathXXXX") -> None:
        super().__init__()
        self.path = f"/services/T0000TEAM/B0000HOOK/{secret}"

    @property
    def url(self) -> str:
        return self.server.url + self.path

    def respond(self, request: ReceivedRequest) -> Reply:
        if request.path != self.path:
            return Reply(404, "no_service")
        if request.method != "POST":
            return Reply(405, "invalid_request")
        body = _json_body(request)
        if not isinstance(body, dict):
            return Reply(400, "invalid_payload")
        if not (body.get("text") or body.get("blocks") or body.get("attachments")):
            return Reply(400, "no_text")
        self.accepted.append(body)
        return Reply(200, "ok", {"Content-Type": "text/plain"})


class TeamsWorkflow(_Backend):
    """A Power Automate workflow's HTTP trigger, at a `/powerautomate/` path signed with `sig`."""

    def __init__(self, sig: str = "SiGsecretSignature123") -> None:
        super().__init__()
        self.sig = sig
        self.path = "/powerautomate/automations/direct/workflows/0a1b2c3d/triggers/manual/paths/invoke"

    def url_with(self, sig: str | None = None) -> str:
        return f"{self.server.url}{self.path}?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={sig or self.sig}"

    @property
    def url(self) -> str:
        return self.url_with()

    def respond(self, request: ReceivedRequest) -> Reply:
        if request.path != self.path or request.method != "POST":
            return self._error(404, "TriggerNotFound", "The workflow trigger was not found.")
        if request.query.get("sig") != self.sig:
            return self._error(401, "DirectApiAuthorizationRequired", "The request must be authenticated.")
        body = _json_body(request)
        attachments = body.get("attachments") if isinstance(body, dict) else None
        valid = (
            isinstance(body, dict)
            and body.get("type") == "message"
            and _is_list_of_objects(attachments)
            and bool(attachments)
            and all(self._valid_attachment(attachment) for attachment in attachments or [])
        )
        if not valid:
            return self._error(400, "TriggerInputSchemaMismatch", "The input body does not match the schema.")
        self.accepted.append(body)
        return Reply(202, "")

    @staticmethod
    def _valid_attachment(attachment: dict[str, Any]) -> bool:
        card = attachment.get("content")
        return (
            attachment.get("contentType") == "application/vnd.microsoft.card.adaptive"
            and isinstance(card, dict)
            and card.get("type") == "AdaptiveCard"
            and isinstance(card.get("version"), str)
            and _is_list_of_objects(card.get("body", []))
            and all("type" in element for element in card.get("body", []))
        )

    @staticmethod
    def _error(status: int, code: str, message: str) -> Reply:
        return Reply.json(json.dumps({"error": {"code": code, "message": message}}), status)


class TeamsConnector(_Backend):
    """An Office 365 connector incoming webhook (`webhookb2/<ids>/IncomingWebhook/<id>/<secret>`)."""

    def __init__(self, secret: str = "connectorSecret987") -> None:
        super().__init__()
        self.path = f"/webhookb2/1111-2222@3333/IncomingWebhook/abcdef0123/{secret}"

    @property
    def url(self) -> str:
        return self.server.url + self.path

    def respond(self, request: ReceivedRequest) -> Reply:
        if request.path != self.path:
            return Reply(404, "Webhook not found")
        body = _json_body(request)
        if not isinstance(body, dict):
            return Reply(400, "Bad payload received by generic incoming webhook.")
        if not (body.get("summary") or body.get("text")):
            return Reply(400, "Summary or Text is required.")
        for key in ("sections", "potentialAction"):
            if key in body and not _is_list_of_objects(body[key]):
                return Reply(400, "Bad payload received by generic incoming webhook.")
        self.accepted.append(body)
        return Reply(200, "1", {"Content-Type": "text/plain"})


class GoogleChatWebhook(_Backend):
    """A space's incoming webhook: `POST /v1/spaces/<space>/messages?key=<key>&token=<token>`."""

    REPLY_OPTIONS = ("REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD", "REPLY_MESSAGE_OR_FAIL")

    def __init__(self, space: str = "AAAAspace1", key: str = "AIzaSyKEY-secret", token: str = "tok3nSecret%3D") -> None:
        super().__init__()
        self.space, self.key, self.token = space, key, token
        self.threads: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"{self.server.url}/v1/spaces/{self.space}/messages?key={self.key}&token={self.token}"

    def respond(self, request: ReceivedRequest) -> Reply:
        if request.path != f"/v1/spaces/{self.space}/messages" or request.method != "POST":
            return self._error(404, "NOT_FOUND", "Requested entity was not found.")
        if request.query.get("key") != self.key:
            return self._error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
        if request.query.get("token") != self.token.replace("%3D", "="):
            return self._error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        body = _json_body(request)
        if not isinstance(body, dict):
            return self._error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
        unknown = set(body) - {"text", "cardsV2", "cards", "thread"}
        if unknown:
            return self._error(400, "INVALID_ARGUMENT", f'Invalid JSON payload received. Unknown name "{min(unknown)}"')
        if not (body.get("text") or body.get("cardsV2") or body.get("cards")):
            return self._error(400, "INVALID_ARGUMENT", "Message cannot be empty.")
        for card in body.get("cardsV2", []):
            if not isinstance(card, dict) or set(card) != {"cardId", "card"} or not isinstance(card["card"], dict):
                return self._error(400, "INVALID_ARGUMENT", "Invalid JSON payload received. cardsV2 needs cardId, card")
        option = request.query.get("messageReplyOption")
        if option is not None and option not in self.REPLY_OPTIONS:
            return self._error(400, "INVALID_ARGUMENT", f"Invalid value at 'message_reply_option' ({option})")
        number = self.next_id()
        thread_key = (body.get("thread") or {}).get("threadKey") if option else None
        thread = self.threads.setdefault(thread_key, f"t{number}") if thread_key else f"t{number}"
        self.accepted.append(dict(body, messageReplyOption=option))
        answer = {
            "name": f"spaces/{self.space}/messages/m{number}",
            "text": body.get("text", ""),
            "thread": {"name": f"spaces/{self.space}/threads/{thread}"},
            "space": {"name": f"spaces/{self.space}", "type": "ROOM"},
        }
        return Reply.json(json.dumps(answer))

    @staticmethod
    def _error(status: int, code: str, message: str) -> Reply:
        return Reply.json(json.dumps({"error": {"code": status, "message": message, "status": code}}), status)


class MattermostApi(_Backend):
    """Mattermost's REST API v4, `POST /api/v4/posts`."""

    def __init__(self, token: str = "mm-bot-token-secret", channels: tuple[str, ...] = ("a" * 26,)) -> None:
        super().__init__()
        self.token = token
        self.channels = set(channels)

    @property
    def api_url(self) -> str:
        return self.server.url

    def respond(self, request: ReceivedRequest) -> Reply:
        if request.path != "/api/v4/posts" or request.method != "POST":
            return self._error(404, "api.context.404.app_error", "Sorry, we could not find the page.")
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self._error(401, "api.context.session_expired.app_error", "Invalid or expired session.")
        body = _json_body(request)
        if not isinstance(body, dict):
            return self._error(400, "api.context.invalid_body_param.app_error", "Invalid or missing post in body.")
        channel = body.get("channel_id")
        if not isinstance(channel, str) or len(channel) != 26 or not channel.isalnum():
            return self._error(400, "api.context.invalid_body_param.app_error", "Invalid channel_id parameter.")
        if channel not in self.channels:
            return self._error(403, "api.context.permissions.app_error", "You do not have the appropriate permissions.")
        props = body.get("props", {})
        if not isinstance(props, dict) or not isinstance(props.get("attachments", []), list):
            return self._error(400, "model.post.is_valid.props.app_error", "Invalid props.")
        post = {
            "id": f"post{self.next_id():022d}",
            "channel_id": channel,
            "message": body.get("message", ""),
            "props": props,
        }
        self.accepted.append(post)
        return Reply.json(json.dumps(post), 201)

    @staticmethod
    def _error(status: int, error_id: str, message: str) -> Reply:
        answer = {"id": error_id, "message": message, "detailed_error": "", "request_id": "r1", "status_code": status}
        return Reply.json(json.dumps(answer), status)
