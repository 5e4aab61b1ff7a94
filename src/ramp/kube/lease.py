"""Leader-election decisions on a coordination.k8s.io/v1 Lease, as pure functions.

`decide_lease` is client-go's tryAcquireOrRenew without the I/O: given the Lease record now on the server
(or None), when this process first saw that record, the time now and its own identity, it answers CREATE,
ACQUIRE, RENEW or WAIT and returns the record to write. Expiry is measured from when *we* observed the
record, not from its renewTime, so clock skew between machines cannot make us steal a live lease (client-go
does the same). `kube.leaderelection` does the reads and writes; `ramp.manager` names the Lease.

Records are written as client-go writes them: acquireTime/renewTime as MicroTime, leaseDurationSeconds,
leaseTransitions incremented on each change of holder; a release leaves an empty holder and a 1 s duration.

`decide_term` is the leader's own side: after each acquire or renew attempt, may it (still) act? A term is
counted from when the last successful request was *sent*, never from when its answer came back.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

LEASE_NAME = "argo-rollouts-controller-lock"
DEFAULT_LEASE_NAMESPACE = "argo-rollouts"


@dataclass(frozen=True)
class LeaseRecord:
    """The spec of a Lease, as leader election reads and writes it."""

    holder_identity: str
    lease_duration_seconds: int
    acquire_time: datetime | None = None
    renew_time: datetime | None = None
    lease_transitions: int = 0


class LeaseAction(enum.StrEnum):
    CREATE = "create"  # no Lease yet: create it holding it
    ACQUIRE = "acquire"  # free or expired: take it over
    RENEW = "renew"  # ours: extend it
    WAIT = "wait"  # someone else holds a live lease


@dataclass(frozen=True)
class LeaseDecision:
    action: LeaseAction
    record: LeaseRecord | None = None
    """The record to write; None for WAIT."""
    expires_in: float = 0.0
    """For WAIT: seconds until the current holder's lease runs out, as we observed it."""


def decide_lease(
    current: LeaseRecord | None,
    *,
    identity: str,
    now: datetime,
    observed_at: datetime | None,
    lease_duration: int,
) -> LeaseDecision:
    """What to do with the Lease (see the module docstring).

    >>> t = datetime(2025, 1, 1, tzinfo=UTC)
    >>> other = LeaseRecord("b", 15, t, t, 3)
    >>> def at(s):
    ...     now = t + timedelta(seconds=s)
    ...     return decide_lease(other, identity="a", now=now, observed_at=t, lease_duration=15)
    >>> at(5).action
    <LeaseAction.WAIT: 'wait'>
    >>> took = at(15)
    >>> took.action, took.record.lease_transitions
    (<LeaseAction.ACQUIRE: 'acquire'>, 4)
    """
    mine = LeaseRecord(identity, lease_duration, now, now, 0)
    if current is None:
        return LeaseDecision(LeaseAction.CREATE, mine)
    if current.holder_identity == identity:
        return LeaseDecision(
            LeaseAction.RENEW,
            replace(mine, acquire_time=current.acquire_time or now, lease_transitions=current.lease_transitions),
        )
    if current.holder_identity:
        seen = observed_at or now
        expires_at = seen + timedelta(seconds=current.lease_duration_seconds)
        if expires_at > now:
            return LeaseDecision(LeaseAction.WAIT, expires_in=(expires_at - now).total_seconds())
    return LeaseDecision(LeaseAction.ACQUIRE, replace(mine, lease_transitions=current.lease_transitions + 1))


def release_record(current: LeaseRecord, now: datetime) -> LeaseRecord:
    """What a leader writes on graceful shutdown: no holder, so a standby may take it at its next try."""
    return LeaseRecord("", 1, now, now, current.lease_transitions)


def lease_name(instance_id: str | None) -> str:
    """`argo-rollouts-controller-lock`, suffixed `-<instanceId>` when one is set (as upstream)."""
    return f"{LEASE_NAME}-{instance_id}" if instance_id else LEASE_NAME


def shard_lease_name(instance_id: str | None, index: int, shards: int) -> str:
    """The Lease of shard `index` of `shards`: `argo-rollouts-shard-<i>-of-<N>`, suffixed `-<instanceId>` when
    one is set (replicas of one instance share their shard Leases; other instances have their own)."""
    base = f"argo-rollouts-shard-{index}-of-{shards}"
    return f"{base}-{instance_id}" if instance_id else base


