"""When each metric of an AnalysisRun is measured: which are due now, and the exact time the next one is.

Follows upstream's documented scheduling (analysis.generateMetricTasks and calculateNextReconcileTime):
- a metric that is completed is never measured again;
- the first measurement waits `initialDelay` after the run started (at once without one);
- a measurement still Running (a Job) is looked at again at its `resumeAt`, or at once without one; when the run
  is terminating it is looked at at once, to be terminated;
- a terminating run takes no new measurement;
- once `count` measurements are taken (errors do not count) nothing more is taken;
- otherwise the next measurement is due `interval` after the last one finished, or 10 seconds after it when it
  was an Error (upstream's DefaultErrorRetryInterval, whatever the interval);
- a metric with neither interval nor error is not scheduled.

Where Ramp differs: a measurement is due when `now` reaches its time (upstream asks for strictly after), and
the reconciler requeues for exactly the earliest due time (`calculate_next_time`), so intervals do not drift;
times are those written in the status (whole seconds), so every reconcile decides alike.
The TTL of finished runs (`calculate_deletion_time`) is scheduled the same way instead of waiting for a resync.

Pure: time is passed in. Used by `ramp.analysis.reconciler`; works with `ramp.api.analysis` and
`ramp.api.analysis_status`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ramp.api.analysis import Metric, TTLStrategy
from ramp.api.analysis_status import AnalysisPhase, Measurement, MetricResult, is_completed_phase
from ramp.api.durations import parse_duration

DEFAULT_ERROR_RETRY_INTERVAL = timedelta(seconds=10)
"""Upstream's wait before measuring again after an Error measurement."""


@dataclass(frozen=True)
class MetricTask:
    """A measurement to take now: a new one, or the in-flight `incomplete` one to resume or terminate."""

    metric: Metric
    incomplete: Measurement | None = None


def plan_measurements(
    metrics: Sequence[Metric],
    results: Mapping[str, MetricResult],
    started_at: datetime,
    terminating: bool,
    now: datetime,
) -> list[MetricTask]:
    """The measurements due at `now`, in metric order.

    `results` are the metric results by name; `started_at` is when the run started (now, on its first reconcile).
    """
    tasks: list[MetricTask] = []
    for metric in metrics:
        result = results.get(metric.name)
        if result is not None and is_completed_phase(result.phase):
            continue
        last = last_measurement(result)
        if last is not None and last.finished_at is None:
            if terminating or last.resume_at is None or last.resume_at <= now:
                tasks.append(MetricTask(metric, last))
            continue
        if terminating:
            continue
        due = calculate_due_time(metric, result, started_at)
        if due is not None and due <= now:
            tasks.append(MetricTask(metric))
    return tasks


def calculate_next_time(
    metrics: Sequence[Metric], results: Mapping[str, MetricResult], started_at: datetime
) -> datetime | None:
    """The earliest time a metric needs the run reconciled again: a new measurement or a resume; None if none.

    An in-flight measurement without `resumeAt` is not scheduled (its provider's own events bring the run back,
    as upstream).
    """
    times: list[datetime] = []
    for metric in metrics:
        result = results.get(metric.name)
        if result is not None and is_completed_phase(result.phase):
            continue
        last = last_measurement(result)
        if last is not None and last.finished_at is None:
            if last.resume_at is not None:
                times.append(last.resume_at)
            continue
        due = calculate_due_time(metric, result, started_at)
        if due is not None:
            times.append(due)
    return min(times, default=None)


def calculate_due_time(metric: Metric, result: MetricResult | None, started_at: datetime) -> datetime | None:
    """When the metric's next new measurement is due (its last one finished); None when no more are taken.

    >>> m = Metric.model_validate({"name": "m", "interval": "30s", "provider": {"web": {"url": "u"}}})
    >>> calculate_due_time(m, None, datetime(2024, 5, 1, 12, 0)).isoformat()
    '2024-05-01T12:00:00'
    """
    last = last_measurement(result)
    if last is None:
        delay = _read_duration(metric.initial_delay) if metric.initial_delay else timedelta(0)
        return None if delay is None else started_at + delay
    if last.finished_at is None:
        return None
    count = metric.effective_count
    taken = (result.count or 0) if result is not None else 0
    if count is not None and taken >= count:
        return None
    interval = calculate_interval(metric, last)
    return None if interval is None else last.finished_at + interval


def calculate_interval(metric: Metric, last: Measurement) -> timedelta | None:
    """The wait after `last` before the next measurement: 10s after an Error, else the metric's interval."""
    if last.phase == AnalysisPhase.ERROR:
        return DEFAULT_ERROR_RETRY_INTERVAL
    if metric.interval:
        return _read_duration(metric.interval)
    return None


def calculate_deletion_time(
    phase: str | None, completed_at: datetime | None, ttl: TTLStrategy | None
) -> datetime | None:
    """When a finished run is deleted under its ttlStrategy; None when it is kept.

    As upstream: secondsAfterSuccess for a Successful run and secondsAfterFailure for a Failed one when set, else
    secondsAfterCompletion; the run goes once the whole seconds since completion exceed the TTL.

    >>> ttl = TTLStrategy(seconds_after_completion=60)
    >>> calculate_deletion_time("Successful", datetime(2024, 5, 1, 12, 0), ttl).isoformat()
    '2024-05-01T12:01:01'
    """
    if ttl is None or completed_at is None or not is_completed_phase(phase):
        return None
    seconds: int | None
    if phase == AnalysisPhase.SUCCESSFUL and ttl.seconds_after_success is not None:
        seconds = ttl.seconds_after_success
    elif phase == AnalysisPhase.FAILED and ttl.seconds_after_failure is not None:
        seconds = ttl.seconds_after_failure
    else:
        seconds = ttl.seconds_after_completion
    if seconds is None:
        return None
    return completed_at + timedelta(seconds=seconds + 1)


def last_measurement(result: MetricResult | None) -> Measurement | None:
    """The newest measurement of a metric, if any."""
    if result is None or not result.measurements:
        return None
    return result.measurements[-1]


def _read_duration(text: str) -> timedelta | None:
    try:
        return parse_duration(text)
    except ValueError:
        return None  # validation reports it; the schedule just skips the metric, as upstream
