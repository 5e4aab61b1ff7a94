"""Judging one measurement: a provider's value against the metric's successCondition and failureCondition,
and the `Measurement` a provider's `Reading` becomes.

Follows upstream's documented evaluation (utils/evaluate): both conditions are evaluated, successCondition first;
with only a successCondition a value that does not meet it is Failed; with only a failureCondition a value that
does not meet it is Successful; with both, a met failureCondition wins (Failed), a met successCondition alone is
Successful, and neither met is Inconclusive; with no condition at all every value is Successful. A condition that
cannot be parsed or evaluated makes the measurement Error, with a message that names the condition and the
column of the problem (from `ramp.analysis.expression`), so the metric author sees what to fix.

Pure: no I/O, no clock. Used by `ramp.analysis.reconciler`; works with `ramp.analysis.expression` (the condition
language) and `ramp.providers.base` (`Reading`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ramp.analysis.expression import ExpressionError, evaluate_condition
from ramp.api.analysis import Metric
from ramp.api.analysis_status import AnalysisPhase, Measurement, is_completed_phase
from ramp.providers.base import EVALUATE, Reading

NO_DATA = "metric result is nil or empty: no data returned from the metric provider"
"""Upstream's explanation when a condition fails on an empty result: the query found nothing."""


@dataclass(frozen=True)
class ConditionOutcome:
    """The phase the conditions give a value, and why when it is Error."""

    phase: str
    message: str | None = None


def evaluate_result(metric: Metric, result: Any) -> ConditionOutcome:
    """Judge `result` with the metric's conditions (upstream's EvaluateResult).

    >>> m = Metric.model_validate({"name": "m", "successCondition": "result > 1", "provider": {"web": {"url": "u"}}})
    >>> [str(evaluate_result(m, value).phase) for value in (2.0, 0.5)]
    ['Successful', 'Failed']
    """
    success_source = metric.success_condition or ""
    failure_source = metric.failure_condition or ""
    succeeded = failed = False
    if success_source:
        try:
            succeeded = evaluate_condition(success_source, result)
        except ExpressionError as problem:
            return ConditionOutcome(
                AnalysisPhase.ERROR, describe_condition_error("successCondition", success_source, problem, result)
            )
    if failure_source:
        try:
            failed = evaluate_condition(failure_source, result)
        except ExpressionError as problem:
            return ConditionOutcome(
                AnalysisPhase.ERROR, describe_condition_error("failureCondition", failure_source, problem, result)
            )
    if not success_source and not failure_source:
        return ConditionOutcome(AnalysisPhase.SUCCESSFUL)
    if success_source and not failure_source:
        failed = not succeeded
    elif failure_source and not success_source:
        succeeded = not failed
    if failed:
        return ConditionOutcome(AnalysisPhase.FAILED)
    if not succeeded:
        return ConditionOutcome(AnalysisPhase.INCONCLUSIVE)
    return ConditionOutcome(AnalysisPhase.SUCCESSFUL)


def describe_condition_error(field: str, source: str, problem: ExpressionError, result: Any) -> str:
    """One line naming the condition, its source and the problem with its column.

    An empty result is said to be one (upstream's wording), since that is the usual cause: a query that found
    nothing makes `result[0]` fail, and the fix is in the query, not in the condition.
    """
    text = f'could not evaluate {field} "{source}": '
    if is_empty_result(result):
        return f"{text}{NO_DATA} ({problem})"
    return f"{text}{problem}"


def is_empty_result(result: Any) -> bool:
    """True for None and empty lists: the provider found no data."""
    return result is None or (isinstance(result, list | tuple) and len(result) == 0)


def build_measurement(
    reading: Reading,
    metric: Metric,
    *,
    started_at: datetime,
    now: datetime,
    previous: Measurement | None = None,
) -> Measurement:
    """The measurement a reading makes: EVALUATE readings judged by the conditions, other phases as the provider
    decided. A completed measurement finishes at `now`; a Running one keeps the provider's `resume_at`.

    `previous` is the in-flight measurement a resume or terminate continues: its start time and value stay unless
    the reading brings new ones.
    """
    phase = reading.phase
    message = reading.message
    if phase == EVALUATE:
        outcome = evaluate_result(metric, reading.result)
        phase, message = outcome.phase, outcome.message
    completed = is_completed_phase(phase)
    value = reading.value if reading.value is not None else (previous.value if previous is not None else None)
    metadata = dict(reading.metadata) or (dict(previous.metadata or {}) if previous is not None else {})
    return Measurement(
        phase=phase,
        message=message or None,
        started_at=previous.started_at if previous is not None and previous.started_at else started_at,
        finished_at=now if completed else None,
        value=value,
        metadata=metadata or None,
        resume_at=None if completed else reading.resume_at,
    )


def build_error_measurement(
    message: str, *, started_at: datetime, now: datetime, previous: Measurement | None = None
) -> Measurement:
    """An Error measurement (no provider for the metric): continues `previous` when one was in flight, as upstream."""
    base = previous or Measurement(started_at=started_at)
    return base.model_copy(
        update={"phase": AnalysisPhase.ERROR, "message": message, "finished_at": now, "resume_at": None}
    )
