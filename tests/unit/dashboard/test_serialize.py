"""The dashboard's JSON: list rows, steps, containers, thresholds read from conditions, measurements charted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ramp.dashboard.serialize import (
    describe_provider,
    describe_steps,
    find_thresholds,
    parse_number,
    serialize_analysis_run,
    serialize_list_item,
    serialize_rollout,
)

UID = "uid-web"


def _rollout(**status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "ns", "uid": UID, "creationTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.28"}]}},
            "strategy": {
                "canary": {
                    "steps": [
                        {"setWeight": 25},
                        {"pause": {}},
                        {"analysis": {"templates": [{"templateName": "ratio"}]}},
                        {"pause": {"duration": "10s"}},
                    ]
                }
            },
        },
        "status": {"currentStepIndex": 1, "replicas": 4, "readyReplicas": 4, "availableReplicas": 4, **status},
    }


@pytest.mark.parametrize(
    ("condition", "thresholds"),
    [
        ("result[0] >= 0.95", [{"op": ">=", "value": 0.95}]),
        ("result < 5", [{"op": "<", "value": 5.0}]),
        ("0.5 > result.ratio", [{"op": "<", "value": 0.5}]),
        ("result > 1 && result < 3", [{"op": ">", "value": 1.0}, {"op": "<", "value": 3.0}]),
        ("asFloat(result) <= 1e-3", [{"op": "<=", "value": 0.001}]),
        ("len(result) == 0", []),
        ("1" * 5000 + "x", []),  # a long digit run is scanned once, not from every digit (was quadratic)
        ("x1" + "1" * 40 + " < result", [{"op": ">", "value": float("1" * 41)}]),
        ("", []),
        (None, []),
    ],
)
def test_thresholds_are_the_numbers_result_is_compared_with(
    condition: str | None, thresholds: list[dict[str, Any]]
) -> None:
    assert find_thresholds(condition) == thresholds


@pytest.mark.parametrize(
    ("value", "number"),
    [
        ("0.98", 0.98),
        ("[0.98]", 0.98),
        ('{"ratio": 2}', 2.0),
        ("[1, 2]", None),
        ("true", None),
        ("", None),
        (None, None),
    ],
)
def test_a_measurement_charts_the_single_number_it_holds(value: str | None, number: float | None) -> None:
    assert parse_number(value) == number


def test_steps_are_marked_done_current_and_pending() -> None:
    steps = describe_steps(_rollout(currentStepIndex=2))
    assert [(s["kind"], s["state"]) for s in steps] == [
        ("setWeight", "done"),
        ("pause", "done"),
        ("analysis", "current"),
        ("pause", "pending"),
    ]
    assert [s["title"] for s in steps] == ["Set weight 25%", "Pause", "Analysis: ratio", "Pause 10s"]


@pytest.mark.parametrize(
    ("provider", "described"),
    [
        ({"prometheus": {"address": "http://p", "query": "up"}}, ("prometheus", "up  http://p")),
        ({"web": {"url": "http://x/health", "jsonPath": "{$.ratio}"}}, ("web", "http://x/health  {$.ratio}")),
        ({"job": {"spec": {}}}, ("job", '{"spec": {}}')),
        ({}, ("", "")),
    ],
)
def test_a_metric_shows_its_provider_and_query(provider: dict[str, Any], described: tuple[str, str]) -> None:
    assert describe_provider(provider) == described


def test_a_paused_canary_lists_as_needing_attention_with_its_step_and_image() -> None:
    row = serialize_list_item(_rollout(pauseConditions=[{"reason": "CanaryPauseStep"}]))
    assert (row["name"], row["phase"], row["step"], row["setWeight"]) == ("web", "Paused", "1/4", "25")
    assert row["needsAttention"] is True
    assert row["images"] == [{"image": "nginx:1.28", "tags": []}]
    json.dumps(row)


def test_an_analysis_run_carries_its_measurements_thresholds_and_the_judges_verdict() -> None:
    run = {
        "metadata": {"name": "web-abc-2-2", "creationTimestamp": "2026-01-01T00:01:00Z"},
        "spec": {
            "metrics": [
                {
                    "name": "ratio",
                    "successCondition": "result >= 0.95",
                    "failureCondition": "result < 0.8",
                    "provider": {"web": {"url": "http://x"}},
                },
                {"name": "judge", "provider": {"judge": {"baseline": {}}}},
            ]
        },
        "status": {
            "phase": "Running",
            "metricResults": [
                {
                    "name": "ratio",
                    "phase": "Running",
                    "successful": 2,
                    "measurements": [
                        {"phase": "Successful", "value": "0.97", "finishedAt": "2026-01-01T00:01:01Z"},
                        {"phase": "Successful", "value": "[0.96]", "finishedAt": "2026-01-01T00:01:02Z"},
                    ],
                },
                {
                    "name": "judge",
                    "phase": "Successful",
                    "measurements": [
                        {
                            "phase": "Successful",
                            "value": "92",
                            "metadata": {
                                "metrics": '{"latency":{"classification":"Pass"}}',
                                "groupScores": '{"default":92}',
                            },
                        }
                    ],
                },
            ],
        },
    }
    ratio, judge = serialize_analysis_run(run)["metrics"]
    assert [p["number"] for p in ratio["measurements"]] == [0.97, 0.96]
    assert ratio["success"] == [{"op": ">=", "value": 0.95}]
    assert ratio["failure"] == [{"op": "<", "value": 0.8}]
    assert ratio["lastValues"] == ["0.97", "[0.96]"]
    assert ratio["counts"]["successful"] == 2
    assert judge["judge"] == {
        "score": 92.0,
        "metrics": {"latency": {"classification": "Pass"}},
        "groupScores": {"default": 92},
    }


def test_the_rollout_page_keeps_only_the_runs_the_rollout_owns() -> None:
    owned = {"metadata": {"name": "mine", "ownerReferences": [{"uid": UID}]}, "spec": {}, "status": {}}
    foreign = {"metadata": {"name": "theirs", "ownerReferences": [{"uid": "other"}]}, "spec": {}, "status": {}}
    detail = serialize_rollout(_rollout(), analysis_runs=[owned, foreign])
    assert [r["name"] for r in detail["analysisRuns"]] == ["mine"]
    assert detail["containers"] == [{"name": "app", "image": "nginx:1.28", "init": False}]
    assert detail["summary"]["strategy"] == "Canary"
    json.dumps(detail)
