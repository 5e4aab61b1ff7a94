"""The blue-green decision (`plan_blue_green`) on snapshots built by hand: preview, pause, switch, scale-down
delay, abort, promotion analyses, fast rollback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ramp.api import format_timestamp, parse_rollout
from ramp.rollout.antiaffinity import remove_injected_anti_affinity, template_for_new_set
from ramp.rollout.bluegreen import plan_blue_green
from ramp.rollout.replicasets import ReplicaSetView
from ramp.rollout.snapshot import Snapshot

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
ANALYSIS = {"templates": [{"templateName": "check"}]}


def rollout(status: dict[str, Any] | None = None, **blue_green: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web", "namespace": "ns", "uid": "u1", "generation": 2},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a", "image": "x"}]}},
            "strategy": {"blueGreen": {"activeService": "active", "previewService": "preview", **blue_green}},
        },
        "status": status or {},
    }


def replica_set(
    pod_hash: str, revision: int, replicas: int, available: int | None = None, deadline: str | None = None
) -> ReplicaSetView:
    available = replicas if available is None else available
    annotations = {"rollout.argoproj.io/revision": str(revision)}
    if deadline is not None:
        annotations["scale-down-deadline"] = deadline
    return ReplicaSetView.of(
        {
            "metadata": {
                "name": f"web-{pod_hash}",
                "labels": {"rollouts-pod-template-hash": pod_hash},
                "annotations": annotations,
                "creationTimestamp": f"2026-05-01T1{revision}:00:00Z",
            },
            "spec": {"replicas": replicas},
            "status": {"replicas": replicas, "readyReplicas": available, "availableReplicas": available},
        }
    )


def service(name: str, pod_hash: str | None) -> dict[str, Any]:
    selector = {"app": "web"}
    if pod_hash:
        selector["rollouts-pod-template-hash"] = pod_hash
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": {"selector": selector}}


def snapshot(
    raw: dict[str, Any],
    sets: list[ReplicaSetView],
    new: ReplicaSetView,
    active: str | None,
    preview: str | None = None,
    runs: list[dict[str, Any]] | None = None,
    now: datetime = NOW,
) -> Snapshot:
    services = {"active": service("active", active), "preview": service("preview", preview)}
    return Snapshot(
        raw, parse_rollout(raw), raw["spec"]["template"], raw["spec"]["selector"], sets, new, now, runs or [], services
    )


def updating(**status: Any) -> dict[str, Any]:
    return {"stableRS": "old", "currentPodHash": "new", "blueGreen": {"activeSelector": "old"}, **status}


def run(name: str, phase: str, pod_hash: str = "new") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"rollouts-pod-template-hash": pod_hash}, "creationTimestamp": "t"},
        "status": {"phase": phase},
    }


def test_first_deploy_scales_up_then_points_both_services_at_the_new_pods_and_is_stable() -> None:
    new = replica_set("new", 1, 0)
    plan = plan_blue_green(snapshot(rollout(), [new], new, active=None))
    assert plan.scales == {"web-new": 3}
    assert plan.active_hash is None
    assert plan.preview_hash == "new"
    ready = replica_set("new", 1, 3)
    plan = plan_blue_green(snapshot(rollout({"currentPodHash": "new"}), [ready], ready, active=None))
    assert plan.active_hash == "new"
    assert plan.status["stableRS"] == "new"
    assert plan.status["blueGreen"]["activeSelector"] == "new"


@pytest.mark.parametrize(
    ("blue_green", "pauses"),
    [
        pytest.param({"autoPromotionEnabled": False}, ["BlueGreenPause"], id="manual-promotion-pauses"),
        pytest.param({"autoPromotionSeconds": 30}, ["BlueGreenPause"], id="auto-promotion-seconds-pauses"),
        pytest.param({}, [], id="auto-promotion-switches-at-once"),
    ],
)
def test_a_ready_preview_pauses_or_switches(blue_green: dict[str, Any], pauses: list[str]) -> None:
    old, new = replica_set("old", 1, 3), replica_set("new", 2, 3)
    plan = plan_blue_green(snapshot(rollout(updating(), **blue_green), [old, new], new, active="old"))
    assert [c["reason"] for c in plan.status.get("pauseConditions") or []] == pauses
    assert plan.active_hash == (None if pauses else "new")


def test_the_preview_is_not_paused_before_its_pods_are_available() -> None:
    old, new = replica_set("old", 1, 3), replica_set("new", 2, 3, available=1)
    plan = plan_blue_green(snapshot(rollout(updating(), autoPromotionEnabled=False), [old, new], new, active="old"))
    assert "pauseConditions" not in plan.status
    assert plan.active_hash is None


def test_a_promoted_pause_switches_and_gives_the_old_pods_a_scale_down_deadline() -> None:
    old, new = replica_set("old", 1, 3), replica_set("new", 2, 3)
    raw = rollout(updating(controllerPause=True), autoPromotionEnabled=False, scaleDownDelaySeconds=10)
    plan = plan_blue_green(snapshot(raw, [old, new], new, active="old", preview="new"))
    assert plan.active_hash == "new"
    assert plan.deadlines == {"web-old": format_timestamp(NOW + timedelta(seconds=10))}
    assert plan.status["stableRS"] == "new"
    assert plan.status["controllerPause"] is False
    assert plan.scales == {}  # the old pods stay up for the delay


def test_auto_promotion_seconds_elapsed_removes_the_pause_and_switches() -> None:
    old, new = replica_set("old", 1, 3), replica_set("new", 2, 3)
    pause = {"reason": "BlueGreenPause", "startTime": format_timestamp(NOW - timedelta(seconds=31))}
    raw = rollout(updating(controllerPause=True, pauseConditions=[pause]), autoPromotionSeconds=30)
    plan = plan_blue_green(snapshot(raw, [old, new], new, active="old"))
    assert "pauseConditions" not in plan.status
    assert plan.active_hash == "new"


@pytest.mark.parametrize(
    ("deadline", "limit", "scaled"),
    [
        pytest.param(NOW + timedelta(seconds=5), None, {}, id="before-the-deadline-kept"),
        pytest.param(NOW - timedelta(seconds=1), None, {"web-older": 0}, id="after-the-deadline-scaled-down"),
        pytest.param(NOW + timedelta(seconds=5), 0, {"web-older": 0}, id="beyond-the-revision-limit-scaled-down"),
    ],
)
def test_previous_versions_wait_for_their_scale_down_deadline(
    deadline: datetime, limit: int | None, scaled: dict[str, int]
) -> None:
    older = replica_set("older", 1, 3, deadline=format_timestamp(deadline))
    new = replica_set("new", 2, 3)
    extra = {} if limit is None else {"scaleDownDelayRevisionLimit": limit}
    raw = rollout({"stableRS": "new", "currentPodHash": "new", "blueGreen": {"activeSelector": "new"}}, **extra)
    plan = plan_blue_green(snapshot(raw, [older, new], new, active="new", preview="new"))
    assert plan.scales == scaled


def test_preview_replica_count_runs_fewer_pods_until_promoted() -> None:
    old, new = replica_set("old", 1, 3), replica_set("new", 2, 0)
    raw = rollout(updating(), autoPromotionEnabled=False, previewReplicaCount=1)
    plan = plan_blue_green(snapshot(raw, [old, new], new, active="old"))
    assert plan.scales == {"web-new": 1}
    ready = replica_set("new", 2, 1)
    promoted = rollout(updating(controllerPause=True), autoPromotionEnabled=False, previewReplicaCount=1)
    plan = plan_blue_green(snapshot(promoted, [old, ready], ready, active="old"))
    assert plan.scales == {"web-new": 3}
    assert plan.status["blueGreen"]["scaleUpPreviewCheckPoint"] is True
    assert plan.active_hash is None  # not before all 3 pods are available


def test_abort_keeps_the_active_service_on_the_stable_pods_and_scales_the_preview_down_after_the_delay() -> None:
    old, new = replica_set("old", 1, 3), replica_set("new", 2, 3)
    aborted_at = format_timestamp(NOW - timedelta(seconds=31))
    plan = plan_blue_green(snapshot(rollout(updating(abort=True, abortedAt=aborted_at)), [old, new], new, active="old"))
    assert plan.active_hash is None
    assert plan.scales == {"web-new": 0}
    fresh = plan_blue_green(snapshot(rollout(updating(abort=True)), [old, new], new, active="old"))
    assert fresh.scales == {}
    assert [e.reason for e in fresh.events] == ["RolloutAborted"]


def test_pre_promotion_analysis_is_created_when_the_preview_is_ready_and_a_failure_aborts() -> None:
    old, new = replica_set("old", 1, 3), replica_set("new", 2, 3)
    plan = plan_blue_green(snapshot(rollout(updating(), prePromotionAnalysis=ANALYSIS), [old, new], new, "old"))
    (request,) = plan.analysis.create
    assert (request.name, request.labels["rollout-type"]) == ("web-new-2-pre", "PrePromotion")
    assert plan.active_hash is None
    status = updating(blueGreen={"activeSelector": "old", "prePromotionAnalysisRunStatus": {"name": "web-new-2-pre"}})
    failed = [run("web-new-2-pre", "Failed")]
    plan = plan_blue_green(
        snapshot(rollout(status, prePromotionAnalysis=ANALYSIS), [old, new], new, "old", runs=failed)
    )
    assert plan.status["abort"] is True
    assert plan.active_hash is None
    passed = [run("web-new-2-pre", "Successful")]
    plan = plan_blue_green(
        snapshot(rollout(status, prePromotionAnalysis=ANALYSIS), [old, new], new, "old", runs=passed)
    )
    assert plan.active_hash == "new"


def test_a_failed_post_promotion_analysis_switches_the_active_service_back() -> None:
    old = replica_set("old", 1, 3, deadline=format_timestamp(NOW + timedelta(seconds=30)))
    new = replica_set("new", 2, 3)
    blue = {"activeSelector": "new", "postPromotionAnalysisRunStatus": {"name": "web-new-2-post"}}
    raw = rollout(updating(blueGreen=blue), postPromotionAnalysis=ANALYSIS)
    plan = plan_blue_green(snapshot(raw, [old, new], new, "new", runs=[run("web-new-2-post", "Failed")]))
    assert plan.status["abort"] is True
    assert plan.active_hash == "old"
    assert plan.status["stableRS"] == "old"
    assert plan.deadlines.get("web-old", "") is None


def test_fast_rollback_to_a_version_within_its_scale_down_delay_skips_the_pause() -> None:
    current = replica_set("b", 2, 3)
    back = replica_set("a", 3, 3, deadline=format_timestamp(NOW + timedelta(seconds=20)))
    raw = rollout(
        {"stableRS": "b", "currentPodHash": "b", "blueGreen": {"activeSelector": "b"}}, autoPromotionEnabled=False
    )
    plan = plan_blue_green(snapshot(raw, [current, back], back, "b"))
    assert "pauseConditions" not in plan.status
    assert plan.active_hash == "a"
    assert plan.deadlines["web-a"] is None


def test_active_and_preview_metadata_go_on_the_active_and_the_new_pods() -> None:
    old, new = replica_set("old", 1, 3), replica_set("new", 2, 3)
    raw = rollout(
        updating(),
        autoPromotionEnabled=False,
        activeMetadata={"labels": {"role": "active"}},
        previewMetadata={"labels": {"role": "preview"}, "annotations": {"note": "x"}},
    )
    plan = plan_blue_green(snapshot(raw, [old, new], new, "old"))
    assert plan.pod_metadata == {
        "web-old": {"labels": {"role": "active"}},
        "web-new": {"labels": {"role": "preview"}, "annotations": {"note": "x"}},
    }


@pytest.mark.parametrize(
    ("anti_affinity", "rule"),
    [
        pytest.param(
            {"preferredDuringSchedulingIgnoredDuringExecution": {"weight": 40}},
            "preferredDuringSchedulingIgnoredDuringExecution",
            id="preferred",
        ),
        pytest.param(
            {"requiredDuringSchedulingIgnoredDuringExecution": {}},
            "requiredDuringSchedulingIgnoredDuringExecution",
            id="required",
        ),
    ],
)
def test_anti_affinity_keeps_new_pods_off_the_stable_pods_and_is_ignored_when_matching_templates(
    anti_affinity: dict[str, Any], rule: str
) -> None:
    raw = rollout({"stableRS": "old"}, antiAffinity=anti_affinity)
    template = raw["spec"]["template"]
    injected = template_for_new_set(raw, template, "new")
    (term,) = injected["spec"]["affinity"]["podAntiAffinity"][rule]
    selector = (term.get("podAffinityTerm") or term)["labelSelector"]
    assert selector["matchExpressions"] == [{"key": "rollouts-pod-template-hash", "operator": "In", "values": ["old"]}]
    assert remove_injected_anti_affinity(injected) == template
    assert template_for_new_set(raw, template, "old") == template  # the stable template itself avoids nothing


@pytest.mark.parametrize(("window", "fast"), [(2, True), (3, True), (1, False), (None, False)])
def test_rolling_back_within_the_rollback_window_skips_the_pause_and_the_analyses(
    window: int | None, fast: bool
) -> None:
    # revisions by creation: v1 (hash a, scaled to 0 long ago), v2 (b), v3 (c, stable and active); back to v1
    v1, v2, v3 = replica_set("a", 1, 0), replica_set("b", 2, 0), replica_set("c", 3, 3)
    extra: dict[str, Any] = {"rollbackWindow": {"revisions": window}} if window is not None else {}
    raw = rollout(
        {"stableRS": "c", "currentPodHash": "a", "blueGreen": {"activeSelector": "c"}},
        autoPromotionEnabled=False,
        previewReplicaCount=1,
        prePromotionAnalysis=ANALYSIS,
    )
    raw["spec"].update(extra)
    plan = plan_blue_green(snapshot(raw, [v1, v2, v3], v1, "c"))
    assert plan.scales["web-a"] == (3 if fast else 1)
    assert not plan.analysis.create
    # Once its pods are available: fast, it goes straight behind the active Service and is stable; else it pauses
    ready = replica_set("a", 1, 3 if fast else 1)
    plan = plan_blue_green(snapshot(raw, [ready, v2, v3], ready, "c"))
    assert (plan.active_hash == "a") is fast
    assert (plan.status.get("stableRS") == "a") is fast
    assert bool(plan.status.get("pauseConditions")) is not fast
    assert bool(plan.analysis.create) is not fast


def test_abort_with_no_update_in_progress_does_nothing() -> None:
    current = replica_set("cur", 1, 3)
    status = {"stableRS": "cur", "currentPodHash": "cur", "blueGreen": {"activeSelector": "cur"}, "abort": True}
    plan = plan_blue_green(snapshot(rollout(status), [current], current, active="cur", preview="cur"))
    assert plan.status["abort"] is False
    assert "abortedAt" not in plan.status
    assert plan.scales == {}
    assert [e.reason for e in plan.events] == []


def test_the_first_template_is_stable_at_once_as_upstreams_initial_deploy() -> None:
    # Upstream: "Initial deploy" promotes before the active Service selects anything (no RolloutNotCompleted).
    new = replica_set("new", 1, 0)
    plan = plan_blue_green(snapshot(rollout(), [new], new, active=None))
    assert plan.status["stableRS"] == "new"
    assert plan.status["blueGreen"]["activeSelector"] == ""
    assert [e.message for e in plan.events if e.reason == "RolloutCompleted"] == [
        "Rollout completed update to revision 1 (new): Initial deploy"
    ]


def test_a_first_deploys_pods_carry_the_active_metadata_from_the_start() -> None:
    new = replica_set("new", 1, 0)
    metadata = {"activeMetadata": {"labels": {"role": "active"}}, "previewMetadata": {"labels": {"role": "preview"}}}
    plan = plan_blue_green(snapshot(rollout(**metadata), [new], new, active=None))
    assert plan.pod_metadata == {"web-new": {"labels": {"role": "active"}}}
    old, update = replica_set("old", 1, 3), replica_set("new", 2, 3)
    manual = {**metadata, "autoPromotionEnabled": False}
    paused = plan_blue_green(snapshot(rollout(updating(), **manual), [old, update], update, active="old"))
    assert paused.pod_metadata == {
        "web-old": {"labels": {"role": "active"}},
        "web-new": {"labels": {"role": "preview"}},
    }
