"""The pip package and the image recipe: what `pip install` of the built wheel gives, and the controller started from
it as the image starts it.

One sdist and one wheel are built per module with `python -m build` (the wheel from the sdist, as PyPI users get
it) and installed into one fresh virtualenv. No Docker engine runs here: the controller is started from that
virtualenv with the Dockerfile's own ENTRYPOINT and ENV (`harness.image_command`, read from the Dockerfile) and the
`controller ...` arguments a pod spec gives, and must take a Rollout to Healthy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import ramp
from tests.e2e import harness
from tests.e2e.harness import Cluster, ControllerProcess, build_dir, free_port, image_command, wait_until
from tests.e2e.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]
VERSION = ramp.__version__
# Both builds bake the same date, so the wheel built from the sdist and the one built from the tree compare equal.
SOURCE_DATE_EPOCH = "1780000000"
TOKEN = "package-test-token-0123456789abcdef"


@dataclass(frozen=True)
class Dist:
    sdist: Path
    wheel: Path


def _clean_env() -> dict[str, str]:
    """This process's environment without what would point a fresh interpreter at the checkout's sources."""
    return {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}


def _build(out: Path, *args: str, source: Path = ROOT) -> None:
    env = {key: value for key, value in _clean_env().items() if not key.startswith("RAMP_GIT_")}
    env["SOURCE_DATE_EPOCH"] = SOURCE_DATE_EPOCH
    done = subprocess.run(
        [sys.executable, "-m", "build", *args, "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _only(paths: list[Path]) -> Path:
    assert len(paths) == 1, paths
    return paths[0]


@pytest.fixture(scope="module")
def source_commit() -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    out = tmp_path_factory.mktemp("dist")
    _build(out)  # the sdist, then the wheel built from the unpacked sdist
    return Dist(_only(sorted(out.glob("*.tar.gz"))), _only(sorted(out.glob("*.whl"))))


@pytest.fixture(scope="module")
def venv(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with the built wheel installed (its dependencies from the index, through pip's cache)."""
    path = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, env=_clean_env())
    install = [str(path / "bin" / "pip"), "install", "--disable-pip-version-check", "--quiet", str(dist.wheel)]
    done = subprocess.run(install, capture_output=True, text=True, check=False, env=_clean_env())
    assert done.returncode == 0, done.stderr[-3000:]
    return path


def _run(venv: Path, *command: str, cwd: Path, extra_path: str = "") -> subprocess.CompletedProcess[str]:
    """A command with the virtualenv's bin/ alone on PATH (no git), away from the checkout."""
    env = {"PATH": f"{venv / 'bin'}{os.pathsep}{extra_path}".rstrip(os.pathsep), "HOME": str(cwd)}
    return subprocess.run(list(command), capture_output=True, text=True, cwd=cwd, env=env, check=False)


def _version_fields(output: str) -> dict[str, str]:
    fields = {}
    for line in output.splitlines()[1:]:
        key, _, value = line.strip().partition(": ")
        fields[key] = value
    return fields


def test_ramp_version_prints_the_version_and_the_commit_it_was_built_from(
    venv: Path, source_commit: str, tmp_path: Path
) -> None:
    # Given the wheel installed in a fresh virtualenv, When `ramp version` runs there without git on PATH
    result = _run(venv, "ramp", "version", cwd=tmp_path)
    # Then it names the version and the full commit of the checkout the wheel was built from
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"ramp: v{VERSION}+{source_commit[:7]}"
    fields = _version_fields(result.stdout)
    assert fields["GitCommit"] == source_commit
    assert fields["GitTreeState"] in ("clean", "dirty")
    assert fields["BuildDate"] == "2026-05-28T20:26:40Z"  # SOURCE_DATE_EPOCH
    # And the answer comes from the installed package, not from this checkout
    where = _run(venv, "python", "-c", "import ramp.buildinfo as b; print(b.__file__)", cwd=tmp_path)
    assert Path(where.stdout.strip()).is_relative_to(venv)
    short = _run(venv, "ramp", "version", "--short", cwd=tmp_path)
    assert short.stdout.strip() == VERSION


def test_kubectl_ramp_works_alone_and_as_a_kubectl_plugin(cluster: Cluster, venv: Path, tmp_path: Path) -> None:
    # When the kubectl-ramp script runs, Then it answers under its own name
    alone = _run(venv, "kubectl-ramp", "version", cwd=tmp_path)
    assert alone.returncode == 0, alone.stderr
    assert alone.stdout.startswith(f"kubectl-ramp: v{VERSION}")
    # And kubectl finds it on PATH as the `ramp` plugin
    plugin = _run(venv, "kubectl", "ramp", "version", "--short", cwd=tmp_path, extra_path=str(cluster.local.paths.bin))
    assert plugin.returncode == 0, plugin.stderr
    assert plugin.stdout.strip() == VERSION


