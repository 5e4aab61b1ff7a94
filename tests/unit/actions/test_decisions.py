"""The pure decisions behind the actions: promote's patches, undo's revision choice and template comparison,
set image's container matching. (The writes themselves are checked on the real cluster: tests/e2e/test_cli.py.)"""

from __future__ import annotations

import pytest

from ramp.actions import ActionError, plan_promotion
from ramp.actions.set_image import with_images
from ramp.actions.undo import choose_revision, is_derivative, template_without_hash
from ramp.kube.selectors import format_label_selector as label_selector_query

STEPS = [{"setWeight": 20}, {"pause": {}}, {"setWeight": 60}]
PAUSE = [{"reason": "CanaryPauseStep", "startTime": "2026-01-01T00:00:00Z"}]


def canary(status=None, **spec):
    return {"spec": {"strategy": {"canary": {"steps": STEPS}}, **spec}, "status": status or {}}


def test_promote_paused_on_a_condition_only_clears_it():
    plan = plan_promotion(canary({"currentStepIndex": 1, "pauseConditions": PAUSE, "controllerPause": True}))
    assert plan.status_patch == {"status": {"pauseConditions": None}}
    assert plan.spec_patch is None


def test_promote_without_a_condition_moves_the_step_on():
    plan = plan_promotion(canary({"currentStepIndex": 1}))
    assert plan.status_patch == {"status": {"pauseConditions": None, "currentStepIndex": 2}}
    assert plan.combined_patch["status"]["currentStepIndex"] == 2


def test_promote_never_moves_past_the_last_step():
    assert plan_promotion(canary({"currentStepIndex": 3})).status_patch == {
        "status": {"pauseConditions": None, "currentStepIndex": 3}
    }


def test_promote_an_inconclusive_step_analysis_resumes_the_controller():
    status = {
        "currentStepIndex": 1,
        "pauseConditions": [{"reason": "InconclusiveAnalysisRun"}],
        "controllerPause": True,
        "canary": {"currentStepAnalysisRunStatus": {"name": "r", "status": "Inconclusive"}},
    }
    assert plan_promotion(canary(status)).status_patch == {
        "status": {"pauseConditions": None, "controllerPause": False, "currentStepIndex": 2}
    }


def test_promote_a_manually_paused_rollout_unpauses_it():
    plan = plan_promotion(canary({"currentStepIndex": 0}, paused=True))
    assert plan.spec_patch == {"spec": {"paused": False}}


def test_promote_blue_green_clears_its_pause():
    rollout = {"spec": {"strategy": {"blueGreen": {"activeService": "a"}}}, "status": {"pauseConditions": PAUSE}}
    assert plan_promotion(rollout).status_patch == {"status": {"pauseConditions": None}}
    assert plan_promotion({"spec": {"strategy": {"blueGreen": {}}}, "status": {}}).status_patch is None


@pytest.mark.parametrize(
    ("current", "stable", "expected"),
    [("new", "old", {"status": {"promoteFull": True}}), ("same", "same", None)],
)
def test_full_promotion_only_when_the_new_pods_are_not_stable(current, stable, expected):
    plan = plan_promotion(canary({"currentPodHash": current, "stableRS": stable}), full=True)
    assert plan.status_patch == expected


def rs(revision, image):
    labels = {"app": "web", "rollouts-pod-template-hash": f"h{revision}"}
    return {
        "metadata": {"name": f"web-h{revision}", "annotations": {"rollout.argoproj.io/revision": str(revision)}},
        "spec": {
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": image}]}}
        },
    }


def test_undo_picks_the_second_newest_revision_or_the_one_asked_for():
    sets = [rs(1, "a"), rs(3, "c"), rs(2, "b")]
    assert choose_revision(sets, 0)[0] == 2
    assert choose_revision(sets, 1)[0] == 1
    assert choose_revision(sets, 9) is None
    assert choose_revision([rs(1, "a")], 0) is None


def test_undo_template_drops_only_the_hash_label():
    template = template_without_hash(rs(1, "a")["spec"]["template"])
    assert template["metadata"]["labels"] == {"app": "web"}


def test_templates_compare_ignoring_fields_the_server_defaulted():
    written = {"spec": {"containers": [{"name": "app", "image": "a"}]}}
    stored = {
        "spec": {"containers": [{"name": "app", "image": "a", "imagePullPolicy": "IfNotPresent"}], "dnsPolicy": "x"}
    }
    assert is_derivative(written, stored)
    assert not is_derivative({"spec": {"containers": [{"name": "app", "image": "b"}]}}, stored)


def test_set_image_by_name_or_star_and_a_missing_name_is_an_error():
    rollout = {
        "spec": {
            "template": {
                "spec": {
                    "initContainers": [{"name": "init", "image": "busybox"}],
                    "containers": [{"name": "app", "image": "nginx:1"}, {"name": "side", "image": "envoy:1"}],
                }
            }
        }
    }
    one = with_images(rollout, {"app": "nginx:2"})
    assert [c["image"] for c in one["spec"]["template"]["spec"]["containers"]] == ["nginx:2", "envoy:1"]
    assert rollout["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"  # the input is left alone
    every = with_images(rollout, {"*": "x:9"})
    assert every["spec"]["template"]["spec"]["initContainers"][0]["image"] == "x:9"
    with pytest.raises(ActionError, match='unable to find container named "db"'):
        with_images(rollout, {"db": "postgres"})


def test_label_selector_query():
    assert label_selector_query({"matchLabels": {"b": "2", "a": "1"}}) == "a=1,b=2"
    expressions = [{"key": "x", "operator": "Exists"}, {"key": "y", "operator": "NotIn", "values": ["1"]}]
    assert label_selector_query({"matchExpressions": expressions}) == "x,y notin (1)"


def test_undo_leaves_out_the_metadata_the_controller_injected_into_a_replica_sets_pods() -> None:
    import json

    from ramp.actions.undo import strip_injected_metadata

    template = {"metadata": {"labels": {"app": "web", "role": "active"}, "annotations": {"note": "mine"}}}
    replica_set = {
        "metadata": {
            "annotations": {"rollout.argoproj.io/ephemeral-metadata": json.dumps({"labels": {"role": "active"}})}
        }
    }
    assert strip_injected_metadata(template, replica_set) == {
        "metadata": {"labels": {"app": "web"}, "annotations": {"note": "mine"}}
    }
    assert strip_injected_metadata({"metadata": {}}, {"metadata": {}}) == {"metadata": {}}


def test_set_image_changes_a_pod_templates_top_level_template() -> None:
    pod_template = {
        "apiVersion": "v1",
        "kind": "PodTemplate",
        "template": {"spec": {"containers": [{"name": "app", "image": "nginx:1"}]}},
    }
    updated = with_images(pod_template, {"app": "nginx:2"})
    assert updated["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    assert pod_template["template"]["spec"]["containers"][0]["image"] == "nginx:1"
