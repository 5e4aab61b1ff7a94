"""AnalysisTemplate, ClusterAnalysisTemplate and AnalysisRun: metrics, their arguments, and run settings.

A template lists metrics (what to measure, how often, when a measurement passes or fails) and the arguments
they take; an AnalysisRun is a template instantiated with argument values, plus its status (in
`ramp.api.analysis_status`). Metric limits are IntOrString because templates may hold "{{args.limit}}";
their defaults (count, failureLimit 0, inconclusiveLimit 0, consecutiveErrorLimit 4,
consecutiveSuccessLimit 0) are `effective_*` properties, computed on the run once arguments are resolved.

Used by `ramp.api.rollout_analysis` and `ramp.api.experiment` (shared argument shapes), by the analysis
reconciler and its providers, and by `ramp.api.crds`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ramp.api.analysis_status import AnalysisRunStatus
from ramp.api.meta import ApiModel, ApiObject, Int32, IntOrString, int_value
from ramp.api.providers import MetricProvider
from ramp.api.validation import parse_manifest


class FieldRef(ApiModel):
    """A field of the owning object, such as `metadata.labels['app']`."""

    field_path: str
    """Path of the field to read."""


class SecretKeyRef(ApiModel):
    """One key of a Secret in the analysis' namespace."""

    name: str
    """Secret name."""
    key: str
    """Key in the Secret."""


class ValueFrom(ApiModel):
    """Where an argument's value comes from (exactly one field)."""

    secret_key_ref: SecretKeyRef | None = None
    """A Secret key."""
    field_ref: FieldRef | None = None
    """A field of the owning object."""


class Argument(ApiModel):
    """A named argument of an analysis, substituted into metrics as "{{args.<name>}}"."""

    name: str
    """Argument name."""
    value: str | None = None
    """The value (absent in a template: the caller must supply it)."""
    value_from: ValueFrom | None = None
    """Read the value from a Secret or a field instead."""


class DryRun(ApiModel):
    """A metric whose result is recorded but does not decide the run."""

    metric_name: str
    """Metric name, or "*" for every metric."""


class MeasurementRetention(ApiModel):
    """How many measurements to keep in the status for a metric."""

    metric_name: str
    """Metric name, or "*" for every metric."""
    limit: Int32
    """Measurements to keep."""


class TTLStrategy(ApiModel):
    """When a finished AnalysisRun is deleted."""

    seconds_after_completion: Int32 | None = None
    """Seconds after any completion."""
    seconds_after_failure: Int32 | None = None
    """Seconds after a failure."""
    seconds_after_success: Int32 | None = None
    """Seconds after a success."""


class AnalysisTemplateRef(ApiModel):
    """A reference to an AnalysisTemplate or, with clusterScope, a ClusterAnalysisTemplate."""

    template_name: str | None = None
    """Template name."""
    cluster_scope: bool | None = None
    """True: look up a ClusterAnalysisTemplate."""

    @property
    def is_cluster_scope(self) -> bool:
        """True when the reference names a ClusterAnalysisTemplate."""
        return bool(self.cluster_scope)


DEFAULT_CONSECUTIVE_ERROR_LIMIT = 4


