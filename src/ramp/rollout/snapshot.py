"""What one reconcile of a Rollout knows: the Rollout, the pod template and selector in effect, its ReplicaSets
sorted into new / stable / older, and the time.

Built by `ramp.rollout.reconciler` from the informer caches (plus the workload of a `workloadRef` and the Services
of a blue-green Rollout); read by the decisions in `ramp.rollout.canary`, `ramp.rollout.bluegreen` and
`ramp.rollout.status`, which never fetch anything themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ramp.api import Rollout
from ramp.rollout.replicasets import ReplicaSetView


@dataclass(frozen=True)
class Snapshot:
    raw: Mapping[str, Any]
    rollout: Rollout
    template: Mapping[str, Any]
    selector: Mapping[str, Any]
    sets: Sequence[ReplicaSetView]
    new: ReplicaSetView
    now: datetime
    runs: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    """The AnalysisRuns the Rollout controls."""
    services: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """The Services the Rollout's strategy names, by name, as cached."""
    experiments: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    """The Experiments the Rollout controls (experiment steps)."""

    @property
    def status(self) -> Mapping[str, Any]:
        return self.raw.get("status") or {}

    @property
    def name(self) -> str:
        return str(self.raw["metadata"]["name"])

    @property
    def replicas(self) -> int:
        return self.rollout.spec.effective_replicas

    @property
    def stable_hash(self) -> str:
        return str(self.status.get("stableRS") or "")

    @property
    def stable(self) -> ReplicaSetView | None:
        """The stable ReplicaSet (None before the first promotion, or if it was deleted)."""
        wanted = self.stable_hash
        return next((rs for rs in self.sets if wanted and rs.pod_hash == wanted), None)

    @property
    def is_rollback_within_window(self) -> bool:
        """The new ReplicaSet is one of the `spec.rollbackWindow.revisions` ReplicaSets made just before the
        stable one (upstream's rollback window: such a rollback skips the steps, pauses and analyses). By creation
        time, as upstream: revision numbers move when an old ReplicaSet is used again."""
        window = self.rollout.spec.rollback_window
        stable = self.stable
        new = self.new
        if window is None or not window.revisions or stable is None or not new.created:
            return False
        if new.created >= stable.created:
            return False
        between = [rs for rs in self.sets if new.created < rs.created < stable.created]
        return len(between) < window.revisions

    @property
    def older(self) -> list[ReplicaSetView]:
        """ReplicaSets that are neither the new one nor the stable one."""
        stable = self.stable
        return [rs for rs in self.sets if rs.name != self.new.name and (stable is None or rs.name != stable.name)]

    @property
    def background_analysis(self) -> Mapping[str, Any] | None:
        canary = ((self.raw.get("spec") or {}).get("strategy") or {}).get("canary") or {}
        found = canary.get("analysis")
        return found if isinstance(found, Mapping) else None

    @property
    def steps(self) -> list[dict[str, Any]]:
        canary = ((self.raw.get("spec") or {}).get("strategy") or {}).get("canary") or {}
        return list(canary.get("steps") or [])
