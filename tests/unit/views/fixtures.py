"""Recorded-style objects of one canary Rollout mid-update: revision 2 (canary, 1 pod) beside revision 1
(stable, 2 pods), an AnalysisRun of revision 2 and a scaled-down revision-0 ReplicaSet of another rollout.

Shaped like what the API server returns (server-set fields included), so the views are tested on real shapes.
"""

from __future__ import annotations

import copy
from typing import Any

NOW = "2026-03-01T12:00:00Z"
ROLLOUT_UID = "5e0c6b0e-1111-4a2b-9c3d-000000000001"
STABLE_UID = "5e0c6b0e-2222-4a2b-9c3d-000000000002"
CANARY_UID = "5e0c6b0e-3333-4a2b-9c3d-000000000003"


def rollout() -> dict[str, Any]:
    return copy.deepcopy(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Rollout",
            "metadata": {
                "name": "web",
                "namespace": "shop",
                "uid": ROLLOUT_UID,
                "generation": 4,
                "resourceVersion": "8812",
                "creationTimestamp": "2026-03-01T10:00:00Z",
                "annotations": {"rollout.argoproj.io/revision": "2"},
            },
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
                },
                "strategy": {
                    "canary": {
                        "steps": [
                            {"setWeight": 20},
                            {"pause": {}},
                            {"analysis": {"templates": [{"templateName": "rate"}]}},
                            {"setWeight": 60},
                        ]
                    }
                },
            },
            "status": {
                "observedGeneration": "4",
                "phase": "Paused",
                "message": "CanaryPauseStep",
                "currentStepIndex": 1,
                "currentPodHash": "7d9f8c6b5",
                "stableRS": "5c4b3a291",
                "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-03-01T11:58:00Z"}],
                "controllerPause": True,
                "replicas": 3,
                "updatedReplicas": 1,
                "readyReplicas": 3,
                "availableReplicas": 3,
            },
        }
    )


def replica_set(name: str, uid: str, pod_hash: str, revision: int, image: str, replicas: int) -> dict[str, Any]:
    labels = {"app": "web", "rollouts-pod-template-hash": pod_hash}
    return {
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": uid,
            "generation": 2,
            "creationTimestamp": "2026-03-01T11:50:00Z" if revision == 2 else "2026-03-01T10:00:00Z",
            "labels": labels,
            "annotations": {"rollout.argoproj.io/revision": str(revision)},
            "ownerReferences": [
                {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "Rollout",
                    "name": "web",
                    "uid": ROLLOUT_UID,
                    "controller": True,
                }
            ],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "app", "image": image, "terminationMessagePath": "/dev/termination-log"}]
                },
            },
        },
        "status": {
            "observedGeneration": 2,
            "replicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
        },
    }


def pod(name: str, owner_uid: str, created: str, **status: Any) -> dict[str, Any]:
    default_status = {
        "phase": "Running",
        "containerStatuses": [
            {"name": "app", "ready": True, "restartCount": 0, "state": {"running": {"startedAt": created}}}
        ],
    }
    return {
        "metadata": {
            "name": name,
            "namespace": "shop",
            "creationTimestamp": created,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "x", "uid": owner_uid}],
        },
        "spec": {"containers": [{"name": "app", "image": "nginx"}]},
        "status": status or default_status,
    }


def replica_sets() -> list[dict[str, Any]]:
    return [
        replica_set("web-5c4b3a291", STABLE_UID, "5c4b3a291", 1, "nginx:1.26", 2),
        replica_set("web-7d9f8c6b5", CANARY_UID, "7d9f8c6b5", 2, "nginx:1.27", 1),
        {**replica_set("other-1", "other-uid", "111", 1, "busybox", 1), "metadata": {"name": "other-1", "uid": "x"}},
    ]


def pods() -> list[dict[str, Any]]:
    return [
        pod("web-5c4b3a291-b", STABLE_UID, "2026-03-01T10:00:05Z"),
        pod("web-5c4b3a291-a", STABLE_UID, "2026-03-01T10:00:01Z"),
        pod(
            "web-7d9f8c6b5-c",
            CANARY_UID,
            "2026-03-01T11:50:01Z",
            phase="Running",
            containerStatuses=[
                {
                    "name": "app",
                    "ready": False,
                    "restartCount": 3,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                }
            ],
        ),
    ]


def analysis_runs() -> list[dict[str, Any]]:
    return [
        {
            "metadata": {
                "name": "web-7d9f8c6b5-2-2",
                "namespace": "shop",
                "creationTimestamp": "2026-03-01T11:55:00Z",
                "annotations": {"rollout.argoproj.io/revision": "2"},
                "ownerReferences": [{"kind": "Rollout", "name": "web", "uid": ROLLOUT_UID, "controller": True}],
            },
            "spec": {"metrics": []},
            "status": {"phase": "Running", "metricResults": [{"name": "rate", "successful": 2, "failed": 1}]},
        }
    ]
