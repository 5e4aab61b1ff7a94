"""Update strategies of a Rollout: canary (steps, optional traffic routing) and blue-green (active/preview).

The models keep what the manifest says; the upstream defaults are `effective_*` properties, so reading and
writing a Rollout never adds fields. Defaults that depend on traffic routing follow upstream's documented
behaviour: scaleDownDelaySeconds and abortScaleDownDelaySeconds default to 30 only for a routed canary
(a basic canary scales down at once), and an explicit abortScaleDownDelaySeconds of 0 means "never".

Used by `ramp.api.rollout` and by the canary and blue-green reconcilers in `ramp.rollout` and `ramp.core`.
"""

from __future__ import annotations

from pydantic import model_validator

from ramp.api.meta import ApiModel, Int32, IntOrString, LabelsAndAnnotations
from ramp.api.rollout_analysis import RolloutAnalysis, RolloutAnalysisBackground
from ramp.api.steps import CanaryStep, set_weight_message
from ramp.api.traffic import DEFAULT_MAX_TRAFFIC_WEIGHT, RolloutTrafficRouting
from ramp.api.validation import describe_input, nested_error

DEFAULT_MAX_SURGE = "25%"
DEFAULT_MAX_UNAVAILABLE = "25%"
DEFAULT_SCALE_DOWN_DELAY_SECONDS = 30
DEFAULT_ABORT_SCALE_DOWN_DELAY_SECONDS = 30


class PreferredDuringSchedulingIgnoredDuringExecution(ApiModel):
    """Soft anti-affinity between old and new pods."""

    weight: Int32
    """Weight of the preference, 1-100."""


class RequiredDuringSchedulingIgnoredDuringExecution(ApiModel):
    """Hard anti-affinity between old and new pods (no settings)."""


class AntiAffinity(ApiModel):
    """Keep new pods off the nodes of the previous version's pods (one of the two fields)."""

    preferred_during_scheduling_ignored_during_execution: PreferredDuringSchedulingIgnoredDuringExecution | None = None
    """A preference, with a weight."""
    required_during_scheduling_ignored_during_execution: RequiredDuringSchedulingIgnoredDuringExecution | None = None
    """A requirement."""


class PingPongSpec(ApiModel):
    """Two Services that take turns being stable and canary (ALB ping-pong)."""

    ping_service: str
    """The ping Service."""
    pong_service: str
    """The pong Service."""


REPLICA_PROGRESS_TYPES = ("Percent", "Pods")


class ReplicaProgressThreshold(ApiModel):
    """How many canary pods must be available before a step completes (default: all of them)."""

    type: str
    """Percent or Pods."""
    value: Int32
    """The threshold, greater than 0."""

    @model_validator(mode="after")
    def _known_type(self) -> ReplicaProgressThreshold:
        if self.type not in REPLICA_PROGRESS_TYPES:
            raise nested_error("type", f"must be Percent or Pods, got {describe_input(self.type)}")
        if self.value < 0:
            raise nested_error("value", f"must be 0 or more, got {self.value}")
        return self


def _effective_abort_delay(explicit: int | None, default: int) -> int | None:
    if explicit is None:
        return default
    return None if explicit == 0 else explicit


class CanaryStrategy(ApiModel):
    """Replace pods gradually, step by step, optionally shifting traffic with a router."""

    canary_service: str | None = None
    """Service Ramp points at the canary pods only."""
    stable_service: str | None = None
    """Service Ramp points at the stable pods only."""
    steps: list[CanaryStep] | None = None
    """The steps, in order."""
    traffic_routing: RolloutTrafficRouting | None = None
    """Shift traffic with a router instead of by pod counts."""
    max_unavailable: IntOrString | None = None
    """Pods that may be unavailable during the update: a count or a percentage, rounded down (default 25%)."""
    max_surge: IntOrString | None = None
    """Pods that may exist above spec.replicas: a count or a percentage, rounded up (default 25%)."""
    analysis: RolloutAnalysisBackground | None = None
    """Analysis that runs in the background during the steps."""
    anti_affinity: AntiAffinity | None = None
    """Keep canary pods off the stable pods' nodes."""
    canary_metadata: LabelsAndAnnotations | None = None
    """Labels and annotations on canary pods while they are the canary."""
    stable_metadata: LabelsAndAnnotations | None = None
    """Labels and annotations on stable pods while they are stable."""
    scale_down_delay_seconds: Int32 | None = None
    """With traffic routing: seconds before the old stable is scaled down after promotion (default 30)."""
    scale_down_delay_revision_limit: Int32 | None = None
    """Old ReplicaSets that may wait for their scale-down delay at once."""
    abort_scale_down_delay_seconds: Int32 | None = None
    """With traffic routing: seconds before the canary is scaled down on abort (default 30; 0: never)."""
    dynamic_stable_scale: bool | None = None
    """With traffic routing: scale the stable down as the canary takes traffic."""
    ping_pong: PingPongSpec | None = None
    """Ping-pong Services instead of stable/canary Services."""
    min_pods_per_replica_set: Int32 | None = None
    """With traffic routing: a ReplicaSet that runs pods runs at least this many."""
    replica_progress_threshold: ReplicaProgressThreshold | None = None
    """Canary pods that must be available before a step completes (default: all)."""

    @model_validator(mode="after")
    def _weights_within_max(self) -> CanaryStrategy:
        highest = self.effective_max_traffic_weight
        for index, step in enumerate(self.steps or []):
            if step.set_weight is not None and step.set_weight > highest:
                raise nested_error(f"steps[{index}].setWeight", set_weight_message(highest, step.set_weight))
        return self

    @property
    def has_traffic_routing(self) -> bool:
        """True when a router shifts traffic (otherwise pod counts approximate the weight)."""
        return self.traffic_routing is not None

    @property
    def effective_max_surge(self) -> int | str:
        """25% unless set."""
        return DEFAULT_MAX_SURGE if self.max_surge is None else self.max_surge

    @property
    def effective_max_unavailable(self) -> int | str:
        """25% unless set."""
        return DEFAULT_MAX_UNAVAILABLE if self.max_unavailable is None else self.max_unavailable

    @property
    def effective_max_traffic_weight(self) -> int:
        """The weight that means 100% of traffic: 100 unless trafficRouting.maxTrafficWeight is set."""
        if self.traffic_routing is None:
            return DEFAULT_MAX_TRAFFIC_WEIGHT
        return self.traffic_routing.effective_max_traffic_weight

    @property
    def effective_scale_down_delay_seconds(self) -> int:
        """With traffic routing: the setting or 30. Without: 0 (the old pods go at once)."""
        if not self.has_traffic_routing:
            return 0
        if self.scale_down_delay_seconds is None:
            return DEFAULT_SCALE_DOWN_DELAY_SECONDS
        return self.scale_down_delay_seconds

    @property
    def effective_abort_scale_down_delay_seconds(self) -> int | None:
        """Seconds before an aborted canary is scaled down; None means it is never scaled down.

        With traffic routing: the setting, 30 when unset, None when set to 0. Without: 0 (at once).
        """
        if not self.has_traffic_routing:
            return 0
        return _effective_abort_delay(self.abort_scale_down_delay_seconds, DEFAULT_ABORT_SCALE_DOWN_DELAY_SECONDS)

    @property
    def effective_min_pods_per_replica_set(self) -> int:
        """1 unless set (it only applies with traffic routing)."""
        return self.min_pods_per_replica_set or 1


