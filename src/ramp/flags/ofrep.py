"""The OFREP 0.3.0 server (OpenFeature Remote Evaluation Protocol) over a FlagStore: no API call per evaluation.

Endpoints: `POST /ofrep/v1/evaluate/flags/{key}` (one flag), `POST /ofrep/v1/evaluate/flags` (all flags, with an
ETag over the flag set's version and the context; `If-None-Match` -> 304), `GET /ofrep/v1/events` (server-sent
events: `data: {"type": "refetchEvaluation", "etag": ...}` whenever the flag set changes), `GET /healthz`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ramp.flags.evaluator import ErrorCode, Resolution, not_found, resolve
from ramp.flags.store import FlagSet, FlagStore

log = logging.getLogger("ramp.flags.ofrep")

MAX_BODY_BYTES = 64 * 1024
EVENTS_PATH = "/ofrep/v1/events"
HEARTBEAT_SECONDS = 15.0

_STATUS = {ErrorCode.FLAG_NOT_FOUND: 404}


class _BadRequest(Exception):
    def __init__(self, code: ErrorCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


class Subscribers:
    """Event-stream listeners: each gets the flag set's new version when it changes."""

    def __init__(self) -> None:
        self._queues: set[asyncio.Queue[str]] = set()

    def add(self) -> asyncio.Queue[str]:
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
        self._queues.add(queue)
        return queue

    def remove(self, queue: asyncio.Queue[str]) -> None:
        self._queues.discard(queue)

    def publish(self, version: str) -> None:
        for queue in list(self._queues):
            if queue.full():
                queue.get_nowait()  # one pending refetch is as good as many
            queue.put_nowait(version)

    def __len__(self) -> int:
        return len(self._queues)


def success_body(key: str, resolution: Resolution) -> dict[str, Any]:
    """A 200 evaluation: `variant` always present (clients read it unconditionally); no `value` -> code default."""
    body: dict[str, Any] = {"key": key, "reason": str(resolution.reason), "variant": resolution.variant}
    if resolution.has_value:
        body["value"] = resolution.value
    if resolution.metadata:
        body["metadata"] = dict(resolution.metadata)
    return body


def failure_body(key: str, resolution: Resolution) -> dict[str, Any]:
    return {"key": key, "errorCode": str(resolution.error_code), "errorDetails": resolution.error_details or ""}


