"""How a Rollout asks for analysis: which templates, with which argument values, and run settings.

The same shape serves an analysis step, the background analysis of a canary (which adds `startingStep`),
and blue-green pre- and post-promotion analysis. Rollout arguments can take a value from the pod-template
hash of the stable or latest ReplicaSet, or from a field of the Rollout.

Used by `ramp.api.steps` and `ramp.api.strategy`, and by the rollout reconciler when it creates AnalysisRuns.
"""

from __future__ import annotations

from ramp.api.analysis import AnalysisTemplateRef, DryRun, FieldRef, MeasurementRetention
from ramp.api.meta import ApiModel, Int32, LabelsAndAnnotations


class ArgumentValueFrom(ApiModel):
    """Where a Rollout argument's value comes from (exactly one field)."""

    pod_template_hash_value: str | None = None
    """Stable or Latest: the pod-template hash of that ReplicaSet."""
    field_ref: FieldRef | None = None
    """A field of the Rollout, such as `metadata.labels['app']`."""


class AnalysisRunArgument(ApiModel):
    """A value for one argument of the referenced templates."""

    name: str
    """Argument name."""
    value: str | None = None
    """A literal value."""
    value_from: ArgumentValueFrom | None = None
    """Take the value from a pod-template hash or a Rollout field."""


class RolloutAnalysis(ApiModel):
    """An AnalysisRun to create from one or more templates."""

    templates: list[AnalysisTemplateRef] | None = None
    """Templates whose metrics are combined into one run."""
    args: list[AnalysisRunArgument] | None = None
    """Argument values."""
    dry_run: list[DryRun] | None = None
    """Metrics run in dry-run mode."""
    measurement_retention: list[MeasurementRetention] | None = None
    """Measurements kept per metric."""
    analysis_run_metadata: LabelsAndAnnotations | None = None
    """Labels and annotations for the AnalysisRun."""


class RolloutAnalysisBackground(RolloutAnalysis):
    """A canary's background analysis: runs alongside the steps from `startingStep` on."""

    starting_step: Int32 | None = None
    """Step index at which the analysis starts (default 0)."""

    @property
    def effective_starting_step(self) -> int:
        """0 unless set."""
        return self.starting_step or 0
