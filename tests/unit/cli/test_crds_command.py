"""`ramp crds` prints the CRDs, or writes one file per CRD."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from ramp.api.crds import render_crd_files, render_crds
from ramp.cli.main import app


def test_crds_prints_every_crd_as_yaml():
    result = CliRunner().invoke(app, ["crds"])
    assert result.exit_code == 0
    assert [doc for doc in yaml.safe_load_all(result.stdout) if doc] == render_crds()


def test_crds_write_creates_one_file_per_crd(tmp_path: Path):
    target = tmp_path / "crds"
    result = CliRunner().invoke(app, ["crds", "--write", str(target)])
    assert result.exit_code == 0
    assert {path.name: path.read_text() for path in target.iterdir()} == render_crd_files()
    assert sorted(render_crd_files()) == [
        "analysisruns.argoproj.io.yaml",
        "analysistemplates.argoproj.io.yaml",
        "clusteranalysistemplates.argoproj.io.yaml",
        "experiments.argoproj.io.yaml",
        "featureflags.ramp.dev.yaml",
        "rollouts.argoproj.io.yaml",
    ]
