"""The JSON API under /api/v1: namespaces, rollouts (list, get, watch as server-sent events) and actions.

Reads come from the informer caches of `ramp.dashboard.live`; actions call the very functions the CLI calls
(`ramp.actions`: promote, abort, retry, pause, restart, undo, set image), so the cluster changes exactly as with
`kubectl ramp`. Each action is checked against the token (`ramp.dashboard.auth`) before its body is read (a
body is at most `MAX_BODY` bytes), recorded in the audit log, and answered with the CLI's message or the error
in plain words (`ramp.actions.errors`) and a matching HTTP status. Namespaces and names are checked
(`ramp.dashboard.names`) before they reach the API server. The event streams take the token in the
Authorization header or a single-use ticket from `POST /api/v1/stream-ticket` in `?ticket=`, never the token
in the URL. Routes are listed in `ROUTES` for `ramp.dashboard.app` and described by `ramp.dashboard.openapi`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ramp import actions
from ramp.actions.errors import ActionError, describe_api_error
from ramp.dashboard.auth import (
    ACTION,
    READ,
    AuditLog,
    AuditRecord,
    StreamTickets,
    describe_caller,
    is_allowed,
    read_presented_token,
)
from ramp.dashboard.live import LiveState, NamespaceWatch, TooManyNamespaces
from ramp.dashboard.names import check_name, check_namespace
from ramp.kube.client import KubeClient
from ramp.kube.errors import ApiError
from ramp.kube.resources import NAMESPACES

# Bursts of watch events (a step moves: the Rollout, two ReplicaSets and pods change) become one update.
_COALESCE = 0.2
# A comment line now and then keeps proxies from closing an idle stream and notices a gone browser.
_HEARTBEAT = 15.0
_ERROR_STATUS = {403: 403, 404: 404, 409: 409, 422: 422}
# The largest body an action takes: {"images": {...}} and {"revision": n} are far smaller.
MAX_BODY = 64 * 1024


@dataclass
class Dashboard:
    """What the routes share: the cluster client, the caches, the token and the audit log."""

    client: KubeClient
    live: LiveState
    token: str
    default_namespace: str
    insecure_read_only: bool = False
    audit: AuditLog = field(default_factory=AuditLog)
    tickets: StreamTickets = field(default_factory=StreamTickets)


def _dashboard(request: Request) -> Dashboard:
    board: Dashboard = request.app.state.dashboard
    return board


def _problem(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _refused(kind: str) -> JSONResponse:
    what = "this action" if kind == ACTION else "reading"
    return _problem(
        401,
        f"unauthorized: {what} needs the dashboard's token (printed by `ramp dashboard` at start)",
        reason="Unauthorized",
    )


def _check(request: Request, kind: str) -> tuple[bool, str | None]:
    board = _dashboard(request)
    presented = read_presented_token(request.headers)
    return is_allowed(kind, presented, board.token, insecure_read_only=board.insecure_read_only), presented


def _check_stream(request: Request) -> bool:
    """An event stream opens with what opens reads, or with a ticket (used up here) from `stream_ticket`."""
    allowed, _ = _check(request, READ)
    ticket = request.query_params.get("ticket")
    if ticket:
        return _dashboard(request).tickets.redeem(ticket) or allowed
    return allowed


def _invalid_target(request: Request) -> JSONResponse | None:
    """400 naming the field when the path's namespace or name cannot be a Kubernetes name."""
    params = request.path_params
    problem = check_namespace(str(params["namespace"]))
    if problem is not None:
        return _problem(400, problem, field="namespace", reason="BadRequest")
    if "name" in params:
        problem = check_name(str(params["name"]))
        if problem is not None:
            return _problem(400, problem, field="name", reason="BadRequest")
    return None


