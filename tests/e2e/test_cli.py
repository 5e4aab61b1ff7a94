"""The `ramp` verbs against the local cluster, with no controller running (but for `create --watch`): each test
sets up a Rollout (and its status, ReplicaSets, runs) by hand, runs the command as a user would, and checks the
objects it left.

Given/When/Then: Given the objects; When `ramp <verb>` runs as a subprocess; Then the stored state (not the
request sent) is what upstream's kubectl plugin would leave.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import Cluster, ControllerProcess, kubectl_on_path, ramp_command

pytestmark = pytest.mark.cluster

STEPS = [{"setWeight": 20}, {"pause": {}}, {"setWeight": 60}, {"pause": {"duration": 10}}]


def rollout_manifest(name: str = "web", image: str = "nginx:1.26", **spec: Any) -> str:
    body = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
            "strategy": {"canary": {"steps": STEPS}},
            **spec,
        },
    }
    return json.dumps(body)


def ramp(
    cluster: Cluster, namespace: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [*ramp_command(), *args, "-n", namespace, "--kubeconfig", str(cluster.kubeconfig)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ramp_command(), "lint", "-f", str(path)], capture_output=True, text=True, check=False)


def patch_status(cluster: Cluster, namespace: str, name: str, status: dict[str, Any]) -> None:
    cluster.kubectl(
        "patch",
        "rollout",
        name,
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": status}),
    )


def given_rollout(
    cluster: Cluster, namespace: str, status: dict[str, Any] | None = None, **spec: Any
) -> dict[str, Any]:
    cluster.apply(rollout_manifest(**spec), namespace)
    if status is not None:
        patch_status(cluster, namespace, "web", status)
    return cluster.get("rollout", "web", namespace)


def given_replica_set(
    cluster: Cluster,
    namespace: str,
    rollout: dict[str, Any],
    pod_hash: str,
    revision: int,
    image: str,
    replicas: int = 0,
) -> dict[str, Any]:
    labels = {"app": "web", "rollouts-pod-template-hash": pod_hash}
    body = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"web-{pod_hash}",
            "labels": labels,
            "annotations": {"rollout.argoproj.io/revision": str(revision)},
            "ownerReferences": [
                {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "Rollout",
                    "name": "web",
                    "uid": rollout["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    }
    cluster.apply(json.dumps(body), namespace)
    return cluster.get("replicaset", f"web-{pod_hash}", namespace)


def test_promote_clears_a_pause_condition_then_moves_to_the_next_step(cluster: Cluster, namespace: str) -> None:
    # Given a canary paused at step 1 by the controller, and paused by hand as well
    pause = {"reason": "CanaryPauseStep", "startTime": "2026-01-01T00:00:00Z"}
    given_rollout(
        cluster, namespace, {"currentStepIndex": 1, "pauseConditions": [pause], "controllerPause": True}, paused=True
    )
    # When it is promoted
    result = ramp(cluster, namespace, "promote", "web")
    # Then the pause condition and spec.paused are gone, and the controller completes the step itself
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "rollout 'web' promoted"
    rollout = cluster.get("rollout", "web", namespace)
    assert not rollout["spec"].get("paused")
    assert "pauseConditions" not in rollout["status"]
    assert rollout["status"]["currentStepIndex"] == 1
    # When promoted again with no pause condition, the step index moves on
    assert ramp(cluster, namespace, "promote", "web").returncode == 0
    assert cluster.get("rollout", "web", namespace)["status"]["currentStepIndex"] == 2


def test_promote_full_asks_for_the_new_version(cluster: Cluster, namespace: str) -> None:
    given_rollout(cluster, namespace, {"currentPodHash": "new", "stableRS": "old", "currentStepIndex": 0})
    result = ramp(cluster, namespace, "promote", "web", "--full")
    assert result.stdout.strip() == "rollout 'web' fully promoted", result.stderr
    assert cluster.get("rollout", "web", namespace)["status"]["promoteFull"] is True


def test_abort_then_retry(cluster: Cluster, namespace: str) -> None:
    given_rollout(cluster, namespace, {"currentStepIndex": 2})
    assert ramp(cluster, namespace, "abort", "web").stdout.strip() == "rollout 'web' aborted"
    assert cluster.get("rollout", "web", namespace)["status"]["abort"] is True
    assert ramp(cluster, namespace, "retry", "rollout", "web").stdout.strip() == "rollout 'web' retried"
    assert cluster.get("rollout", "web", namespace)["status"]["abort"] is False


def test_pause_and_restart(cluster: Cluster, namespace: str) -> None:
    given_rollout(cluster, namespace)
    assert ramp(cluster, namespace, "pause", "web").stdout.strip() == "rollout 'web' paused"
    assert cluster.get("rollout", "web", namespace)["spec"]["paused"] is True
    before = datetime.now(UTC).replace(microsecond=0)
    result = ramp(cluster, namespace, "restart", "web", "--in", "1h")
    assert result.stdout.strip() == "rollout 'web' restarts in 1h", result.stderr
    restart_at = datetime.fromisoformat(cluster.get("rollout", "web", namespace)["spec"]["restartAt"])
    assert before + timedelta(hours=1) <= restart_at <= datetime.now(UTC) + timedelta(hours=1, seconds=1)


def test_set_image_changes_the_template_and_names_a_missing_container(cluster: Cluster, namespace: str) -> None:
    given_rollout(cluster, namespace)
    result = ramp(cluster, namespace, "set", "image", "web", "app=nginx:1.27")
    assert result.stdout.strip() == 'rollout "web" image updated', result.stderr
    containers = cluster.get("rollout", "web", namespace)["spec"]["template"]["spec"]["containers"]
    assert containers[0]["image"] == "nginx:1.27"
    # A container that does not exist: an error naming it, and nothing changes
    result = ramp(cluster, namespace, "set", "image", "web", "sidecar=busybox")
    assert result.returncode == 1
    assert 'unable to find container named "sidecar"' in result.stderr
    assert (
        cluster.get("rollout", "web", namespace)["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    )


def test_undo_restores_the_previous_revision_template(cluster: Cluster, namespace: str) -> None:
    # Given revisions 1 (nginx:1.25) and 2 (nginx:1.26, the current template)
    rollout = given_rollout(cluster, namespace, image="nginx:1.26")
    given_replica_set(cluster, namespace, rollout, "aaaa1", 1, "nginx:1.25")
    given_replica_set(cluster, namespace, rollout, "bbbb2", 2, "nginx:1.26")
    # When undone
    result = ramp(cluster, namespace, "undo", "web")
    # Then the template is revision 1's, without the pod-template-hash label
    assert result.stdout.strip() == "rollout 'web' undo", result.stderr
    template = cluster.get("rollout", "web", namespace)["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert template["metadata"]["labels"] == {"app": "web"}
    # Going to revision 1 again changes nothing; an unknown revision is an error
    assert "skipped rollback" in ramp(cluster, namespace, "undo", "web", "--to-revision", "1").stdout
    missing = ramp(cluster, namespace, "undo", "web", "--to-revision", "7")
    assert missing.returncode == 1
    assert "revision 7" in missing.stderr


def test_terminate_and_retry_analysis_runs_and_experiments(cluster: Cluster, namespace: str) -> None:
    cluster.apply(
        yaml.safe_dump_all(
            [
                {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "AnalysisRun",
                    "metadata": {"name": "run1"},
                    "spec": {"metrics": [{"name": "ok", "provider": {"web": {"url": "http://example.invalid"}}}]},
                },
                {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "Experiment",
                    "metadata": {"name": "exp1"},
                    "spec": {"templates": []},
                },
            ]
        ),
        namespace,
    )
    assert (
        ramp(cluster, namespace, "terminate", "analysisrun", "run1").stdout.strip() == "analysisRun 'run1' terminated"
    )
    assert cluster.get("analysisrun", "run1", namespace)["spec"]["terminate"] is True
    assert ramp(cluster, namespace, "terminate", "exp", "exp1").returncode == 0
    assert cluster.get("experiment", "exp1", namespace)["spec"]["terminate"] is True
    cluster.kubectl(
        "patch", "experiment", "exp1", "-n", namespace, "--type=merge", "-p", '{"status":{"phase":"Failed"}}'
    )
    assert ramp(cluster, namespace, "retry", "experiment", "exp1").stdout.strip() == "experiment 'exp1' retried"
    assert "status" not in cluster.get("experiment", "exp1", namespace)


def test_missing_rollout_is_named_in_the_error(cluster: Cluster, namespace: str) -> None:
    result = ramp(cluster, namespace, "abort", "nope")
    assert result.returncode == 1
    assert f'Rollout "nope" in namespace "{namespace}" not found' in result.stderr


def test_get_rollout_prints_the_tree_when_piped(cluster: Cluster, namespace: str) -> None:
    rollout = given_rollout(cluster, namespace, image="nginx:1.26")
    given_replica_set(cluster, namespace, rollout, "aaaa1", 1, "nginx:1.25", replicas=2)
    given_replica_set(cluster, namespace, rollout, "bbbb2", 2, "nginx:1.26", replicas=1)
    generation = str(cluster.get("rollout", "web", namespace)["metadata"]["generation"])
    status = {"observedGeneration": generation, "phase": "Paused", "message": "CanaryPauseStep", "currentStepIndex": 1}
    patch_status(cluster, namespace, "web", {**status, "stableRS": "aaaa1", "currentPodHash": "bbbb2"})
    result = ramp(cluster, namespace, "get", "rollout", "web")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "\x1b[" not in out
    assert "Status:          ॥ Paused" in out
    assert "Message:         CanaryPauseStep" in out
    assert "  Step:          1/4" in out
    assert "  SetWeight:     20" in out
    assert "# revision:2" in out and "# revision:1" in out
    assert out.index("revision:2") < out.index("revision:1")
    rs_line = next(line for line in out.splitlines() if "web-bbbb2 " in line)
    assert "ReplicaSet" in rs_line and rs_line.rstrip().endswith("canary")
    assert next(line for line in out.splitlines() if "web-aaaa1 " in line).rstrip().endswith("stable")


def test_list_and_status(cluster: Cluster, namespace: str) -> None:
    given_rollout(cluster, namespace)
    generation = str(cluster.get("rollout", "web", namespace)["metadata"]["generation"])
    patch_status(cluster, namespace, "web", {"observedGeneration": generation, "phase": "Healthy", "replicas": 3})
    listed = ramp(cluster, namespace, "list", "rollouts")
    assert listed.stdout.split("\n")[0].split() == [
        "NAME",
        "STRATEGY",
        "STATUS",
        "STEP",
        "SET-WEIGHT",
        "READY",
        "DESIRED",
        "UP-TO-DATE",
        "AVAILABLE",
    ]
    assert listed.stdout.split("\n")[1].split()[:3] == ["web", "Canary", "Healthy"]
    healthy = ramp(cluster, namespace, "status", "web", "--timeout", "5s")
    assert (healthy.returncode, healthy.stdout.strip()) == (0, "Healthy")
    patch_status(cluster, namespace, "web", {"phase": "Degraded", "message": "RolloutAborted: aborted"})
    degraded = ramp(cluster, namespace, "status", "web", "--watch=false")
    assert degraded.returncode == 1
    assert "degraded state with message: RolloutAborted: aborted" in degraded.stderr


def test_lint_good_and_bad_manifests(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(rollout_manifest())
    bad_rollout = json.loads(rollout_manifest())
    bad_rollout["spec"]["strategy"]["canary"]["steps"] = [{"setWeight": "lots"}]
    bad.write_text(yaml.safe_dump(bad_rollout))
    ok = lint(good)
    assert (ok.returncode, ok.stdout.strip()) == (0, f"✔ {good} is valid")
    failed = lint(bad)
    assert failed.returncode == 1
    assert "spec.strategy.canary.steps[0].setWeight" in failed.stdout


def test_kubectl_runs_ramp_as_a_plugin(cluster: Cluster) -> None:
    env = kubectl_on_path()
    env["PATH"] = f"{Path(ramp_command()[0]).parent}{os.pathsep}{env['PATH']}"
    result = subprocess.run(
        ["kubectl", "ramp", "version", "--short"], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()[0].isdigit()


def test_create_f_creates_the_rollout_of_a_file(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    # Given a file with a Rollout
    path = tmp_path / "rollout.yaml"
    path.write_text(yaml.safe_dump(json.loads(rollout_manifest())))
    # When `ramp create -f` runs
    result = ramp(cluster, namespace, "create", "-f", str(path))
    # Then it reports it as upstream does, and the Rollout is stored as the file has it
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "rollout.argoproj.io/web created"
    stored = cluster.get("rollout", "web", namespace)
    assert stored["spec"]["strategy"]["canary"]["steps"] == STEPS
    # And a second create of the same file is refused, naming the object
    again = ramp(cluster, namespace, "create", "-f", str(path))
    assert again.returncode == 1 and "already exists" in again.stderr


def _server_and_ca(cluster: Cluster, tmp_path: Path) -> tuple[str, Path]:
    """The API server's URL and its CA (as a file), from the cluster's kubeconfig."""
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    entry = config["clusters"][0]["cluster"]
    ca = tmp_path / "ca.crt"
    if entry.get("certificate-authority-data"):
        ca.write_bytes(base64.b64decode(entry["certificate-authority-data"]))
    else:
        ca.write_bytes((cluster.kubeconfig.parent / entry["certificate-authority"]).read_bytes())
    return entry["server"], ca


def _rollout_reader(cluster: Cluster, namespace: str, account: str) -> None:
    """A ServiceAccount allowed to read rollouts (and their ReplicaSets, pods, runs) in `namespace`."""
    cluster.apply(
        yaml.safe_dump_all(
            [
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account}},
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "Role",
                    "metadata": {"name": "rollout-reader"},
                    "rules": [
                        {"apiGroups": ["argoproj.io"], "resources": ["*"], "verbs": ["get", "list", "watch"]},
                        {"apiGroups": ["", "apps"], "resources": ["*"], "verbs": ["get", "list", "watch"]},
                    ],
                },
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "RoleBinding",
                    "metadata": {"name": "rollout-reader"},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "rollout-reader"},
                    "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
                },
            ]
        ),
        namespace,
    )


def test_token_and_server_flags_are_the_identity_used(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    # Given a Rollout, a ServiceAccount that may read it, and that account's token
    given_rollout(cluster, namespace)
    _rollout_reader(cluster, namespace, "reader")
    token = cluster.kubectl("create", "token", "reader", "-n", namespace).strip()
    server, ca = _server_and_ca(cluster, tmp_path)
    # And no kubeconfig at all: only the flags say where the cluster is and who asks
    env = {**os.environ, "KUBECONFIG": "", "HOME": str(tmp_path)}
    flags = ["--server", server, "--token", token, "--certificate-authority", str(ca), "-n", namespace]

    def ramp_with_flags(*args: str) -> subprocess.CompletedProcess[str]:
        command = [*ramp_command(), *args, *flags]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)

    # When the account reads the rollout, Then it is shown
    shown = ramp_with_flags("get", "rollout", "web")
    assert shown.returncode == 0, shown.stderr
    assert "Name:" in shown.stdout and "web" in shown.stdout
    # When it tries to pause it (a write it is not allowed), Then the API server refuses the account by name
    refused = ramp_with_flags("pause", "web")
    assert refused.returncode == 1
    assert f"system:serviceaccount:{namespace}:reader" in refused.stderr
    assert not cluster.get("rollout", "web", namespace)["spec"].get("paused")
    # And kubectl's --as impersonates with the admin kubeconfig, before or after the verb
    impersonated = ramp(
        cluster, namespace, "--as", f"system:serviceaccount:{namespace}:nobody", "get", "rollout", "web"
    )
    assert impersonated.returncode == 1
    assert f"system:serviceaccount:{namespace}:nobody" in impersonated.stderr


def test_completion_script_is_sourced_by_bash(tmp_path: Path) -> None:
    # Given ramp on PATH
    env = {**os.environ, "PATH": f"{Path(ramp_command()[0]).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    # When bash sources `ramp completion bash`
    result = subprocess.run(
        ["bash", "-c", "source <(ramp completion bash) && complete -p ramp"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    # Then bash has a completion function for ramp
    assert result.returncode == 0, result.stderr
    assert "-F _ramp_completion ramp" in result.stdout
    # And the function's request is answered with ramp's verbs
    answer = subprocess.run(
        [*ramp_command()],
        env={**env, "_RAMP_COMPLETE": "complete_bash", "COMP_WORDS": "ramp pro", "COMP_CWORD": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert answer.stdout.split() == ["promote"]


def _instance_label(controller: ControllerProcess) -> dict[str, str]:
    """The controller-instance-id label a controller started with `--instance-id` needs on the objects it owns."""
    args = controller.args
    if "--instance-id" not in args:
        return {}
    return {"argo-rollouts.argoproj.io/controller-instance-id": args[args.index("--instance-id") + 1]}


def test_create_f_watch_prints_the_rollout_until_it_is_healthy(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], tmp_path: Path
) -> None:
    """The one test here with a controller running: --watch follows the Rollout the controller brings up."""
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    # Given a file with a one-replica Rollout
    body = json.loads(rollout_manifest(replicas=1))
    body["metadata"]["labels"] = _instance_label(controller)
    path = tmp_path / "rollout.yaml"
    path.write_text(yaml.safe_dump(body))
    # When `ramp create -f FILE --watch` runs
    result = ramp(cluster, namespace, "create", "-f", str(path), "--watch", "--timeout-seconds", "120")
    # Then it reports the creation, prints the rollout as it comes up, and ends by itself once it is Healthy
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("rollout.argoproj.io/web created")
    assert "Healthy" in result.stdout.strip().split("\n\n")[-1]
    assert cluster.get("rollout", "web", namespace)["status"]["phase"] == "Healthy"
