"""The manager's pure wiring decisions: which queue an informer event concerns."""

from __future__ import annotations

import pytest

from ramp.manager import RECONCILER_KINDS, Manager, ManagerOptions, controller_owner, referenced_services


def test_a_replicaset_concerns_its_controlling_rollout() -> None:
    rs = {
        "metadata": {
            "namespace": "ns",
            "name": "web-6c5d",
            "ownerReferences": [
                {"kind": "Deployment", "name": "other"},  # not the controller
                {"kind": "Rollout", "name": "web", "controller": True},
            ],
        }
    }
    assert controller_owner(rs) == ("Rollout", "ns/web")
    assert controller_owner({"metadata": {"name": "orphan"}}) is None


def test_services_a_rollout_points_at_are_found_in_both_strategies() -> None:
    canary = {"spec": {"strategy": {"canary": {"canaryService": "web-canary", "stableService": "web"}}}}
    blue_green = {"spec": {"strategy": {"blueGreen": {"activeService": "active", "previewService": "preview"}}}}
    assert referenced_services(canary) == {"web-canary", "web"}
    assert referenced_services(blue_green) == {"active", "preview"}
    assert referenced_services({"spec": {}}) == set()


def test_thread_flags_size_each_reconciler_kind() -> None:
    options = ManagerOptions(rollout_threads=3, analysis_threads=4, experiment_threads=5, identity="me")
    threads = {kind: spec.threads(options) for kind, spec in RECONCILER_KINDS.items()}
    assert threads == {"rollouts": 3, "analysisruns": 4, "experiments": 5}
    assert {spec.queue_name for spec in RECONCILER_KINDS.values()} == {"Rollouts", "AnalysisRuns", "Experiments"}


def test_unknown_reconciler_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown reconciler kinds"):
        Manager(ManagerOptions(identity="me"), client=None, reconcilers={"deployments": lambda _: None})  # type: ignore[arg-type]