def describe_failure(error: Exception, namespace: str, name: str, verb: str) -> tuple[int, str]:
    """(HTTP status, a sentence) for a failed read or action."""
    if isinstance(error, ActionError):
        return _ERROR_STATUS.get(error.code or 0, 400 if error.code is None else 502), str(error)
    if isinstance(error, ApiError):
        kind = "Rollout" if name else "rollouts"
        return _ERROR_STATUS.get(error.code, 502), describe_api_error(error, kind, namespace, name or "*", verb)
    if isinstance(error, TimeoutError):
        return 504, f"the caches of namespace {namespace!r} did not fill in time; is the API server slow?"
    return 503, f"cannot reach the API server: {error or type(error).__name__}"


async def _watch_or_problem(request: Request, namespace: str) -> NamespaceWatch | JSONResponse:
    try:
        return await _dashboard(request).live.watch(namespace)
    except TooManyNamespaces as error:
        return _problem(503, str(error), reason="ServiceUnavailable")
    except (ApiError, httpx.TransportError, TimeoutError) as error:
        status, message = describe_failure(error, namespace, "", "list")
        return _problem(status, message)


async def get_config(request: Request) -> Response:
    """What the page needs before it asks anything else: the default namespace and the access mode."""
    board = _dashboard(request)
    allowed, _ = _check(request, READ)
    return JSONResponse(
        {
            "defaultNamespace": board.default_namespace,
            "insecureReadOnly": board.insecure_read_only,
            "authorized": is_allowed(
                ACTION,
                read_presented_token(request.headers),
                board.token,
                insecure_read_only=False,
            ),
            "canRead": allowed,
        }
    )


async def list_namespaces(request: Request) -> Response:
    allowed, _ = _check(request, READ)
    if not allowed:
        return _refused(READ)
    board = _dashboard(request)
    names = {board.default_namespace}
    try:
        listed = await board.client.list(NAMESPACES)
        names.update(str((ns.get("metadata") or {}).get("name")) for ns in listed.get("items") or [])
    except (ApiError, httpx.TransportError):
        pass  # Without permission to list namespaces the switcher offers the default one (and any typed in).
    return JSONResponse({"namespaces": sorted(names)})


async def list_rollouts(request: Request) -> Response:
    allowed, _ = _check(request, READ)
    if not allowed:
        return _refused(READ)
    invalid = _invalid_target(request)
    if invalid is not None:
        return invalid
    watch = await _watch_or_problem(request, request.path_params["namespace"])
    if isinstance(watch, JSONResponse):
        return watch
    return JSONResponse({"namespace": watch.namespace, "items": watch.list_items()})


async def get_rollout(request: Request) -> Response:
    allowed, _ = _check(request, READ)
    if not allowed:
        return _refused(READ)
    invalid = _invalid_target(request)
    if invalid is not None:
        return invalid
    namespace, name = request.path_params["namespace"], request.path_params["name"]
    watch = await _watch_or_problem(request, namespace)
    if isinstance(watch, JSONResponse):
        return watch
    detail = watch.rollout_detail(name)
    if detail is None:
        return _problem(404, f'Rollout "{name}" not found in namespace "{namespace}"', reason="NotFound")
    return JSONResponse(detail)


def _event(kind: str, data: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _stream(build: Callable[[], tuple[str, Any]], watch: NamespaceWatch) -> AsyncIterator[str]:
    """Send `build()` now and again after each change of the caches, when what it gives has changed; end when
    the watch stops (evicted or shut down: the page opens a new stream)."""
    sent: Any = None
    seen = -1
    with watch.following():
        while not watch.closed:
            version = watch.version
            if version != seen:
                seen = version
                kind, data = build()
                if (kind, data) != sent:
                    sent = (kind, data)
                    yield _event(kind, data)
            else:
                yield ": keep-alive\n\n"
            if await watch.wait_for_change(seen, _HEARTBEAT) != seen and not watch.closed:
                await asyncio.sleep(_COALESCE)


def _event_stream(events: AsyncIterator[str]) -> StreamingResponse:
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)


