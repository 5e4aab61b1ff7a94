"""`experiment_info` and `experiment_phase` as upstream names and labels them."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from ramp.experiments.metrics import ExperimentCollector


class _Cache:
    def list(self) -> list[dict[str, Any]]:
        return [
            {"metadata": {"namespace": "team", "name": "exp"}, "status": {"phase": "Running"}},
            {"metadata": {"namespace": "team", "name": "new"}},
        ]


def test_experiment_series_follow_the_cached_phase() -> None:
    collector = ExperimentCollector()
    collector.source = _Cache  # type: ignore[assignment]
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    assert 'experiment_info{name="exp",namespace="team",phase="Running"} 1.0' in text
    assert 'experiment_phase{name="exp",namespace="team",phase="Running"} 1.0' in text
    assert 'experiment_phase{name="exp",namespace="team",phase="Successful"} 0.0' in text
    # No status yet: Pending, as upstream.
    assert 'experiment_phase{name="new",namespace="team",phase="Pending"} 1.0' in text
    assert 'experiment_info{name="new",namespace="team",phase=""} 1.0' in text
