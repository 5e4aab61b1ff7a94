"""`ramp flags serve`: the errors it stops on before serving, and where its tokens come from."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ramp.cli import flags
from ramp.cli.main import app


def test_without_a_file_the_cluster_is_read_and_a_missing_kubeconfig_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["flags", "serve", "--kubeconfig", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "--kubeconfig" in result.output and "no such file" in result.output


def test_a_bad_flag_file_is_refused_naming_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "flags.json"
    bad.write_text('{"flags": {"f": {"state": "ON", "variants": {"a": 1}, "defaultVariant": "a"}}}')
    result = CliRunner().invoke(app, ["flags", "serve", "--file", str(bad)])
    assert result.exit_code == 2
    assert "FlagFileInvalid" in result.output and "flags.f.state" in result.output


def test_tokens_come_from_the_file_and_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text("# comment\n\n  one  \ntwo\n")
    monkeypatch.setenv(flags.TOKENS_ENV, "three, four")
    assert flags.read_tokens(tokens) == ["one", "two", "three", "four"]
    monkeypatch.delenv(flags.TOKENS_ENV)
    assert flags.read_tokens(None) == []
