"""The install manifests and the chart's generated parts: current, rules from deploy/rbac.yaml, hardened pods."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from ramp import __version__
from ramp.api.crds import render_crds
from ramp.api.install import (
    RbacSourceError,
    controller_rules,
    namespaced_rules,
    render_dashboard_install,
    render_install,
    render_install_files,
    render_namespace_install,
)
from ramp.cli.main import app

ROOT = Path(__file__).parents[3]
RBAC = (ROOT / "deploy" / "rbac.yaml").read_text()


def _by_kind(documents: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in documents if d["kind"] == kind]


def test_generated_files_are_current():
    expected = render_install_files(RBAC, __version__)
    stale = sorted(
        name for name, text in expected.items() if not (ROOT / name).is_file() or (ROOT / name).read_text() != text
    )
    assert not stale, f"out of date ({', '.join(stale)}): run `make manifests` and commit the result"
    chart_crds = {p.name for p in (ROOT / "charts" / "ramp" / "crds").glob("*.yaml")}
    assert chart_crds == {f"{crd['metadata']['name']}.yaml" for crd in render_crds()}


def test_the_cluster_role_is_the_one_in_rbac_yaml():
    (role,) = _by_kind(render_install(RBAC, "1.2.3"), "ClusterRole")[:1]
    source = next(d for d in yaml.safe_load_all(RBAC) if d and d["kind"] == "ClusterRole")
    assert role["metadata"]["name"] == "argo-rollouts"
    assert role["rules"] == source["rules"]


def test_a_change_to_rbac_yaml_changes_every_generated_rule_file():
    changed = RBAC.replace("resources: [podtemplates]", "resources: [podtemplates, limitranges]")
    assert changed != RBAC
    before, after = render_install_files(RBAC, "1.0.0"), render_install_files(changed, "1.0.0")
    differ = sorted(name for name in before if before[name] != after[name])
    assert differ == [
        "charts/ramp/files/controller-rules.yaml",
        "charts/ramp/files/namespaced-rules.yaml",
        "deploy/install.yaml",
        "deploy/namespace-install.yaml",
    ]


def test_rbac_yaml_without_the_cluster_role_is_refused():
    with pytest.raises(RbacSourceError, match="no ClusterRole named argo-rollouts"):
        controller_rules("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: argo-rollouts}\n")


def test_the_namespaced_role_keeps_namespaced_rules_only():
    rules = namespaced_rules(controller_rules(RBAC))
    resources = {r for rule in rules for r in rule["resources"]}
    assert "clusteranalysistemplates" not in resources
    assert {"rollouts", "analysistemplates", "replicasets", "leases", "services"} <= resources


def test_namespace_install_has_no_namespace_no_crds_and_runs_namespaced():
    documents = render_namespace_install(RBAC, "1.2.3")
    assert not _by_kind(documents, "CustomResourceDefinition")
    assert not _by_kind(documents, "Namespace")
    assert all("namespace" not in d["metadata"] for d in documents)
    (role,) = _by_kind(documents, "Role")
    (binding,) = _by_kind(documents, "RoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    (deployment,) = _by_kind(documents, "Deployment")
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[0] == "controller"
    assert "--namespaced" in args and "--namespace=$(POD_NAMESPACE)" in args


def test_install_has_crds_namespace_and_upstream_names():
    documents = render_install(RBAC, "1.2.3")
    assert len(_by_kind(documents, "CustomResourceDefinition")) == 6
    names = {(d["kind"], d["metadata"]["name"]) for d in documents}
    assert {
        ("Namespace", "argo-rollouts"),
        ("ServiceAccount", "argo-rollouts"),
        ("ClusterRoleBinding", "argo-rollouts"),
        ("Service", "argo-rollouts-metrics"),
        ("Deployment", "argo-rollouts"),
        ("ClusterRole", "argo-rollouts-aggregate-to-view"),
        ("ClusterRole", "argo-rollouts-aggregate-to-edit"),
        ("ClusterRole", "argo-rollouts-aggregate-to-admin"),
    } <= names
    for role in ("view", "edit", "admin"):
        aggregate = next(d for d in documents if d["metadata"]["name"] == f"argo-rollouts-aggregate-to-{role}")
        assert aggregate["metadata"]["labels"][f"rbac.authorization.k8s.io/aggregate-to-{role}"] == "true"


@pytest.mark.parametrize(
    "documents",
    [render_install(RBAC, "1.2.3"), render_namespace_install(RBAC, "1.2.3"), render_dashboard_install("1.2.3")],
    ids=["install", "namespace-install", "dashboard-install"],
)
def test_pods_are_hardened(documents: list[dict[str, Any]]):
    (deployment,) = _by_kind(documents, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    assert container["image"] == "ghcr.io/ramp-dev/ramp:v1.2.3"
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert container["livenessProbe"] and container["readinessProbe"]


def test_controller_probes_ask_healthz_on_the_healthz_port():
    (deployment,) = _by_kind(render_install(RBAC, "1.2.3"), "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert f"--healthzPort={ports['healthz']}" in container["args"]
    assert f"--metricsPort={ports['metrics']}" in container["args"]
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "healthz"}


def test_dashboard_token_comes_from_a_secret_never_the_manifest():
    text = render_install_files(RBAC, "1.2.3")["deploy/dashboard-install.yaml"]
    (deployment,) = _by_kind(list(yaml.safe_load_all(text)), "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    (env,) = container["env"]
    assert env["name"] == "RAMP_DASHBOARD_TOKEN" and "secretKeyRef" in env["valueFrom"]
    assert not _by_kind(list(yaml.safe_load_all(text)), "Secret")


def test_install_manifests_command_writes_then_checks(tmp_path: Path):
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "rbac.yaml").write_text(RBAC)
    runner = CliRunner()
    stale = runner.invoke(app, ["install-manifests", "--root", str(tmp_path), "--check"])
    assert stale.exit_code == 1
    assert "deploy/install.yaml" in stale.stderr
    assert not (tmp_path / "deploy" / "install.yaml").exists()
    wrote = runner.invoke(app, ["install-manifests", "--root", str(tmp_path)])
    assert wrote.exit_code == 0
    assert (tmp_path / "deploy" / "install.yaml").read_text() == render_install_files(RBAC, __version__)[
        "deploy/install.yaml"
    ]
    assert runner.invoke(app, ["install-manifests", "--root", str(tmp_path), "--check"]).exit_code == 0


def test_install_manifests_command_names_a_missing_source(tmp_path: Path):
    result = CliRunner().invoke(app, ["install-manifests", "--root", str(tmp_path)])
    assert result.exit_code == 2
    assert "rbac.yaml not found" in result.stderr
