"""Canary steps: the actions of `spec.strategy.canary.steps`, run one after the other.

setWeight (traffic share for the canary), pause (for a duration, or until promoted), setCanaryScale (size
the canary apart from its weight), analysis (run an AnalysisRun and wait), experiment (run an Experiment and
wait), setHeaderRoute and setMirrorRoute (managed routes on the traffic router), plugin (a step plugin).
A step normally has one key. As upstream does, Ramp refuses an empty step, an unknown key, or two of
setWeight/pause/experiment/analysis in one step, but lets setCanaryScale, setHeaderRoute, setMirrorRoute and
plugin share a step (upstream's own examples do); `CanaryStep.kind` names the key that decides when the
step completes, `CanaryStep.kinds` all of them.

Used by `ramp.api.strategy` and by the canary reconciler (step transitions) in `ramp.rollout`.
"""

from __future__ import annotations

from typing import Any

from pydantic import model_validator
from pydantic_core import PydanticCustomError

from ramp.api.analysis import DryRun
from ramp.api.durations import Duration, PauseDuration, pause_seconds
from ramp.api.experiment import TemplateService
from ramp.api.meta import ApiModel, Int32, LabelsAndAnnotations, LabelSelector, OpaqueObject
from ramp.api.rollout_analysis import AnalysisRunArgument, RolloutAnalysis
from ramp.api.traffic import DEFAULT_MAX_TRAFFIC_WEIGHT
from ramp.api.validation import describe_input, nested_error


class RolloutPause(ApiModel):
    """Pause the rollout: for a duration, or (no duration) until someone promotes it."""

    duration: PauseDuration | None = None
    """Seconds (30 or "30") or a duration ("30s", "5m", "1h"); absent: until promoted."""

    @property
    def duration_seconds(self) -> int | None:
        """Seconds to wait, or None for an indefinite pause."""
        return None if self.duration is None else pause_seconds(self.duration)


class SetCanaryScale(ApiModel):
    """Size the canary apart from its traffic weight (needs traffic routing)."""

    weight: Int32 | None = None
    """Canary pods as a percentage of spec.replicas."""
    replicas: Int32 | None = None
    """Canary pods as a count."""
    match_traffic_weight: bool | None = None
    """Go back to sizing the canary by its traffic weight."""


class StringMatch(ApiModel):
    """How a string is matched: exactly one of exact, prefix or regex."""

    exact: str | None = None
    """Equal to this."""
    prefix: str | None = None
    """Starts with this."""
    regex: str | None = None
    """Matches this regular expression."""


class HeaderRoutingMatch(ApiModel):
    """A request header condition."""

    header_name: str
    """Header name."""
    header_value: StringMatch
    """How the header value must match."""


class SetHeaderRoute(ApiModel):
    """Send requests matching headers to the canary; with no match, remove the route."""

    name: str | None = None
    """Route name; must be listed in trafficRouting.managedRoutes."""
    match: list[HeaderRoutingMatch] | None = None
    """Header conditions, all of which must hold."""


class RouteMatch(ApiModel):
    """A request condition for mirroring."""

    method: StringMatch | None = None
    """HTTP method."""
    path: StringMatch | None = None
    """URL path."""
    headers: dict[str, StringMatch] | None = None
    """Headers by name."""


class SetMirrorRoute(ApiModel):
    """Copy matching requests to the canary; with no match, remove the route."""

    name: str
    """Route name; must be listed in trafficRouting.managedRoutes."""
    match: list[RouteMatch] | None = None
    """Request conditions; any one of them selects a request."""
    percentage: Int32 | None = None
    """Share of matching requests to mirror."""


class PluginStep(ApiModel):
    """Run a step plugin."""

    name: str
    """Plugin name."""
    config: OpaqueObject | None = None
    """Plugin configuration, kept as written."""


class RolloutExperimentTemplate(ApiModel):
    """One ReplicaSet of an experiment step, built from the canary or the stable pod template."""

    name: str
    """Template name."""
    spec_ref: str
    """canary or stable: which ReplicaSet's pod template to use."""
    replicas: Int32 | None = None
    """Pods to run."""
    metadata: LabelsAndAnnotations | None = None
    """Labels and annotations for the pods."""
    selector: LabelSelector | None = None
    """Selector for the pods (default: the Rollout's)."""
    weight: Int32 | None = None
    """Traffic percentage sent to these pods (with traffic routing)."""
    service: TemplateService | None = None
    """Create a Service for these pods."""


class RolloutExperimentStepAnalysisTemplateRef(ApiModel):
    """An analysis run by an experiment step."""

    name: str
    """Name of this analysis in the Experiment."""
    template_name: str
    """AnalysisTemplate (or ClusterAnalysisTemplate) name."""
    cluster_scope: bool | None = None
    """True: look up a ClusterAnalysisTemplate."""
    args: list[AnalysisRunArgument] | None = None
    """Argument values."""
    required_for_completion: bool | None = None
    """The Experiment completes only when this analysis does."""


