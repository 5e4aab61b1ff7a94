"""`ramp flags serve`: the errors it stops on before serving, and where its tokens come from."""

from __future__ import annotations

import socket
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


def test_the_socket_listens_before_the_port_is_announced() -> None:
    # A client that connects as soon as it reads `listening on port N` (before uvicorn has started) is queued,
    # not refused.
    sock = flags.listening_socket("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        assert port > 0
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    finally:
        sock.close()


def test_a_port_in_use_is_an_error_and_the_socket_is_closed() -> None:
    first = flags.listening_socket("127.0.0.1", 0)
    try:
        with pytest.raises(OSError):
            flags.listening_socket("127.0.0.1", first.getsockname()[1])
    finally:
        first.close()
