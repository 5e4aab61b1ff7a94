"""What measurements mean: a metric's counters and phase, and the AnalysisRun's phase, message and summaries.

Follows upstream's documented assessment (analysis.runMeasurements, assessRunStatus, assessMetricStatus):
- a completed measurement counts once: Successful, Failed and Inconclusive add to `count`; Error adds to `error`
  and `consecutiveError` (reset by any other outcome); Successful adds to `consecutiveSuccess` (reset by any
  other outcome). Zero counters are left out of the status, as upstream writes them;
- a metric is Failed once failed > failureLimit (-1: never), Inconclusive once inconclusive > inconclusiveLimit,
  Error once consecutiveError > consecutiveErrorLimit (checked in that order, the last that applies wins);
  Successful once consecutiveSuccess reaches consecutiveSuccessLimit (when > 0), or once `count` measurements are
  taken; at count with consecutiveSuccessLimit set and not reached it is Inconclusive (Failed when failureLimit
  is -1). A terminating run ends every unfinished metric as Successful;
- the run is Running until every metric is completed, then takes the worst phase of the metrics that are not
  dry-run (Successful < Inconclusive < Error < Failed), with the message `Metric "m" assessed Failed due to failed
  (1) > failureLimit (0)` (plus the last measurement's message); a terminated run with nothing worse is
  Successful with "Run Terminated". A run is terminating when `spec.terminate` is set or a metric that is not
  dry-run is Failed, Error or Inconclusive;
- runSummary counts the metrics that decide the run, dryRunSummary the dry-run ones;
- each metric keeps its newest 10 measurements, or its measurementRetention limit.
dryRun and measurementRetention `metricName` are regular expressions matched anywhere in the name, as upstream
(run by RE2 through `ramp.core.patterns`; one RE2 refuses is a SpecError naming the field); "*" alone also means
every metric.

Pure: no I/O, no clock. Used by `ramp.analysis.reconciler`; works with `ramp.api.analysis` and
`ramp.api.analysis_status`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ramp.api.analysis import DryRun, MeasurementRetention, Metric
from ramp.api.analysis_status import AnalysisPhase, Measurement, MetricResult, RunSummary, is_completed_phase
from ramp.api.durations import parse_duration
from ramp.api.meta import int_value
from ramp.api.providers import configured_providers
from ramp.core.patterns import PatternError, compile_pattern

DEFAULT_MEASUREMENT_LIMIT = 10
"""Measurements kept per metric unless measurementRetention says otherwise (upstream's history limit)."""
RUN_TERMINATED = "Run Terminated"
METRIC_TERMINATED = "Metric Terminated"
_ORDER = (
    AnalysisPhase.SUCCESSFUL,
    AnalysisPhase.RUNNING,
    AnalysisPhase.PENDING,
    AnalysisPhase.INCONCLUSIVE,
    AnalysisPhase.ERROR,
    AnalysisPhase.FAILED,
)


class SpecError(ValueError):
    """An analysis spec that cannot run; the message names the field and what is wrong."""


@dataclass(frozen=True)
class MetricTransition:
    """A metric whose phase changed to a completed one in this assessment (for its event)."""

    name: str
    phase: str


@dataclass(frozen=True)
class RunAssessment:
    """The run's phase and message, its metric results with their new phases, summaries and transitions."""

    phase: str
    message: str
    results: tuple[MetricResult, ...]
    run_summary: RunSummary
    dry_run_summary: RunSummary
    transitions: tuple[MetricTransition, ...] = ()


# --- the spec ---------------------------------------------------------------------------------------------------


def validate_metrics(metrics: Sequence[Metric]) -> None:
    """Raise SpecError for what upstream's ValidateMetrics refuses (limits, count, interval, one provider)."""
    if not metrics:
        raise SpecError("no metrics specified")
    seen: set[str] = set()
    for index, metric in enumerate(metrics):
        if metric.name in seen:
            raise SpecError(f"metrics[{index}]: duplicate name '{metric.name}'")
        seen.add(metric.name)
        try:
            _validate_metric(metric)
        except ValueError as problem:
            raise SpecError(f"metrics[{index}]: {problem}") from None


def _validate_metric(metric: Metric) -> None:
    count = int_value(metric.count) if metric.count is not None else 0
    failure_limit = metric.effective_failure_limit
    success_limit = metric.effective_consecutive_success_limit
    inconclusive_limit = metric.effective_inconclusive_limit
    if success_limit < 0:
        raise ValueError("consecutiveSuccessLimit must be >= 0")
    if failure_limit < -1:
        raise ValueError("failureLimit must be >= 0, or -1 to be disabled")
    if success_limit == 0 and failure_limit == -1:
        raise ValueError("failureLimit and consecutiveSuccessLimit cannot both be disabled")
    if inconclusive_limit < 0:
        raise ValueError("inconclusiveLimit must be >= 0")
    if metric.effective_consecutive_error_limit < 0:
        raise ValueError("consecutiveErrorLimit must be >= 0")
    if count > 0:
        if failure_limit >= 0 and count < failure_limit + success_limit:
            raise ValueError(
                f"count ({count}) must be >= failureLimit + consecutiveSuccessLimit "
                f"({failure_limit} + {success_limit}) if both >= 0"
            )
        if failure_limit < 0 and count < success_limit:
            raise ValueError("count must be >= consecutiveSuccessLimit")
        if count < inconclusive_limit:
            raise ValueError("count must be >= inconclusiveLimit")
    if count > 1 and not metric.interval:
        raise ValueError("interval must be specified when count > 1")
    for field, text in (("interval", metric.interval), ("initialDelay", metric.initial_delay)):
        if text:
            try:
                parse_duration(text)
            except ValueError as problem:
                raise ValueError(f"invalid {field} string: {problem}") from None
    providers = configured_providers(metric.provider)
    if not providers:
        raise ValueError("no provider specified")
    if len(providers) > 1:
        raise ValueError("multiple providers specified")


def select_dry_run_metrics(rules: Sequence[DryRun] | None, names: Sequence[str]) -> frozenset[str]:
    """Names of the metrics in dry-run mode; SpecError for a rule matching no metric (as upstream)."""
    selected: set[str] = set()
    for index, rule in enumerate(rules or []):
        matched = [name for name in names if _is_match(rule.metric_name, name, f"dryRun[{index}].metricName")]
        if not matched:
            raise SpecError(f"dryRun[{index}]: Rule didn't match any metric name(s)")
        selected.update(matched)
    return frozenset(selected)


def select_measurement_limits(rules: Sequence[MeasurementRetention] | None, names: Sequence[str]) -> dict[str, int]:
    """Measurements to keep per metric name (the last matching rule wins; a limit of 0 or less keeps the default).

    SpecError for a rule matching no metric, as upstream.
    """
    limits = dict.fromkeys(names, DEFAULT_MEASUREMENT_LIMIT)
    for index, rule in enumerate(rules or []):
        field = f"measurementRetention[{index}].metricName"
        matched = [name for name in names if _is_match(rule.metric_name, name, field)]
        if not matched:
            raise SpecError(f"measurementRetention[{index}]: Rule didn't match any metric name(s)")
        for name in matched:
            limits[name] = rule.limit if rule.limit > 0 else DEFAULT_MEASUREMENT_LIMIT
    return limits


def _is_match(pattern: str, name: str, field: str) -> bool:
    """RE2 (linear time) rather than Python's backtracking `re`; a pattern RE2 refuses is a SpecError naming the
    field (upstream would quietly match nothing and then report the rule as matching no metric)."""
    if pattern == "*":
        return True
    try:
        return compile_pattern(pattern, field).search(name)
    except PatternError as problem:
        raise SpecError(str(problem)) from None


# --- measurements -----------------------------------------------------------------------------------------------


def record_measurement(
    result: MetricResult | None,
    name: str,
    measurement: Measurement,
    *,
    replaces_last: bool = False,
    dry_run: bool = False,
) -> MetricResult:
    """The metric's result with `measurement` added (or replacing the in-flight last one) and counted if completed.

    A metric's first result starts Running, with `dryRun` set when the metric is in dry-run mode.
    """
    if result is None:
        result = MetricResult(name=name, phase=AnalysisPhase.RUNNING, dry_run=True if dry_run else None)
    measurements = list(result.measurements or [])
    if replaces_last and measurements:
        measurements[-1] = measurement
    else:
        measurements.append(measurement)
    counters = {
        "count": result.count or 0,
        "successful": result.successful or 0,
        "failed": result.failed or 0,
        "inconclusive": result.inconclusive or 0,
        "error": result.error or 0,
        "consecutive_error": result.consecutive_error or 0,
        "consecutive_success": result.consecutive_success or 0,
    }
    phase = measurement.phase
    if phase == AnalysisPhase.ERROR:
        counters["error"] += 1
        counters["consecutive_error"] += 1
        counters["consecutive_success"] = 0
    elif phase in (AnalysisPhase.SUCCESSFUL, AnalysisPhase.FAILED, AnalysisPhase.INCONCLUSIVE):
        counters["count"] += 1
        counters[phase.lower()] += 1
        counters["consecutive_error"] = 0
        counters["consecutive_success"] = (
            counters["consecutive_success"] + 1 if phase == AnalysisPhase.SUCCESSFUL else 0
        )
    update: dict[str, object] = {key: value or None for key, value in counters.items()}
    update["measurements"] = measurements
    return result.model_copy(update=update)


def trim_measurements(result: MetricResult, limit: int) -> MetricResult:
    """The result keeping only its newest `limit` measurements."""
    measurements = result.measurements or []
    if len(measurements) <= limit:
        return result
    return result.model_copy(update={"measurements": measurements[len(measurements) - limit :]})


def set_result(results: Sequence[MetricResult], result: MetricResult) -> list[MetricResult]:
    """`results` with `result` in place of the one of the same name, or appended."""
    updated = list(results)
    for index, existing in enumerate(updated):
        if existing.name == result.name:
            updated[index] = result
            return updated
    updated.append(result)
    return updated


# --- phases -----------------------------------------------------------------------------------------------------


def is_worse(current: str, new: str) -> bool:
    """True when `new` is a worse phase than `current` (Successful < Running < Pending < Inconclusive < Error <
    Failed)."""
    return _rank(new) > _rank(current)


def _rank(phase: str) -> int:
    return _ORDER.index(AnalysisPhase(phase)) if phase in _ORDER else 0


def is_terminating(terminate: bool, results: Iterable[MetricResult]) -> bool:
    """True when the run takes no new measurement: terminate was asked for, or a deciding metric has ended badly."""
    if terminate:
        return True
    bad = (AnalysisPhase.FAILED, AnalysisPhase.ERROR, AnalysisPhase.INCONCLUSIVE)
    return any(not result.dry_run and result.phase in bad for result in results)


def assess_limits(metric: Metric, result: MetricResult) -> tuple[str | None, str]:
    """Failed, Inconclusive or Error when a limit is exceeded (the last exceeded wins), with the reason; else None."""
    phase: str | None = None
    message = ""
    failed, failure_limit = result.failed or 0, metric.effective_failure_limit
    if failure_limit >= 0 and failed > failure_limit:
        phase, message = AnalysisPhase.FAILED, f"failed ({failed}) > failureLimit ({failure_limit})"
    inconclusive, inconclusive_limit = result.inconclusive or 0, metric.effective_inconclusive_limit
    if inconclusive > inconclusive_limit:
        phase = AnalysisPhase.INCONCLUSIVE
        message = f"inconclusive ({inconclusive}) > inconclusiveLimit ({inconclusive_limit})"
    errors, error_limit = result.consecutive_error or 0, metric.effective_consecutive_error_limit
    if errors > error_limit:
        phase = AnalysisPhase.ERROR
        message = f"consecutiveErrors ({errors}) > consecutiveErrorLimit ({error_limit})"
    return phase, message


def assess_metric(metric: Metric, result: MetricResult, terminating: bool) -> str:
    """The phase of one metric from its measurements and limits (upstream's assessMetricStatus)."""
    if is_completed_phase(result.phase):
        return str(result.phase)
    if not result.measurements:
        return AnalysisPhase.SUCCESSFUL if terminating else AnalysisPhase.PENDING
    if not is_completed_phase(result.measurements[-1].phase):
        return AnalysisPhase.RUNNING
    exceeded, _ = assess_limits(metric, result)
    if exceeded is not None:
        return exceeded
    success_limit = metric.effective_consecutive_success_limit
    if success_limit > 0 and (result.consecutive_success or 0) >= success_limit:
        return AnalysisPhase.SUCCESSFUL
    count = metric.effective_count
    if count is not None and (result.count or 0) >= count:
        if success_limit > 0:
            # The streak was not reached: not enough evidence of success. With failures counted (and not
            # exceeded) that is Inconclusive; with failures ignored (-1) only the streak decides: Failed.
            return AnalysisPhase.INCONCLUSIVE if metric.effective_failure_limit >= 0 else AnalysisPhase.FAILED
        return AnalysisPhase.SUCCESSFUL
    return AnalysisPhase.SUCCESSFUL if terminating else AnalysisPhase.RUNNING


def assess_run(
    metrics: Sequence[Metric],
    results: Sequence[MetricResult],
    dry_run: frozenset[str],
    terminate: bool,
) -> RunAssessment:
    """The run's phase and message from its metrics (upstream's assessRunStatus), with every metric's phase
    brought up to date."""
    by_name: dict[str, MetricResult] = {result.name or "": result for result in results}
    terminating = is_terminating(terminate, results)
    worst: str | None = None
    worst_message = RUN_TERMINATED if terminate else ""
    completed_everything = True
    summary = _Summary()
    dry_summary = _Summary()
    transitions: list[MetricTransition] = []
    for metric in metrics:
        is_dry = metric.name in dry_run
        (dry_summary if is_dry else summary).count += 1
        result = by_name.get(metric.name)
        if result is None:
            completed_everything = False  # not started yet (initialDelay)
            continue
        phase = assess_metric(metric, result, terminating)
        if phase != result.phase:
            if is_completed_phase(phase):
                transitions.append(MetricTransition(metric.name, phase))
            last = result.measurements[-1] if result.measurements else None
            result = result.model_copy(update={"phase": phase, "message": last.message if last else None})
        if not is_completed_phase(phase):
            completed_everything = False
            by_name[metric.name] = result
            continue
        exceeded, reason = assess_limits(metric, result)
        if is_dry:
            worst = worst or AnalysisPhase.SUCCESSFUL
            if reason:
                result = result.model_copy(update={"message": f"Metric assessed {phase} due to {reason}"})
            dry_summary.add(exceeded)
        else:
            if worst is None or is_worse(worst, phase):
                worst = phase
                if reason:
                    worst_message = f'Metric "{metric.name}" assessed {phase} due to {reason}'
                    if result.message:
                        worst_message += f': "Error Message: {result.message}"'
            summary.add(exceeded)
        by_name[metric.name] = result
    updated = tuple(by_name.get(result.name or "", result) for result in results)
    worst_message = worst_message.strip()
    if terminating:
        phase = worst or AnalysisPhase.SUCCESSFUL
    elif not completed_everything or worst is None:
        phase, worst_message = AnalysisPhase.RUNNING, ""
    else:
        phase = worst
    return RunAssessment(
        phase=phase,
        message=worst_message,
        results=updated,
        run_summary=summary.to_model(),
        dry_run_summary=dry_summary.to_model(),
        transitions=tuple(transitions),
    )


@dataclass
class _Summary:
    count: int = 0
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    error: int = 0

    def add(self, exceeded: str | None) -> None:
        if exceeded == AnalysisPhase.ERROR:
            self.error += 1
        elif exceeded == AnalysisPhase.FAILED:
            self.failed += 1
        elif exceeded == AnalysisPhase.INCONCLUSIVE:
            self.inconclusive += 1
        else:
            self.successful += 1

    def to_model(self) -> RunSummary:
        return RunSummary(
            count=self.count or None,
            successful=self.successful or None,
            failed=self.failed or None,
            inconclusive=self.inconclusive or None,
            error=self.error or None,
        )


def results_by_name(results: Iterable[MetricResult]) -> Mapping[str, MetricResult]:
    """Metric results keyed by metric name."""
    return {result.name or "": result for result in results}
