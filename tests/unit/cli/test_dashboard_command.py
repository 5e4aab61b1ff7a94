"""`ramp dashboard`'s flags: a short token is refused before anything starts; the allowed hosts it answers."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from ramp.cli.dashboard import dashboard
from ramp.dashboard.app import default_allowed_hosts


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("dashboard")(dashboard)
    app.callback()(lambda: None)
    return app


def test_a_token_shorter_than_32_characters_is_refused_with_the_fix(tmp_path) -> None:
    result = CliRunner().invoke(
        _app(), ["dashboard", "--token", "too-short", "--kubeconfig", str(tmp_path / "absent")], env={}
    )
    assert result.exit_code == 2
    assert "--token" in result.output
    assert "at least 32 characters" in result.output
    assert "too-short" not in result.output.replace("--token", "")


def test_a_short_token_from_the_environment_is_refused_too(tmp_path) -> None:
    result = CliRunner().invoke(
        _app(),
        ["dashboard", "--kubeconfig", str(tmp_path / "absent")],
        env={"RAMP_DASHBOARD_TOKEN": "x" * 31},
    )
    assert result.exit_code == 2
    assert "at least 32 characters" in result.output


def test_the_dashboard_answers_its_bind_address_localhost_and_the_hosts_given() -> None:
    assert default_allowed_hosts("127.0.0.1") == ["127.0.0.1", "localhost", "[::1]"]
    assert default_allowed_hosts("::1") == ["::1", "localhost", "127.0.0.1", "[::1]"]
    assert default_allowed_hosts("0.0.0.0", ["Ramp.Example.com"]) == [
        "0.0.0.0",
        "localhost",
        "127.0.0.1",
        "[::1]",
        "ramp.example.com",
    ]
