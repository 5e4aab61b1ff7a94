"""The view models of a rollout: frozen records the CLI renders as text and the dashboard as JSON.

`RolloutView` is what `get rollout` shows: the summary (phase, strategy, step, weights, images, replica counts)
and the tree of revisions, newest first, each holding its ReplicaSets (with their pods), Experiments and
AnalysisRuns (with their measured metrics). Times are creation timestamps, not ages, so two views of an unchanged
rollout compare equal; `ramp.views.text` turns them into ages at render time. Built by `ramp.views.tree`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PodView:
    name: str
    status: str
    icon: str
    ready: str
    """Ready containers / containers, such as `1/1`."""
    restarts: int
    created: datetime | None


@dataclass(frozen=True)
class ReplicaSetView:
    name: str
    revision: int
    status: str
    """Healthy, Progressing, ReplicaFailure or ScaledDown."""
    icon: str
    desired: int
    """spec.replicas."""
    replicas: int
    """status.replicas: pods that exist."""
    ready: int
    available: int
    created: datetime | None
    tags: tuple[str, ...]
    """stable, canary, active, preview, ping, pong."""
    images: tuple[str, ...]
    scale_down_deadline: str
    pods: tuple[PodView, ...]


@dataclass(frozen=True)
class MetricView:
    """One metric of an AnalysisRun as measured so far (from `status.metricResults`)."""

    name: str
    phase: str
    icon: str
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    error: int = 0
    last_value: str = ""
    """The value of the newest measurement that has one; empty before the first."""
    measured: datetime | None = None
    """When that measurement started."""
    dry_run: bool = False


@dataclass(frozen=True)
class AnalysisRunView:
    name: str
    revision: int
    phase: str
    icon: str
    created: datetime | None
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    error: int = 0
    metrics: tuple[MetricView, ...] = ()
    """The metrics that have measurements, in the order of the run's results."""


@dataclass(frozen=True)
class ExperimentView:
    name: str
    revision: int
    phase: str
    icon: str
    created: datetime | None


@dataclass(frozen=True)
class RevisionView:
    number: int
    replica_sets: tuple[ReplicaSetView, ...]
    experiments: tuple[ExperimentView, ...]
    analysis_runs: tuple[AnalysisRunView, ...]

    @property
    def tags(self) -> tuple[str, ...]:
        """The markers of the revision: those of its ReplicaSets, in order, without repeats."""
        return tuple(dict.fromkeys(tag for rs in self.replica_sets for tag in rs.tags))


@dataclass(frozen=True)
class ImageView:
    image: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class RolloutView:
    name: str
    namespace: str
    phase: str
    message: str
    icon: str
    strategy: str
    """Canary, BlueGreen or unknown."""
    step: str
    """`n/N` for a canary with steps, else empty."""
    set_weight: str
    actual_weight: str
    images: tuple[ImageView, ...]
    desired: int
    current: int
    updated: int
    ready: int
    available: int
    created: datetime | None
    revisions: tuple[RevisionView, ...]
