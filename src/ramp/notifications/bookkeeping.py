"""What has been sent, and what is promised: the `notified.notifications.argoproj.io` annotation (pure).

Upstream's notifications-engine remembers each delivery in the annotation `notified.notifications.argoproj.io`
on the object: a JSON object mapping a delivery key to the Unix time it was sent, keeping the newest 100. The key
is `[<oncePer value>:]<trigger>:<condition key>:<service>:<recipient>` (with `<config namespace>:` after the
oncePer value when the configuration is a self-service one). Ramp writes the same annotation in the same format.

Ramp's notifications are event-driven, as upstream's (`sendNotifications` in utils/record/record.go): each
RolloutCompleted, RolloutAborted, AnalysisRunFailed, ... event is one occurrence. So that one occurrence is one
message even across a controller restart, each key starts with the occurrence's identity: the condition's
`oncePer` value when it has one (upstream's meaning: once per value, ever), else `<resourceVersion>.<hash>`, the
object's version the event was decided from and a hash of its reason and message (`occurrence_of`): a decision
made again from the same state (a new leader re-deciding) has the same key, a later occurrence never has.

Two annotations make restarts safe:
- `notifications.ramp.dev/pending`: deliveries promised but not yet sent (written before the first attempt);
  a new leader sends what it finds there, so a restart between the event and the send drops nothing;
- `notified.notifications.argoproj.io`: written once the service accepted the message; a key already there
  is never sent again.
The window left: a crash after a service accepted a message and before the annotation was written sends that
one message again (at least once, as upstream's engine); see docs/notifications.md.

Used by `ramp.notifications.notifier`; no I/O here.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

NOTIFIED_ANNOTATION = "notified.notifications.argoproj.io"
PENDING_ANNOTATION = "notifications.ramp.dev/pending"
HISTORY_LIMIT = 100
"""Sent keys kept (upstream's notifiedHistoryMaxSize); the oldest go first. Pending deliveries are never cut."""


@dataclass(frozen=True)
class PendingDelivery:
    """One promised message: enough to render and send it again after a restart."""

    trigger: str
    condition: str
    """The condition's key in the trigger (`[0].<hash of when>`), to find its templates again."""
    service: str
    recipient: str
    reason: str
    event_type: str
    config_namespace: str
    since: int
    """Unix seconds when it was promised."""

    def to_json(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "condition": self.condition,
            "service": self.service,
            "recipient": self.recipient,
            "reason": self.reason,
            "type": self.event_type,
            "configNamespace": self.config_namespace,
            "since": self.since,
        }

    @classmethod
    def from_json(cls, value: object) -> PendingDelivery | None:
        if not isinstance(value, Mapping):
            return None
        try:
            return cls(
                trigger=str(value["trigger"]),
                condition=str(value["condition"]),
                service=str(value["service"]),
                recipient=str(value.get("recipient", "")),
                reason=str(value.get("reason", "")),
                event_type=str(value.get("type", "Normal")),
                config_namespace=str(value.get("configNamespace", "")),
                since=int(value.get("since", 0)),
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Ledger:
    """An object's notification bookkeeping: keys sent (with when) and deliveries pending."""

    notified: Mapping[str, int] = field(default_factory=dict)
    pending: Mapping[str, PendingDelivery] = field(default_factory=dict)

    def knows(self, key: str) -> bool:
        """Sent already, or promised: either way, not to be queued again."""
        return key in self.notified or key in self.pending

    def with_pending(self, promised: Mapping[str, PendingDelivery]) -> Ledger:
        return replace(self, pending={**self.pending, **promised})

    def with_sent(self, key: str, at: int) -> Ledger:
        """`key` was delivered at `at`: pending no more, and remembered (the newest HISTORY_LIMIT kept)."""
        pending = {k: v for k, v in self.pending.items() if k != key}
        return Ledger(truncate({**self.notified, key: at}, HISTORY_LIMIT), pending)

    def without_notified(self, keys: Collection[str]) -> Ledger:
        """Forget `keys` as sent: their condition no longer holds, so it notifies again when it next holds
        (upstream's engine; keys with a oncePer value are never forgotten)."""
        return replace(self, notified={k: v for k, v in self.notified.items() if k not in keys})

    def with_given_up(self, key: str) -> Ledger:
        """Delivery of `key` failed for good (reported as an event): pending no more, not remembered as sent."""
        return replace(self, pending={k: v for k, v in self.pending.items() if k != key})


def truncate(notified: Mapping[str, int], limit: int) -> dict[str, int]:
    """The newest `limit` entries (by time, then key, so the choice is the same every time).

    >>> truncate({"a": 3, "b": 1, "c": 2}, 2)
    {'a': 3, 'c': 2}
    """
    if len(notified) <= limit:
        return dict(notified)
    newest = sorted(notified.items(), key=lambda item: (item[1], item[0]), reverse=True)[:limit]
    return {key: notified[key] for key in notified if key in dict(newest)}


def read_ledger(annotations: Mapping[str, str] | None) -> Ledger:
    """The ledger in an object's annotations; unreadable values count as empty (upstream reads them so too)."""
    annotations = annotations or {}
    notified: dict[str, int] = {}
    pending: dict[str, PendingDelivery] = {}
    raw_notified = _json_object(annotations.get(NOTIFIED_ANNOTATION))
    for key, value in raw_notified.items():
        if isinstance(value, int) and not isinstance(value, bool):
            notified[key] = value
    for key, value in _json_object(annotations.get(PENDING_ANNOTATION)).items():
        promised = PendingDelivery.from_json(value)
        if promised is not None:
            pending[key] = promised
    return Ledger(notified, pending)


def ledger_annotations(ledger: Ledger) -> dict[str, str | None]:
    """The two annotations' values for a merge patch (None removes an empty one)."""
    notified = json.dumps(dict(ledger.notified), sort_keys=True, separators=(",", ":")) if ledger.notified else None
    pending = (
        json.dumps({k: v.to_json() for k, v in ledger.pending.items()}, sort_keys=True, separators=(",", ":"))
        if ledger.pending
        else None
    )
    return {NOTIFIED_ANNOTATION: notified, PENDING_ANNOTATION: pending}


def delivery_key(
    *,
    occurrence: str,
    trigger: str,
    condition: str,
    service: str,
    recipient: str,
    config_namespace: str | None = None,
) -> str:
    """Upstream's state key (`StateItemKey`) with the occurrence in the place of the oncePer value.

    >>> delivery_key(occurrence="812.abc", trigger="on-rollout-completed", condition="[0].2jmj", service="slack",
    ...              recipient="ops")
    '812.abc:on-rollout-completed:[0].2jmj:slack:ops'
    """
    parts = [trigger, condition, service, recipient]
    if config_namespace:
        parts.insert(0, config_namespace)
    return ":".join([occurrence, *parts])


def state_key(
    *, once_per: str | None, trigger: str, condition: str, service: str, recipient: str, config_namespace: str | None
) -> str:
    """Upstream notifications-engine's key for a condition with a `when` (`StateItemKey`).

    >>> state_key(once_per=None, trigger="on-purple", condition="[0].x", service="slack", recipient="ops",
    ...           config_namespace=None)
    'on-purple:[0].x:slack:ops'
    """
    key = ":".join([*([config_namespace] if config_namespace else []), trigger, condition, service, recipient])
    return f"{once_per}:{key}" if once_per else key


def occurrence_of(obj: Mapping[str, Any], reason: str, message: str, once_per: str | None = None) -> str:
    """The identity of the occurrence an event is about: `once_per` when the condition has one, else the object's
    resourceVersion when the event was decided and a short hash of the event's reason and message."""
    if once_per:
        return once_per
    meta = obj.get("metadata") or {}
    version = str(meta.get("resourceVersion") or meta.get("uid") or "0")
    digest = hashlib.sha1(f"{reason}\n{message}".encode(), usedforsecurity=False).digest()
    return f"{version}.{base64.urlsafe_b64encode(digest).decode().rstrip('=')[:10]}"


def _json_object(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
