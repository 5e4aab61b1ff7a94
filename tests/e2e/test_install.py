"""The install manifests and the Helm chart are accepted by the local cluster's API server as written.

Given deploy/install.yaml, deploy/namespace-install.yaml, deploy/dashboard-install.yaml and `helm template` of
charts/ramp (default values, and values turning every option on), When each is applied with
`kubectl apply --dry-run=server`, Then the API server validates and admits every object (CRD schemas, RBAC,
Deployments, PodDisruptionBudget, ServiceMonitor and PodMonitor) without persisting any.

helm is built from the Go module proxy into the cache like the cluster's binaries
(`ramp.localcluster.build.ensure_helm`). ServiceMonitor and PodMonitor need the monitoring.coreos.com CRDs:
prometheus-operator's own (example/prometheus-operator-crd in its Go module, from the module proxy) are
installed for the test.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from ramp.localcluster.build import BuildProgress, download_go_module, ensure_helm
from ramp.localcluster.paths import cache_paths
from tests.e2e.harness import Cluster, ControllerProcess, build_dir
from tests.e2e.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = ROOT / "charts" / "ramp"
PROMETHEUS_OPERATOR = ("github.com/prometheus-operator/prometheus-operator", "v0.85.0")

EVERY_OPTION: dict[str, Any] = {
    "image": {"repository": "registry.example/ramp", "tag": "v9.9.9", "pullPolicy": "Always"},
    "imagePullSecrets": [{"name": "pull"}],
    "instanceID": "blue",
    "serviceAccount": {"create": True, "name": "ramp-controller", "annotations": {"example.com/role": "ramp"}},
    "rbac": {"create": True, "aggregateRoles": False},
    "controller": {
        "replicas": 3,
        "leaderElection": {"enabled": True, "leaseDuration": "30s", "renewDeadline": "20s", "retryPeriod": "5s"},
        "logLevel": "debug",
        "logFormat": "json",
        "extraArgs": ["--rollout-threads=20", "--qps=80"],
        "extraEnv": [{"name": "EXTRA", "value": "1"}],
        "resources": {"requests": {"cpu": "200m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "ops", "effect": "NoSchedule"}],
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "argo-rollouts"}},
                        },
                    }
                ]
            }
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "argo-rollouts"}},
            }
        ],
        "priorityClassName": "system-cluster-critical",
        "podAnnotations": {"example.com/scrape": "true"},
        "podLabels": {"team": "ops"},
        "pdb": {"enabled": True, "maxUnavailable": 1},
    },
    "metrics": {
        "service": {"enabled": True, "annotations": {"example.com/metrics": "yes"}},
        "serviceMonitor": {
            "enabled": True,
            "interval": "15s",
            "scrapeTimeout": "10s",
            "labels": {"release": "prometheus"},
            "relabelings": [{"action": "replace", "targetLabel": "cluster", "replacement": "local"}],
            "metricRelabelings": [{"action": "drop", "regex": "go_.*", "sourceLabels": ["__name__"]}],
        },
        "podMonitor": {"enabled": True, "interval": "15s", "labels": {"release": "prometheus"}},
    },
    "dashboard": {
        "enabled": True,
        "readOnly": True,
        "allowedHosts": ["ramp.example.com"],
        "extraArgs": ["--max-watched-namespaces=8"],
        "service": {"type": "NodePort", "annotations": {"example.com/expose": "yes"}},
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "dedicated", "operator": "Exists"}],
        "affinity": {},
    },
}


def _report(update: BuildProgress) -> None:
    if update.done:
        print(f"built {update.step}", file=sys.stderr)


@pytest.fixture(scope="session")
def helm() -> list[str]:
    binary = ensure_helm(cache_paths(), _report)
    return [str(binary)]


def _helm_env() -> dict[str, str]:
    home = build_dir() / "helm"
    return {
        **os.environ,
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }


def _run_helm(helm: list[str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*helm, *args], capture_output=True, text=True, env=_helm_env(), check=False, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def _values_file(name: str, values: dict[str, Any]) -> Path:
    path = build_dir() / f"values-{name}.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def _template(helm: list[str], namespace: str, *values: Path) -> str:
    args = ["template", "ramp", str(CHART), "--namespace", namespace]
    for path in values:
        args += ["--values", str(path)]
    return _run_helm(helm, *args).stdout


def _documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def _dry_run(cluster: Cluster, manifest: str, namespace: str | None = None) -> str:
    args = ["apply", "--dry-run=server", "-f", "-"]
    if namespace:
        args += ["-n", namespace]
    return cluster.kubectl(*args, stdin=manifest)


def _admitted(output: str) -> set[str]:
    """`kind.group/name` of every object the server dry run admitted."""
    return {line.split()[0] for line in output.splitlines() if line.endswith("(server dry run)")}


def _install_monitoring_crds(cluster: Cluster) -> None:
    module = download_go_module(*PROMETHEUS_OPERATOR, cache_paths())
    for plural in ("servicemonitors", "podmonitors"):
        crd = module / "example" / "prometheus-operator-crd" / f"monitoring.coreos.com_{plural}.yaml"
        cluster.apply(crd.read_text(), server_side=True)
        cluster.kubectl("wait", "--for=condition=Established", f"crd/{plural}.monitoring.coreos.com", "--timeout=60s")


def test_install_yaml_is_admitted_by_the_api_server(cluster: Cluster) -> None:
    # Given deploy/install.yaml as a user applies it
    manifest = (DEPLOY / "install.yaml").read_text()
    # When it is applied with a server-side dry run
    output = _dry_run(cluster, manifest)
    # Then every object is admitted
    assert _admitted(output) >= {
        "customresourcedefinition.apiextensions.k8s.io/rollouts.argoproj.io",
        "namespace/argo-rollouts",
        "serviceaccount/argo-rollouts",
        "clusterrole.rbac.authorization.k8s.io/argo-rollouts",
        "clusterrolebinding.rbac.authorization.k8s.io/argo-rollouts",
        "clusterrole.rbac.authorization.k8s.io/argo-rollouts-aggregate-to-admin",
        "service/argo-rollouts-metrics",
        "deployment.apps/argo-rollouts",
    }
    assert len(_admitted(output)) == len(_documents(manifest))


def test_namespace_install_yaml_is_admitted_in_any_namespace(cluster: Cluster, namespace: str) -> None:
    manifest = (DEPLOY / "namespace-install.yaml").read_text()
    output = _dry_run(cluster, manifest, namespace)
    assert {"role.rbac.authorization.k8s.io/argo-rollouts", "rolebinding.rbac.authorization.k8s.io/argo-rollouts"} <= (
        _admitted(output)
    )
    assert "deployment.apps/argo-rollouts" in _admitted(output)
    assert len(_admitted(output)) == len(_documents(manifest))


def test_dashboard_install_yaml_is_admitted(cluster: Cluster) -> None:
    manifest = (DEPLOY / "dashboard-install.yaml").read_text()
    output = _dry_run(cluster, manifest)
    assert {"deployment.apps/argo-rollouts-dashboard", "service/argo-rollouts-dashboard"} <= _admitted(output)
    assert len(_admitted(output)) == len(_documents(manifest))


def test_chart_lints_clean(helm: list[str]) -> None:
    every = _values_file("every-option", EVERY_OPTION)
    namespaced = _values_file("namespaced", {**EVERY_OPTION, "namespaced": True})
    for values in ([], ["--values", str(every)], ["--values", str(namespaced)]):
        result = _run_helm(helm, "lint", "--strict", str(CHART), *values)
        assert "0 chart(s) failed" in result.stdout, result.stdout


def test_chart_with_default_values_is_admitted_and_matches_install_yaml(
    helm: list[str], cluster: Cluster, namespace: str
) -> None:
    # Given the chart rendered with its default values
    rendered = _template(helm, namespace)
    # When applied with a server-side dry run
    output = _dry_run(cluster, rendered, namespace)
    # Then every object is admitted, and the controller's ClusterRole is deploy/install.yaml's (deploy/rbac.yaml's)
    assert len(_admitted(output)) == len(_documents(rendered))
    assert not [d for d in _documents(rendered) if d["kind"] in ("ServiceMonitor", "PodMonitor", "Secret")]
    chart_role = next(
        d for d in _documents(rendered) if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "argo-rollouts"
    )
    install = _documents((DEPLOY / "install.yaml").read_text())
    install_role = next(d for d in install if d["kind"] == "ClusterRole" and d["metadata"]["name"] == "argo-rollouts")
    assert chart_role["rules"] == install_role["rules"]
    deployment = next(d for d in _documents(rendered) if d["kind"] == "Deployment")
    install_deployment = next(d for d in install if d["kind"] == "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    (install_container,) = install_deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == install_container["image"]
    assert container["securityContext"] == install_container["securityContext"]
    assert (
        deployment["spec"]["template"]["spec"]["securityContext"]
        == (install_deployment["spec"]["template"]["spec"]["securityContext"])
    )


def test_chart_with_every_option_is_admitted(helm: list[str], cluster: Cluster, namespace: str) -> None:
    # Given the monitoring.coreos.com CRDs and the chart rendered with every option turned on
    _install_monitoring_crds(cluster)
    rendered = _template(helm, namespace, _values_file("every-option", EVERY_OPTION))
    kinds = {d["kind"] for d in _documents(rendered)}
    assert {"PodDisruptionBudget", "ServiceMonitor", "PodMonitor", "Secret", "ClusterRole"} <= kinds
    # When applied with a server-side dry run
    output = _dry_run(cluster, rendered, namespace)
    # Then every object is admitted, and the controller gets the options as flags
    assert len(_admitted(output)) == len(_documents(rendered))
    deployment = next(
        d for d in _documents(rendered) if d["kind"] == "Deployment" and d["metadata"]["name"] == "argo-rollouts"
    )
    assert deployment["spec"]["replicas"] == 3
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "registry.example/ramp:v9.9.9"
    for flag in ("--instance-id=blue", "--leader-elect=true", "--leader-election-lease-duration=30s", "--qps=80"):
        assert flag in container["args"]


def test_chart_namespaced_is_admitted_with_roles_only(helm: list[str], cluster: Cluster, namespace: str) -> None:
    _install_monitoring_crds(cluster)
    values = {**EVERY_OPTION, "namespaced": True}
    rendered = _template(helm, namespace, _values_file("namespaced", values))
    documents = _documents(rendered)
    assert not [d for d in documents if d["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    output = _dry_run(cluster, rendered, namespace)
    assert len(_admitted(output)) == len(documents)
    deployment = next(d for d in documents if d["kind"] == "Deployment" and d["metadata"]["name"] == "argo-rollouts")
    assert "--namespaced" in deployment["spec"]["template"]["spec"]["containers"][0]["args"]


def test_chart_refuses_replicas_without_leader_election(helm: list[str]) -> None:
    values = _values_file("no-election", {"controller": {"replicas": 2, "leaderElection": {"enabled": False}}})
    result = _run_helm(helm, "template", "ramp", str(CHART), "--values", str(values), check=False)
    assert result.returncode != 0
    assert "controller.replicas > 1 needs controller.leaderElection.enabled=true" in result.stderr


def _service_account_kubeconfig(cluster: Cluster, namespace: str) -> Path:
    """A kubeconfig holding only the token of ServiceAccount argo-rollouts in `namespace`."""
    token = cluster.kubectl("create", "token", "argo-rollouts", "-n", namespace, "--duration=1h").strip()
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": admin["clusters"][0]["cluster"]}],
        "users": [{"name": "argo-rollouts", "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "local", "user": "argo-rollouts", "namespace": namespace}}],
        "current-context": "sa",
    }
    path = build_dir() / f"install-sa-{uuid.uuid4().hex[:6]}.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def _deployment_args(documents: list[dict[str, Any]], namespace: str) -> list[str]:
    """The controller container's args after `controller`, $(POD_NAMESPACE) expanded as the kubelet would; the
    port flags are left out, because the harness gives every controller free ports of its own."""
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"][0] == "controller"
    args = [arg.replace("$(POD_NAMESPACE)", namespace) for arg in container["args"][1:]]
    return [arg for arg in args if arg.split("=")[0] not in ("--healthzPort", "--metricsPort")]


def test_controller_runs_a_canary_under_the_namespace_install_role(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the ServiceAccount, Role and RoleBinding of deploy/namespace-install.yaml in the test's namespace
    documents = _documents((DEPLOY / "namespace-install.yaml").read_text())
    rbac = [d for d in documents if d["kind"] in ("ServiceAccount", "Role", "RoleBinding")]
    cluster.apply(yaml.safe_dump_all(rbac), namespace)
    kubeconfig = _service_account_kubeconfig(cluster, namespace)
    # When the controller runs as the Deployment starts it (its args, POD_NAMESPACE, the ServiceAccount's token),
    # with leader election on as deployed
    monkeypatch.setenv("POD_NAMESPACE", namespace)
    args = _deployment_args(documents, namespace)
    assert args[:2] == ["--namespaced", f"--namespace={namespace}"]
    controller = start_controller(*args, kubeconfig_override=kubeconfig)
    # (its Lease in its own namespace, which the Role covers)
    controller.wait_for_log(f"leader acquired lease={namespace}/argo-rollouts-controller-lock", timeout=60)
    controller.wait_for_log("informers synced", timeout=60)
    # Then a canary goes through its steps to Healthy, without one forbidden request
    s = Scenario(cluster, namespace)
    s.given_rollout(
        "web", image="nginx:1.27", replicas=2, canary={"steps": [{"setWeight": 50}, {"pause": {"duration": 1}}]}
    )
    s.then_phase("web", "Healthy")
    s.when_image("rollout", "web", "app", "nginx:1.28")
    s.then_ready_images("app=web", {"nginx:1.28": 2})
    s.then_phase("web", "Healthy")
    assert 'status_code="403"' not in controller.metrics()
    assert "forbidden" not in controller.log().lower()


def test_controller_runs_in_cluster_as_the_install_deployment_starts_it(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    tmp_path: Path,
) -> None:
    # Given what the kubelet gives the install's pod: KUBERNETES_SERVICE_HOST/PORT pointing at the API server, and
    # the ServiceAccount's token, the cluster's CA and the namespace in the service-account folder (made here and
    # named by RAMP_SERVICE_ACCOUNT_DIR, since this process is not in a pod); and no kubeconfig anywhere
    admin = yaml.safe_load(cluster.kubeconfig.read_text())["clusters"][0]["cluster"]
    server = urlsplit(admin["server"])
    account = tmp_path / "serviceaccount"
    account.mkdir()
    token = cluster.kubectl("create", "token", "argo-rollouts", "-n", "argo-rollouts", "--duration=1h").strip()
    (account / "token").write_text(token)
    if "certificate-authority-data" in admin:
        (account / "ca.crt").write_bytes(base64.b64decode(admin["certificate-authority-data"]))
    else:
        (account / "ca.crt").write_bytes(Path(admin["certificate-authority"]).read_bytes())
    (account / "namespace").write_text("argo-rollouts")
    home = tmp_path / "home"
    home.mkdir()
    documents = _documents((DEPLOY / "install.yaml").read_text())
    deployment = next(d for d in documents if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "argo-rollouts"
    # When the controller starts with the Deployment's args (leader election as deployed) in that environment
    controller = start_controller(
        *_deployment_args(documents, "argo-rollouts"),
        in_cluster={
            "KUBERNETES_SERVICE_HOST": str(server.hostname),
            "KUBERNETES_SERVICE_PORT": str(server.port),
            "RAMP_SERVICE_ACCOUNT_DIR": str(account),
            "POD_NAMESPACE": "argo-rollouts",
            "HOME": str(home),
        },
    )
    controller.wait_for_log("cluster configuration loaded.*source=in-cluster", timeout=60)
    controller.wait_for_log("informers synced", timeout=60)
    # Then a canary in another namespace goes through its steps to Healthy, without one forbidden request
    s = Scenario(cluster, namespace)
    s.given_rollout(
        "web", image="nginx:1.27", replicas=2, canary={"steps": [{"setWeight": 50}, {"pause": {"duration": 1}}]}
    )
    s.then_phase("web", "Healthy")
    s.when_image("rollout", "web", "app", "nginx:1.28")
    s.then_ready_images("app=web", {"nginx:1.28": 2})
    s.then_phase("web", "Healthy")
    assert 'status_code="403"' not in controller.metrics()
