"""Experiment: run one or more ReplicaSets side by side for a while (baseline against canary), with analyses.

Each template is a pod template (kept exactly as written) with its own selector and replica count; the
analyses reference AnalysisTemplates. The status follows each template's ReplicaSet and each AnalysisRun.
Defaults (progressDeadlineSeconds 600, scaleDownDelaySeconds 30, replicas 1) are `effective_*` properties.

Used by the experiment reconciler, by the rollout reconciler (experiment steps create Experiments), by the
CLI and dashboard, and by `ramp.api.crds`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from ramp.api.analysis import Argument, DryRun, MeasurementRetention
from ramp.api.durations import Duration
from ramp.api.meta import (
    ApiModel,
    ApiObject,
    Condition,
    Int32,
    LabelsAndAnnotations,
    LabelSelector,
    PodTemplate,
    Timestamp,
)
from ramp.api.validation import parse_manifest

DEFAULT_PROGRESS_DEADLINE_SECONDS = 600
DEFAULT_SCALE_DOWN_DELAY_SECONDS = 30


class TemplateService(ApiModel):
    """Ask for a Service selecting the template's pods."""

    name: str | None = None
    """Service name (default: derived from the Experiment and template names)."""


class TemplateSpec(ApiModel):
    """One ReplicaSet of an Experiment."""

    name: str
    """Template name, unique in the Experiment."""
    replicas: Int32 | None = None
    """Pods to run (default 1)."""
    min_ready_seconds: Int32 | None = None
    """Seconds a pod must be ready to count as available."""
    selector: LabelSelector
    """Label selector for the pods; unique among the templates."""
    template: PodTemplate
    """The pod template, kept exactly as written."""
    service: TemplateService | None = None
    """Create a Service for these pods."""

    @property
    def effective_replicas(self) -> int:
        """1 unless set."""
        return 1 if self.replicas is None else self.replicas


class ExperimentAnalysisTemplateRef(ApiModel):
    """An analysis to run during the Experiment."""

    name: str
    """Name of this analysis in the Experiment."""
    template_name: str
    """AnalysisTemplate (or ClusterAnalysisTemplate) name."""
    cluster_scope: bool | None = None
    """True: look up a ClusterAnalysisTemplate."""
    args: list[Argument] | None = None
    """Argument values."""
    required_for_completion: bool | None = None
    """The Experiment completes only when this analysis does."""


class ExperimentSpec(ApiModel):
    """What an Experiment runs, and for how long."""

    templates: list[TemplateSpec]
    """ReplicaSets to run."""
    duration: Duration | None = None
    """How long to run once all templates are available, such as "10m"; absent: until stopped."""
    progress_deadline_seconds: Int32 | None = None
    """Seconds a template may take to become available (default 600)."""
    terminate: bool | None = None
    """Stop the Experiment early."""
    analyses: list[ExperimentAnalysisTemplateRef] | None = None
    """Analyses to run."""
    scale_down_delay_seconds: Int32 | None = None
    """Seconds to wait before scaling the templates down at the end (default 30)."""
    dry_run: list[DryRun] | None = None
    """Metrics run in dry-run mode."""
    measurement_retention: list[MeasurementRetention] | None = None
    """Measurements kept per metric."""
    analysis_run_metadata: LabelsAndAnnotations | None = None
    """Labels and annotations for the AnalysisRuns."""

    @property
    def effective_progress_deadline_seconds(self) -> int:
        """600 unless set."""
        if self.progress_deadline_seconds is None:
            return DEFAULT_PROGRESS_DEADLINE_SECONDS
        return self.progress_deadline_seconds

    @property
    def effective_scale_down_delay_seconds(self) -> int:
        """30 unless set."""
        if self.scale_down_delay_seconds is None:
            return DEFAULT_SCALE_DOWN_DELAY_SECONDS
        return self.scale_down_delay_seconds


class TemplateStatusCode(StrEnum):
    """State of one Experiment template's ReplicaSet."""

    PROGRESSING = "Progressing"
    RUNNING = "Running"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    ERROR = "Error"


class TemplateStatus(ApiModel):
    """Observed state of one template's ReplicaSet."""

    name: str | None = None
    """Template name."""
    replicas: int | None = None
    """Pods that exist."""
    updated_replicas: int | None = None
    """Pods with the template's spec."""
    ready_replicas: int | None = None
    """Ready pods."""
    available_replicas: int | None = None
    """Pods ready for at least minReadySeconds."""
    collision_count: int | None = None
    """Hash collisions met when naming the ReplicaSet."""
    status: str | None = None
    """Progressing, Running, Successful, Failed or Error."""
    message: str | None = None
    """Why the template is in its state."""
    last_transition_time: Timestamp | None = None
    """When the state last changed (restarts the progress deadline)."""
    service_name: str | None = None
    """Name of the Service created for the template."""
    pod_template_hash: str | None = None
    """Pod-template hash of the ReplicaSet."""


class ExperimentAnalysisRunStatus(ApiModel):
    """Observed state of one analysis of the Experiment."""

    name: str | None = None
    """Analysis name in the Experiment."""
    analysis_run: str | None = None
    """Name of the AnalysisRun."""
    phase: str | None = None
    """Phase of the AnalysisRun."""
    message: str | None = None
    """Details."""


class ExperimentStatus(ApiModel):
    """Observed state of an Experiment."""

    phase: str | None = None
    """Pending, Running, Successful, Failed, Error or Inconclusive."""
    message: str | None = None
    """Why the Experiment is in its phase."""
    template_statuses: list[TemplateStatus] | None = None
    """State per template."""
    available_at: Timestamp | None = None
    """When every template became available: the duration counts from here."""
    conditions: list[Condition] | None = None
    """Conditions: InvalidSpec, Progressing, Running, Completed, ReplicaFailure."""
    analysis_runs: list[ExperimentAnalysisRunStatus] | None = None
    """State per analysis."""


class Experiment(ApiObject):
    """ReplicaSets run side by side for a while, judged by analyses."""

    KIND: ClassVar[str] = "Experiment"

    spec: ExperimentSpec
    """What to run."""
    status: ExperimentStatus | None = None
    """Progress, written by the controller."""


def parse_experiment(obj: Any) -> Experiment:
    """Read an Experiment manifest; raises ManifestError naming each bad field."""
    return parse_manifest(Experiment, obj)
