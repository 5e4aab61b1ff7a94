"""`create -f` refuses bad files and flag combinations before touching a cluster; `completion` prints a script
the shell accepts and the program answers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ramp.cli.completion import completion_variable, program_name
from ramp.cli.create import read_manifest
from ramp.cli.main import app, prepare

ROLLOUT = """
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
  strategy: {canary: {steps: [{setWeight: 20}]}}
"""
TEMPLATE = """
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: rate}
spec:
  metrics: [{name: rate, provider: {web: {url: "http://x"}}}]
"""


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_one_valid_object_per_file_is_read_with_its_resource(tmp_path: Path) -> None:
    manifest = read_manifest(_file(tmp_path, "ro.yaml", ROLLOUT))
    assert (manifest.kind, manifest.resource.plural) == ("Rollout", "rollouts")
    as_json = read_manifest(
        _file(
            tmp_path,
            "t.json",
            '{"apiVersion": "argoproj.io/v1alpha1", "kind": "Experiment",'
            ' "metadata": {"name": "e"}, "spec": {"templates": []}}',
        )
    )
    assert as_json.resource.plural == "experiments"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (ROLLOUT + "---\n" + TEMPLATE, "holds 2 objects"),
        ("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n", "creates of v1/Service unsupported"),
        (ROLLOUT.replace("strategy:", "stratgy:"), "stratgy"),
        ("a: [", "not valid YAML or JSON"),
    ],
)
def test_bad_files_are_refused_naming_the_problem(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        read_manifest(_file(tmp_path, "bad.yaml", text))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-f", "{ro}", "-f", "{t}", "--watch"], "Cannot watch multiple resources"),
        (["-f", "{t}", "-w"], "Can only watch resources of type Rollout or Experiment"),
        ([], "Usage: ramp create"),
    ],
)
def test_watch_and_missing_file_are_refused_before_creating(tmp_path: Path, extra: list[str], message: str) -> None:
    files = {"{ro}": _file(tmp_path, "ro.yaml", ROLLOUT), "{t}": _file(tmp_path, "t.yaml", TEMPLATE)}
    argv = ["create", *(files.get(arg, arg) for arg in extra), "--server", "https://127.0.0.1:1"]
    result = CliRunner().invoke(app, prepare(argv))
    assert result.exit_code == 2
    assert message in result.output


def test_program_name_and_variable() -> None:
    assert program_name("/usr/bin/ramp") == "ramp"
    assert completion_variable("kubectl-ramp") == "_KUBECTL_RAMP_COMPLETE"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_a_script_for_each_shell(shell: str) -> None:
    result = CliRunner().invoke(app, ["completion", shell])
    assert result.exit_code == 0
    assert "_RAMP_COMPLETE" in result.output or "_PYTEST_COMPLETE" in result.output


def test_an_unknown_shell_is_refused() -> None:
    result = CliRunner().invoke(app, ["completion", "tcsh"])
    assert result.exit_code == 2


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_program_answers_the_scripts_completion_requests() -> None:
    ramp = Path(sys.executable).parent / "ramp"
    env = {**os.environ, "_RAMP_COMPLETE": "complete_bash", "COMP_WORDS": "ramp compl", "COMP_CWORD": "1"}
    answer = subprocess.run([str(ramp)], env=env, capture_output=True, text=True, timeout=60, check=True)
    assert answer.stdout.split() == ["completion"]
