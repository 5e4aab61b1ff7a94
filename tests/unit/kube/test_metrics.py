"""The lean per-object collectors expose what prometheus_client's own metrics would, for less memory per series."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from ramp.kube.client import KubeClient
from ramp.kube.config import ClusterConfig
from ramp.kube.exposition import render
from ramp.kube.informer import Informer
from ramp.kube.metrics import LeanCounter, LeanHistogram, PlainCounter
from ramp.kube.resources import ROLLOUTS
from ramp.rollout.metrics import RolloutCollector


def _lines(registry: CollectorRegistry) -> list[str]:
    """The exposition without `_created` samples (prometheus_client adds them; upstream's Go metrics have none)."""
    text = generate_latest(registry).decode()
    return [line for line in text.splitlines() if "_created" not in line]


def test_a_lean_histogram_exposes_what_a_prometheus_client_histogram_does() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    buckets = (0.01, 0.15, 0.25, 0.5, 1.0)
    lean = LeanHistogram("x_reconcile", "Reconciles.", ["namespace", "name"], buckets=buckets, registry=ours)
    reference = Histogram("x_reconcile", "Reconciles.", ["namespace", "name"], buckets=buckets, registry=theirs)
    for value, name in [(0.003, "a"), (0.01, "a"), (0.2, "a"), (7.0, "a"), (0.5, "b"), (0.0, "b")]:
        lean.observe(value, "ns", name)
        reference.labels("ns", name).observe(value)
    assert _lines(ours) == _lines(theirs)
    assert lean.count("ns", "a") == 4
    assert lean.count("ns", "missing") == 0


def test_a_lean_counter_exposes_what_a_prometheus_client_counter_does() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    lean = LeanCounter("x_events", "Events.", ["namespace", "name", "reason"], registry=ours)
    reference = Counter("x_events", "Events.", ["namespace", "name", "reason"], registry=theirs)
    for labels in [("ns", "a", "Updated"), ("ns", "a", "Updated"), ("ns", "b", "Aborted")]:
        lean.inc(*labels)
        reference.labels(*labels).inc()
    assert _lines(ours) == _lines(theirs)
    assert lean.value("ns", "a", "Updated") == 2


def test_series_are_dropped_by_some_of_their_labels() -> None:
    lean = LeanCounter("x_requests", "Requests.", ["kind", "namespace", "name"], registry=None)
    lean.inc("rollouts", "ns", "a")
    lean.inc("rollouts", "ns", "b")
    lean.inc("replicasets", "ns", "a")
    lean.remove_by_labels({"kind": "rollouts", "name": "a"})
    assert lean.value("rollouts", "ns", "a") == 0
    assert lean.value("rollouts", "ns", "b") == 1
    assert lean.value("replicasets", "ns", "a") == 1
    histogram = LeanHistogram("x_h", "H.", ["namespace", "name"], buckets=(1.0,), registry=None)
    histogram.observe(0.5, "ns", "a")
    histogram.remove("ns", "a")
    assert histogram.count("ns", "a") == 0


def test_labels_must_match_the_declared_names() -> None:
    lean = LeanCounter("x_bad", "Bad.", ["namespace", "name"], registry=None)
    with pytest.raises(ValueError, match="x_bad"):
        lean.inc("only-one")


ODD_NAMES = ["plain", 'with "quotes"', "back\\slash", "new\nline"]


def _alone(collector: object) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(collector)  # type: ignore[arg-type]
    return registry


def test_the_text_written_directly_is_what_generate_latest_writes() -> None:
    histogram = LeanHistogram(
        "x_h", 'Odd "doc" \\ with\nlines.', ["namespace", "name"], buckets=(0.01, 1.0), registry=None
    )
    counter = LeanCounter("x_c", "Counted.", ["namespace", "name", "reason"], registry=None)
    plain = PlainCounter("x_p", "Plain.", ["namespace", "name"], registry=None)
    for index, name in enumerate(ODD_NAMES):
        histogram.observe(0.005 * index, "ns", name)
        histogram.observe(3e6, "ns", name)
        counter.inc("ns", name, "Updated", amount=1_234_567.0 * index)
        plain.inc("ns", name, amount=0.1 * index)
    for collector in (histogram, counter, plain):
        assert "".join(collector.exposition()) == generate_latest(_alone(collector)).decode()


def test_an_empty_family_is_written_as_generate_latest_writes_it() -> None:
    histogram = LeanHistogram("x_empty", "Empty.", ["namespace", "name"], buckets=(1.0,), registry=None)
    assert "".join(histogram.exposition()) == generate_latest(_alone(histogram)).decode()


def test_the_rollout_series_written_directly_are_what_generate_latest_writes() -> None:
    informer = Informer(KubeClient(ClusterConfig(server="https://127.0.0.1:1")), ROLLOUTS)
    rollouts = [
        {"metadata": {"namespace": "ns", "name": name, "resourceVersion": str(index)}, "spec": spec, "status": status}
        for index, (name, spec, status) in enumerate(
            [
                ("plain", {"replicas": 3, "strategy": {"canary": {}}}, {"phase": "Healthy", "availableReplicas": 3}),
                ('with "quotes"', {"strategy": {"blueGreen": {}}}, {"phase": "Paused", "replicas": 4}),
                (
                    "routed",
                    {
                        "strategy": {
                            "canary": {
                                "trafficRouting": {
                                    "nginx": {"stableIngress": "web"},
                                    "istio": {"virtualService": {"name": "vs"}},
                                }
                            }
                        }
                    },
                    {"replicas": 2, "availableReplicas": 1, "updatedReplicas": 1},
                ),
            ]
        )
    ]
    informer._replace(rollouts, "9")
    collector = RolloutCollector()
    collector.source = lambda: informer
    text = "".join(collector.exposition())
    assert text == generate_latest(_alone(collector)).decode()
    routed = (
        'rollout_info{name="routed",namespace="ns",phase="Progressing",strategy="canary",traffic_router="nginx,istio"}'
    )
    assert f"{routed} 1.0\n" in text.splitlines(keepends=True)


def test_render_gives_the_bytes_generate_latest_gives_for_a_whole_registry() -> None:
    registry = CollectorRegistry()
    lean = LeanHistogram("x_mixed", "Mixed.", ["namespace", "name"], buckets=(0.5,), registry=registry)
    reference = Counter("x_reference", "Through prometheus_client.", ["name"], registry=registry)
    lean.observe(0.25, "ns", "a")
    reference.labels("a").inc()
    assert render(registry) == generate_latest(registry)