def member_lease_name(instance_id: str | None, shards: int, identity: str) -> str:
    """The Lease by which one sharded replica says it is alive: `argo-rollouts-shard-member-of-<N>[-<id>]-<h>`
    where `<h>` is a short digest of the identity (identities hold characters a name may not have)."""
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    return f"{member_lease_prefix(instance_id, shards)}{digest}"


def member_lease_prefix(instance_id: str | None, shards: int) -> str:
    """What every member Lease of one sharded instance starts with (the replicas find each other by it)."""
    base = f"argo-rollouts-shard-member-of-{shards}"
    return f"{base}-{instance_id}-" if instance_id else f"{base}-"


def lease_namespace(pod_namespace: str | None, service_account_namespace: str | None) -> str:
    """$POD_NAMESPACE, else the service account's namespace, else `argo-rollouts` (as upstream)."""
    return pod_namespace or service_account_namespace or DEFAULT_LEASE_NAMESPACE


def record_from_lease(lease: Mapping[str, Any]) -> LeaseRecord:
    """Read the record from a Lease object's spec (missing fields read as empty, as client-go)."""
    spec = lease.get("spec") or {}
    return LeaseRecord(
        holder_identity=str(spec.get("holderIdentity") or ""),
        lease_duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
        acquire_time=parse_micro_time(spec.get("acquireTime")),
        renew_time=parse_micro_time(spec.get("renewTime")),
        lease_transitions=int(spec.get("leaseTransitions") or 0),
    )


def lease_spec(record: LeaseRecord) -> dict[str, Any]:
    """The Lease spec for a record, in the API's JSON form."""
    spec: dict[str, Any] = {
        "holderIdentity": record.holder_identity,
        "leaseDurationSeconds": record.lease_duration_seconds,
        "leaseTransitions": record.lease_transitions,
    }
    if record.acquire_time is not None:
        spec["acquireTime"] = format_micro_time(record.acquire_time)
    if record.renew_time is not None:
        spec["renewTime"] = format_micro_time(record.renew_time)
    return spec


def format_micro_time(when: datetime) -> str:
    """RFC 3339 with microseconds in UTC, the wire form of metav1.MicroTime: `2025-01-01T00:00:00.000000Z`."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_micro_time(value: object) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Outcome(enum.StrEnum):
    """How one acquire or renew attempt ended."""

    HELD = "held"  # the write succeeded: the Lease is ours
    FAILED = "failed"  # no answer, an error, or a lost race: unknown whether anyone else holds it
    TAKEN = "taken"  # another holder has a live lease


@dataclass(frozen=True)
class TermDecision:
    leading: bool
    renewed_at: float | None
    """Monotonic instant the term counts from: the send time of the last successful request."""

    def deadline(self, renew_deadline: float) -> float | None:
        """The instant leader work must have stopped by, unless renewed again before it."""
        return None if self.renewed_at is None else self.renewed_at + renew_deadline


def decide_term(
    outcome: Outcome,
    *,
    renewed_at: float | None,
    request_started: float,
    now: float,
    renew_deadline: float,
) -> TermDecision:
    """Whether this process may lead after an attempt that was sent at `request_started` and ended `now`.

    Why the send time: the server may have written the record at any instant between send and answer, and
    a standby counts the lease duration from when *it* saw the record change, which can be just after the
    send. Counting from the send, a leader stops by `renew_deadline` (10 s) after any instant a standby
    can count from, so `lease_duration - renew_deadline` (5 s) is left for stopping: two processes never
    act at once. Counting from the answer would eat into that margin by however slow the answer was.

    >>> held = decide_term(Outcome.HELD, renewed_at=0.0, request_started=5.0, now=8.0, renew_deadline=10.0)
    >>> held.leading, held.renewed_at
    (True, 5.0)
    >>> late = decide_term(Outcome.HELD, renewed_at=None, request_started=0.0, now=10.0, renew_deadline=10.0)
    >>> late.leading
    False
    """
    if outcome is Outcome.TAKEN:
        return TermDecision(leading=False, renewed_at=renewed_at)
    if outcome is Outcome.HELD:
        renewed_at = request_started if renewed_at is None else max(renewed_at, request_started)
    leading = renewed_at is not None and now - renewed_at < renew_deadline
    return TermDecision(leading=leading, renewed_at=renewed_at)