class RolloutExperimentStep(ApiModel):
    """Run an Experiment and wait for it to succeed."""

    templates: list[RolloutExperimentTemplate]
    """ReplicaSets to run."""
    duration: Duration | None = None
    """How long the Experiment runs, such as "10m"; absent: until its analyses finish."""
    analyses: list[RolloutExperimentStepAnalysisTemplateRef] | None = None
    """Analyses to run."""
    dry_run: list[DryRun] | None = None
    """Metrics run in dry-run mode."""
    analysis_run_metadata: LabelsAndAnnotations | None = None
    """Labels and annotations for the AnalysisRuns."""
    scale_down_delay_seconds: Int32 | None = None
    """Seconds to wait before scaling the Experiment's ReplicaSets down."""


STEP_KINDS: tuple[str, ...] = (
    "setWeight",
    "pause",
    "setCanaryScale",
    "analysis",
    "experiment",
    "setHeaderRoute",
    "setMirrorRoute",
    "plugin",
)
"""Every key a canary step may have, as written in manifests."""

EXCLUSIVE_STEP_KINDS: tuple[str, ...] = ("setWeight", "pause", "experiment", "analysis")
"""Keys that cannot share a step. Upstream lets the others ride along (its own APISIX example pairs
setCanaryScale, setHeaderRoute and pause in one step), so Ramp accepts that too."""

COMPLETION_ORDER: tuple[str, ...] = (
    "pause",
    "setCanaryScale",
    "setWeight",
    "experiment",
    "analysis",
    "setHeaderRoute",
    "setMirrorRoute",
    "plugin",
)
"""When a step has several keys, the first of these decides when the step completes (as upstream does)."""

INVALID_STEP = "Step must have one of the following set: experiment, setWeight, setCanaryScale, plugin or pause"
"""Upstream's message for an empty step or one with two of setWeight/pause/experiment/analysis."""


def set_weight_message(highest: int, weight: object) -> str:
    """A setWeight outside 0..maxTrafficWeight: upstream's message first, then the value and the fix."""
    return (
        f"SetWeight needs to be between 0 and {highest}, got {describe_input(weight)}; use a whole number 0-{highest}"
    )


_PYTHON_NAMES = {
    "set_weight": "setWeight",
    "set_canary_scale": "setCanaryScale",
    "set_header_route": "setHeaderRoute",
    "set_mirror_route": "setMirrorRoute",
}


def _is_weight(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


class CanaryStep(ApiModel):
    """One step of a canary rollout: one action (setWeight, pause, analysis, experiment, ...)."""

    set_weight: Int32 | None = None
    """Percentage of traffic (or of pods, without traffic routing) for the canary."""
    pause: RolloutPause | None = None
    """Pause for a duration or until promoted."""
    set_canary_scale: SetCanaryScale | None = None
    """Size the canary apart from its weight."""
    analysis: RolloutAnalysis | None = None
    """Run an analysis and wait for its result."""
    experiment: RolloutExperimentStep | None = None
    """Run an Experiment and wait for its result."""
    set_header_route: SetHeaderRoute | None = None
    """Route requests with matching headers to the canary."""
    set_mirror_route: SetMirrorRoute | None = None
    """Mirror matching requests to the canary."""
    plugin: PluginStep | None = None
    """Run a step plugin."""

    @model_validator(mode="before")
    @classmethod
    def _has_one_action(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data  # the type check reports it
        keys = [_PYTHON_NAMES.get(str(key), str(key)) for key, value in data.items() if value is not None]
        unknown = [key for key in keys if key not in STEP_KINDS]
        choices = ", ".join(STEP_KINDS)
        if unknown:
            raise PydanticCustomError(
                "ramp_step",
                "unknown step {unknown}; a step is one of: {choices}",
                {"unknown": ", ".join(unknown), "choices": choices},
            )
        if not keys:
            raise PydanticCustomError(
                "ramp_step",
                "{upstream}; empty step: give it one of {choices}",
                {"upstream": INVALID_STEP, "choices": choices},
            )
        exclusive = [key for key in keys if key in EXCLUSIVE_STEP_KINDS]
        if len(exclusive) > 1:
            raise PydanticCustomError(
                "ramp_step",
                "{upstream}; a step has only one of {exclusive} (found {found}): split it into separate steps",
                {"upstream": INVALID_STEP, "exclusive": ", ".join(EXCLUSIVE_STEP_KINDS), "found": ", ".join(exclusive)},
            )
        weight = data.get("setWeight", data.get("set_weight"))
        if weight is not None and not _is_weight(weight):
            # the upper bound depends on trafficRouting.maxTrafficWeight: CanaryStrategy checks it
            raise nested_error("setWeight", set_weight_message(DEFAULT_MAX_TRAFFIC_WEIGHT, weight))
        return data

    @property
    def kinds(self) -> tuple[str, ...]:
        """Every key the step has, as written in manifests (usually one)."""
        return tuple(
            field.alias or name for name, field in CanaryStep.model_fields.items() if getattr(self, name) is not None
        )

    @property
    def kind(self) -> str:
        """The key that decides when the step completes, such as "setWeight" (see COMPLETION_ORDER)."""
        kinds = self.kinds
        return next(kind for kind in COMPLETION_ORDER if kind in kinds)
