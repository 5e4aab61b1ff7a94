"""Recording measurements, a metric's phase from its limits, and the run's phase, message and summaries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ramp.analysis.assessment import (
    SpecError,
    assess_metric,
    assess_run,
    is_terminating,
    record_measurement,
    select_dry_run_metrics,
    select_measurement_limits,
    trim_measurements,
    validate_metrics,
)
from ramp.api.analysis import DryRun, MeasurementRetention, Metric
from ramp.api.analysis_status import Measurement, MetricResult

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def metric(name: str = "m", **fields: Any) -> Metric:
    return Metric.model_validate({"name": name, "provider": {"web": {"url": "http://x"}}, **fields})


def measured(phase: str, message: str | None = None) -> Measurement:
    finished = T0 if phase not in ("Running", "Pending") else None
    return Measurement(phase=phase, message=message, started_at=T0, finished_at=finished)


def record_all(*phases: str, name: str = "m", dry_run: bool = False) -> MetricResult:
    result: MetricResult | None = None
    for phase in phases:
        result = record_measurement(result, name, measured(phase), dry_run=dry_run)
    assert result is not None
    return result


def counters(result: MetricResult) -> dict[str, int]:
    fields = ("count", "successful", "failed", "inconclusive", "error", "consecutive_error", "consecutive_success")
    return {f: getattr(result, f) for f in fields if getattr(result, f)}


@pytest.mark.parametrize(
    ("phases", "expected"),
    [
        pytest.param(["Successful"] * 3, {"count": 3, "successful": 3, "consecutive_success": 3}, id="successes"),
        pytest.param(
            ["Successful", "Failed", "Inconclusive"],
            {"count": 3, "successful": 1, "failed": 1, "inconclusive": 1},
            id="each-outcome-counts-once",
        ),
        pytest.param(["Error", "Error"], {"error": 2, "consecutive_error": 2}, id="errors-are-not-counted"),
        pytest.param(
            ["Error", "Successful"],
            {"count": 1, "successful": 1, "error": 1, "consecutive_success": 1},
            id="success-resets-consecutive-errors",
        ),
        pytest.param(
            ["Successful", "Error"],
            {"count": 1, "successful": 1, "error": 1, "consecutive_error": 1},
            id="error-resets-consecutive-successes",
        ),
        pytest.param(["Running"], {}, id="running-is-not-counted"),
    ],
)
def test_measurements_update_the_counters(phases: list[str], expected: dict[str, int]) -> None:
    result = record_all(*phases)
    assert counters(result) == expected
    assert [m.phase for m in result.measurements or []] == phases


def test_a_finished_measurement_replaces_the_in_flight_one_and_counts() -> None:
    running = record_all("Running")
    done = record_measurement(running, "m", measured("Successful"), replaces_last=True)
    assert [m.phase for m in done.measurements or []] == ["Successful"]
    assert counters(done) == {"count": 1, "successful": 1, "consecutive_success": 1}


def test_a_metric_result_starts_running_and_marked_dry_run() -> None:
    result = record_all("Successful", dry_run=True)
    assert (result.name, result.phase, result.dry_run) == ("m", "Running", True)
    assert record_all("Successful").dry_run is None


def test_measurements_beyond_the_limit_are_dropped_oldest_first() -> None:
    result = record_all(*(["Failed"] * 3 + ["Successful"] * 10))
    trimmed = trim_measurements(result, 10)
    assert [m.phase for m in trimmed.measurements or []] == ["Successful"] * 10
    assert trimmed.count == 13  # the counters keep the whole history


@pytest.mark.parametrize(
    ("fields", "phases", "terminating", "expected"),
    [
        pytest.param({"count": 3, "interval": "1s"}, ["Successful"] * 2, False, "Running", id="count-not-reached"),
        pytest.param({"count": 3, "interval": "1s"}, ["Successful"] * 3, False, "Successful", id="count-reached"),
        pytest.param({}, ["Failed"], False, "Failed", id="failure-limit-0"),
        pytest.param({"failureLimit": 1, "count": 3, "interval": "1s"}, ["Failed"], False, "Running", id="tolerated"),
        pytest.param(
            {"failureLimit": 1, "count": 3, "interval": "1s"}, ["Failed"] * 2, False, "Failed", id="past-limit"
        ),
        pytest.param(
            {"failureLimit": 1, "count": 2, "interval": "1s"}, ["Failed", "Successful"], False, "Successful", id="ok"
        ),
        pytest.param({}, ["Inconclusive"], False, "Inconclusive", id="inconclusive-limit-0"),
        pytest.param({"interval": "1s"}, ["Error"] * 4, False, "Running", id="four-errors-tolerated"),
        pytest.param({"interval": "1s"}, ["Error"] * 5, False, "Error", id="consecutive-error-limit-4"),
        pytest.param(
            {"interval": "1s", "consecutiveSuccessLimit": 2}, ["Successful"] * 2, False, "Successful", id="streak"
        ),
        pytest.param(
            {"interval": "1s", "count": 3, "failureLimit": 1, "consecutiveSuccessLimit": 2},
            ["Successful", "Failed", "Successful"],
            False,
            "Inconclusive",
            id="count-without-streak-is-inconclusive",
        ),
        pytest.param(
            {"interval": "1s", "count": 3, "failureLimit": -1, "consecutiveSuccessLimit": 2},
            ["Successful", "Failed", "Successful"],
            False,
            "Failed",
            id="count-without-streak-failures-ignored-is-failed",
        ),
        pytest.param({"interval": "1s"}, ["Successful"], False, "Running", id="no-count-runs-forever"),
        pytest.param({"interval": "1s"}, ["Successful"], True, "Successful", id="terminated-forever-metric"),
        pytest.param({"interval": "1s"}, [], True, "Successful", id="terminated-before-first"),
        pytest.param({"interval": "1s"}, ["Running"], False, "Running", id="in-flight"),
    ],
)
def test_metric_phase_follows_its_limits(
    fields: dict[str, Any], phases: list[str], terminating: bool, expected: str
) -> None:
    result = record_all(*phases) if phases else MetricResult(name="m", phase="Running", measurements=[])
    assert assess_metric(metric(**fields), result, terminating) == expected


def test_a_successful_run_with_its_summary_and_events() -> None:
    m = metric(count=2, interval="1s")
    assessment = assess_run([m], [record_all("Successful", "Successful")], frozenset(), False)
    assert (assessment.phase, assessment.message) == ("Successful", "")
    assert assessment.run_summary.model_dump(exclude_none=True) == {"count": 1, "successful": 1}
    assert assessment.dry_run_summary.model_dump(exclude_none=True) == {}
    assert [(t.name, t.phase) for t in assessment.transitions] == [("m", "Successful")]
    assert assessment.results[0].phase == "Successful"


def test_a_run_is_running_until_every_metric_completes() -> None:
    a, b = metric("a"), metric("b", interval="1s", count=3)
    assessment = assess_run(
        [a, b], [record_all("Successful", name="a"), record_all("Successful", name="b")], frozenset(), False
    )
    assert assessment.phase == "Running"
    assert assessment.message == ""
    assert [r.phase for r in assessment.results] == ["Successful", "Running"]


def test_a_metric_not_started_keeps_the_run_running() -> None:
    assessment = assess_run(
        [metric("a"), metric("late", initialDelay="1m")], [record_all("Successful", name="a")], frozenset(), False
    )
    assert assessment.phase == "Running"
    assert assessment.run_summary.count == 2


def test_the_worst_metric_decides_with_upstreams_message() -> None:
    failing = record_measurement(
        None, "bad", Measurement(phase="Failed", message="too slow", started_at=T0, finished_at=T0)
    )
    assessment = assess_run(
        [metric("good"), metric("bad")], [record_all("Successful", name="good"), failing], frozenset(), False
    )
    assert assessment.phase == "Failed"
    assert (
        assessment.message
        == 'Metric "bad" assessed Failed due to failed (1) > failureLimit (0): "Error Message: too slow"'
    )
    assert assessment.run_summary.model_dump(exclude_none=True) == {"count": 2, "successful": 1, "failed": 1}


def test_dry_run_metrics_never_fail_the_run_and_have_their_own_summary() -> None:
    assessment = assess_run(
        [metric("real"), metric("trial")],
        [record_all("Successful", name="real"), record_all("Failed", name="trial", dry_run=True)],
        frozenset({"trial"}),
        False,
    )
    assert assessment.phase == "Successful"
    assert assessment.run_summary.model_dump(exclude_none=True) == {"count": 1, "successful": 1}
    assert assessment.dry_run_summary.model_dump(exclude_none=True) == {"count": 1, "failed": 1}
    trial = next(r for r in assessment.results if r.name == "trial")
    assert (trial.phase, trial.message) == ("Failed", "Metric assessed Failed due to failed (1) > failureLimit (0)")


def test_a_terminated_run_is_successful_with_run_terminated() -> None:
    m = metric(interval="1s")
    assessment = assess_run([m], [record_all("Successful", "Successful")], frozenset(), True)
    assert (assessment.phase, assessment.message) == ("Successful", "Run Terminated")


def test_a_terminated_run_keeps_a_failure() -> None:
    m = metric(interval="1s")
    assessment = assess_run([m], [record_all("Failed")], frozenset(), True)
    assert assessment.phase == "Failed"
    assert assessment.message.startswith('Metric "m" assessed Failed')


def test_a_failed_metric_makes_the_run_terminating_but_a_dry_run_one_does_not() -> None:
    failed = record_all("Failed").model_copy(update={"phase": "Failed"})
    assert is_terminating(False, [failed])
    assert not is_terminating(False, [failed.model_copy(update={"dry_run": True})])
    assert is_terminating(True, [])


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        pytest.param({"count": 3}, "interval must be specified when count > 1", id="count-without-interval"),
        pytest.param({"failureLimit": -2}, "failureLimit must be >= 0, or -1", id="failure-limit"),
        pytest.param({"failureLimit": -1}, "cannot both be disabled", id="both-disabled"),
        pytest.param({"interval": "soon"}, "invalid interval string", id="bad-interval"),
        pytest.param({"count": "{{args.n}}", "interval": "1s"}, "not a whole number", id="unresolved-count"),
        pytest.param(
            {"count": 2, "interval": "1s", "failureLimit": 1, "consecutiveSuccessLimit": 2},
            "count (2) must be >= failureLimit + consecutiveSuccessLimit",
            id="count-too-small",
        ),
    ],
)
def test_invalid_metrics_are_refused_naming_the_metric(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(SpecError) as raised:
        validate_metrics([metric(**fields)])
    assert str(raised.value).startswith("metrics[0]: ")
    assert problem in str(raised.value)


def test_duplicate_metric_names_are_refused() -> None:
    with pytest.raises(SpecError, match="duplicate name 'm'"):
        validate_metrics([metric(), metric()])


def test_dry_run_and_retention_rules_are_patterns() -> None:
    names = ["error-rate", "latency"]
    assert select_dry_run_metrics([DryRun(metric_name="error.*")], names) == {"error-rate"}
    assert select_dry_run_metrics([DryRun(metric_name="*")], names) == set(names)
    limits = select_measurement_limits([MeasurementRetention(metric_name="lat", limit=3)], names)
    assert limits == {"error-rate": 10, "latency": 3}
    with pytest.raises(SpecError, match=r"dryRun\[0\]: Rule didn't match any metric name"):
        select_dry_run_metrics([DryRun(metric_name="nothing")], names)