class Metric(ApiModel):
    """One metric: the query, its schedule, and the conditions that judge each measurement."""

    name: str
    """Metric name, unique in the analysis."""
    interval: str | None = None
    """Time between measurements, such as "30s"; absent: measure once."""
    initial_delay: str | None = None
    """Wait before the first measurement, such as "1m"."""
    count: IntOrString | None = None
    """Number of measurements; with an interval and no count, measure until the run is terminated."""
    success_condition: str | None = None
    """Expression over `result` that marks a measurement Successful, such as `result[0] >= 0.95`."""
    failure_condition: str | None = None
    """Expression over `result` that marks a measurement Failed."""
    failure_limit: IntOrString | None = None
    """Failed measurements tolerated before the metric fails (default 0; -1 disables)."""
    inconclusive_limit: IntOrString | None = None
    """Inconclusive measurements tolerated before the metric is Inconclusive (default 0)."""
    consecutive_error_limit: IntOrString | None = None
    """Errors in a row tolerated before the metric is Error (default 4)."""
    provider: MetricProvider
    """The backend to query."""
    consecutive_success_limit: IntOrString | None = None
    """Successes in a row that make the metric Successful (default 0: off)."""

    @property
    def effective_count(self) -> int | None:
        """Measurements to take: count; 1 when neither count nor interval is set; None means no limit.

        Follows upstream's EffectiveCount: a count of 0 counts as unset.
        """
        count = int_value(self.count) if self.count is not None else 0
        if count == 0:
            return None if self.interval else 1
        return count

    @property
    def effective_failure_limit(self) -> int:
        """0 unless set; -1 disables failure counting."""
        return int_value(self.failure_limit) if self.failure_limit is not None else 0

    @property
    def effective_inconclusive_limit(self) -> int:
        """0 unless set."""
        return int_value(self.inconclusive_limit) if self.inconclusive_limit is not None else 0

    @property
    def effective_consecutive_error_limit(self) -> int:
        """4 unless set."""
        if self.consecutive_error_limit is None:
            return DEFAULT_CONSECUTIVE_ERROR_LIMIT
        return int_value(self.consecutive_error_limit)

    @property
    def effective_consecutive_success_limit(self) -> int:
        """0 (off) unless set."""
        if self.consecutive_success_limit is None:
            return 0
        return int_value(self.consecutive_success_limit)


class AnalysisTemplateSpec(ApiModel):
    """What an AnalysisTemplate (or ClusterAnalysisTemplate) measures."""

    metrics: list[Metric] | None = None
    """Metrics to measure."""
    args: list[Argument] | None = None
    """Arguments the metrics take."""
    dry_run: list[DryRun] | None = None
    """Metrics run in dry-run mode."""
    measurement_retention: list[MeasurementRetention] | None = None
    """Measurements kept per metric."""
    templates: list[AnalysisTemplateRef] | None = None
    """Other templates whose metrics and arguments are merged into this one."""


class AnalysisTemplate(ApiObject):
    """A namespaced, reusable analysis: metrics and arguments."""

    KIND: ClassVar[str] = "AnalysisTemplate"

    spec: AnalysisTemplateSpec
    """What to measure."""


class ClusterAnalysisTemplate(ApiObject):
    """A cluster-wide AnalysisTemplate, usable from every namespace."""

    KIND: ClassVar[str] = "ClusterAnalysisTemplate"

    spec: AnalysisTemplateSpec
    """What to measure."""


class AnalysisRunSpec(ApiModel):
    """An analysis to run now: metrics with their arguments."""

    metrics: list[Metric]
    """Metrics to measure."""
    args: list[Argument] | None = None
    """Argument values."""
    terminate: bool | None = None
    """Stop the run early (the rollout no longer needs it)."""
    dry_run: list[DryRun] | None = None
    """Metrics run in dry-run mode."""
    measurement_retention: list[MeasurementRetention] | None = None
    """Measurements kept per metric."""
    ttl_strategy: TTLStrategy | None = None
    """When to delete the run after it finishes."""


class AnalysisRun(ApiObject):
    """One execution of an analysis, created by a Rollout or an Experiment, or by hand."""

    KIND: ClassVar[str] = "AnalysisRun"

    spec: AnalysisRunSpec
    """What to measure."""
    status: AnalysisRunStatus | None = None
    """Progress and results, written by the controller."""


def parse_analysis_template(obj: Any) -> AnalysisTemplate:
    """Read an AnalysisTemplate manifest; raises ManifestError naming each bad field."""
    return parse_manifest(AnalysisTemplate, obj)


def parse_cluster_analysis_template(obj: Any) -> ClusterAnalysisTemplate:
    """Read a ClusterAnalysisTemplate manifest; raises ManifestError naming each bad field."""
    return parse_manifest(ClusterAnalysisTemplate, obj)


def parse_analysis_run(obj: Any) -> AnalysisRun:
    """Read an AnalysisRun; raises ManifestError naming each bad field."""
    return parse_manifest(AnalysisRun, obj)