class BlueGreenStrategy(ApiModel):
    """Run the new version beside the old one and switch the active Service over at once."""

    active_service: str
    """Service that serves production traffic; Ramp points it at the promoted pods."""
    preview_service: str | None = None
    """Service Ramp points at the new pods before promotion."""
    preview_replica_count: Int32 | None = None
    """Pods of the new version before promotion (default: spec.replicas)."""
    auto_promotion_enabled: bool | None = None
    """Promote as soon as the new pods are available (default true); false: pause until promoted."""
    auto_promotion_seconds: Int32 | None = None
    """Wait this long after the new pods are available before promoting (default 0)."""
    max_unavailable: IntOrString | None = None
    """Pods that may be unavailable during a restart (default 25%)."""
    scale_down_delay_seconds: Int32 | None = None
    """Seconds before the previous version is scaled down after the switch (default 30)."""
    scale_down_delay_revision_limit: Int32 | None = None
    """Old ReplicaSets that may wait for their scale-down delay at once."""
    pre_promotion_analysis: RolloutAnalysis | None = None
    """Analysis that must succeed before the switch."""
    anti_affinity: AntiAffinity | None = None
    """Keep new pods off the old pods' nodes."""
    post_promotion_analysis: RolloutAnalysis | None = None
    """Analysis after the switch; failure switches back."""
    preview_metadata: LabelsAndAnnotations | None = None
    """Labels and annotations on the new pods while they are the preview."""
    active_metadata: LabelsAndAnnotations | None = None
    """Labels and annotations on the active pods."""
    abort_scale_down_delay_seconds: Int32 | None = None
    """Seconds before the preview is scaled down on abort (default 30; 0: never)."""

    @property
    def effective_auto_promotion_enabled(self) -> bool:
        """True unless set to false."""
        return True if self.auto_promotion_enabled is None else self.auto_promotion_enabled

    @property
    def effective_auto_promotion_seconds(self) -> int:
        """0 unless set."""
        return self.auto_promotion_seconds or 0

    @property
    def effective_max_unavailable(self) -> int | str:
        """25% unless set."""
        return DEFAULT_MAX_UNAVAILABLE if self.max_unavailable is None else self.max_unavailable

    @property
    def effective_scale_down_delay_seconds(self) -> int:
        """30 unless set."""
        if self.scale_down_delay_seconds is None:
            return DEFAULT_SCALE_DOWN_DELAY_SECONDS
        return self.scale_down_delay_seconds

    @property
    def effective_abort_scale_down_delay_seconds(self) -> int | None:
        """Seconds before an aborted preview is scaled down: the setting or 30; None (never) when set to 0."""
        return _effective_abort_delay(self.abort_scale_down_delay_seconds, DEFAULT_ABORT_SCALE_DOWN_DELAY_SECONDS)


class RolloutStrategy(ApiModel):
    """The update strategy: canary or blueGreen (exactly one)."""

    blue_green: BlueGreenStrategy | None = None
    """Blue-green."""
    canary: CanaryStrategy | None = None
    """Canary."""

    @property
    def kind(self) -> str | None:
        """The strategy's key: "canary", "blueGreen", or None when neither is set."""
        if self.canary is not None:
            return "canary"
        if self.blue_green is not None:
            return "blueGreen"
        return None
