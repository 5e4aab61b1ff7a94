"""A dashboard app on a recording stand-in for the cluster client: which namespaces reached it is what the tests
look at; the namespace watches are real `NamespaceWatch`es whose informers are never started."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
from starlette.applications import Starlette

from ramp.dashboard.api import Dashboard
from ramp.dashboard.app import create_app
from ramp.dashboard.live import LiveState, NamespaceWatch
from ramp.kube.client import KubeClient
from ramp.kube.errors import ApiError

TOKEN = "unit-test-dashboard-token-0123456789abcdef"
BEARER = {"authorization": f"Bearer {TOKEN}"}


class RecordingClient:
    """Answers every list with nothing and remembers the namespaces asked for."""

    def __init__(self) -> None:
        self.namespaces: list[str | None] = []

    async def list(self, resource: Any, namespace: str | None = None, **_: Any) -> dict[str, Any]:
        self.namespaces.append(namespace)
        return {"items": []}

    async def get(self, resource: Any, name: str, namespace: str | None = None, **_: Any) -> dict[str, Any]:
        self.namespaces.append(namespace)
        raise ApiError(404, "NotFound", f'rollouts "{name}" not found')

    async def aclose(self) -> None:
        return None


class IdleWatch(NamespaceWatch):
    """A namespace watch whose list shows its version (so each change is a new event) and runs no informers."""

    async def start(self) -> None:
        return None

    def list_items(self) -> list[dict[str, Any]]:
        return [{"name": f"version-{self.version}"}]


@pytest.fixture
def client() -> RecordingClient:
    return RecordingClient()


@pytest.fixture
async def board(client: RecordingClient) -> AsyncIterator[Dashboard]:
    kube = cast(KubeClient, client)
    live = LiveState(kube, make_watch=IdleWatch)
    yield Dashboard(kube, live, TOKEN, "default")
    await live.stop()


def make_app(board: Dashboard, **options: Any) -> Starlette:
    app = create_app(lambda: board.client, token=board.token, default_namespace="default", **options)
    app.state.dashboard = board
    return app


@pytest.fixture
def app(board: Dashboard) -> Starlette:
    return make_app(board)
