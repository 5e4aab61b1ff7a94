"""Reconciling again what a reconcile just wrote writes nothing: the plan scales nothing and the status it
computes is the one written (`status_patch` gives None), so a resync or a watch echo costs no API request.
One status write per reconcile is the reconciler's shape: the plan's status is written once, in one patch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ramp.api import parse_rollout
from ramp.core.hashing import compute_steps_hash
from ramp.rollout.canary import limits_of, plan_canary
from ramp.rollout.replicasets import ReplicaSetView
from ramp.rollout.snapshot import Snapshot
from ramp.rollout.status import StatusInputs, complete_status, status_patch

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
STEPS = [{"setWeight": 25}, {"pause": {}}, {"setWeight": 50}, {"pause": {"duration": "10s"}}]


def _rollout(status: dict[str, Any], steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web", "namespace": "ns", "uid": "u1", "generation": 2, "resourceVersion": "10"},
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "a", "image": "x"}]}},
            "strategy": {"canary": {"steps": steps}},
        },
        "status": status,
    }


def _set(pod_hash: str, revision: int, replicas: int) -> ReplicaSetView:
    return ReplicaSetView.of(
        {
            "metadata": {
                "name": f"web-{pod_hash}",
                "labels": {"rollouts-pod-template-hash": pod_hash},
                "annotations": {"rollout.argoproj.io/revision": str(revision)},
                "creationTimestamp": f"2026-05-01T1{revision}:00:00Z",
            },
            "spec": {"replicas": replicas},
            "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas},
        }
    )


def _reconcile(raw: dict[str, Any], sets: list[ReplicaSetView], new: ReplicaSetView, now: datetime) -> tuple:
    """One reconcile's decisions: the scales and the status it would write (None: no write)."""
    snapshot = Snapshot(raw, parse_rollout(raw), raw["spec"]["template"], raw["spec"]["selector"], sets, new, now)
    plan = plan_canary(snapshot)
    limits = limits_of(snapshot)
    result = complete_status(
        plan.status,
        StatusInputs(
            raw=raw,
            sets=sets,
            new=new,
            replicas=snapshot.replicas,
            max_unavailable=limits.max_unavailable,
            progress_deadline_seconds=600,
            progress_deadline_abort=False,
            paused_by_spec=False,
            selector=snapshot.selector,
            now=now,
        ),
    )
    return plan.scales, result.status, status_patch(raw.get("status") or {}, result.status)


@pytest.mark.parametrize(
    ("steps", "status", "sizes"),
    [
        pytest.param(
            STEPS,
            {
                "stableRS": "old",
                "currentPodHash": "new",
                "currentStepHash": compute_steps_hash(STEPS),
                "currentStepIndex": 1,
            },
            {"old": 3, "new": 1},
            id="paused on a step",
        ),
        pytest.param(
            [],
            {
                "stableRS": "new",
                "currentPodHash": "new",
                "currentStepHash": compute_steps_hash([]),
                "currentStepIndex": 0,
            },
            {"old": 0, "new": 4},
            id="healthy after a rolling update",
        ),
    ],
)
def test_reconciling_what_was_just_written_writes_nothing(
    steps: list[dict[str, Any]], status: dict[str, Any], sizes: dict[str, int]
) -> None:
    sets = [_set("old", 1, sizes["old"]), _set("new", 2, sizes["new"])]
    raw = _rollout(status, steps)
    _, written, _ = _reconcile(raw, sets, sets[1], NOW)
    # The status written comes back (the cache holds it); the next reconcile, a little later, changes nothing.
    raw = _rollout(written, steps)
    scales, _, patch = _reconcile(raw, sets, sets[1], NOW + timedelta(seconds=5))
    assert scales == {}, "no scale write for a ReplicaSet already at its size"
    assert patch is None, f"no status write when nothing changed, got {patch}"
