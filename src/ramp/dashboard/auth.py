"""Who may do what on the dashboard, and the audit trail of what was done.

One bearer token guards the dashboard: generated at start (or given with `--token`), printed once, sent by the
page as `Authorization: Bearer <token>` (or `?token=` where a browser cannot set headers: EventSource). Actions
always need it; reads need it too unless the dashboard runs with `--insecure-read-only`. Every action is
recorded (who, what, when, outcome) in an `AuditLog` that `ramp.dashboard.api` fills and logs.
Pure except for `generate_token` (randomness) and the log's logger.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger("ramp.dashboard.audit")

READ, ACTION = "read", "action"
_AUDIT_KEPT = 500


def generate_token() -> str:
    """A fresh random token (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def read_presented_token(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The token a request carries: the bearer of its Authorization header, else its `token` query parameter."""
    scheme, _, value = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return query.get("token") or None


def is_allowed(kind: str, presented: str | None, token: str, *, insecure_read_only: bool) -> bool:
    """Whether a request of `kind` (READ or ACTION) carrying `presented` may go on."""
    if kind == READ and insecure_read_only:
        return True
    return presented is not None and hmac.compare_digest(presented.encode(), token.encode())


def fingerprint(token: str | None) -> str:
    """A short, non-reversible name for a token, safe to log: `tok:1a2b3c4d`, or `anonymous`."""
    if not token:
        return "anonymous"
    return "tok:" + hashlib.sha256(token.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class AuditRecord:
    """One action attempted through the dashboard."""

    when: datetime
    who: str
    """The caller: its address, its token's fingerprint and the name it gave (X-Ramp-User), if any."""
    action: str
    namespace: str
    name: str
    detail: str
    outcome: str
    """`ok`, `refused` (no or wrong token) or the error's message."""

    def to_json(self) -> dict[str, str]:
        return {
            "when": self.when.isoformat().replace("+00:00", "Z"),
            "who": self.who,
            "action": self.action,
            "namespace": self.namespace,
            "name": self.name,
            "detail": self.detail,
            "outcome": self.outcome,
        }


def describe_caller(address: str, presented: str | None, user: str | None) -> str:
    """`alice@127.0.0.1 (tok:1a2b3c4d)`: the name given, the address and the token's fingerprint."""
    who = f"{user}@{address}" if user else address
    return f"{who} ({fingerprint(presented)})"


class AuditLog:
    """The newest actions, kept in memory for `GET /api/v1/audit` and each written to the log as it happens."""

    def __init__(self, kept: int = _AUDIT_KEPT) -> None:
        self._records: deque[AuditRecord] = deque(maxlen=kept)

    def record(self, entry: AuditRecord) -> None:
        self._records.append(entry)
        log.info(
            "dashboard action %s %s/%s%s by %s at %s: %s",
            entry.action,
            entry.namespace,
            entry.name,
            f" ({entry.detail})" if entry.detail else "",
            entry.who,
            entry.to_json()["when"],
            entry.outcome,
        )

    def newest(self, limit: int = 100) -> list[AuditRecord]:
        return list(self._records)[-limit:][::-1]
