"""Ramp's own thin async Kubernetes client over httpx: raw JSON dicts in, raw JSON dicts out.

Verbs: list, get, create, update (PUT), patch (merge, json, strategic, apply), delete, and `watch` as an async
iterator of raw watch events. Addresses come from `kube.resources.Resource`; settings from
`kube.config.ClusterConfig`. Every request first waits on a client-side rate limiter (`--qps`/`--burst`) and
is then counted in `controller_clientset_k8s_request_total` (labels as upstream's request-metrics wrapper).
Upstream's controller builds a Kubernetes client, an Argo client and a dynamic client from one config, each
with its own `--qps`/`--burst` token bucket; the client pools the three into one bucket of the same total
(`POOLED_CLIENTS` times `--qps` and `--burst`), which every kind spends.
`with_own_limiter` gives a caller (leader election, the event recorder) the same connections but a limiter of
its own, so its requests never queue behind a burst of reconcile traffic, nor reconcile traffic behind them.
Non-2xx answers raise `kube.errors.ApiError`; connection failures raise httpx's `TransportError`.

No model validation happens here: callers that want typed objects parse them with `ramp.api` themselves.
"""

from __future__ import annotations

import copy
import json
import urllib.parse
from collections.abc import AsyncGenerator, Mapping
from typing import Any, Literal

import httpx
import orjson

from ramp import __version__
from ramp.kube.config import BearerAuth, ClusterConfig, TokenFileAuth
from ramp.kube.errors import ApiError
from ramp.kube.metrics import K8S_REQUESTS, NAMED_REQUEST_KINDS
from ramp.kube.ratelimit import ClientRateLimiter
from ramp.kube.resources import Resource
from ramp.kube.transport import AiohttpTransport, proxied

JSON = dict[str, Any]
PatchType = Literal["merge", "json", "strategic", "apply"]

PATCH_CONTENT_TYPES: Mapping[str, str] = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}

DEFAULT_FIELD_MANAGER = "argo-rollouts"
DEFAULT_TIMEOUT = 30.0
# Asked for bookmarks, the API server sends one on every watch about once a minute even when nothing
# changes, so two minutes without a single byte means the connection is dead (a peer gone without a FIN,
# a NAT entry dropped). Waiting for the server-side `timeoutSeconds` (5-10 min) instead would leave the
# caches silently stale that long.
WATCH_IDLE_TIMEOUT = 120.0
# Without bookmarks a healthy watch may be silent until the server ends it; allow that plus a margin.
_WATCH_READ_MARGIN = 30.0
# Each informer holds one connection open for its watch; leave room for them and the workers.
_MAX_CONNECTIONS = 200
# The status label when no HTTP answer arrived (upstream's wrapper reports the zero status code).
_NO_STATUS = "0"
# orjson builds a whole document of its own before it makes the Python objects: for a list of thousands of objects
# (a cache's first list) that is several times the answer's size at once, on top of the result (about 12 MiB more
# peak memory for 5,000 Rollouts). The standard library's decoder makes the objects as it reads, in about the same
# time for answers this large; the many small answers and watch events keep orjson's speed.
LARGE_ANSWER = 1 << 20

# Upstream's controller builds three clients from one config (Kubernetes, Argo, dynamic), each with a token
# bucket of `--qps`/`--burst`. Ramp pools them: one bucket three times that size, the same total, from which a
# wave of Rollout status writes may spend what ReplicaSet writes leave, and the other way round.
POOLED_CLIENTS = 3