async def watch_rollouts(request: Request) -> Response:
    """Server-sent events: `rollouts` with the whole list, at once and after every change."""
    if not _check_stream(request):
        return _refused(READ)
    invalid = _invalid_target(request)
    if invalid is not None:
        return invalid
    watch = await _watch_or_problem(request, request.path_params["namespace"])
    if isinstance(watch, JSONResponse):
        return watch
    live = watch

    def build() -> tuple[str, Any]:
        return "rollouts", {"namespace": live.namespace, "items": live.list_items()}

    return _event_stream(_stream(build, live))


async def watch_rollout(request: Request) -> Response:
    """Server-sent events: `rollout` with the rollout page's JSON after every change, `deleted` when gone."""
    if not _check_stream(request):
        return _refused(READ)
    invalid = _invalid_target(request)
    if invalid is not None:
        return invalid
    namespace, name = request.path_params["namespace"], request.path_params["name"]
    watch = await _watch_or_problem(request, namespace)
    if isinstance(watch, JSONResponse):
        return watch
    live = watch

    def build() -> tuple[str, Any]:
        detail = live.rollout_detail(name)
        return ("deleted", {"name": name}) if detail is None else ("rollout", detail)

    return _event_stream(_stream(build, live))


class BodyTooLarge(Exception):
    """The request's body is longer than `MAX_BODY`."""


