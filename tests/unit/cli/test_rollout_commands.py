"""Argument parsing and error messages of the rollout verbs, without a cluster."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ramp.cli.lint import lint_text
from ramp.cli.main import app, normalize_bool_flags
from ramp.cli.rollouts import parse_image_assignments

runner = CliRunner()

UNREACHABLE_KUBECONFIG = """
apiVersion: v1
kind: Config
current-context: dead
contexts: [{name: dead, context: {cluster: dead, user: me, namespace: team}}]
clusters: [{name: dead, cluster: {server: "http://127.0.0.1:9"}}]
users: [{name: me, user: {token: abc}}]
"""

ROLLOUT = """
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: nginx}]}
  strategy:
    canary:
      steps: [{setWeight: 20}, {pause: {}}]
"""


def run(*args: str):
    return runner.invoke(app, list(args))


def test_go_style_boolean_flags_are_accepted():
    assert normalize_bool_flags(["status", "web", "--watch=false"]) == ["status", "web", "--no-watch"]
    assert normalize_bool_flags(["get", "ro", "web", "-w=true"]) == ["get", "ro", "web", "--watch"]
    assert normalize_bool_flags(["--watch=maybe"]) == ["--watch=maybe"]


def test_image_assignments():
    assert parse_image_assignments(["app=nginx:1.27", "*=busybox"]) == {"app": "nginx:1.27", "*": "busybox"}
    for bad in ("nginx", "=nginx", "app=", "a=b=c"):
        with pytest.raises(typer.BadParameter, match="CONTAINER=IMAGE"):
            parse_image_assignments([bad])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set", "image", "web", "nginx"], "CONTAINER=IMAGE"),
        (["restart", "web", "--in", "10"], "duration"),
        (["undo", "web", "--to-revision", "-1"], "revision"),
        (["status", "web", "--watch=maybe"], "does not take a value"),
        (["status", "web", "--timeout", "soon"], "duration"),
        (["promote"], "Missing argument"),
    ],
)
def test_bad_arguments_exit_2_naming_the_problem(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_missing_kubeconfig_is_one_line_error(tmp_path: Path):
    result = run("promote", "web", "--kubeconfig", str(tmp_path / "none"))
    assert result.exit_code == 1
    assert "error: --kubeconfig" in result.output and "no such file" in result.output


def test_unreachable_api_server_names_the_server(tmp_path: Path):
    config = tmp_path / "config"
    config.write_text(UNREACHABLE_KUBECONFIG)
    result = run("abort", "web", "--kubeconfig", str(config))
    assert result.exit_code == 1
    assert "cannot reach the API server at http://127.0.0.1:9" in result.output


@pytest.mark.parametrize(
    "args",
    [["retry", "ro", "--help"], ["retry", "exp", "--help"], ["terminate", "ar", "--help"], ["get", "ro", "--help"]],
)
def test_upstream_aliases_exist(args):
    assert run(*args).exit_code == 0


def test_lint_accepts_a_valid_rollout_and_skips_other_kinds():
    service = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
    assert lint_text(ROLLOUT + "---\n" + service) == []


def test_lint_names_bad_and_unknown_fields():
    bad = ROLLOUT.replace("setWeight: 20", "setWeight: lots").replace("replicas: 2", "replicas: 2\n  replicaz: 3")
    problems = lint_text(bad)
    assert any(p.startswith('Rollout "web": spec.strategy.canary.steps[0].setWeight') for p in problems), problems
    unknown = lint_text(ROLLOUT.replace("replicas: 2", "replicas: 2\n  replicaz: 3"))
    assert unknown == ['Rollout "web": spec.replicaz: unknown field (a typo, or not supported)']


def test_lint_reports_bad_yaml_and_files_without_rollouts():
    assert lint_text("a: [")[0].startswith("not valid YAML")
    assert lint_text("apiVersion: v1\nkind: Service\n") == [
        "no argoproj.io object (Rollout, AnalysisTemplate, ...) found"
    ]


def test_lint_command_exit_codes(tmp_path: Path):
    good = tmp_path / "good.yaml"
    good.write_text(textwrap.dedent(ROLLOUT))
    result = run("lint", "-f", str(good))
    assert (result.exit_code, result.output.strip()) == (0, f"✔ {good} is valid")
    bad = tmp_path / "bad.yaml"
    bad.write_text(ROLLOUT.replace("replicas: 2", "replicas: two"))
    result = run("lint", "-f", str(bad))
    assert result.exit_code == 1
    assert f'{bad}: Rollout "web": spec.replicas: must be an integer' in result.output