def test_the_dashboard_is_served_from_the_installed_package(
    cluster: Cluster, namespace: str, venv: Path, tmp_path: Path
) -> None:
    # Given the installed package, Then its dashboard files are those of the source
    static = _run(venv, "python", "-c", "from ramp.dashboard.app import STATIC; print(STATIC)", cwd=tmp_path)
    installed = Path(static.stdout.strip())
    source = ROOT / "src" / "ramp" / "dashboard" / "static"
    assert installed.is_relative_to(venv)

    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    assert files(installed) == files(source)
    # When `ramp dashboard` runs from the virtualenv
    port = free_port()
    log = build_dir() / f"package-dashboard-{namespace}.log"
    command = [str(venv / "bin" / "ramp"), "dashboard", "--kubeconfig", str(cluster.kubeconfig), "-n", namespace]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*command, "--port", str(port), "--token", TOKEN], stdout=sink, stderr=subprocess.STDOUT, cwd=tmp_path
        )
    try:
        base = f"http://127.0.0.1:{port}"

        def index() -> httpx.Response | None:
            if process.poll() is not None:
                raise AssertionError(f"ramp dashboard exited {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                return httpx.get(f"{base}/", timeout=2)
            except httpx.HTTPError:
                return None

        # Then it serves its index page and the scripts it loads
        page = wait_until(index, 30, "the dashboard's index page")
        assert page.status_code == 200
        assert page.content == (source / "index.html").read_bytes()
        script = httpx.get(f"{base}/static/js/main.js", timeout=5)
        assert script.status_code == 200 and script.content == (source / "js" / "main.js").read_bytes()
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_the_sdist_holds_the_sources_and_builds_the_same_wheel(dist: Dist, source_commit: str, tmp_path: Path) -> None:
    prefix = f"ramp-{VERSION}"
    with tarfile.open(dist.sdist) as sdist:
        names = set(sdist.getnames())
        baked = sdist.extractfile(f"{prefix}/src/ramp/_build_info.py")
        assert baked is not None
        build_info = baked.read().decode()
    # The sdist holds every tracked source file of the package, and what builds it again
    tracked = subprocess.run(
        ["git", "ls-files", "src/ramp"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    missing = [path for path in tracked if f"{prefix}/{path}" not in names]
    assert missing == []
    for path in ("pyproject.toml", "README.md", "build_backend/ramp_build.py"):
        assert f"{prefix}/{path}" in names
    # And the commit it was made from, since an unpacked sdist has no .git
    assert f'COMMIT = "{source_commit}"' in build_info
    # When a wheel is built straight from the checkout, Then it is the wheel the sdist built, file for file
    # (setuptools packs build/lib/: clear what an earlier build of the checkout left there, a deleted module say)
    shutil.rmtree(ROOT / "build" / "lib", ignore_errors=True)
    _build(tmp_path, "--wheel")

    def contents(wheel: Path) -> dict[str, bytes]:
        with zipfile.ZipFile(wheel) as archive:
            return {name: archive.read(name) for name in archive.namelist()}

    direct = contents(_only(sorted(tmp_path.glob("*.whl"))))
    from_sdist = contents(dist.wheel)
    assert sorted(direct) == sorted(from_sdist)
    assert [name for name in direct if direct[name] != from_sdist[name]] == []


def _files(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


def test_the_controller_runs_from_the_package_as_the_image_starts_it(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    venv: Path,
    source_commit: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the installed virtualenv in the image's place (/venv), and a HOME that does not exist
    home = tmp_path / "home"
    before = _files(venv)
    # When the controller starts as the Dockerfile's ENTRYPOINT with the image's ENV, given `controller ...` as
    # args (the harness adds the test's kubeconfig, ports and instance id)
    monkeypatch.setattr(harness, "ramp_command", lambda: image_command(venv, home))
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    cmdline = Path(f"/proc/{controller.process.pid}/cmdline").read_bytes().split(b"\0")
    assert str(venv / "bin" / "ramp").encode() in cmdline
    assert f"commit={source_commit}" in controller.log()
    # Then it takes a canary Rollout to Healthy
    s = Scenario(cluster, namespace)
    s.given_rollout("web", image="nginx:1.27", replicas=2, canary={"steps": [{"setWeight": 50}, {"pause": {}}]})
    s.then_phase("web", "Healthy")
    s.then_ready_images("app=web", {"nginx:1.27": 2})
    # And it wrote nothing into its installation or its HOME (the image's root filesystem is read-only)
    assert controller.alive
    assert _files(venv) == before
    assert not home.exists()
