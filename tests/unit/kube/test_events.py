"""The event recorder: events written in the order recorded with names that sort that way, repeats counted on one
Event, a spam filter per object, and when the API server cannot keep up, events beyond the queue dropped and
reported once per interval with their count, never blocking the reconcile that records them."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, cast

import httpx
import pytest

from ramp.kube import events
from ramp.kube.client import KubeClient
from ramp.kube.config import ClusterConfig
from ramp.kube.events import EventRecorder

ROLLOUT = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "web", "namespace": "ns"}}


def _rollout(name: str) -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": name, "namespace": "ns"}}


async def test_a_full_queue_drops_events_with_one_warning_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    recorder = EventRecorder(cast(KubeClient, None), host="test")
    with caplog.at_level(logging.WARNING, logger=events.log.name):
        for i in range(events._QUEUE_SIZE + 50):
            # One event per object: the per-object spam filter does not drop any of them.
            recorder.normal(_rollout(f"web-{i}"), "ScalingReplicaSet", "scaled")
    warnings = [r for r in caplog.records if "events dropped" in r.getMessage()]
    assert len(warnings) == 1, "a burst of drops is reported once, not once per event"
    recorder._last_drop_report -= events.DROP_REPORT_INTERVAL  # the interval has passed
    with caplog.at_level(logging.WARNING, logger=events.log.name):
        recorder.normal(ROLLOUT, "ScalingReplicaSet", "one more")
    reported = [r for r in caplog.records if "events dropped" in r.getMessage()]
    assert len(reported) == 2
    assert reported[-1].__dict__["dropped"] == 50, "the second report counts every drop since the first"


class _Sink:
    """An API server stand-in for Events only (an httpx.MockTransport): remembers what was created and patched."""

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []
        self.patched: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.method == "POST":
            self.created.append(body)
        else:
            self.patched.append((request.url.path.rsplit("/", 1)[-1], body))
        return httpx.Response(201, json=body)


def _recorder(sink: _Sink, **kwargs: Any) -> EventRecorder:
    client = KubeClient(ClusterConfig(server="https://mock"), transport=httpx.MockTransport(sink), qps=0)
    return EventRecorder(client, host="test", **kwargs)


async def _written(recorder: EventRecorder) -> None:
    task = asyncio.create_task(recorder.run())
    await recorder.close(5.0)
    task.cancel()


async def test_events_are_written_in_record_order_with_names_that_sort_that_way_and_repeats_are_counted() -> None:
    sink = _Sink()
    recorder = _recorder(sink)
    for reason in ("RolloutUpdated", "NewReplicaSetCreated", "RolloutNotCompleted", "ScalingReplicaSet"):
        recorder.normal(ROLLOUT, reason, f"{reason} of web")
    recorder.normal(_rollout("api"), "RolloutUpdated", "RolloutUpdated of api")
    await _written(recorder)
    recorder.normal(ROLLOUT, "RolloutUpdated", "RolloutUpdated of web")  # a repeat, once the first is written
    await _written(recorder)
    web = [e for e in sink.created if e["involvedObject"]["name"] == "web"]
    assert [e["reason"] for e in web] == [
        "RolloutUpdated",
        "NewReplicaSetCreated",
        "RolloutNotCompleted",
        "ScalingReplicaSet",
    ]
    names = [e["metadata"]["name"] for e in web]
    assert names == sorted(names), "names are fixed when recorded: they sort in the order events happened"
    assert len(sink.created) == 5
    ((name, patch),) = sink.patched
    assert name == web[0]["metadata"]["name"] and patch["count"] == 2


async def test_record_never_waits_for_the_api_server() -> None:
    recorder = EventRecorder(cast(KubeClient, None), host="test")  # any write would fail: none happens here
    recorder.normal(ROLLOUT, "RolloutUpdated", "updated")
    assert recorder._queued == 1


async def test_events_beyond_an_objects_spam_budget_are_dropped_but_still_counted() -> None:
    sink = _Sink()
    recorder = _recorder(sink)
    for i in range(30):
        recorder.normal(ROLLOUT, "ScalingReplicaSet", f"scaled {i}")
    await _written(recorder)
    assert sum(int(e["count"]) for e in sink.created) + len(sink.patched) == 25
    counted = events.EVENTS_METRIC.value("ns", "web", "Normal", "ScalingReplicaSet")
    assert counted >= 30, "the metric counts every event recorded, as upstream's"


async def test_listeners_hear_every_event_recorded_even_those_the_spam_filter_drops() -> None:
    recorder = EventRecorder(cast(KubeClient, None), host="test")
    heard: list[tuple[str, str, str, str]] = []
    recorder.add_listener(
        lambda obj, kind, reason, message: heard.append((obj["metadata"]["name"], kind, reason, message))
    )
    for i in range(30):
        recorder.normal(ROLLOUT, "ScalingReplicaSet", f"scaled {i}")
    recorder.warning(ROLLOUT, "RolloutAborted", "aborted")
    assert len(heard) == 31
    assert heard[-1] == ("web", "Warning", "RolloutAborted", "aborted")


async def test_a_failing_listener_costs_neither_the_event_nor_the_other_listeners(
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder = EventRecorder(cast(KubeClient, None), host="test")
    heard: list[str] = []

    def broken(obj: object, kind: str, reason: str, message: str) -> None:
        raise RuntimeError("bug")

    recorder.add_listener(broken)
    recorder.add_listener(lambda obj, kind, reason, message: heard.append(reason))
    with caplog.at_level(logging.ERROR, logger=events.log.name):
        recorder.normal(ROLLOUT, "RolloutUpdated", "updated")
    assert heard == ["RolloutUpdated"]
    assert recorder._queued == 1
    assert "event listener failed" in caplog.text
