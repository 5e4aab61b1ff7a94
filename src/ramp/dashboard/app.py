"""The dashboard's web application: the JSON API (`ramp.dashboard.api`), its OpenAPI document, and the page
(plain HTML, CSS and ES modules from `static/`, shipped in the package: nothing is fetched from the internet).

`create_app` builds the Starlette app around a `Dashboard`; the lifespan opens the Kubernetes client and stops
the informers on shutdown. Requests naming another host than the allowed ones (`default_allowed_hosts`: the
bind address and localhost, plus `--allowed-host`) are refused, which keeps DNS-rebinding pages out.
`ramp.cli.dashboard` serves it with uvicorn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ramp.dashboard.api import ROUTES, Dashboard
from ramp.dashboard.auth import check_token
from ramp.dashboard.live import IDLE_AFTER, MAX_WATCHES, LiveState
from ramp.dashboard.openapi import build_openapi
from ramp.kube.client import KubeClient

STATIC = Path(__file__).parent / "static"
# The page is small and changes with the package; revalidating each time costs little on localhost.
_NO_STORE = {"Cache-Control": "no-cache"}
_SECURITY_HEADERS = {
    # Inline styles only for widths set from script (the weight bars); scripts strictly from the package.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={**_NO_STORE, **_SECURITY_HEADERS})


async def openapi(request: Request) -> Response:
    return JSONResponse(build_openapi())


def default_allowed_hosts(address: str, extra: Sequence[str] = ()) -> list[str]:
    """The Host names a dashboard bound to `address` answers: that address, localhost, and `extra`."""
    hosts = [address, "localhost", "127.0.0.1", "[::1]"]
    if ":" in address:
        hosts.append(f"[{address.strip('[]')}]")
    hosts.extend(host.strip().lower() for host in extra if host.strip())
    return list(dict.fromkeys(host.lower() for host in hosts))


def create_app(
    client_factory: Callable[[], KubeClient],
    *,
    token: str,
    default_namespace: str,
    insecure_read_only: bool = False,
    allowed_hosts: Sequence[str] = ("127.0.0.1", "localhost", "[::1]"),
    max_watches: int = MAX_WATCHES,
    idle_after: float = IDLE_AFTER,
) -> Starlette:
    """The app; `client_factory` is called once at startup (the client is closed at shutdown)."""
    problem = check_token(token)
    if problem is not None:
        raise ValueError(problem)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        client = client_factory()
        live = LiveState(client, max_watches=max_watches, idle_after=idle_after)
        app.state.dashboard = Dashboard(client, live, token, default_namespace, insecure_read_only)
        try:
            yield
        finally:
            await live.stop()
            await client.aclose()

    routes = [
        Route("/", index),
        Route("/api/v1/openapi.json", openapi),
        *ROUTES,
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    hosts = Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts), www_redirect=False)
    return Starlette(routes=routes, lifespan=lifespan, middleware=[hosts])
