"""The image recipe says what it does: wheels built first, a runtime stage with no shell and no root, `ramp` as its
entrypoint and `controller` as its default arguments; only the package sources go into the build context."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import ramp
from ramp.api import install
from tests.dockerfile import DOCKERFILE, read_stages

ROOT = Path(__file__).resolve().parents[2]


def test_stages_build_wheels_then_a_virtualenv_then_the_runtime() -> None:
    stages = read_stages()
    assert [stage.name for stage in stages] == ["wheels", "venv", "runtime"]
    wheels, venv, runtime = stages
    assert any("pip wheel" in run and "--wheel-dir /wheels" in run for run in wheels.all("RUN"))
    # The virtualenv is installed from those wheels alone, with no pip cache, and keeps neither pip nor setuptools
    install = venv.all("RUN")[-1]
    assert "--no-index --find-links /wheels ramp" in install and "--no-cache-dir" in install
    assert "uninstall --yes --disable-pip-version-check pip setuptools" in install
    # Both build stages run the interpreter the runtime has (Debian 12's python3.11), so the venv runs unchanged
    assert wheels.base == venv.base == "debian:12-slim"
    assert runtime.base.startswith("gcr.io/distroless/python3-debian12")


def test_runtime_needs_no_shell_and_runs_as_a_numeric_non_root_user() -> None:
    runtime = read_stages()[-1]
    assert runtime.all("RUN") == []  # the distroless base has no shell to run one with
    assert runtime.last("USER") == "65532:65532"
    assert runtime.exec_form("ENTRYPOINT") == ["ramp"]
    assert runtime.exec_form("CMD") == ["controller"]
    assert runtime.all("COPY") == ["--from=venv /venv /venv"]
    env = runtime.env()
    assert env["PATH"].split(":")[0] == "/venv/bin"
    # Read-only root filesystem: Python writes no bytecode caches; logs are not held back in a buffer
    assert env["PYTHONDONTWRITEBYTECODE"] == "1" and env["PYTHONUNBUFFERED"] == "1"


def test_the_commit_reaches_the_build_as_build_arguments() -> None:
    wheels = read_stages()[0]
    assert {'RAMP_GIT_COMMIT=""', 'RAMP_GIT_TREE_STATE=""'} <= set(wheels.all("ARG"))
    makefile = (ROOT / "Makefile").read_text()
    assert "--build-arg RAMP_GIT_COMMIT=$$(git rev-parse HEAD)" in makefile
    assert "import ramp, ramp.api.install as i; print(i.image(ramp.__version__))" in makefile


def test_the_install_manifests_run_this_image_as_its_entrypoint_expects() -> None:
    runtime = read_stages()[-1]
    reference = install.image(ramp.__version__)
    assert reference == f"ghcr.io/ramp-dev/ramp:v{ramp.__version__}"
    assert f"image: {reference}" in (ROOT / "deploy" / "install.yaml").read_text()
    # The pod spec gives `args` only: the image's entrypoint stays, the verb replaces its CMD
    for namespaced in (False, True):
        assert install.controller_args(namespaced=namespaced)[0] == runtime.exec_form("CMD")[0]


def test_the_build_context_holds_the_package_sources_only() -> None:
    lines = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert lines[0] == "*"
    allowed = {line[1:] for line in lines if line.startswith("!")}
    copied = {
        path.rstrip("/")
        for stage in read_stages()
        for copy in stage.all("COPY")
        if not copy.startswith("--from")
        for path in copy.split()[:-1]
    }
    assert copied <= {a.rstrip("/") for a in allowed} | {"build_backend"}
    assert "build_backend/ramp_build.py" in allowed
    assert "src/ramp/_build_info.py" in lines  # a stale one from the host never overrides the build argument


@pytest.mark.skipif(
    shutil.which("hadolint") is None and not Path(ROOT, ".venv/bin/hadolint").exists(), reason="no hadolint"
)
def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint") or str(ROOT / ".venv/bin/hadolint")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
