"""Errors raised by the kube layer: a bad kubeconfig (`ConfigError`) and a refused request (`ApiError`).

`kube.client` raises `ApiError` for every non-2xx answer, carrying the API server's `Status`; informers,
leader election and reconcilers branch on its predicates (`is_not_found`, `is_conflict`, `is_gone`, ...).
"""

from __future__ import annotations

import json
from typing import Any

import httpx


class KubeError(Exception):
    """Base of the errors raised by `ramp.kube`."""


class ConfigError(KubeError):
    """The kubeconfig or in-cluster environment cannot be used; the message names the field and the fix."""


class CredentialError(httpx.TransportError, ConfigError):
    """A credential could not be obtained while sending a request (an exec plugin failed, an oidc refresh was
    refused). It is a transport error, as in client-go: informers and workers back off and try again, and the
    next request runs the plugin (or the refresh) again."""


class ApiError(KubeError):
    """The API server answered with an error status (the decoded `Status` object is in `status`)."""

    def __init__(self, code: int, reason: str, message: str, status: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code} {reason}: {message}" if message else f"{code} {reason}")
        self.code = code
        self.reason = reason
        self.message = message
        self.status = status or {}

    @classmethod
    def from_response(cls, code: int, body: bytes) -> ApiError:
        """Build from an HTTP status and body; the body is a `Status` object unless a proxy answered."""
        try:
            status = json.loads(body) if body else {}
        except ValueError:
            status = {}
        if not isinstance(status, dict):
            status = {}
        message = str(status.get("message") or body[:200].decode("utf-8", "replace"))
        return cls(code, str(status.get("reason") or _REASONS.get(code, "Error")), message, status)

    @classmethod
    def from_status(cls, status: dict[str, Any]) -> ApiError:
        """Build from a `Status` delivered inside a watch stream as an ERROR event."""
        return cls(
            int(status.get("code") or 500),
            str(status.get("reason", "")),
            str(status.get("message", "")),
            status,
        )

    @property
    def is_not_found(self) -> bool:
        return self.code == 404

    @property
    def is_conflict(self) -> bool:
        """409 with reason Conflict: the resourceVersion we wrote against is stale."""
        return self.code == 409 and self.reason != "AlreadyExists"

    @property
    def is_already_exists(self) -> bool:
        return self.code == 409 and self.reason == "AlreadyExists"

    @property
    def is_gone(self) -> bool:
        """410: the resourceVersion is older than the API server keeps; re-list."""
        return self.code == 410

    @property
    def retry_after(self) -> float | None:
        """Seconds the server asked us to wait (429/503 `Status.details.retryAfterSeconds`), if any."""
        details = self.status.get("details")
        seconds = details.get("retryAfterSeconds") if isinstance(details, dict) else None
        return float(seconds) if isinstance(seconds, int | float) and seconds > 0 else None

    @property
    def is_retryable(self) -> bool:
        """Worth trying again unchanged: throttling, timeouts and server-side failures."""
        return self.code in (429, 500, 502, 503, 504)


_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