async def _read_capped(request: Request, limit: int = MAX_BODY) -> bytes:
    """The body, refused (`BodyTooLarge`) as soon as it says or proves to be longer than `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.strip().isdigit() or int(declared) > limit):
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_body(request: Request) -> dict[str, Any]:
    raw = await _read_capped(request)
    if not raw:
        return {}
    decoded = json.loads(raw)
    if not isinstance(decoded, dict):
        raise ValueError("the body must be a JSON object")
    return decoded


ActionCall = Callable[[KubeClient, str, str, dict[str, Any]], Awaitable[str]]


async def _promote(client: KubeClient, ns: str, name: str, body: dict[str, Any]) -> str:
    await actions.promote(client, ns, name, full=False)
    return f"rollout '{name}' promoted"


async def _promote_full(client: KubeClient, ns: str, name: str, body: dict[str, Any]) -> str:
    await actions.promote(client, ns, name, full=True)
    return f"rollout '{name}' fully promoted"


async def _abort(client: KubeClient, ns: str, name: str, body: dict[str, Any]) -> str:
    await actions.abort(client, ns, name)
    return f"rollout '{name}' aborted"


async def _retry(client: KubeClient, ns: str, name: str, body: dict[str, Any]) -> str:
    await actions.retry_rollout(client, ns, name)
    return f"rollout '{name}' retried"


async def _pause(client: KubeClient, ns: str, name: str, body: dict[str, Any]) -> str:
    await actions.pause(client, ns, name)
    return f"rollout '{name}' paused"


async def _restart(client: KubeClient, ns: str, name: str, body: dict[str, Any]) -> str:
    await actions.restart(client, ns, name)
    return f"rollout '{name}' restarts in 0s"


async def _undo(client: KubeClient, ns: str, name: str, body: dict[str, Any]) -> str:
    revision = body.get("revision", 0)
    if not isinstance(revision, int) or isinstance(revision, bool) or revision < 0:
        raise ActionError("revision must be 0 (the previous revision) or a revision number")
    result = await actions.undo(client, ns, name, to_revision=revision)
    if result.changed:
        return f"rollout '{name}' rolled back to revision {result.revision}"
    return f"skipped rollback (current template already matches revision {result.revision})"


async def _set_image(client: KubeClient, ns: str, name: str, body: dict[str, Any]) -> str:
    images = body.get("images")
    if not isinstance(images, dict) or not images:
        raise ActionError('send {"images": {"CONTAINER": "IMAGE"}} (the container may be "*")')
    wanted = {str(container): str(image).strip() for container, image in images.items()}
    if any(not image for image in wanted.values()):
        raise ActionError("the image must not be empty")
    updated = await actions.set_image(client, ns, name, wanted)
    return f'{updated.kind.lower()} "{updated.name}" image updated'


ACTIONS: dict[str, ActionCall] = {
    "promote": _promote,
    "promote-full": _promote_full,
    "abort": _abort,
    "retry": _retry,
    "pause": _pause,
    "restart": _restart,
    "undo": _undo,
    "set-image": _set_image,
}


async def run_action(request: Request) -> Response:
    """POST /namespaces/{namespace}/rollouts/{name}/{action}: do it, record it, answer in words."""
    board = _dashboard(request)
    namespace, name, verb = (request.path_params[k] for k in ("namespace", "name", "action"))
    allowed, presented = _check(request, ACTION)
    address = request.client.host if request.client else "unknown"
    who = describe_caller(address, presented, request.headers.get("x-ramp-user"))
    call = ACTIONS.get(verb)
    if call is None:
        return _problem(404, f"unknown action {verb[:40]!r}; known: {', '.join(ACTIONS)}")
    detail = ""

    def record(outcome: str) -> None:
        board.audit.record(AuditRecord(datetime.now(UTC), who, verb, namespace, name, detail, outcome))

    if not allowed:
        # The body of a refused request is never read, so nothing of it is kept.
        record("refused: no valid token")
        return _refused(ACTION)
    invalid = _invalid_target(request)
    if invalid is not None:
        record("refused: invalid namespace or name")
        return invalid
    try:
        body = await _read_body(request)
    except BodyTooLarge:
        record(f"refused: body larger than {MAX_BODY} bytes")
        return _problem(413, f"the request body is larger than {MAX_BODY} bytes", reason="RequestEntityTooLarge")
    except ValueError as error:
        record("refused: body not valid JSON")
        return _problem(400, f"the request body is not valid JSON: {error}")
    detail = json.dumps(body, sort_keys=True) if body else ""
    try:
        message = await call(board.client, namespace, name, body)
    except (ActionError, ApiError, httpx.TransportError) as error:
        status, text = describe_failure(error, namespace, name, "patch")
        record(f"failed: {text}")
        return _problem(status, text)
    record("ok")
    return JSONResponse({"ok": True, "message": message})


async def stream_ticket(request: Request) -> Response:
    """POST /stream-ticket: a single-use ticket, valid for a few seconds, that opens one event stream."""
    allowed, _ = _check(request, READ)
    if not allowed:
        return _refused(READ)
    tickets = _dashboard(request).tickets
    return JSONResponse(
        {"ticket": tickets.issue(), "expiresIn": tickets.lifetime}, headers={"Cache-Control": "no-store"}
    )


async def list_audit(request: Request) -> Response:
    allowed, _ = _check(request, ACTION)
    if not allowed:
        return _refused(ACTION)
    return JSONResponse({"items": [r.to_json() for r in _dashboard(request).audit.newest()]})


ROUTES = [
    Route("/api/v1/config", get_config, methods=["GET"]),
    Route("/api/v1/namespaces", list_namespaces, methods=["GET"]),
    Route("/api/v1/namespaces/{namespace}/rollouts", list_rollouts, methods=["GET"]),
    Route("/api/v1/namespaces/{namespace}/rollouts/watch", watch_rollouts, methods=["GET"]),
    Route("/api/v1/namespaces/{namespace}/rollouts/{name}", get_rollout, methods=["GET"]),
    Route("/api/v1/namespaces/{namespace}/rollouts/{name}/watch", watch_rollout, methods=["GET"]),
    Route("/api/v1/namespaces/{namespace}/rollouts/{name}/{action}", run_action, methods=["POST"]),
    Route("/api/v1/stream-ticket", stream_ticket, methods=["POST"]),
    Route("/api/v1/audit", list_audit, methods=["GET"]),
]
