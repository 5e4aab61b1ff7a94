"""The canary experiment step: the Experiment it creates, what its phase means, the weights it adds."""

from __future__ import annotations

from typing import Any

import pytest

from ramp.api.steps import RolloutExperimentStep
from ramp.rollout.experiment_step import (
    StepExperimentError,
    additional_destinations,
    assess_step_experiment,
    build_step_experiment,
    experiment_name,
)

ROLLOUT = {
    "metadata": {"name": "web", "namespace": "ns", "uid": "r1", "labels": {"team": "a"}},
    "spec": {"progressDeadlineSeconds": 300, "selector": {"matchLabels": {"app": "web"}}},
}


def rs(pod_hash: str, image: str) -> dict[str, Any]:
    labels = {"app": "web", "rollouts-pod-template-hash": pod_hash}
    return {
        "metadata": {"name": f"web-{pod_hash}", "labels": labels},
        "spec": {
            "minReadySeconds": 5,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": image}]}},
        },
    }


STEP = RolloutExperimentStep.model_validate(
    {
        "duration": "5m",
        "templates": [
            {"name": "baseline", "specRef": "stable", "weight": 5},
            {"name": "canary", "specRef": "canary", "metadata": {"labels": {"role": "exp"}}},
        ],
        "analyses": [
            {
                "name": "cmp",
                "templateName": "cmp",
                "requiredForCompletion": True,
                "args": [{"name": "hash", "valueFrom": {"podTemplateHashValue": "Latest"}}],
            }
        ],
    }
)


def build() -> dict[str, Any]:
    return build_step_experiment(ROLLOUT, STEP, 2, 3, rs("c1", "img:2"), rs("s1", "img:1"), "c1", "s1")


def test_the_name_is_rollout_hash_revision_step() -> None:
    assert experiment_name("web", "c1", 3, 2) == "web-c1-3-2"
    assert build()["metadata"]["name"] == "web-c1-3-2"


def test_the_experiment_is_owned_labelled_and_annotated_as_upstream() -> None:
    meta = build()["metadata"]
    assert meta["labels"] == {
        "team": "a",
        "rollouts-pod-template-hash": "c1",
        "rollout-type": "Step",
        "step-index": "2",
    }
    assert meta["annotations"] == {"rollout.argoproj.io/revision": "3"}
    assert (meta["ownerReferences"][0]["kind"], meta["ownerReferences"][0]["uid"]) == ("Rollout", "r1")


def test_templates_take_the_referenced_replica_set_template_and_the_step_metadata() -> None:
    spec = build()["spec"]
    baseline, canary = spec["templates"]
    assert baseline["template"]["spec"]["containers"][0]["image"] == "img:1"
    assert baseline["service"] == {}  # a weight asks for a Service
    assert canary["template"]["spec"]["containers"][0]["image"] == "img:2"
    assert canary["template"]["metadata"]["labels"]["role"] == "exp"
    assert canary["selector"]["matchLabels"]["role"] == "exp"
    assert canary["minReadySeconds"] == 5 and "service" not in canary
    assert (spec["duration"], spec["progressDeadlineSeconds"]) == ("5m", 300)


def test_analysis_arguments_are_resolved_like_the_rollouts_runs() -> None:
    [analysis] = build()["spec"]["analyses"]
    assert analysis["args"] == [{"name": "hash", "value": "c1"}]
    assert analysis["requiredForCompletion"] is True


def test_a_bad_spec_ref_is_refused() -> None:
    step = {"templates": [{"name": "x", "specRef": "other"}]}
    with pytest.raises(StepExperimentError, match="specRef must be canary or stable"):
        build_step_experiment(ROLLOUT, step, 0, 1, rs("c1", "a"), rs("s1", "b"), "c1", "s1")


@pytest.mark.parametrize(
    ("status", "action", "message"),
    [
        (None, "create", ""),
        ({"phase": "Pending"}, "wait", ""),
        ({"phase": "Running"}, "wait", ""),
        ({"phase": "Successful"}, "complete", ""),
        ({"phase": "Failed", "message": "bad"}, "abort", "Experiment analysis phase is error/failed: bad"),
        ({"phase": "Error"}, "abort", "Experiment analysis phase is error/failed"),
        ({"phase": "Inconclusive"}, "pause", "InconclusiveExperiment"),
    ],
)
def test_what_the_step_does_with_each_phase(status: dict[str, Any] | None, action: str, message: str) -> None:
    outcome = assess_step_experiment(None if status is None else {"status": status})
    assert (outcome.action, outcome.message) == (action, message)


def test_weighted_templates_add_destinations_only_while_running() -> None:
    templates = [
        {"name": "baseline", "serviceName": "web-c1-3-2-baseline", "podTemplateHash": "x1"},
        {"name": "canary", "podTemplateHash": "x2"},
    ]
    running = {"status": {"phase": "Running", "templateStatuses": templates}}
    assert additional_destinations(running, STEP) == [("web-c1-3-2-baseline", 5, "x1")]
    assert additional_destinations({"status": {**running["status"], "phase": "Pending"}}, STEP) == []
    assert additional_destinations(None, STEP) == []
