"""The dashboard's web application: the JSON API (`ramp.dashboard.api`), its OpenAPI document, and the page
(plain HTML, CSS and ES modules from `static/`, shipped in the package: nothing is fetched from the internet).

`create_app` builds the Starlette app around a `Dashboard`; the lifespan opens the Kubernetes client and stops
the informers on shutdown. `ramp.cli.dashboard` serves it with uvicorn.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ramp.dashboard.api import ROUTES, Dashboard
from ramp.dashboard.live import LiveState
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


def create_app(
    client_factory: Callable[[], KubeClient],
    *,
    token: str,
    default_namespace: str,
    insecure_read_only: bool = False,
) -> Starlette:
    """The app; `client_factory` is called once at startup (the client is closed at shutdown)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        client = client_factory()
        live = LiveState(client)
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
    return Starlette(routes=routes, lifespan=lifespan)
