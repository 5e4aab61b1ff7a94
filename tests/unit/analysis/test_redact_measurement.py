"""Secret values never reach a measurement's status: not in its message, its value or its metadata."""

from __future__ import annotations

from ramp.analysis.reconciler import redact_measurement
from ramp.api.analysis_status import Measurement


def test_secrets_are_redacted_from_message_value_and_metadata() -> None:
    measurement = Measurement.model_validate(
        {
            "phase": "Error",
            "message": "GET https://api/?key=tok3n-value failed",
            "value": '{"echo":"tok3n-value"}',
            "metadata": {"request": "key=tok3n-value", "job-name": "uid.m.1"},
        }
    )
    redacted = redact_measurement(measurement, frozenset({"tok3n-value"}))
    assert redacted.message == "GET https://api/?key=***** failed"
    assert redacted.value == '{"echo":"*****"}'
    assert redacted.metadata == {"request": "key=*****", "job-name": "uid.m.1"}


def test_a_very_short_secret_does_not_rewrite_metadata_a_provider_reads_back() -> None:
    measurement = Measurement.model_validate({"phase": "Running", "metadata": {"job-name": "uid.m.1"}})
    assert redact_measurement(measurement, frozenset({"1"})).metadata == {"job-name": "uid.m.1"}


def test_without_secrets_the_measurement_is_unchanged() -> None:
    measurement = Measurement.model_validate({"phase": "Successful", "value": "1"})
    assert redact_measurement(measurement, frozenset()) is measurement
