"""deploy/rbac.yaml gives the controller what it needs: run it with the ServiceAccount's token, not admin."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import yaml

from tests.e2e.harness import Cluster, ControllerProcess, build_dir, wait_until

RBAC = Path(__file__).resolve().parents[2] / "deploy" / "rbac.yaml"


def _service_account_kubeconfig(cluster: Cluster) -> Path:
    token = cluster.kubectl("create", "token", "argo-rollouts", "-n", "argo-rollouts", "--duration=1h").strip()
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": admin["clusters"][0]["cluster"]}],
        "users": [{"name": "argo-rollouts", "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "local", "user": "argo-rollouts"}}],
        "current-context": "sa",
    }
    path = build_dir() / f"sa-{uuid.uuid4().hex[:6]}.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def test_controller_runs_under_the_service_account(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    # Given the RBAC from deploy/ and a kubeconfig holding only the ServiceAccount's token
    cluster.apply(RBAC.read_text(), server_side=True)
    kubeconfig = _service_account_kubeconfig(cluster)
    assert (
        cluster.kubectl(
            "auth", "can-i", "create", "secrets", "--as=system:serviceaccount:argo-rollouts:argo-rollouts", check=False
        )
        .strip()
        .startswith("no")
    )
    instance = f"rbac-{uuid.uuid4().hex[:6]}"
    # When the controller runs with it
    controller = start_controller("--instance-id", instance, kubeconfig_override=kubeconfig)
    controller.wait_for_log("leader acquired", timeout=30)
    controller.wait_for_log("informers synced", timeout=30)
    cluster.apply(
        f"""
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: rbac
  labels: {{argo-rollouts.argoproj.io/controller-instance-id: {instance}}}
spec:
  selector: {{matchLabels: {{app: rbac}}}}
  template:
    metadata: {{labels: {{app: rbac}}}}
    spec: {{containers: [{{name: app, image: nginx:1.27}}]}}
  strategy: {{canary: {{}}}}
""",
        namespace,
    )
    # Then it watches, leads and writes events without a single forbidden request
    wait_until(
        lambda: "RolloutAddedToInformer" in [e["reason"] for e in cluster.events(namespace, "rbac")],
        30,
        "the controller to record RolloutAddedToInformer",
    )
    assert 'status_code="403"' not in controller.metrics()
    assert "forbidden" not in controller.log().lower()
