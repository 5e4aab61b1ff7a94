"""Sharding decisions, as pure functions: which shard an object belongs to, and which shards a replica should
try to take or give back.

`shard_for(key, shards)` is a jump consistent hash (Lamping & Veach, 2014) of a stable 64-bit digest of the
key: every process computes the same shard for the same key (Python's `hash()` is salted per process, so it
is never used), and when the number of shards changes from N to N+1 only about 1/(N+1) of the keys move.

`shard_key(kind, obj)` is the key an object is hashed by: a Rollout's own `namespace/name`; an AnalysisRun's
or Experiment's controlling owner's `namespace/name` when that owner is a Rollout or an Experiment, else its
own. It reads the object alone (never a cache), so every replica agrees on it at every instant; a Rollout and
the AnalysisRuns and Experiments it made land on one shard. (An Experiment's own AnalysisRuns go with the
Experiment's key, which may be another shard than the Rollout that made the Experiment: correct, only less
local, as every replica caches every object.)

`plan_shards` is one replica's balancing decision (see its docstring and docs/sharding.md). Used by
`ramp.manager.sharding`, which does the Lease reads and writes, and by `ramp.manager.runtime`.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any

_JUMP_MULTIPLIER = 2862933555777941757
_MASK64 = (1 << 64) - 1
OWNER_KINDS = frozenset({"Rollout", "Experiment", "FeatureFlag"})
"""Controlling owners whose children are hashed by the owner's key (kept on the owner's shard)."""


def shard_for(key: str, shards: int) -> int:
    """The shard (0 .. shards-1) of `key`: a jump consistent hash of the key's SHA-256.

    >>> shard_for("default/web", 1)
    0
    >>> [shard_for("default/web", n) for n in (2, 3, 4)] == [shard_for("default/web", n) for n in (2, 3, 4)]
    True
    """
    if shards < 1:
        raise ValueError(f"shards must be at least 1, got {shards}")
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    bucket, jump = -1, 0
    while jump < shards:
        bucket = jump
        digest = (digest * _JUMP_MULTIPLIER + 1) & _MASK64
        jump = int((bucket + 1) * ((1 << 31) / ((digest >> 33) + 1)))
    return bucket


def shard_key(kind: str, obj: Mapping[str, Any]) -> str:
    """The `namespace/name` an argoproj object of `kind` is hashed by (see the module docstring).

    `kind` is passed in: objects from a list carry no `kind` field.

    >>> run = {"metadata": {"namespace": "ns", "name": "web-6f9-2", "ownerReferences": [
    ...     {"kind": "Rollout", "name": "web", "controller": True}]}}
    >>> shard_key("AnalysisRun", run), shard_key("Rollout", {"metadata": {"namespace": "ns", "name": "web"}})
    ('ns/web', 'ns/web')
    """
    meta = obj.get("metadata") or {}
    namespace = str(meta.get("namespace") or "")
    if kind != "Rollout":
        for ref in meta.get("ownerReferences") or []:
            if ref.get("controller") and ref.get("kind") in OWNER_KINDS and ref.get("name"):
                return f"{namespace}/{ref['name']}"
    return f"{namespace}/{meta.get('name') or ''}"


def fair_share(shards: int, replicas: int) -> int:
    """How many shards one replica holds at most while `replicas` are live: ceil(shards / replicas).

    >>> fair_share(3, 3), fair_share(3, 2), fair_share(20, 3), fair_share(3, 0)
    (1, 2, 7, 3)
    """
    return math.ceil(shards / max(replicas, 1))


@dataclass(frozen=True)
class ShardPlan:
    """What one replica does this round: try to take `acquire` (in this order), give back `release`."""

    acquire: tuple[int, ...] = ()
    release: tuple[int, ...] = ()


def plan_shards(
    shards: int,
    me: str,
    members: Set[str],
    holders: Mapping[int, str | None],
    orphans: Set[int] = frozenset(),
) -> ShardPlan:
    """One replica's balancing decision.

    `members` are the identities of the live replicas (their member Leases are renewed; `me` counts always);
    `holders[i]` is the identity holding shard i's Lease, or None when it is free (absent, released or
    expired as we observed it); a shard missing from `holders` is free. `orphans` are free shards that were
    already free at the previous round (the replicas under their fair share had their chance), or whose
    holder died (its Lease expired rather than being released).

    - target = ceil(shards / live members);
    - below target: take free shards, starting from a place derived from `me` so that replicas racing for
      free shards mostly pick different ones (a lost race costs nothing: the Lease write is a compare-and-swap);
    - an orphan is taken even above target: a replica that died can still look live for a moment after its
      shard Leases expired, and no shard may wait for its member Lease to expire too (the surplus is given
      back in a later round, once the dead member is seen gone);
    - above target, while another live member is below it: give back the surplus, as much as they lack,
      highest shard numbers first.

    >>> plan_shards(3, "a", {"a", "b", "c"}, {0: "a", 1: "a", 2: "a"})
    ShardPlan(acquire=(), release=(2, 1))
    >>> plan_shards(3, "b", {"a", "b", "c"}, {0: "a", 1: None, 2: None}).acquire
    (1,)
    """
    live = set(members) | {me}
    target = fair_share(shards, len(live))
    mine = sorted(i for i in range(shards) if holders.get(i) == me)
    free = [i for i in range(shards) if holders.get(i) is None]
    if len(mine) < target or any(i in orphans for i in free):
        offset = shard_for(me, shards)
        ordered = sorted(free, key=lambda i: (i - offset) % shards)
        room = max(target - len(mine), 0)
        chosen = ordered[:room] + [i for i in ordered[room:] if i in orphans]
        return ShardPlan(acquire=tuple(chosen))
    surplus = len(mine) - target
    if surplus <= 0:
        return ShardPlan()
    counts = Counter(h for h in holders.values() if h is not None)
    lacking = sum(max(target - counts.get(member, 0), 0) for member in live if member != me)
    give = min(surplus, lacking)
    return ShardPlan(release=tuple(sorted(mine, reverse=True)[:give]))
