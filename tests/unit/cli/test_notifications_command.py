"""`ramp notifications trigger get` and `template get` on files (`--config-map`, `--secret`), no cluster needed."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from ramp.cli.main import app

CATALOG = Path(__file__).parents[2] / "fixtures" / "notifications" / "argo-rollouts-notification-configmap.yaml"


def run(*args: str):
    return CliRunner().invoke(app, ["notifications", *args])


def test_trigger_get_from_files_prints_upstreams_table(tmp_path):
    result = run("trigger", "get", "on-rollout-aborted", "--config-map", str(CATALOG), "--secret", ":empty")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "NAME                TEMPLATE         CONDITION",
        "on-rollout-aborted  rollout-aborted",
    ]


def test_template_get_yaml_prints_the_definitions():
    result = run("template", "get", "rollout-paused", "-o", "yaml", "--config-map", str(CATALOG), "--secret", ":empty")
    assert result.exit_code == 0, result.output
    printed = yaml.safe_load(result.stdout)
    assert printed["rollout-paused"]["message"] == "Rollout {{.rollout.metadata.name}} has been paused."


def test_a_configmap_file_without_the_configmap_fails_naming_it(tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: something-else}\n")
    result = run("trigger", "get", "--config-map", str(other), "--secret", ":empty")
    assert result.exit_code == 1
    assert "does not have 'ConfigMap/argo-rollouts-notification-configmap'" in result.output


def test_an_unknown_output_format_is_refused():
    result = run("trigger", "get", "-o", "table", "--config-map", str(CATALOG), "--secret", ":empty")
    assert result.exit_code == 1
    assert "output 'table' is not supported" in result.output


def test_upstreams_persistent_flags_may_come_before_the_verb():
    result = run("--config-map", str(CATALOG), "--secret", ":empty", "trigger", "get", "-o", "name")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.split()) == 9
