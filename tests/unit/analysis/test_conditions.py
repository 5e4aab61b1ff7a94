"""successCondition / failureCondition → a measurement's phase, and a provider's Reading → a Measurement."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ramp.analysis.conditions import build_error_measurement, build_measurement, evaluate_result
from ramp.api.analysis import Metric
from ramp.providers.base import Reading

NOW = datetime(2024, 5, 1, 12, 0, 5, tzinfo=UTC)
STARTED = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def metric(success: str | None = None, failure: str | None = None) -> Metric:
    spec: dict[str, Any] = {"name": "m", "provider": {"web": {"url": "http://x"}}}
    if success is not None:
        spec["successCondition"] = success
    if failure is not None:
        spec["failureCondition"] = failure
    return Metric.model_validate(spec)


@pytest.mark.parametrize(
    ("success", "failure", "result", "phase"),
    [
        pytest.param(None, None, 0.1, "Successful", id="no-conditions-always-successful"),
        pytest.param("result > 0.9", None, 0.95, "Successful", id="only-success-met"),
        pytest.param("result > 0.9", None, 0.5, "Failed", id="only-success-unmet-is-failed"),
        pytest.param(None, "result > 0.9", 0.5, "Successful", id="only-failure-unmet-is-successful"),
        pytest.param(None, "result > 0.9", 0.95, "Failed", id="only-failure-met-is-failed"),
        pytest.param("result > 0.9", "result < 0.5", 0.95, "Successful", id="both-success-met"),
        pytest.param("result > 0.9", "result < 0.5", 0.1, "Failed", id="both-failure-met"),
        pytest.param("result > 0.9", "result < 0.5", 0.7, "Inconclusive", id="both-neither-met-is-inconclusive"),
        pytest.param("result > 0.5", "result > 0.8", 0.9, "Failed", id="both-met-failure-wins"),
        pytest.param("len(result) > 0 && all(result, {# < 200})", None, [120, 180], "Successful", id="list-result"),
    ],
)
def test_conditions_decide_the_phase(success: str | None, failure: str | None, result: Any, phase: str) -> None:
    assert evaluate_result(metric(success, failure), result).phase == phase


@pytest.mark.parametrize(
    ("success", "failure", "result", "expected"),
    [
        pytest.param("result[0] >= ", None, [1], ["successCondition", "result[0] >= ", "column 14"], id="bad-syntax"),
        pytest.param(None, "result >> 1", 1, ["failureCondition", "column 9"], id="bad-failure-syntax"),
        pytest.param("result[0] > 1", None, [], ["no data returned", "column"], id="empty-result-says-no-data"),
        pytest.param("result", None, 3, ["true or false"], id="not-a-bool"),
    ],
)
def test_a_condition_that_cannot_be_evaluated_is_an_error_naming_the_column(
    success: str | None, failure: str | None, result: Any, expected: list[str]
) -> None:
    outcome = evaluate_result(metric(success, failure), result)
    assert outcome.phase == "Error"
    assert outcome.message is not None
    for part in expected:
        assert part in outcome.message


def test_an_evaluated_reading_becomes_a_finished_measurement_with_its_value() -> None:
    reading = Reading.evaluate(0.97, "0.97", {"query": "q"})
    measurement = build_measurement(reading, metric("result > 0.9"), started_at=STARTED, now=NOW)
    assert measurement.phase == "Successful"
    assert measurement.value == "0.97"
    assert (measurement.started_at, measurement.finished_at) == (STARTED, NOW)
    assert measurement.metadata == {"query": "q"}


def test_a_running_reading_is_unfinished_and_keeps_its_resume_time() -> None:
    reading = Reading("Running", metadata={"job-name": "j"}, resume_at=NOW)
    measurement = build_measurement(reading, metric(), started_at=STARTED, now=NOW)
    assert (measurement.phase, measurement.finished_at, measurement.resume_at) == ("Running", None, NOW)


def test_a_resumed_measurement_keeps_its_start_time_and_metadata() -> None:
    previous = build_measurement(
        Reading("Running", metadata={"job-name": "j"}, resume_at=STARTED), metric(), started_at=STARTED, now=STARTED
    )
    finished = build_measurement(Reading("Successful"), metric(), started_at=NOW, now=NOW, previous=previous)
    assert (finished.phase, finished.started_at, finished.finished_at) == ("Successful", STARTED, NOW)
    assert finished.metadata == {"job-name": "j"}
    assert finished.resume_at is None


def test_an_error_measurement_for_an_unsupported_provider() -> None:
    measurement = build_error_measurement("provider kayenta is not supported", started_at=STARTED, now=NOW)
    assert (measurement.phase, measurement.message, measurement.finished_at) == (
        "Error",
        "provider kayenta is not supported",
        NOW,
    )
