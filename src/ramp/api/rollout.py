"""Rollout: a Deployment-like object that replaces its pods by a canary or blue-green strategy.

`RolloutSpec` carries the pod template (kept exactly as written: unknown fields included) or a reference to
a Deployment that provides it (`workloadRef`), and the strategy (`ramp.api.strategy`). Upstream defaults
(replicas 1, revisionHistoryLimit 10, progressDeadlineSeconds 600, analysis history 5/5) are `effective_*`
properties. `parse_rollout` reads a manifest and names each bad field.

Used by the rollout reconciler, actions and views, the CLI and the dashboard, and by `ramp.api.crds`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ramp.api.meta import ApiModel, ApiObject, Int32, LabelSelector, PodTemplate, Timestamp
from ramp.api.rollout_status import RolloutStatus
from ramp.api.strategy import RolloutStrategy
from ramp.api.validation import parse_manifest

DEFAULT_REPLICAS = 1
DEFAULT_REVISION_HISTORY_LIMIT = 10
DEFAULT_PROGRESS_DEADLINE_SECONDS = 600
DEFAULT_SUCCESSFUL_RUN_HISTORY_LIMIT = 5
DEFAULT_UNSUCCESSFUL_RUN_HISTORY_LIMIT = 5


class ObjectRef(ApiModel):
    """A workload (a Deployment) whose pod template the Rollout uses."""

    api_version: str | None = None
    """API version of the workload, such as apps/v1."""
    kind: str | None = None
    """Kind of the workload, such as Deployment."""
    name: str | None = None
    """Name of the workload."""
    scale_down: str | None = None
    """Scale the workload down: never (default), onsuccess or progressively."""


class RollbackWindowSpec(ApiModel):
    """Go back to a recent revision at once, skipping the steps."""

    revisions: Int32 | None = None
    """How many recent revisions count as recent."""


class AnalysisRunStrategy(ApiModel):
    """How many finished AnalysisRuns and Experiments to keep."""

    successful_run_history_limit: Int32 | None = None
    """Successful ones to keep (default 5)."""
    unsuccessful_run_history_limit: Int32 | None = None
    """Failed, Error and Inconclusive ones to keep (default 5)."""


class RolloutSpec(ApiModel):
    """Desired state of a Rollout."""

    replicas: Int32 | None = None
    """Desired pods (default 1)."""
    selector: LabelSelector | None = None
    """Label selector for the pods; must match the template's labels."""
    template: PodTemplate | None = None
    """The pod template, kept exactly as written."""
    workload_ref: ObjectRef | None = None
    """Take the pod template from this workload instead."""
    min_ready_seconds: Int32 | None = None
    """Seconds a pod must be ready to count as available (default 0)."""
    rollback_window: RollbackWindowSpec | None = None
    """Recent revisions to which a rollback skips the steps."""
    strategy: RolloutStrategy | None = None
    """How pods are replaced."""
    revision_history_limit: Int32 | None = None
    """Old ReplicaSets to keep (default 10)."""
    paused: bool | None = None
    """Pause the Rollout where it is."""
    progress_deadline_seconds: Int32 | None = None
    """Seconds an update may go without progress before it is reported as failed (default 600)."""
    progress_deadline_abort: bool | None = None
    """Abort the update when the progress deadline passes."""
    restart_at: Timestamp | None = None
    """Restart every pod created before this time."""
    analysis: AnalysisRunStrategy | None = None
    """How many finished AnalysisRuns and Experiments to keep."""

    @property
    def effective_replicas(self) -> int:
        """1 unless set."""
        return DEFAULT_REPLICAS if self.replicas is None else self.replicas

    @property
    def effective_min_ready_seconds(self) -> int:
        """0 unless set."""
        return self.min_ready_seconds or 0

    @property
    def effective_revision_history_limit(self) -> int:
        """10 unless set."""
        if self.revision_history_limit is None:
            return DEFAULT_REVISION_HISTORY_LIMIT
        return self.revision_history_limit

    @property
    def effective_progress_deadline_seconds(self) -> int:
        """600 unless set."""
        if self.progress_deadline_seconds is None:
            return DEFAULT_PROGRESS_DEADLINE_SECONDS
        return self.progress_deadline_seconds

    @property
    def effective_successful_run_history_limit(self) -> int:
        """5 unless set."""
        limit = self.analysis.successful_run_history_limit if self.analysis else None
        return DEFAULT_SUCCESSFUL_RUN_HISTORY_LIMIT if limit is None else limit

    @property
    def effective_unsuccessful_run_history_limit(self) -> int:
        """5 unless set."""
        limit = self.analysis.unsuccessful_run_history_limit if self.analysis else None
        return DEFAULT_UNSUCCESSFUL_RUN_HISTORY_LIMIT if limit is None else limit


class Rollout(ApiObject):
    """Progressive delivery of a pod template: canary or blue-green."""

    KIND: ClassVar[str] = "Rollout"

    spec: RolloutSpec
    """Desired state."""
    status: RolloutStatus | None = None
    """Observed state, written by the controller."""


def parse_rollout(obj: Any) -> Rollout:
    """Read a Rollout manifest; raises ManifestError naming each bad field.

    Example message: `spec.strategy.canary.steps[2].setWeight: SetWeight needs to be between 0 and 100, got 120; ...`.
    """
    return parse_manifest(Rollout, obj)
