"""`list rollouts` rows, status symbols, pod status words and ages."""

from __future__ import annotations

import pytest

from ramp.views import build_list_row, render_list
from ramp.views.pods import describe_pod
from ramp.views.symbols import pod_icon, replica_set_icon, rollout_icon
from ramp.views.text import format_age
from tests.unit.views import fixtures


def test_list_row_of_a_paused_canary():
    row = build_list_row(fixtures.rollout())
    assert row.cells() == ("web", "Canary", "Paused", "1/4", "20", "3/3", "3", "1", "3")


def test_list_row_of_a_rollout_without_status_or_canary():
    rollout = fixtures.rollout()
    rollout["spec"]["strategy"] = {"blueGreen": {"activeService": "web"}}
    del rollout["status"]
    del rollout["spec"]["replicas"]
    assert build_list_row(rollout).cells()[1:] == ("BlueGreen", "Progressing", "-", "-", "0/0", "1", "0", "0")


def test_rendered_table_aligns_columns_and_adds_namespace():
    rows = [build_list_row(fixtures.rollout())]
    text = render_list(rows, all_namespaces=True)
    header, line = text.splitlines()
    assert header.split() == [
        "NAMESPACE",
        "NAME",
        *["STRATEGY", "STATUS", "STEP", "SET-WEIGHT", "READY", "DESIRED", "UP-TO-DATE", "AVAILABLE"],
    ]
    assert header.index("STATUS") == line.index("Paused")
    assert render_list(rows, header=False).split() == ["web", "Canary", "Paused", "1/4", "20", "3/3", "3", "1", "3"]


@pytest.mark.parametrize(
    ("phase", "icon"),
    [("Healthy", "✔"), ("Progressing", "◌"), ("Paused", "॥"), ("Degraded", "✖"), ("Error", "⚠"), ("Odd", " ")],
)
def test_rollout_icons(phase, icon):
    assert rollout_icon(phase) == icon


def test_replica_set_and_pod_icons():
    assert [replica_set_icon(s) for s in ("Healthy", "Progressing", "ReplicaFailure", "ScaledDown")] == [
        "✔",
        "◌",
        "✖",
        "•",
    ]
    assert [pod_icon(s) for s in ("Pending", "ImagePullBackOff", "Terminating", "Unknown")] == ["◌", "⚠", "◌", "?"]


def test_pod_status_words():
    waiting_init = {
        "spec": {"initContainers": [{"name": "setup"}], "containers": [{"name": "app"}]},
        "status": {
            "phase": "Pending",
            "initContainerStatuses": [{"name": "setup", "state": {"waiting": {"reason": "PodInitializing"}}}],
        },
    }
    assert describe_pod(waiting_init).status == "Init:0/1"
    failed_exit = {
        "spec": {"containers": [{"name": "app"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [{"name": "app", "state": {"terminated": {"exitCode": 2}}}],
        },
    }
    assert describe_pod(failed_exit).status == "ExitCode:2"
    deleting = {
        "metadata": {"deletionTimestamp": "2026-01-01T00:00:00Z"},
        "spec": {"containers": []},
        "status": {"phase": "Running"},
    }
    assert describe_pod(deleting).status == "Terminating"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (119, "119s"),
        (120, "2m"),
        (150, "2m30s"),
        (900, "15m"),
        (3 * 3600, "3h"),
        (12000, "3h20m"),
        (40 * 3600, "40h"),
        (3 * 86400 + 4 * 3600, "3d4h"),
        (400 * 86400, "400d"),
        (800 * 86400, "2y70d"),
    ],
)
def test_ages_in_kubernetes_short_form(seconds, text):
    assert format_age(seconds) == text
