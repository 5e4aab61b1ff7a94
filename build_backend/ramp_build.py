"""Ramp's build backend: setuptools' own, plus the build's identity baked into the package.

`build_sdist` and `build_wheel` write `src/ramp/_build_info.py` (the git commit, the tree state and the build
date) before setuptools packs the files, and remove it afterwards, so a source checkout never keeps a stale one.
`ramp.buildinfo` reads it at run time: an installed package never needs git (the image has none).

Where the commit comes from, first that answers:
1. $RAMP_GIT_COMMIT (and $RAMP_GIT_TREE_STATE): the Dockerfile passes them as build arguments, since the image's
   build context carries no .git;
2. `git rev-parse HEAD` when the tree being built is the top of a git checkout;
3. the `_build_info.py` already in the tree: a wheel built from an sdist keeps the sdist's.
Otherwise nothing is written and the package says its commit is "unknown".
The build date is $SOURCE_DATE_EPOCH when set (reproducible builds), else the time of the build.

Editable installs are left alone: `ramp.buildinfo` asks git directly in a checkout, so they never go stale.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403  (every PEP 517 hook setuptools has, overridden below)

BUILD_INFO = Path("src", "ramp", "_build_info.py")
_COMMIT = re.compile(r"[0-9a-f]{40}")


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _commit_and_state() -> tuple[str, str] | None:
    commit = os.environ.get("RAMP_GIT_COMMIT", "").strip().lower()
    if commit:
        if not _COMMIT.fullmatch(commit):
            raise ValueError(f"RAMP_GIT_COMMIT={commit!r}: give the full 40-character commit (git rev-parse HEAD)")
        state = os.environ.get("RAMP_GIT_TREE_STATE", "").strip() or "clean"
        if state not in ("clean", "dirty"):
            raise ValueError(f"RAMP_GIT_TREE_STATE={state!r}: give clean or dirty")
        return commit, state
    top = _git("rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != Path.cwd().resolve():
        return None  # not a checkout, or a tree unpacked inside some other repository
    head = _git("rev-parse", "HEAD")
    if head is None or not _COMMIT.fullmatch(head):
        return None
    changes = _git("status", "--porcelain", "--untracked-files=no")
    return head, "clean" if changes == "" else "dirty"


def _build_date() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@contextmanager
def _build_info() -> Iterator[None]:
    identity = _commit_and_state()
    if identity is None:
        yield  # keep what the tree has (an sdist's), or none
        return
    commit, state = identity
    BUILD_INFO.write_text(
        '"""Written by the build (build_backend/ramp_build.py): what this package was built from."""\n\n'
        f'COMMIT = "{commit}"\nTREE_STATE = "{state}"\nBUILD_DATE = "{_build_date()}"\n',
        encoding="utf-8",
    )
    try:
        yield
    finally:
        BUILD_INFO.unlink(missing_ok=True)


def build_sdist(sdist_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    with _build_info():
        return str(_setuptools.build_sdist(sdist_directory, config_settings))


def build_wheel(
    wheel_directory: str, config_settings: dict[str, Any] | None = None, metadata_directory: str | None = None
) -> str:
    with _build_info():
        return str(_setuptools.build_wheel(wheel_directory, config_settings, metadata_directory))