class KubeClient:
    """An async Kubernetes API client for raw objects. Use as `async with KubeClient(config) as client:`."""

    def __init__(
        self,
        config: ClusterConfig,
        *,
        qps: float = 40.0,
        burst: int = 80,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        field_manager: str = DEFAULT_FIELD_MANAGER,
    ) -> None:
        self.config = config
        self.field_manager = field_manager
        self._qps, self._burst = qps, burst
        self._limiter = ClientRateLimiter(qps * POOLED_CLIENTS, burst * POOLED_CLIENTS)
        self._owns_http = True
        limit: float | None = timeout
        if config.request_timeout is not None:
            # `--request-timeout` (kubectl's flag): 0 means no limit. Watches keep their own read timeout.
            limit = config.request_timeout or None
        self._timeout = limit
        self._extensions = {"sni_hostname": config.tls_server_name} if config.tls_server_name else {}
        # A test transport brings its own TLS (none); building a context would only read system CAs.
        tls = config.ssl_context() if transport is None else None
        auth = config.auth(tls)
        # Requests go straight to aiohttp's pool when Ramp can add the credentials itself (none, a client
        # certificate, a fixed token or a token file): about half the CPU of the same request through httpx.
        self._direct: AiohttpTransport | None = None
        self._header_auth = auth if isinstance(auth, (BearerAuth, TokenFileAuth)) else None
        if transport is None and not config.proxy_url and not proxied(config.server):
            # aiohttp's pool under httpx: a tenth of httpcore's CPU per request (see `kube.transport`).
            transport = AiohttpTransport(tls, max_connections=_MAX_CONNECTIONS)
            if auth is None or self._header_auth is not None:
                self._direct = transport
        self._server = config.server.rstrip("/")
        self._sni = config.tls_server_name
        defaults = _default_headers(config)
        self._headers = defaults.multi_items()
        if not config.disable_compression:
            self._headers.append(("Accept-Encoding", "gzip"))
        self._http = httpx.AsyncClient(
            base_url=config.server,
            verify=tls if tls is not None else True,
            auth=auth,
            proxy=config.proxy_url if transport is None else None,
            headers=defaults,
            timeout=limit,
            transport=transport,
            limits=httpx.Limits(max_connections=_MAX_CONNECTIONS, max_keepalive_connections=50),
        )

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections; a no-op on a `with_own_limiter` view (its parent owns them)."""
        if self._owns_http:
            await self._http.aclose()

    @property
    def budget(self) -> tuple[float, int]:
        """The `(qps, burst)` this client was given (`--qps`, `--burst`: one of upstream's clients); its pooled
        bucket is `POOLED_CLIENTS` times that. `with_own_limiter(*client.budget)` is one more of upstream's size."""
        return self._qps, self._burst

    def with_own_limiter(self, qps: float = 0.0, burst: int = 0) -> KubeClient:
        """This client's connections and settings, paced by a limiter of its own (qps <= 0: none).

        Leader election uses it: a renewal that waited behind reconcile requests on the shared limiter could
        miss the renew deadline and cost the Lease, although the API server itself was answering.
        """
        view = copy.copy(self)
        view._limiter = ClientRateLimiter(qps, burst)
        view._qps, view._burst = qps, burst
        view._owns_http = False
        return view

    async def list(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
        resource_version: str | None = None,
    ) -> JSON:
        """One page of a collection (all namespaces when `namespace` is None): the raw `<Kind>List` object."""
        params = _params(
            labelSelector=label_selector,
            fieldSelector=field_selector,
            limit=str(limit) if limit else None,
            resourceVersion=resource_version,
            **{"continue": continue_token},
        )
        return await self._request("List", "GET", resource, namespace, None, params=params)

    async def get(
        self, resource: Resource, name: str, namespace: str | None = None, *, subresource: str | None = None
    ) -> JSON:
        return await self._request("Get", "GET", resource, namespace, name, subresource=subresource)

    async def create(
        self,
        resource: Resource,
        body: Mapping[str, Any],
        namespace: str | None = None,
        *,
        name: str | None = None,
        subresource: str | None = None,
    ) -> JSON:
        """POST a new object (its namespace defaults to `metadata.namespace` of the body), or with `name` and
        `subresource` POST to an object's subresource, such as a pod's `eviction`."""
        namespace = namespace or _meta(body).get("namespace")
        return await self._request(
            "Create",
            "POST",
            resource,
            namespace,
            name,
            subresource=subresource,
            body=body,
            metric_name=name or _meta(body).get("name", ""),
        )

    async def update(
        self,
        resource: Resource,
        body: Mapping[str, Any],
        namespace: str | None = None,
        *,
        subresource: str | None = None,
    ) -> JSON:
        """PUT the whole object; `metadata.resourceVersion` in the body makes it a compare-and-swap."""
        meta = _meta(body)
        return await self._request(
            "Update",
            "PUT",
            resource,
            namespace or meta.get("namespace"),
            str(meta.get("name", "")),
            subresource=subresource,
            body=body,
        )

    async def patch(
        self,
        resource: Resource,
        name: str,
        patch: Any,
        namespace: str | None = None,
        *,
        patch_type: PatchType = "merge",
        subresource: str | None = None,
        field_manager: str | None = None,
        force: bool = False,
    ) -> JSON:
        """PATCH an object. `apply` is server-side apply (`force` takes over conflicting fields)."""
        params = _params(fieldManager=field_manager or (self.field_manager if patch_type == "apply" else None))
        if force:
            params["force"] = "true"
        return await self._request(
            "Patch",
            "PATCH",
            resource,
            namespace,
            name,
            subresource=subresource,
            body=patch,
            params=params,
            content_type=PATCH_CONTENT_TYPES[patch_type],
        )

    async def delete(
        self,
        resource: Resource,
        name: str,
        namespace: str | None = None,
        *,
        propagation_policy: Literal["Foreground", "Background", "Orphan"] | None = None,
    ) -> JSON:
        body = {"propagationPolicy": propagation_policy} if propagation_policy else None
        return await self._request("Delete", "DELETE", resource, namespace, name, body=body)

    async def watch(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int = 300,
        allow_bookmarks: bool = True,
    ) -> AsyncGenerator[JSON, None]:
        """Raw watch events (`{"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": {...}}`) until the
        server ends the stream. A 410 at the start raises `ApiError` (is_gone); later it is an ERROR event.
        With bookmarks, a stream silent for `WATCH_IDLE_TIMEOUT` raises `httpx.ReadTimeout` (it is dead).

        Close it (`contextlib.aclosing`) when stopping early, so the connection is released at once.
        """
        params = _params(
            watch="true",
            resourceVersion=resource_version,
            labelSelector=label_selector,
            fieldSelector=field_selector,
            timeoutSeconds=str(timeout_seconds),
            allowWatchBookmarks="true" if allow_bookmarks else None,
        )
        await self._limiter.acquire()
        request = self._http.build_request(
            "GET",
            resource.path(namespace),
            params=params,
            timeout=httpx.Timeout(self._timeout, read=_watch_read_timeout(timeout_seconds, allow_bookmarks)),
            extensions=self._extensions,
        )
        labels = (resource.plural, namespace or "", "N/A", "Watch")
        try:
            response = await self._http.send(request, stream=True)
        except httpx.HTTPError:
            K8S_REQUESTS.inc(*labels, _NO_STATUS)
            raise
        K8S_REQUESTS.inc(*labels, str(response.status_code))
        try:
            if response.status_code != 200:
                raise ApiError.from_response(response.status_code, await response.aread())
            # One JSON document per line; orjson parses the bytes as they come (no decode to str first).
            pending = b""
            async for chunk in response.aiter_bytes():
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    if line.strip():
                        event = orjson.loads(line)
                        if isinstance(event, dict):
                            yield event
            if pending.strip():
                event = orjson.loads(pending)
                if isinstance(event, dict):
                    yield event
        finally:
            await response.aclose()

    async def _request(
        self,
        verb: str,
        method: str,
        resource: Resource,
        namespace: str | None,
        name: str | None,
        *,
        subresource: str | None = None,
        params: dict[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        metric_name: str | None = None,
    ) -> JSON:
        path = resource.path(namespace, name, subresource)
        # Only the kinds whose series are dropped on delete carry a name (see `kube.metrics`): bounded series.
        named = verb != "List" and resource.plural in NAMED_REQUEST_KINDS
        shown_name = (metric_name or name or "") if named else "N/A"
        labels = (resource.plural, namespace or "", shown_name, verb)
        content = None
        headers = {}
        if body is not None:
            content = orjson.dumps(body)
            headers["Content-Type"] = content_type
        await self._limiter.acquire()
        try:
            if self._direct is not None:
                status, answer = await self._send_direct(method, path, params, content, content_type)
            else:
                response = await self._http.request(
                    method, path, params=params, content=content, headers=headers, extensions=self._extensions
                )
                status, answer = response.status_code, response.content
        except httpx.HTTPError:
            K8S_REQUESTS.inc(*labels, _NO_STATUS)
            raise
        K8S_REQUESTS.inc(*labels, str(status))
        if status >= 400:
            raise ApiError.from_response(status, answer)
        if not answer:
            return {}
        decoded = json.loads(answer) if len(answer) > LARGE_ANSWER else orjson.loads(answer)
        return decoded if isinstance(decoded, dict) else {"items": decoded}

    async def _send_direct(
        self, method: str, path: str, params: dict[str, str] | None, content: bytes | None, content_type: str
    ) -> tuple[int, bytes]:
        """The request over aiohttp with this client's headers and credentials; a 401 is sent once more when the
        credentials changed (a rotated token file), as the httpx auth flow does."""
        assert self._direct is not None
        url = self._server + path + ("?" + urllib.parse.urlencode(params) if params else "")
        headers = list(self._headers)
        if content is not None:
            headers.append(("Content-Type", content_type))
        sent = self._header_auth.authorization() if self._header_auth is not None else None
        if sent is not None:
            headers.append(("Authorization", sent))
        status, answer = await self._direct.send(method, url, headers, content, self._timeout, self._sni)
        if status == 401 and sent is not None and self._header_auth is not None:
            again = self._header_auth.after_unauthorized(sent)
            if again is not None:
                headers[-1] = ("Authorization", again)
                status, answer = await self._direct.send(method, url, headers, content, self._timeout, self._sni)
        return status, answer


def _default_headers(config: ClusterConfig) -> httpx.Headers:
    """User agent, JSON, and the `Impersonate-*` headers of `--as`/`--as-group`/`--as-uid` (one header per group)."""
    items = [("User-Agent", f"ramp/{__version__}"), ("Accept", "application/json")]
    items += list(config.impersonation_headers().items())
    items += [("Impersonate-Group", group) for group in config.impersonate_groups]
    if config.disable_compression:
        items.append(("Accept-Encoding", "identity"))
    return httpx.Headers(items)


def _watch_read_timeout(timeout_seconds: int, allow_bookmarks: bool) -> float:
    """The longest silence between chunks of a watch before the connection counts as dead."""
    if allow_bookmarks:
        return min(WATCH_IDLE_TIMEOUT, timeout_seconds + _WATCH_READ_MARGIN)
    return timeout_seconds + _WATCH_READ_MARGIN


def _params(**values: str | None) -> dict[str, str]:
    return {k: v for k, v in values.items() if v}


def _meta(body: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = body.get("metadata")
    return meta if isinstance(meta, Mapping) else {}
