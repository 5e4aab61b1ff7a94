"""The status of an AnalysisRun: its phase, and per metric the recent measurements and their counters.

`AnalysisPhase` names the phases shared by runs, metric results, measurements and Experiments. Status
fields are plain strings in the models (not enums) so a status written by a newer controller still parses.

Written by the analysis reconciler, read by the rollout and experiment reconcilers, the CLI and the dashboard.
"""

from __future__ import annotations

from enum import StrEnum

from ramp.api.meta import ApiModel, Timestamp


class AnalysisPhase(StrEnum):
    """Phase of an AnalysisRun, a metric result, a measurement, or an Experiment."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    ERROR = "Error"
    INCONCLUSIVE = "Inconclusive"


COMPLETED_PHASES = frozenset(
    {AnalysisPhase.SUCCESSFUL, AnalysisPhase.FAILED, AnalysisPhase.ERROR, AnalysisPhase.INCONCLUSIVE}
)


def is_completed_phase(phase: str | None) -> bool:
    """True for Successful, Failed, Error and Inconclusive: nothing more will be measured."""
    return phase in COMPLETED_PHASES


class Measurement(ApiModel):
    """One measurement of a metric: its phase, value and timing."""

    phase: str | None = None
    """Successful, Failed, Inconclusive, Error, Running or Pending."""
    message: str | None = None
    """Details, such as an error message."""
    started_at: Timestamp | None = None
    """When the measurement started."""
    finished_at: Timestamp | None = None
    """When the value was collected."""
    value: str | None = None
    """The measured value, as text."""
    metadata: dict[str, str] | None = None
    """Provider details, such as a job name or a Kayenta run id."""
    resume_at: Timestamp | None = None
    """When to check a long-running measurement again."""


class MetricResult(ApiModel):
    """Results of one metric: recent measurements and counters."""

    name: str | None = None
    """Metric name."""
    phase: str | None = None
    """Overall phase of the metric."""
    measurements: list[Measurement] | None = None
    """The most recent measurements."""
    message: str | None = None
    """Details, such as the last error."""
    count: int | None = None
    """Measurements taken without error (successful + failed + inconclusive)."""
    successful: int | None = None
    """Successful measurements."""
    failed: int | None = None
    """Failed measurements."""
    inconclusive: int | None = None
    """Inconclusive measurements."""
    error: int | None = None
    """Measurements that ended in error."""
    consecutive_error: int | None = None
    """Errors in a row, reset by any other outcome."""
    dry_run: bool | None = None
    """True when the metric runs in dry-run mode."""
    metadata: dict[str, str] | None = None
    """Provider state, such as the resolved query."""
    consecutive_success: int | None = None
    """Successes in a row, reset by any other outcome."""


class RunSummary(ApiModel):
    """Counts of metrics by outcome."""

    count: int | None = None
    """Metrics counted."""
    successful: int | None = None
    """Successful metrics."""
    failed: int | None = None
    """Failed metrics."""
    inconclusive: int | None = None
    """Inconclusive metrics."""
    error: int | None = None
    """Metrics in error."""


class AnalysisRunStatus(ApiModel):
    """Progress and results of an AnalysisRun."""

    phase: str | None = None
    """Pending, Running, Successful, Failed, Error or Inconclusive."""
    message: str | None = None
    """Why the run is in its phase."""
    metric_results: list[MetricResult] | None = None
    """Results per metric."""
    started_at: Timestamp | None = None
    """When the run started."""
    run_summary: RunSummary | None = None
    """Outcome counts over the metrics that decide the run."""
    dry_run_summary: RunSummary | None = None
    """Outcome counts over dry-run metrics."""
    completed_at: Timestamp | None = None
    """When the run completed."""
