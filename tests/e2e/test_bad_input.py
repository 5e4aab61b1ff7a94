"""Bad input ends as a condition, once, and never stalls anyone else (issue 13).

Given a controller and a good Rollout, When Rollouts with each input of the adversarial corpus
(tests/adversarial/rollouts.yaml) are applied beside it, Then each gets the InvalidSpec condition naming its
field and is Degraded, once (one InvalidSpec event), with no ReplicaSet made and no "retrying" in the
controller's log for it, while the good Rollout goes Healthy; the inputs the CRDs' int32 bounds cover are
refused by the API server itself. And an AnalysisRun whose measurement metadata names a Job in another
namespace (or a Job the run does not own), with terminate set, leaves those Jobs alone.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.adversarial.corpus import apply_patch, base_rollout, load_entries
from tests.e2e.harness import Cluster, ControllerProcess, KubectlError, wait_until
from tests.e2e.scenario import Scenario

pytestmark = pytest.mark.cluster

ENTRIES = load_entries()


def _start(start_controller: Callable[..., ControllerProcess], namespace: str) -> ControllerProcess:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    return controller


def test_each_bad_rollout_gets_invalid_spec_once_while_a_good_one_goes_healthy(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    controller = _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a good rollout
    s.given(json.dumps(base_rollout("good", namespace)))
    # When a Rollout with each bad input is applied beside it
    bad: dict[str, str] = {}
    for index, entry in enumerate(ENTRIES):
        name = f"bad-{index}"
        manifest = json.dumps(apply_patch(base_rollout(name, namespace), entry.patch))
        try:
            s.given(manifest)
        except KubectlError as refused:
            # Then what the CRDs' int32 bounds cover is refused by the API server itself, naming the field
            assert entry.api_refuses, (entry.id, str(refused))
            assert entry.expect.rsplit(".", 1)[-1].split("[")[0] in str(refused), str(refused)
            continue
        # (The cluster is shared: its CRDs may be another build's, without the bounds. Then the controller's own
        # int32 check gives InvalidSpec like any other bad input.)
        bad[name] = entry.expect
    # Then each has InvalidSpec naming its field, and is Degraded
    for name, field in bad.items():
        condition = s.then_condition(name, "InvalidSpec", "InvalidSpec", status="True")
        assert field in condition["message"], (name, condition["message"])
        s.then_phase(name, "Degraded")
    # And the good one went Healthy beside them
    s.then_phase("good", "Healthy")
    s.then_ready_images("app=good", {"nginx:1.27": 2})
    time.sleep(3)  # give a retry loop time to show itself; nothing more may happen
    for name in bad:
        # Once: one InvalidSpec event, no ReplicaSet, and no retry in the controller's log
        assert s.event_count(name, "InvalidSpec") == 1, name
        assert s.replica_sets(name) == [], name
    # (The controller only watches this namespace: any retry would be for one of these Rollouts.)
    retried = [line for line in controller.log().splitlines() if "retrying" in line]
    assert retried == [], retried[:3]


JOB = """
apiVersion: batch/v1
kind: Job
metadata: {{name: {name}}}
spec:
  backoffLimit: 0
  template:
    metadata: {{annotations: {{ramp.dev/simulate-duration: 600s}}}}
    spec:
      restartPolicy: Never
      containers: [{{name: sleep, image: busybox, command: ["sleep", "3600"]}}]
