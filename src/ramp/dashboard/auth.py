"""Who may do what on the dashboard, and the audit trail of what was done.

One bearer token guards the dashboard: generated at start (or given with `--token`, at least `MIN_TOKEN_LENGTH`
characters), printed once, sent by the page as `Authorization: Bearer <token>` and never in a URL. The event
streams (EventSource cannot set headers) take a `StreamTickets` ticket instead: short-lived, single-use, and
obtained with the token. Actions always need the token; reads need it too unless the dashboard runs with
`--insecure-read-only`. Every action is recorded (who, what, when, outcome) in an `AuditLog` that
`ramp.dashboard.api` fills and that writes each record to the `ramp.dashboard.audit` logger, escaped so that
nothing a caller sends can forge a line. Pure except for randomness, the clock of `StreamTickets` and the logger.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger("ramp.dashboard.audit")

READ, ACTION = "read", "action"
MIN_TOKEN_LENGTH = 32
_AUDIT_KEPT = 500
# What one field of an audit record may hold; longer values are cut (and say so).
_FIELD_LIMIT = 512
TICKET_LIFETIME = 30.0
_TICKETS_KEPT = 1024


def generate_token() -> str:
    """A fresh random token (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def check_token(token: str) -> str | None:
    """Why a user-given token is refused (too short, or spaces in it), or None when it will do."""
    if len(token) < MIN_TOKEN_LENGTH:
        return (
            f"the dashboard token must be at least {MIN_TOKEN_LENGTH} characters long (this one has {len(token)}); "
            "leave --token and $RAMP_DASHBOARD_TOKEN unset for a generated one, or make one with "
            "`openssl rand -base64 32`"
        )
    if any(char.isspace() or not char.isprintable() for char in token):
        return "the dashboard token must not contain spaces or control characters"
    return None


def read_presented_token(headers: Mapping[str, str]) -> str | None:
    """The token a request carries: the bearer of its Authorization header (never a URL's query)."""
    scheme, _, value = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def is_allowed(kind: str, presented: str | None, token: str, *, insecure_read_only: bool) -> bool:
    """Whether a request of `kind` (READ or ACTION) carrying `presented` may go on."""
    if kind == READ and insecure_read_only:
        return True
    return presented is not None and hmac.compare_digest(presented.encode(), token.encode())


class StreamTickets:
    """Single-use tickets that open one event stream each, valid for `lifetime` seconds after they are issued.

    At most `kept` tickets are outstanding: issuing one more forgets the oldest.
    """

    def __init__(
        self,
        lifetime: float = TICKET_LIFETIME,
        kept: int = _TICKETS_KEPT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lifetime = lifetime
        self._kept = kept
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()

    def issue(self) -> str:
        self._forget_expired()
        while len(self._expiry) >= self._kept:
            self._expiry.popitem(last=False)
        ticket = secrets.token_urlsafe(24)
        self._expiry[ticket] = self._clock() + self.lifetime
        return ticket

    def redeem(self, ticket: str | None) -> bool:
        """Whether `ticket` was issued, is unused and has not expired; it is used up either way."""
        if not ticket:
            return False
        expiry = self._expiry.pop(ticket, None)
        return expiry is not None and self._clock() < expiry

    def __len__(self) -> int:
        self._forget_expired()
        return len(self._expiry)

    def _forget_expired(self) -> None:
        now = self._clock()
        while self._expiry:
            ticket, expiry = next(iter(self._expiry.items()))
            if expiry > now:
                return
            del self._expiry[ticket]


def fingerprint(token: str | None) -> str:
    """A short, non-reversible name for a token, safe to log: `tok:1a2b3c4d`, or `anonymous`."""
    if not token:
        return "anonymous"
    return "tok:" + hashlib.sha256(token.encode()).hexdigest()[:8]


def escape_for_log(text: str, limit: int = _FIELD_LIMIT) -> str:
    """`text` on one line: backslashes, control and line-separating characters escaped (`\\n`, `\\x1b`,
    `\\u2028`), cut after `limit` characters.

    >>> escape_for_log("a\\nforged line")
    'a\\\\nforged line'
    """
    cut = len(text) > limit
    out = []
    for char in text[:limit]:
        code = ord(char)
        if char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or 0x7F <= code < 0xA0:
            out.append(f"\\x{code:02x}")
        elif not char.isprintable() or code in (0x2028, 0x2029):
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    return "".join(out) + ("…(cut)" if cut else "")


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

    def to_log_line(self) -> str:
        """The record on one line, every field a caller could have shaped escaped."""
        e = escape_for_log
        detail = f" ({e(self.detail)})" if self.detail else ""
        return (
            f"dashboard action {e(self.action)} {e(self.namespace)}/{e(self.name)}{detail} by {e(self.who)} "
            f"at {self.to_json()['when']}: {e(self.outcome)}"
        )


def describe_caller(address: str, presented: str | None, user: str | None) -> str:
    """`alice@127.0.0.1 (tok:1a2b3c4d)`: the name given, the address and the token's fingerprint."""
    who = f"{user[:64]}@{address}" if user else address
    return f"{who} ({fingerprint(presented)})"


class AuditLog:
    """The newest actions, kept in memory for `GET /api/v1/audit` and each written to the log as it happens."""

    def __init__(self, kept: int = _AUDIT_KEPT) -> None:
        self._records: deque[AuditRecord] = deque(maxlen=kept)

    def record(self, entry: AuditRecord) -> None:
        self._records.append(entry)
        log.info("%s", entry.to_log_line())

    def newest(self, limit: int = 100) -> list[AuditRecord]:
        return list(self._records)[-limit:][::-1]
