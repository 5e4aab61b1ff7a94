"""The one error type of `ramp.actions`: a refused or impossible action, in words a user can act on.

`translate_api_errors` turns the API server's answers (`ramp.kube.errors.ApiError`) into `ActionError`s that
name the object, the namespace and the fix; the CLI prints them and the dashboard returns them as they are.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ramp.kube.errors import ApiError


class ActionError(Exception):
    """An action that could not be done; the message names the object and what to do about it."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        """The HTTP status the API server answered with, when it answered."""


def describe_api_error(error: ApiError, kind: str, namespace: str, name: str, verb: str) -> str:
    """A sentence for a refused request on `kind "name"`, saying what to check or do next."""
    subject = f'{kind} "{name}" in namespace "{namespace}"'
    plural = f"{kind.lower()}s"
    if error.is_not_found:
        return f"{subject} not found: check the name and the namespace (-n/--namespace)"
    if error.code == 403:
        return (
            f"not allowed to {verb} {subject}: {error.message}; "
            f"ask for RBAC permission to {verb} {plural} (and {plural}/status)"
        )
    if error.code == 401:
        return f"the API server did not accept the credentials ({error.message}); check the kubeconfig user"
    if error.is_conflict:
        return f"{subject} was changed by someone else while it was updated; run the command again"
    if error.code == 422:
        return f"the API server refused the change to {subject}: {error.message}"
    return f"cannot {verb} {subject}: {error}"


@asynccontextmanager
async def translate_api_errors(kind: str, namespace: str, name: str, verb: str) -> AsyncIterator[None]:
    """Re-raise every `ApiError` inside the block as an `ActionError` about `kind "name"`."""
    try:
        yield
    except ApiError as error:
        raise ActionError(describe_api_error(error, kind, namespace, name, verb), code=error.code) from error