"""


@pytest.fixture
def other_namespace(cluster: Cluster) -> Iterator[str]:
    name = cluster.create_namespace("bad-input-victim")
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def _job_metric(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "provider": {
            "job": {
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "check", "image": "busybox", "command": ["true"]}],
                        }
                    },
                }
            }
        },
    }


def _running(name: str, job_namespace: str, job_name: str) -> dict[str, Any]:
    started = "2026-01-01T00:00:00Z"
    return {
        "name": name,
        "phase": "Running",
        "count": 1,
        "measurements": [
            {
                "phase": "Running",
                "startedAt": started,
                "metadata": {"job-name": job_name, "job-namespace": job_namespace},
            }
        ],
    }


def test_an_analysis_run_cannot_reach_jobs_outside_its_namespace_or_not_its_own(
    cluster: Cluster, namespace: str, other_namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a Job in another namespace, and a Job the run does not own in the run's namespace
    cluster.apply(JOB.format(name="victim"), other_namespace)
    s.given(JOB.format(name="bystander"))
    victim_uid = cluster.get("job", "victim", other_namespace)["metadata"]["uid"]
    bystander_uid = s.get("job", "bystander")["metadata"]["uid"]
    # When an AnalysisRun, terminating, has in-flight measurements whose metadata name them
    run = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {"name": "sneaky"},
        "spec": {"terminate": True, "metrics": [_job_metric("elsewhere"), _job_metric("not-ours")]},
        "status": {
            "phase": "Running",
            "startedAt": "2026-01-01T00:00:00Z",
            "metricResults": [
                _running("elsewhere", other_namespace, "victim"),
                _running("not-ours", namespace, "bystander"),
            ],
        },
    }
    s.given(json.dumps(run))

    # Then the run finishes, its measurements Errors saying why
    def finished_run() -> dict[str, Any] | None:
        found = s.get("analysisrun", "sneaky")
        return found if found.get("status", {}).get("phase") not in (None, "", "Running") else None

    finished = wait_until(finished_run, 60, "analysis run sneaky finished")
    messages = [
        m.get("message") or ""
        for result in finished["status"]["metricResults"]
        for m in result.get("measurements") or []
    ]
    assert any("not the run's namespace" in m for m in messages), messages
    assert any("not controlled by this AnalysisRun" in m for m in messages), messages
    # And both Jobs are still there, untouched
    time.sleep(2)
    victim = cluster.get("job", "victim", other_namespace)
    bystander = s.get("job", "bystander")
    assert victim["metadata"]["uid"] == victim_uid and "deletionTimestamp" not in victim["metadata"]
    assert bystander["metadata"]["uid"] == bystander_uid and "deletionTimestamp" not in bystander["metadata"]


def test_an_analysis_run_or_experiment_whose_spec_raises_ends_once_without_retrying(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    controller = _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given an AnalysisRun whose dryRun rule cannot even be compiled, and an Experiment whose duration overflows
    run = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {"name": "unreadable"},
        "spec": {
            "metrics": [{"name": "m", "provider": {"web": {"url": "http://127.0.0.1:9/never-called"}}}],
            "dryRun": [{"metricName": "a{99999999999}"}],
        },
    }
    experiment = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Experiment",
        "metadata": {"name": "unreadable"},
        "spec": {
            "duration": "9" * 400 + "h",
            "templates": [
                {
                    "name": "a",
                    "selector": {"matchLabels": {"app": "exp"}},
                    "template": {
                        "metadata": {"labels": {"app": "exp"}},
                        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
                    },
                }
            ],
        },
    }
    s.given(json.dumps(run))
    s.given(json.dumps(experiment))

    # Then the run ends as Error with a message, its provider never called
    def errored() -> dict[str, Any] | None:
        status = s.get("analysisrun", "unreadable").get("status") or {}
        return status if status.get("phase") == "Error" else None

    status = wait_until(errored, 60, "analysis run unreadable in phase Error")
    assert status["message"].startswith("Analysis spec invalid"), status["message"]
    assert not status.get("metricResults"), status

    # And the Experiment has the InvalidSpec condition, and no ReplicaSet
    def invalid() -> dict[str, Any] | None:
        conditions = (s.get("experiment", "unreadable").get("status") or {}).get("conditions") or []
        return next((c for c in conditions if c.get("type") == "InvalidSpec" and c.get("status") == "True"), None)

    condition = wait_until(invalid, 60, "experiment unreadable with InvalidSpec")
    assert condition["message"].startswith("spec"), condition["message"]
    time.sleep(3)  # give a retry loop time to show itself
    assert cluster.list("replicaset", namespace) == []
    assert [line for line in controller.log().splitlines() if "retrying" in line] == []
