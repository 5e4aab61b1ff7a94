"""Kubernetes errors as the dashboard answers them: an HTTP status that matches, and a sentence that says why."""

from __future__ import annotations

import httpx
import pytest

from ramp.actions.errors import ActionError
from ramp.dashboard.api import describe_failure
from ramp.kube.errors import ApiError


@pytest.mark.parametrize(
    ("error", "status", "words"),
    [
        (ActionError("not allowed to patch Rollout", code=403), 403, "not allowed"),
        (ActionError("was changed by someone else", code=409), 409, "someone else"),
        (ActionError('Rollout "web" has no earlier revision to go back to'), 400, "no earlier revision"),
        (ActionError("server trouble", code=500), 502, "server trouble"),
        (ApiError(403, "Forbidden", 'rollouts is forbidden: User "dev" cannot list'), 403, "RBAC permission to list"),
        (ApiError(404, "NotFound", "namespaces not found"), 404, "not found"),
        (httpx.ConnectError("connection refused"), 503, "cannot reach the API server"),
        (TimeoutError(), 504, "did not fill in time"),
    ],
)
def test_failures_keep_their_status_and_say_what_to_do(error: Exception, status: int, words: str) -> None:
    code, message = describe_failure(error, "team-a", "web", "patch" if isinstance(error, ActionError) else "list")
    assert code == status
    assert words in message
