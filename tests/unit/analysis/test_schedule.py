"""Which metrics are measured now, and exactly when the next measurement is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ramp.analysis.schedule import calculate_deletion_time, calculate_next_time, plan_measurements
from ramp.api.analysis import Metric, TTLStrategy
from ramp.api.analysis_status import Measurement, MetricResult

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def metric(**fields: Any) -> Metric:
    return Metric.model_validate({"name": "m", "provider": {"web": {"url": "http://x"}}, **fields})


def finished(phase: str, seconds: float) -> Measurement:
    return Measurement(phase=phase, started_at=at(seconds), finished_at=at(seconds))


def result(*measurements: Measurement, phase: str = "Running", count: int | None = None) -> MetricResult:
    taken = (
        count if count is not None else sum(m.phase in ("Successful", "Failed", "Inconclusive") for m in measurements)
    )
    return MetricResult(name="m", phase=phase, measurements=list(measurements), count=taken or None)


@pytest.mark.parametrize(
    ("fields", "found", "now", "terminating", "due"),
    [
        pytest.param({}, None, 0, False, True, id="first-measurement-at-once"),
        pytest.param({"initialDelay": "10s"}, None, 9, False, False, id="initial-delay-not-over"),
        pytest.param({"initialDelay": "10s"}, None, 10, False, True, id="initial-delay-over"),
        pytest.param({"interval": "5s"}, result(finished("Successful", 0)), 4, False, False, id="interval-not-over"),
        pytest.param({"interval": "5s"}, result(finished("Successful", 0)), 5, False, True, id="interval-over"),
        pytest.param(
            {"interval": "1s"}, result(finished("Error", 0)), 5, False, False, id="error-retried-after-10s-not-interval"
        ),
        pytest.param({"interval": "1s"}, result(finished("Error", 0)), 10, False, True, id="error-retried-after-10s"),
        pytest.param(
            {"interval": "1s", "count": 2},
            result(finished("Successful", 0), finished("Successful", 1)),
            9,
            False,
            False,
            id="count-reached",
        ),
        pytest.param({}, result(finished("Successful", 0)), 60, False, False, id="no-interval-measured-once"),
        pytest.param(
            {"interval": "1s"}, result(finished("Successful", 0), phase="Successful"), 9, False, False, id="completed"
        ),
        pytest.param({"interval": "1s"}, result(finished("Successful", 0)), 9, True, False, id="terminating-no-new"),
        pytest.param({}, None, 0, True, False, id="terminating-never-started"),
    ],
)
def test_a_new_measurement_is_due(
    fields: dict[str, Any], found: MetricResult | None, now: float, terminating: bool, due: bool
) -> None:
    results = {"m": found} if found is not None else {}
    tasks = plan_measurements([metric(**fields)], results, T0, terminating, at(now))
    assert [t.metric.name for t in tasks] == (["m"] if due else [])
    assert all(t.incomplete is None for t in tasks)


@pytest.mark.parametrize(
    ("resume_at", "now", "terminating", "due"),
    [
        pytest.param(5, 4, False, False, id="before-resume-at"),
        pytest.param(5, 5, False, True, id="at-resume-at"),
        pytest.param(5, 1, True, True, id="terminating-resumes-at-once"),
        pytest.param(None, 1, False, True, id="no-resume-at-means-now"),
    ],
)
def test_an_in_flight_measurement_is_resumed(resume_at: float | None, now: float, terminating: bool, due: bool) -> None:
    running = Measurement(phase="Running", started_at=T0, resume_at=at(resume_at) if resume_at is not None else None)
    tasks = plan_measurements([metric(interval="1s")], {"m": result(running)}, T0, terminating, at(now))
    assert [t.incomplete for t in tasks] == ([running] if due else [])


@pytest.mark.parametrize(
    ("metrics", "results", "expected"),
    [
        pytest.param(
            [metric(interval="30s")], {"m": result(finished("Successful", 3))}, 33, id="interval-after-finish"
        ),
        pytest.param([metric(initialDelay="1m")], {}, 60, id="initial-delay"),
        pytest.param([metric(interval="30s")], {"m": result(finished("Error", 3))}, 13, id="error-retry"),
        pytest.param(
            [metric(interval="30s")],
            {"m": result(Measurement(phase="Running", started_at=T0, resume_at=at(7)))},
            7,
            id="resume-at",
        ),
        pytest.param(
            [metric(interval="30s"), metric(name="n", interval="2s")],
            {
                "m": result(finished("Successful", 0)),
                "n": result(finished("Successful", 1)).model_copy(update={"name": "n"}),
            },
            3,
            id="earliest-of-metrics",
        ),
        pytest.param([metric(interval="1s", count=1)], {"m": result(finished("Successful", 0))}, None, id="count-done"),
        pytest.param([metric()], {"m": result(finished("Successful", 0))}, None, id="measured-once"),
        pytest.param(
            [metric(interval="30s")], {"m": result(Measurement(phase="Running", started_at=T0))}, None, id="no-resume"
        ),
    ],
)
def test_the_next_reconcile_is_exactly_the_earliest_due_time(
    metrics: list[Metric], results: dict[str, MetricResult], expected: float | None
) -> None:
    assert calculate_next_time(metrics, results, T0) == (at(expected) if expected is not None else None)


def test_a_measurement_taken_on_time_schedules_the_next_one_interval_later_without_drift() -> None:
    m = metric(interval="10s")
    found: dict[str, MetricResult] = {}
    times: list[datetime] = []
    now = T0
    for _ in range(5):
        assert plan_measurements([m], found, T0, False, now)
        previous = found["m"].measurements or [] if found else []
        measurements = [*previous, finished("Successful", (now - T0).total_seconds())]
        found = {"m": result(*measurements)}
        times.append(now)
        next_time = calculate_next_time([m], found, T0)
        assert next_time is not None
        assert not plan_measurements([m], found, T0, False, next_time - timedelta(milliseconds=1))
        now = next_time
    assert [(t - T0).total_seconds() for t in times] == [0, 10, 20, 30, 40]


@pytest.mark.parametrize(
    ("phase", "ttl", "expected"),
    [
        pytest.param("Successful", TTLStrategy(seconds_after_completion=60), 61, id="after-completion"),
        pytest.param(
            "Successful", TTLStrategy(seconds_after_completion=60, seconds_after_success=5), 6, id="success-wins"
        ),
        pytest.param("Failed", TTLStrategy(seconds_after_completion=60, seconds_after_failure=0), 1, id="failure-wins"),
        pytest.param("Error", TTLStrategy(seconds_after_failure=5), None, id="error-is-not-failure"),
        pytest.param("Error", TTLStrategy(seconds_after_completion=5), 6, id="error-after-completion"),
        pytest.param("Running", TTLStrategy(seconds_after_completion=5), None, id="not-finished"),
        pytest.param("Successful", None, None, id="no-ttl"),
    ],
)
def test_finished_runs_are_deleted_after_their_ttl(phase: str, ttl: TTLStrategy | None, expected: float | None) -> None:
    assert calculate_deletion_time(phase, T0, ttl) == (at(expected) if expected is not None else None)
