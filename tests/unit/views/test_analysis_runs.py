"""AnalysisRuns in the rollout tree: under their revision, with the run's phase and counts, and one row per measured
metric with its counts and last value."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from ramp.views import build_rollout_view, render_rollout
from ramp.views.tree import build_analysis_run_view
from tests.unit.views import fixtures

NOW = datetime.fromisoformat("2026-03-01T12:00:00+00:00")
ALPHA = "\u03b1"  # the AnalysisRun symbol
OWNER = [{"kind": "Rollout", "name": "web", "uid": fixtures.ROLLOUT_UID, "controller": True}]


def measurement(phase: str, value: str, started: str) -> dict[str, Any]:
    return {"phase": phase, "value": value, "startedAt": started, "finishedAt": started}


def step_run() -> dict[str, Any]:
    """Revision 2's step analysis: success-rate measured three times (one failure), latency still running."""
    return {
        "metadata": {
            "name": "web-7d9f8c6b5-2-2",
            "namespace": "shop",
            "creationTimestamp": "2026-03-01T11:55:00Z",
            "labels": {"rollouts-pod-template-hash": "7d9f8c6b5"},
            "annotations": {"rollout.argoproj.io/revision": "2"},
            "ownerReferences": OWNER,
        },
        "spec": {"metrics": [{"name": "success-rate"}, {"name": "latency"}, {"name": "not-yet"}]},
        "status": {
            "phase": "Running",
            "metricResults": [
                {
                    "name": "success-rate",
                    "phase": "Running",
                    "count": 3,
                    "successful": 2,
                    "failed": 1,
                    "measurements": [
                        measurement("Successful", "[0.99]", "2026-03-01T11:56:00Z"),
                        measurement("Failed", "[0.91]", "2026-03-01T11:57:00Z"),
                        measurement("Successful", "[0.97]", "2026-03-01T11:58:00Z"),
                    ],
                },
                {
                    "name": "latency",
                    "phase": "Running",
                    "dryRun": True,
                    "measurements": [
                        measurement("Error", "", "2026-03-01T11:57:30Z"),
                        {"phase": "Running", "startedAt": "2026-03-01T11:59:00Z"},
                    ],
                    "error": 1,
                },
                {"name": "not-yet", "phase": "Pending"},
            ],
        },
    }


def manual_run() -> dict[str, Any]:
    """A run made by hand for the stable pods: no revision annotation, only the pod-template-hash label."""
    return {
        "metadata": {
            "name": "rate-x7k2p",
            "namespace": "shop",
            "creationTimestamp": "2026-03-01T11:40:00Z",
            "labels": {"rollouts-pod-template-hash": "5c4b3a291"},
            "ownerReferences": OWNER,
        },
        "spec": {"metrics": [{"name": "success-rate"}]},
        "status": {
            "phase": "Successful",
            "metricResults": [
                {
                    "name": "success-rate",
                    "phase": "Successful",
                    "successful": 1,
                    "measurements": [measurement("Successful", "0.995", "2026-03-01T11:41:00Z")],
                }
            ],
        },
    }


def not_owned_run() -> dict[str, Any]:
    run = manual_run()
    run["metadata"] = {**run["metadata"], "name": "someone-elses", "ownerReferences": []}
    return run


def tree_lines() -> list[str]:
    view = build_rollout_view(
        fixtures.rollout(), fixtures.replica_sets(), fixtures.pods(), [step_run(), manual_run(), not_owned_run()]
    )
    text = render_rollout(view, NOW)
    lines = text.split("\n")
    return lines[lines.index("") + 1 :]


def test_runs_sit_under_their_revision_and_runs_of_others_are_left_out() -> None:
    view = build_rollout_view(
        fixtures.rollout(), fixtures.replica_sets(), [], [step_run(), manual_run(), not_owned_run()]
    )
    runs = {revision.number: [run.name for run in revision.analysis_runs] for revision in view.revisions}
    assert runs == {2: ["web-7d9f8c6b5-2-2"], 1: ["rate-x7k2p"]}


def test_a_run_without_revision_or_matching_replica_set_is_revision_zero() -> None:
    run = manual_run()
    run["metadata"]["labels"] = {"rollouts-pod-template-hash": "gone"}
    assert build_analysis_run_view(run, {"5c4b3a291": 1}).revision == 0


def test_the_revision_annotation_wins_over_the_hash_label() -> None:
    run = step_run()
    run["metadata"]["labels"] = {"rollouts-pod-template-hash": "5c4b3a291"}
    assert build_analysis_run_view(run, {"5c4b3a291": 1}).revision == 2


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        pytest.param("success-rate", ("Running", 2, 1, 0, "[0.97]", False), id="last value of the newest measurement"),
        pytest.param("latency", ("Running", 0, 0, 1, "", True), id="no value yet: empty, dry-run marked"),
    ],
)
def test_metric_views(metric: str, expected: tuple[Any, ...]) -> None:
    metrics = {m.name: m for m in build_analysis_run_view(step_run()).metrics}
    view = metrics[metric]
    assert (view.phase, view.successful, view.failed, view.error, view.last_value, view.dry_run) == expected


def test_metrics_without_measurements_have_no_row() -> None:
    assert [m.name for m in build_analysis_run_view(step_run()).metrics] == ["success-rate", "latency"]


def test_printed_tree_shows_run_counts_and_metric_rows() -> None:
    lines = tree_lines()
    run_index = next(i for i, line in enumerate(lines) if "web-7d9f8c6b5-2-2" in line)
    run_row = ["│", f"└──{ALPHA}", "web-7d9f8c6b5-2-2", "AnalysisRun", "◌", "Running", "5m", "✔", "2,✖", "1,⚠", "1"]
    assert lines[run_index].split() == run_row
    assert lines[run_index + 1].split() == [
        "│",
        "├──◦",
        "success-rate",
        "Metric",
        "◌",
        "Running",
        "2m",
        "✔",
        "2,✖",
        "1,last:[0.97]",
    ]
    assert lines[run_index + 2].split() == ["│", "└──◦", "latency", "Metric", "◌", "Running", "⚠", "1,dry-run"]
    assert lines[run_index + 3] == "└──# revision:1"


def test_printed_tree_shows_a_manual_run_under_the_stable_revision() -> None:
    lines = tree_lines()
    revision_one = lines.index("└──# revision:1")
    names = [line.split()[1] for line in lines[revision_one + 1 :] if "AnalysisRun" in line]
    assert names == ["rate-x7k2p"]
    manual = next(line for line in lines if "rate-x7k2p" in line)
    assert manual.split() == [f"└──{ALPHA}", "rate-x7k2p", "AnalysisRun", "✔", "Successful", "20m", "✔", "1"]
    metric = lines[lines.index(manual) + 1]
    assert metric.split() == ["└──◦", "success-rate", "Metric", "✔", "Successful", "19m", "✔", "1,last:0.995"]
    assert "someone-elses" not in "\n".join(lines)


def test_long_values_are_cut_to_one_short_line() -> None:
    run = step_run()
    run["status"]["metricResults"][0]["measurements"][-1]["value"] = '{"body":\n "' + "x" * 100 + '"}'
    view = build_rollout_view(fixtures.rollout(), fixtures.replica_sets(), [], [run])
    line = next(line for line in render_rollout(view, NOW).split("\n") if "success-rate" in line)
    value = line.split("last:", 1)[1]
    assert len(value) == 40 and value.endswith("…") and "\n" not in value
