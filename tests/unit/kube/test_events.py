"""The event recorder when the API server cannot keep up: events beyond the queue are dropped, reported once
per interval with their count, and never block the reconcile that records them."""

from __future__ import annotations

import logging
from typing import cast

import pytest

from ramp.kube import events
from ramp.kube.client import KubeClient
from ramp.kube.events import EventRecorder

ROLLOUT = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "web", "namespace": "ns"}}


async def test_a_full_queue_drops_events_with_one_warning_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    recorder = EventRecorder(cast(KubeClient, None), host="test")
    with caplog.at_level(logging.WARNING, logger=events.log.name):
        for i in range(events._QUEUE_SIZE + 50):
            recorder.normal(ROLLOUT, "ScalingReplicaSet", f"scaled {i}")
    warnings = [r for r in caplog.records if "events dropped" in r.getMessage()]
    assert len(warnings) == 1, "a burst of drops is reported once, not once per event"
    recorder._last_drop_report -= events.DROP_REPORT_INTERVAL  # the interval has passed
    with caplog.at_level(logging.WARNING, logger=events.log.name):
        recorder.normal(ROLLOUT, "ScalingReplicaSet", "one more")
    reported = [r for r in caplog.records if "events dropped" in r.getMessage()]
    assert len(reported) == 2
    assert reported[-1].__dict__["dropped"] == 50, "the second report counts every drop since the first"
