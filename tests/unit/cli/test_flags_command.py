"""`ramp flags serve`: the errors it stops on before serving, and where its tokens come from."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ramp.cli import flags
from ramp.cli.main import app


def test_without_a_file_cluster_mode_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flags, "CLUSTER_STORE_MODULE", "ramp.flags.no_such_module")
    result = CliRunner().invoke(app, ["flags", "serve"])
    assert result.exit_code == 2
    assert "cluster mode: not yet available" in result.output


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
