"""`ramp controller`'s flags and its log lines (no cluster needed: bad input stops before connecting)."""

from __future__ import annotations

import io
import json
import logging

import pytest
import typer
from typer.testing import CliRunner

from ramp.cli.controller import controller, parse_bool
from ramp.cli.logformat import JsonFormatter, TextFormatter, configure_logging


@pytest.fixture(autouse=True)
def _restore_root_logger():
    """`controller` installs its log handler on the root logger; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("controller")(controller)
    app.callback()(lambda: None)
    return app


@pytest.mark.parametrize(("value", "expected"), [("false", False), ("0", False), ("True", True), ("t", True)])
def test_leader_elect_takes_go_style_booleans(value: str, expected: bool) -> None:
    assert parse_bool("--leader-elect", value) is expected


def test_bad_flag_values_are_refused_naming_the_flag(tmp_path) -> None:
    runner = CliRunner()
    result = runner.invoke(_app(), ["controller", "--leader-elect=maybe"])
    assert result.exit_code == 2
    assert "--leader-elect=false" in result.output
    result = runner.invoke(_app(), ["controller", "--logformat", "xml"])
    assert result.exit_code == 2
    assert "--logformat" in result.output
    result = runner.invoke(_app(), ["controller", "--kubeconfig", str(tmp_path / "absent")])
    assert result.exit_code == 2


def _record(msg: str, **fields: object) -> logging.LogRecord:
    record = logging.LogRecord("ramp.kube.leaderelection", logging.INFO, __file__, 1, msg, None, None)
    record.__dict__.update(fields)
    return record


def test_text_lines_put_the_message_then_key_value_fields() -> None:
    line = TextFormatter().format(
        _record("leader acquired", lease="argo-rollouts/argo-rollouts-controller-lock", identity="h_1")
    )
    assert "INFO  leader acquired lease=argo-rollouts/argo-rollouts-controller-lock identity=h_1" in line
    assert 'error="two words"' in TextFormatter().format(_record("x", error="two words"))


def test_json_lines_are_one_object_with_msg_level_and_fields() -> None:
    doc = json.loads(JsonFormatter().format(_record("informers synced", kinds="Rollout,ReplicaSet")))
    assert doc["msg"] == "informers synced"
    assert doc["level"] == "info"
    assert doc["kinds"] == "Rollout,ReplicaSet"
    assert doc["time"].endswith("Z")


def test_configure_logging_quiets_httpx_and_honours_the_level() -> None:
    stream = io.StringIO()
    configure_logging("warn", "json", stream)
    logging.getLogger("ramp.test").info("hidden")
    logging.getLogger("ramp.test").warning("shown", extra={"key": "ns/r"})
    assert logging.getLogger("httpx").level == logging.WARNING
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["key"] == "ns/r"
