"""`ramp version`'s build identity: baked in by the build backend, else asked of the checkout, else unknown; and the
build backend's choice of commit (build arguments first, then git)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ramp import __version__, buildinfo
from ramp.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    buildinfo.build_info.cache_clear()
    yield
    buildinfo.build_info.cache_clear()


@pytest.fixture
def baked(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType("ramp._build_info")
    module.COMMIT, module.TREE_STATE, module.BUILD_DATE = COMMIT, "clean", "2026-01-02T03:04:05Z"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ramp._build_info", module)
    return module


def test_the_baked_build_info_is_what_version_prints(baked: types.ModuleType) -> None:
    result = CliRunner().invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.output.splitlines()[:4] == [
        f"ramp: v{__version__}+0123456",
        "  BuildDate: 2026-01-02T03:04:05Z",
        f"  GitCommit: {COMMIT}",
        "  GitTreeState: clean",
    ]
    assert CliRunner().invoke(app, ["version", "--short"]).output == f"{__version__}\n"


def test_controller_version_prints_the_same(baked: types.ModuleType) -> None:
    result = CliRunner().invoke(app, ["controller", "--version"])
    assert result.exit_code == 0 and f"GitCommit: {COMMIT}" in result.output


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_a_source_checkout_without_baked_info_asks_git() -> None:
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    info = buildinfo._from_checkout(ROOT)
    assert info is not None and info.commit == head.stdout.strip()
    assert info.tree_state in ("clean", "dirty")


def test_outside_a_checkout_nothing_is_known(tmp_path: Path) -> None:
    assert buildinfo._from_checkout(tmp_path) is None
    unknown = buildinfo.BuildInfo(__version__, buildinfo.UNKNOWN, buildinfo.UNKNOWN, buildinfo.UNKNOWN)
    assert unknown.full_version == f"v{__version__}"


def _backend() -> Any:
    spec = importlib.util.spec_from_file_location("ramp_build", ROOT / "build_backend" / "ramp_build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_build_takes_the_commit_from_build_arguments_first(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = _backend()
    monkeypatch.setenv("RAMP_GIT_COMMIT", COMMIT.upper())
    monkeypatch.setenv("RAMP_GIT_TREE_STATE", "dirty")
    assert backend._commit_and_state() == (COMMIT, "dirty")
    monkeypatch.setenv("RAMP_GIT_COMMIT", "abc1234")
    with pytest.raises(ValueError, match="RAMP_GIT_COMMIT='abc1234': give the full 40-character commit"):
        backend._commit_and_state()


def test_the_build_asks_git_only_at_the_top_of_the_checkout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    backend = _backend()
    monkeypatch.delenv("RAMP_GIT_COMMIT", raising=False)
    monkeypatch.chdir(tmp_path)  # an unpacked sdist: no .git, so the sdist's own _build_info.py stays
    assert backend._commit_and_state() is None
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert backend._build_date() == "1970-01-01T00:00:00Z"
