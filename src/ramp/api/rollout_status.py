"""The status of a Rollout, with upstream's exact field names (`HPAReplicas`, `stableRS`, ...).

Scripts, Argo CD health checks and the upstream kubectl plugin read these fields, so their names and types
match upstream: `observedGeneration` is a string (str(metadata.generation)), `stableRS` and `currentPodHash`
are pod-template hashes (not ReplicaSet names), `HPAReplicas` and `selector` feed the scale subresource.
Values are plain strings (not enums) so that a status written by another controller version still parses;
`RolloutPhase`, `PauseReason` and `RolloutConditionType` name the values upstream documents.

Written by the rollout reconciler (one status patch per reconcile), read by the CLI, the dashboard and views.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from ramp.api.meta import ApiModel, Condition, OpaqueObject, Timestamp


class RolloutPhase(StrEnum):
    """Summary phase of a Rollout."""

    HEALTHY = "Healthy"
    DEGRADED = "Degraded"
    PROGRESSING = "Progressing"
    PAUSED = "Paused"


class PauseReason(StrEnum):
    """Why the controller paused a Rollout."""

    CANARY_PAUSE_STEP = "CanaryPauseStep"
    BLUE_GREEN_PAUSE = "BlueGreenPause"
    INCONCLUSIVE_ANALYSIS_RUN = "InconclusiveAnalysisRun"
    INCONCLUSIVE_EXPERIMENT = "InconclusiveExperiment"


class RolloutConditionType(StrEnum):
    """Condition types of a Rollout."""

    INVALID_SPEC = "InvalidSpec"
    AVAILABLE = "Available"
    PROGRESSING = "Progressing"
    REPLICA_FAILURE = "ReplicaFailure"
    PAUSED = "Paused"
    COMPLETED = "Completed"
    HEALTHY = "Healthy"


class PauseCondition(ApiModel):
    """A reason the controller paused the Rollout, and since when; clearing it resumes the Rollout."""

    reason: str | None = None
    """CanaryPauseStep, BlueGreenPause, InconclusiveAnalysisRun or InconclusiveExperiment."""
    start_time: Timestamp | None = None
    """When the pause began."""


class RolloutAnalysisRunStatus(ApiModel):
    """The AnalysisRun a Rollout is waiting on, and its phase."""

    name: str | None = None
    """AnalysisRun name."""
    status: str | None = None
    """Phase of the AnalysisRun."""
    message: str | None = None
    """Details."""


class WeightDestination(ApiModel):
    """Traffic sent to one ReplicaSet."""

    weight: int | None = None
    """Share of traffic, out of maxTrafficWeight."""
    service_name: str | None = None
    """Service the traffic goes through."""
    pod_template_hash: str | None = None
    """Pod-template hash of the ReplicaSet."""


class TrafficWeights(ApiModel):
    """The split the traffic router was last told to apply."""

    canary: WeightDestination | None = None
    """The canary's share."""
    stable: WeightDestination | None = None
    """The stable's share."""
    additional: list[WeightDestination] | None = None
    """Shares of other ReplicaSets, such as experiment templates."""
    verified: bool | None = None
    """True once the router confirmed the weights took effect."""


class StepPluginStatus(ApiModel):
    """State of one step-plugin operation."""

    index: int | None = None
    """Index of the step."""
    name: str | None = None
    """Plugin name."""
    operation: str | None = None
    """Run, Terminate or Abort."""
    phase: str | None = None
    """Running, Successful, Failed or Error."""
    message: str | None = None
    """Details."""
    started_at: Timestamp | None = None
    """First call of the operation."""
    updated_at: Timestamp | None = None
    """Last call of the operation."""
    finished_at: Timestamp | None = None
    """When the operation completed."""
    backoff: str | None = None
    """Wait before the next call, such as "30s"."""
    executions: int | None = None
    """Calls made."""
    disabled: bool | None = None
    """True when the plugin is disabled."""
    status: OpaqueObject | None = None
    """The plugin's own state, kept as written."""


class CanaryStatus(ApiModel):
    """Canary-only status."""

    current_step_analysis_run_status: RolloutAnalysisRunStatus | None = None
    """The current analysis step's run."""
    current_background_analysis_run_status: RolloutAnalysisRunStatus | None = None
    """The background analysis run."""
    current_experiment: str | None = None
    """Name of the running Experiment."""
    weights: TrafficWeights | None = None
    """Weights last set on the traffic router."""
    stable_ping_pong: str | None = None
    """ping or pong: which ping-pong Service is stable."""
    step_plugin_statuses: list[StepPluginStatus] | None = None
    """Step plugins run so far."""


