"""What this copy of Ramp was built from: version, git commit, tree state, build date (`ramp version`).

A wheel or sdist carries `ramp/_build_info.py`, written by the build backend (build_backend/ramp_build.py); an
installed package never runs git (the image has none). A source checkout (an editable install) has no such file
and asks git, so its answer follows the checkout; anything else says "unknown".
"""

from __future__ import annotations

import importlib
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ramp import __version__

UNKNOWN = "unknown"


@dataclass(frozen=True)
class BuildInfo:
    version: str
    commit: str
    tree_state: str
    build_date: str

    @property
    def full_version(self) -> str:
        """`v0.1.0+1a2b3c4`, as upstream prints its own (the short commit after the version)."""
        return f"v{self.version}+{self.commit[:7]}" if self.commit != UNKNOWN else f"v{self.version}"


@cache
def build_info() -> BuildInfo:
    """The build's identity: baked in by the build, else from the checkout this runs from, else unknown."""
    try:
        baked = importlib.import_module("ramp._build_info")
    except ImportError:
        pass
    else:
        return BuildInfo(__version__, str(baked.COMMIT), str(baked.TREE_STATE), str(baked.BUILD_DATE))
    return _from_checkout(Path(__file__).resolve().parents[2]) or BuildInfo(__version__, UNKNOWN, UNKNOWN, UNKNOWN)


def _from_checkout(root: Path) -> BuildInfo | None:
    """The checkout's HEAD when this package runs from src/ of a git checkout (and git is installed)."""
    git = shutil.which("git")
    if git is None or not (root / ".git").exists() or not (root / "pyproject.toml").is_file():
        return None

    def run(*args: str) -> str | None:
        try:
            command = [git, "-C", str(root), *args]
            done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = run("rev-parse", "HEAD")
    if not commit:
        return None
    changes = run("status", "--porcelain", "--untracked-files=no")
    state = UNKNOWN if changes is None else "clean" if changes == "" else "dirty"
    return BuildInfo(__version__, commit, state, UNKNOWN)


def describe(program: str) -> str:
    """`ramp version`'s text, laid out as upstream's `version` verb lays out its own."""
    info = build_info()
    return "\n".join(
        [
            f"{program}: {info.full_version}",
            f"  BuildDate: {info.build_date}",
            f"  GitCommit: {info.commit}",
            f"  GitTreeState: {info.tree_state}",
            f"  PythonVersion: {platform.python_version()}",
            f"  Platform: {sys.platform}/{_machine()}",
        ]
    )


def _machine() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