def context_hash(context: Mapping[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(context, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def etag_for(flag_set: FlagSet, context: Mapping[str, Any]) -> str:
    return f'"{flag_set.version}-{context_hash(context)}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = [part.strip().removeprefix("W/") for part in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


def _parse_context(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise _BadRequest(ErrorCode.PARSE_ERROR, f"request body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise _BadRequest(ErrorCode.PARSE_ERROR, 'request body must be an object {"context": {...}}')
    context = body.get("context", {})
    if context is None:
        context = {}
    if not isinstance(context, dict):
        raise _BadRequest(ErrorCode.INVALID_CONTEXT, "context must be an object of attributes")
    if "targetingKey" in context:
        key = context["targetingKey"]
        if not isinstance(key, str):
            raise _BadRequest(ErrorCode.INVALID_CONTEXT, "context.targetingKey must be a string")
        if not key:
            raise _BadRequest(ErrorCode.TARGETING_KEY_MISSING, "context.targetingKey is empty: send a user id")
    return context


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _BadRequest(ErrorCode.PARSE_ERROR, f"request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BadRequest(ErrorCode.PARSE_ERROR, f"request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class Auth:
    """Bearer or X-API-Key tokens, compared in constant time; no tokens configured means open."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self.tokens = tuple(token.encode() for token in tokens if token)

    def check(self, request: Request) -> Response | None:
        if not self.tokens:
            return None
        presented = request.headers.get("x-api-key")
        authorization = request.headers.get("authorization", "")
        if presented is None and authorization[:7].lower() == "bearer ":
            presented = authorization[7:].strip()
        if not presented:
            return _json(
                {"errorDetails": "credentials required: Authorization: Bearer <token> or X-API-Key"},
                401,
                {"WWW-Authenticate": "Bearer"},
            )
        candidate = presented.encode()
        matched = False
        for token in self.tokens:
            matched |= hmac.compare_digest(candidate, token)
        if not matched:
            return _json({"errorDetails": "the token presented is not accepted by this server"}, 403)
        return None


def build_app(
    store: FlagStore,
    *,
    tokens: Iterable[str] = (),
    max_body_bytes: int = MAX_BODY_BYTES,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The OFREP app over `store`."""
    auth = Auth(tokens)
    subscribers = Subscribers()

    def evaluate(flag_set: FlagSet, key: str, context: Mapping[str, Any], now: int) -> Resolution:
        definition = flag_set.flags.get(key)
        if definition is None:
            return not_found(key)
        return resolve(key, definition, context, evaluators=flag_set.evaluators, timestamp=now)

    async def single(request: Request) -> Response:
        key = request.path_params["key"]
        denied = auth.check(request)
        if denied is not None:
            return denied
        try:
            context = _parse_context(await _read_body(request, max_body_bytes))
        except _BadRequest as bad:
            return _json({"key": key, "errorCode": str(bad.code), "errorDetails": bad.details}, 400)
        resolution = evaluate(store.snapshot(), key, context, int(clock()))
        if resolution.error_code is not None:
            return _json(failure_body(key, resolution), _STATUS.get(resolution.error_code, 400))
        return _json(success_body(key, resolution))

    async def bulk(request: Request) -> Response:
        denied = auth.check(request)
        if denied is not None:
            return denied
        try:
            context = _parse_context(await _read_body(request, max_body_bytes))
        except _BadRequest as bad:
            return _json({"errorCode": str(bad.code), "errorDetails": bad.details}, 400)
        flag_set = store.snapshot()
        etag = etag_for(flag_set, context)
        if etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers={"ETag": etag})
        now = int(clock())
        items: list[dict[str, Any]] = []
        for key in sorted(flag_set.flags):
            resolution = evaluate(flag_set, key, context, now)
            items.append(
                failure_body(key, resolution) if resolution.error_code is not None else success_body(key, resolution)
            )
        body = {
            "flags": items,
            "metadata": {"version": flag_set.version},
            "eventStreams": [{"type": "sse", "endpoint": {"requestUri": EVENTS_PATH}}],
        }
        return _json(body, headers={"ETag": etag})

    async def events(request: Request) -> Response:
        denied = auth.check(request)
        if denied is not None:
            return denied
        queue = subscribers.add()

        async def stream() -> AsyncIterator[bytes]:
            try:
                yield b": connected\n\n"
                while True:
                    try:
                        version = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                    except TimeoutError:
                        yield b": heartbeat\n\n"
                        continue
                    event = orjson.dumps({"type": "refetchEvaluation", "etag": version})
                    yield b"data: " + event + b"\n\n"
            finally:
                subscribers.remove(queue)

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        )

    async def healthz(_request: Request) -> Response:
        return _json({"status": "ok", "version": store.snapshot().version})

    async def watch() -> None:
        while True:
            try:
                await store.changed()
            except Exception:
                # The store keeps serving its last set; keep following it rather than go deaf to changes.
                log.exception("FlagStoreWatchFailed: waiting for the next flag set failed; retrying in 1 s")
                await asyncio.sleep(1)
                continue
            subscribers.publish(store.snapshot().version)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(watch(), name="ramp-flags-watch")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def internal_error(_request: Request, error: Exception) -> Response:
        log.exception("evaluation failed", exc_info=error)
        return _json({"errorDetails": f"internal error: {type(error).__name__}"}, 500)

    if not auth.tokens:
        log.warning("no auth tokens configured: the OFREP endpoints are open to anyone who can reach them")
    app = Starlette(
        routes=[
            Route("/ofrep/v1/evaluate/flags/{key:path}", single, methods=["POST"]),
            Route("/ofrep/v1/evaluate/flags", bulk, methods=["POST"]),
            Route(EVENTS_PATH, events, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
        exception_handlers={Exception: internal_error},
    )
    app.state.subscribers = subscribers
    return app
