"""The OFREP 0.3.0 server (OpenFeature Remote Evaluation Protocol) over a FlagStore: no API call per evaluation.

Endpoints: `POST /ofrep/v1/evaluate/flags/{key}` (one flag), `POST /ofrep/v1/evaluate/flags` (all flags, with an
ETag over the flag set's version and the context; `If-None-Match` -> 304), `GET /ofrep/v1/events` (server-sent
events: `data: {"type": "refetchEvaluation", "etag": ...}` whenever the flag set changes), `GET /healthz`.

The two evaluation endpoints are the hot path: they are answered straight from ASGI (no middleware stack, no
Request object per call), and a 200's body comes from a per-flag-set table of bytes keyed by (flag, variant,
reason), built once per flag set, so an evaluation serializes nothing. Everything else goes through Starlette.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ramp.flags.evaluator import ErrorCode, Reason, Resolution, not_found, resolve
from ramp.flags.store import FlagSet, FlagStore

log = logging.getLogger("ramp.flags.ofrep")

MAX_BODY_BYTES = 64 * 1024
EVALUATE_PATH = "/ofrep/v1/evaluate/flags"
EVENTS_PATH = "/ofrep/v1/events"
HEARTBEAT_SECONDS = 15.0

_STATUS = {ErrorCode.FLAG_NOT_FOUND: 404}


class _BadRequest(Exception):
    def __init__(self, code: ErrorCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


class _Disconnected(Exception):
    """The client went away before its request body arrived."""


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


class CompiledFlagSet:
    """What one flag set answers regardless of the context, worked out once per set rather than per request.

    Flags without targeting (or DISABLED) resolve to the same thing for everyone: resolved here, once. A 200's
    body depends only on (flag, variant, reason) (the value and metadata are the definition's): each is
    serialized the first time it is served and reused after, so the table holds at most flags x variants x
    reasons entries and is dropped with its set.
    """

    def __init__(self, flag_set: FlagSet) -> None:
        self.flag_set = flag_set
        self.keys = sorted(flag_set.flags)
        self.static: dict[str, Resolution] = {}
        for key, definition in flag_set.flags.items():
            if definition.get("state") == "DISABLED" or not definition.get("targeting"):
                self.static[key] = resolve(key, definition, {}, evaluators=flag_set.evaluators, timestamp=0)
        self._bodies: dict[tuple[str, str | None, Reason], bytes] = {}
        self.bulk_tail = orjson.dumps(
            {
                "metadata": {"version": flag_set.version},
                "eventStreams": [{"type": "sse", "endpoint": {"requestUri": EVENTS_PATH}}],
            }
        )[1:]  # `"metadata":...}`: follows the flags list in the bulk body

    def resolve(self, key: str, context: Mapping[str, Any], now: int) -> Resolution:
        static = self.static.get(key)
        if static is not None:
            return static
        definition = self.flag_set.flags.get(key)
        if definition is None:
            return not_found(key)
        return resolve(key, definition, context, evaluators=self.flag_set.evaluators, timestamp=now)

    def answer(self, key: str, resolution: Resolution) -> bytes:
        """The JSON of one flag's evaluation (a single evaluation's body, one item of a bulk one)."""
        if resolution.error_code is not None:
            return orjson.dumps(failure_body(key, resolution))
        cache_key = (key, resolution.variant, resolution.reason)
        body = self._bodies.get(cache_key)
        if body is None:
            body = self._bodies[cache_key] = orjson.dumps(success_body(key, resolution))
        return body


class Auth:
    """Bearer or X-API-Key tokens, compared in constant time; no tokens configured means open."""

    def __init__(self, tokens: Iterable[str]) -> None:
        self.tokens = tuple(token.encode() for token in tokens if token)

    def refusal(self, api_key: bytes | None, authorization: bytes | None) -> tuple[int, Any, dict[str, str]] | None:
        """None when the request may pass, else (status, body, headers) of the 401 or 403."""
        if not self.tokens:
            return None
        presented = api_key
        if presented is None and authorization is not None and authorization[:7].lower() == b"bearer ":
            presented = authorization[7:].strip()
        if not presented:
            return (
                401,
                {"errorDetails": "credentials required: Authorization: Bearer <token> or X-API-Key"},
                {"WWW-Authenticate": "Bearer"},
            )
        matched = False
        for token in self.tokens:
            matched |= hmac.compare_digest(presented, token)
        if not matched:
            return 403, {"errorDetails": "the token presented is not accepted by this server"}, {}
        return None

    def check(self, request: Request) -> Response | None:
        api_key = request.headers.get("x-api-key")
        authorization = request.headers.get("authorization")
        refused = self.refusal(
            None if api_key is None else api_key.encode("latin-1"),
            None if authorization is None else authorization.encode("latin-1"),
        )
        return None if refused is None else _json(refused[1], refused[0], refused[2])


_JSON_TYPE = (b"content-type", b"application/json")
Answer = tuple[int, bytes, Sequence[tuple[bytes, bytes]]]


class Evaluations:
    """The ASGI app of `POST /ofrep/v1/evaluate/flags[/{key}]`: one flag or all of them."""

    def __init__(self, store: FlagStore, auth: Auth, max_body_bytes: int, clock: Callable[[], float]) -> None:
        self.store = store
        self.auth = auth
        self.max_body_bytes = max_body_bytes
        self.clock = clock
        self._compiled: CompiledFlagSet | None = None

    def compiled(self) -> CompiledFlagSet:
        """The current flag set's CompiledFlagSet, rebuilt only when the store hands out a new set."""
        flag_set = self.store.snapshot()
        compiled = self._compiled
        if compiled is None or compiled.flag_set is not flag_set:
            compiled = self._compiled = CompiledFlagSet(flag_set)
        return compiled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            status, body, headers = await self._answer(scope, receive)
        except _Disconnected:
            return
        except Exception as error:
            log.exception("evaluation failed", exc_info=error)
            status, body, headers = 500, orjson.dumps({"errorDetails": f"internal error: {type(error).__name__}"}), ()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [_JSON_TYPE, (b"content-length", b"%d" % len(body)), *headers],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: Scope, receive: Receive) -> Answer:
        declared = api_key = authorization = if_none_match = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"authorization":
                authorization = value
            elif name == b"x-api-key":
                api_key = value
            elif name == b"if-none-match":
                if_none_match = value
        key = scope["path"][len(EVALUATE_PATH) + 1 :] if len(scope["path"]) > len(EVALUATE_PATH) else None
        refused = self.auth.refusal(api_key, authorization)
        if refused is not None:
            status, body, extra = refused
            return status, orjson.dumps(body), [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        try:
            context = _parse_context(await self._read_body(receive, declared))
        except _BadRequest as bad:
            failure = {"errorCode": str(bad.code), "errorDetails": bad.details}
            return 400, orjson.dumps(failure if key is None else {"key": key, **failure}), ()
        compiled = self.compiled()
        now = int(self.clock())
        if key is not None:
            resolution = compiled.resolve(key, context, now)
            status = 200 if resolution.error_code is None else _STATUS.get(resolution.error_code, 400)
            return status, compiled.answer(key, resolution), ()
        etag = etag_for(compiled.flag_set, context)
        etag_header = [(b"etag", etag.encode())]
        if etag_matches(None if if_none_match is None else if_none_match.decode("latin-1"), etag):
            return 304, b"", etag_header
        items = b",".join(compiled.answer(k, compiled.resolve(k, context, now)) for k in compiled.keys)
        return 200, b'{"flags":[' + items + b"]," + compiled.bulk_tail, etag_header

    async def _read_body(self, receive: Receive, declared: bytes | None) -> bytes:
        limit = self.max_body_bytes
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _BadRequest(ErrorCode.PARSE_ERROR, f"request body is larger than {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _BadRequest(ErrorCode.PARSE_ERROR, f"request body is larger than {limit} bytes")
            if not message.get("more_body", False):
                if not chunks:
                    return chunk
                chunks.append(chunk)
                return b"".join(chunks)
            chunks.append(chunk)


class OfrepApp(Starlette):
    """Starlette for the event stream, health and every error path; the evaluation POSTs skip its middleware."""

    def __init__(self, evaluations: Evaluations, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.evaluations = evaluations

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            if path.startswith(EVALUATE_PATH) and (len(path) == len(EVALUATE_PATH) or path[len(EVALUATE_PATH)] == "/"):
                await self.evaluations(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def build_app(
    store: FlagStore,
    *,
    tokens: Iterable[str] = (),
    max_body_bytes: int = MAX_BODY_BYTES,
    clock: Callable[[], float] = time.time,
) -> OfrepApp:
    """The OFREP app over `store`."""
    auth = Auth(tokens)
    subscribers = Subscribers()
    evaluations = Evaluations(store, auth, max_body_bytes, clock)

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
    app = OfrepApp(
        evaluations,
        routes=[
            # POSTs never reach these routes (OfrepApp answers them first): they give other methods their 405.
            Route(f"{EVALUATE_PATH}/{{key:path}}", evaluations, methods=["POST"]),
            Route(EVALUATE_PATH, evaluations, methods=["POST"]),
            Route(EVENTS_PATH, events, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
        exception_handlers={Exception: internal_error},
    )
    app.state.subscribers = subscribers
    return app