class BlueGreenStatus(ApiModel):
    """Blue-green-only status."""

    preview_selector: str | None = None
    """Pod-template hash the preview Service selects."""
    active_selector: str | None = None
    """Pod-template hash the active Service selects."""
    scale_up_preview_check_point: bool | None = None
    """The preview may be scaled up to full size after the pause."""
    pre_promotion_analysis_run_status: RolloutAnalysisRunStatus | None = None
    """The pre-promotion analysis run."""
    post_promotion_analysis_run_status: RolloutAnalysisRunStatus | None = None
    """The post-promotion analysis run."""


class AwsResourceRef(ApiModel):
    """An AWS resource by name and ARN."""

    name: str | None = None
    """Name."""
    arn: str | None = None
    """ARN."""
    full_name: str | None = None
    """Full name."""


class ALBStatus(ApiModel):
    """The load balancer and target groups behind an ALB Ingress."""

    load_balancer: AwsResourceRef | None = None
    """The load balancer."""
    canary_target_group: AwsResourceRef | None = None
    """Canary target group."""
    stable_target_group: AwsResourceRef | None = None
    """Stable target group."""
    ingress: str | None = None
    """Ingress name."""


class RolloutDurationStatus(ApiModel):
    """Timing of the current update."""

    rollout_started_at: Timestamp | None = None
    """When the update began (the stable and current hashes diverged)."""
    manual_pause_started_at: Timestamp | None = None
    """When the current manual pause began."""
    total_manual_pause_duration_seconds: int | None = None
    """Seconds spent in manual pauses."""
    finished_at: Timestamp | None = None
    """When the update ended (promoted, aborted or superseded)."""
    completion_status: str | None = None
    """Promoted, FastPromoted, Aborted, Superseded, RolledBack or FastRolledBack."""


class RolloutStatus(ApiModel):
    """Observed state of a Rollout."""

    abort: bool | None = None
    """Abort the update: the canary goes to 0 and the stable takes all traffic."""
    pause_conditions: list[PauseCondition] | None = None
    """Why the controller paused; clearing them resumes the Rollout."""
    controller_pause: bool | None = None
    """The controller paused the Rollout (still true after someone clears the pause conditions)."""
    aborted_at: Timestamp | None = None
    """When the abort was handled."""
    current_pod_hash: str | None = None
    """Pod-template hash of the current spec.template."""
    current_step_hash: str | None = None
    """Hash of the steps, to notice when they change."""
    replicas: int | None = None
    """Pods selected by the Rollout."""
    updated_replicas: int | None = None
    """Pods with the current template."""
    ready_replicas: int | None = None
    """Ready pods."""
    available_replicas: int | None = None
    """Pods ready for at least minReadySeconds."""
    current_step_index: int | None = None
    """Index of the current canary step."""
    collision_count: int | None = None
    """Hash collisions met when naming ReplicaSets."""
    observed_generation: str | None = None
    """metadata.generation last acted upon, as a string."""
    conditions: list[Condition] | None = None
    """Conditions: Available, Progressing, Paused, Completed, Healthy, ReplicaFailure, InvalidSpec."""
    canary: CanaryStatus | None = None
    """Canary-only status."""
    blue_green: BlueGreenStatus | None = None
    """Blue-green-only status."""
    hpa_replicas: int | None = Field(default=None, alias="HPAReplicas")
    """Pods receiving active traffic (the scale subresource's replica count)."""
    selector: str | None = None
    """Label selector of the pods receiving active traffic, as text (the scale subresource's selector)."""
    stable_rs: str | None = Field(default=None, alias="stableRS")
    """Pod-template hash of the stable ReplicaSet (not its name)."""
    restarted_at: Timestamp | None = None
    """When the last restart completed."""
    promote_full: bool | None = None
    """Skip the remaining steps, analyses and pauses."""
    phase: str | None = None
    """Healthy, Degraded, Progressing or Paused."""
    message: str | None = None
    """Why the Rollout is in its phase."""
    workload_observed_generation: str | None = None
    """Generation of the referenced workload last acted upon, as a string."""
    alb: ALBStatus | None = None
    """ALB details."""
    albs: list[ALBStatus] | None = None
    """ALB details, one per Ingress."""
    duration: RolloutDurationStatus | None = None
    """Timing of the current update."""
