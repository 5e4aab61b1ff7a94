"""The rollout tree built from raw objects: revisions newest first, markers, pod states, summary weights."""

from __future__ import annotations

from datetime import datetime

from ramp.views import build_rollout_view, render_rollout
from ramp.views.tree import describe_replica_set_health
from tests.unit.views import fixtures

NOW = datetime.fromisoformat("2026-03-01T12:00:00+00:00")


def build():
    return build_rollout_view(
        fixtures.rollout(), fixtures.replica_sets(), fixtures.pods(), fixtures.analysis_runs(), []
    )


def test_revisions_are_newest_first_and_hold_only_owned_objects():
    view = build()
    assert [rev.number for rev in view.revisions] == [2, 1]
    assert [rs.name for rs in view.revisions[0].replica_sets] == ["web-7d9f8c6b5"]
    assert [rs.name for rs in view.revisions[1].replica_sets] == ["web-5c4b3a291"]
    assert [run.name for run in view.revisions[0].analysis_runs] == ["web-7d9f8c6b5-2-2"]


def test_replica_sets_are_marked_canary_and_stable_by_pod_hash():
    view = build()
    assert view.revisions[0].tags == ("canary",)
    assert view.revisions[1].tags == ("stable",)


def test_pods_sorted_by_creation_with_status_ready_and_restarts():
    stable, canary = build().revisions[1].replica_sets[0], build().revisions[0].replica_sets[0]
    assert [p.name for p in stable.pods] == ["web-5c4b3a291-a", "web-5c4b3a291-b"]
    assert (stable.pods[0].status, stable.pods[0].icon, stable.pods[0].ready) == ("Running", "✔", "1/1")
    crashing = canary.pods[0]
    assert (crashing.status, crashing.icon, crashing.ready, crashing.restarts) == ("CrashLoopBackOff", "✖", "0/1", 3)


def test_summary_of_a_paused_canary():
    view = build()
    assert (view.phase, view.message, view.icon) == ("Paused", "CanaryPauseStep", "॥")
    assert (view.strategy, view.step, view.set_weight) == ("Canary", "1/4", "20")
    assert view.actual_weight == "33"  # one canary pod of three available, no traffic router
    assert [(i.image, i.tags) for i in view.images] == [("nginx:1.26", ("stable",)), ("nginx:1.27", ("canary",))]
    assert (view.desired, view.current, view.updated, view.ready, view.available) == (3, 3, 1, 3, 3)


def test_unobserved_spec_shows_progressing():
    rollout = fixtures.rollout()
    rollout["metadata"]["generation"] = 5
    view = build_rollout_view(rollout)
    assert (view.phase, view.message) == ("Progressing", "waiting for rollout spec update to be observed")


def test_promoted_but_not_yet_resumed_shows_progressing():
    rollout = fixtures.rollout()
    rollout["status"]["pauseConditions"] = None
    assert build_rollout_view(rollout).phase == "Progressing"


def test_aborted_canary_has_set_weight_zero_and_past_the_last_step_the_maximum():
    rollout = fixtures.rollout()
    rollout["status"]["abort"] = True
    assert build_rollout_view(rollout).set_weight == "0"
    rollout["status"] = {"currentStepIndex": 4}
    view = build_rollout_view(rollout)
    assert (view.set_weight, view.actual_weight) == ("100", "100")


def test_replica_set_health():
    rs = fixtures.replica_sets()[0]
    assert describe_replica_set_health(rs) == "Healthy"
    rs["spec"]["replicas"] = 0
    rs["status"]["availableReplicas"] = 0
    assert describe_replica_set_health(rs) == "ScaledDown"
    rs["metadata"]["generation"] = 3
    assert describe_replica_set_health(rs) == "Progressing"


def test_blue_green_marks_active_and_preview():
    rollout = fixtures.rollout()
    rollout["spec"]["strategy"] = {"blueGreen": {"activeService": "web"}}
    rollout["status"]["blueGreen"] = {"activeSelector": "5c4b3a291", "previewSelector": "7d9f8c6b5"}
    view = build_rollout_view(rollout, fixtures.replica_sets())
    assert view.revisions[0].tags == ("preview",)
    assert view.revisions[1].tags == ("stable", "active")
    assert (view.strategy, view.step, view.set_weight) == ("BlueGreen", "", "")


def test_rendered_text_has_upstreams_summary_and_tree():
    text = render_rollout(build(), NOW)
    lines = text.splitlines()
    assert lines[:8] == [
        "Name:            web",
        "Namespace:       shop",
        "Status:          ॥ Paused",
        "Message:         CanaryPauseStep",
        "Strategy:        Canary",
        "  Step:          1/4",
        "  SetWeight:     20",
        "  ActualWeight:  33",
    ]
    assert "Images:          nginx:1.26 (stable)" in lines
    tree = lines[lines.index("") + 1 :]
    assert tree[0].split() == ["NAME", "KIND", "STATUS", "AGE", "INFO"]
    assert tree[1].split() == ["⟳", "web", "Rollout", "॥", "Paused", "120m"]
    assert tree[2] == "├──# revision:2"
    assert tree[3].split() == ["│", "├──⧉", "web-7d9f8c6b5", "ReplicaSet", "✔", "Healthy", "10m", "canary"]
    assert tree[4].split() == [
        "│",
        "│",
        "└──□",
        "web-7d9f8c6b5-c",
        "Pod",
        "✖",
        "CrashLoopBackOff",
        "9m59s",
        "ready:0/1,restarts:3",
    ]
    assert tree[5].split() == [
        "│",
        "└──\u03b1",
        "web-7d9f8c6b5-2-2",
        "AnalysisRun",
        "◌",
        "Running",
        "5m",
        "✔",
        "2,✖",
        "1",
    ]
    assert tree[6] == "└──# revision:1"
    assert "\x1b[" not in text


def test_colour_only_when_asked():
    assert "\x1b[32m✔\x1b[0m" in render_rollout(build(), NOW, color=True)
