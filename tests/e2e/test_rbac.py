"""deploy/rbac.yaml gives the controller what it needs: run it with the ServiceAccount's token, not admin."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import yaml

from tests.e2e.harness import (
    Cluster,
    ControllerProcess,
    ServiceAccountKubeconfig,
    ensure_cluster_role,
    forbidden_requests,
    wait_until,
)
from tests.e2e.scenario import Scenario
from tests.e2e.test_analysis_run import MetricsEndpoint, then_phase

RBAC = Path(__file__).resolve().parents[2] / "deploy" / "rbac.yaml"
ROLLOUT = """
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: {name}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec: {{containers: [{{name: app, image: nginx:1.27}}]}}
  strategy: {{canary: {{}}}}
"""


def test_controller_runs_under_the_service_account(
    cluster: Cluster,
    namespace: str,
    controller_identity: ServiceAccountKubeconfig,
    start_controller: Callable[..., ControllerProcess],
) -> None:
    # Given the RBAC from deploy/ (the `controller_identity` fixture applies it), which grants no secret writes
    ensure_cluster_role(cluster, RBAC)
    for verb, resource in (("create", "secrets"), ("list", "secrets"), ("delete", "pods"), ("get", "configmaps")):
        answer = cluster.kubectl("auth", "can-i", verb, resource, f"--as={controller_identity.user}", check=False)
        assert answer.strip().startswith("no"), f"{verb} {resource}: {answer}"
    instance = f"rbac-{uuid.uuid4().hex[:6]}"
    # When the controller runs, cluster-wide, on a kubeconfig holding only the ServiceAccount's token (the default)
    controller = start_controller("--instance-id", instance)
    kubeconfig = yaml.safe_load(Path(controller.args[controller.args.index("--kubeconfig") + 1]).read_text())
    assert set(kubeconfig["users"][0]["user"]) == {"token"}
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
    assert forbidden_requests(controller.metrics()) == []
    assert controller.forbidden(cluster) == []


def test_a_request_the_rbac_does_not_grant_is_caught(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    # Given a ServiceAccount whose Role is deploy/rbac.yaml's rules without events
    rules = next(d for d in yaml.safe_load_all(RBAC.read_text()) if d and d["kind"] == "ClusterRole")["rules"]
    narrow = [rule for rule in rules if "events" not in rule["resources"]]
    assert len(narrow) == len(rules) - 1
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "narrow"}}
    cluster.apply(
        yaml.safe_dump_all(
            [
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "narrow"}},
                {**role, "rules": narrow},
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "RoleBinding",
                    "metadata": {"name": "narrow"},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "narrow"},
                    "subjects": [{"kind": "ServiceAccount", "name": "narrow", "namespace": namespace}],
                },
            ]
        ),
        namespace,
    )
    kubeconfig = ServiceAccountKubeconfig(cluster, "narrow", namespace).path()
    # When a controller of this namespace runs with it and has an event to record
    controller = start_controller(
        "--namespaced",
        "--namespace",
        namespace,
        "--leader-elect=false",
        kubeconfig_override=kubeconfig,
        refusals_expected_because="this test checks that a refused request is seen",
    )
    controller.wait_for_log("informers synced", timeout=30)
    cluster.apply(ROLLOUT.format(name="narrow"), namespace)

    # Then the refused event writes are found, as the start_controller fixture looks for them in every test
    def seen() -> list[str]:
        found = controller.forbidden(cluster)
        in_metrics = any('kind="events"' in problem and 'verb="Create"' in problem for problem in found)
        in_log = any('cannot create resource \\"events\\"' in problem for problem in found)
        return found if in_metrics and in_log else []

    wait_until(seen, 30, "the refused event writes in the metrics and the log")


def test_a_secret_named_by_an_argument_is_read_with_get_alone(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    # Given a Secret, and an AnalysisRun whose web metric's path comes from it (secretKeyRef)
    endpoint = MetricsEndpoint()
    endpoint.documents["/healthy"] = {"ratio": 0.99}
    try:
        start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
        s = Scenario(cluster, namespace)
        run = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AnalysisRun",
            "metadata": {"name": "secret-arg"},
            "spec": {
                "args": [{"name": "path", "valueFrom": {"secretKeyRef": {"name": "metric-path", "key": "path"}}}],
                "metrics": [
                    {
                        "name": "ratio",
                        "successCondition": "result >= 0.95",
                        "provider": {"web": {"url": endpoint.url("/{{args.path}}"), "jsonPath": "{$.ratio}"}},
                    }
                ],
            },
        }
        s.given(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "metric-path"},
                    "stringData": {"path": "healthy"},
                }
            )
        )
        s.given(json.dumps(run))
        # Then the controller, which may get a secret but never list or watch one, measures the path it names
        then_phase(s, "analysisrun", "secret-arg", "Successful", 60)
        assert endpoint.requests["/healthy"] == 1
    finally:
        endpoint.stop()
