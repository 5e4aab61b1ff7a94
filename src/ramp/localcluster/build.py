"""Build the local control plane's binaries from upstream Go modules, once, into the cache.

A binary is rebuilt only when it is missing or does not report the wanted version (see `versions`).
Kubernetes and etcd are built from small wrapper modules (`gomod/`) because their own go.mod files carry
replace directives that `go install` refuses; kwok and kwokctl install directly. Progress is reported
through a callback so that the CLI can draw it (`cli/cluster.py`) and tests can log it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ramp.localcluster.paths import CachePaths, go_module_sources
from ramp.localcluster.versions import (
    ETCD_VERSION,
    HELM_PACKAGE,
    HELM_VERSION,
    KUBE_COMMANDS,
    KUBERNETES_VERSION,
    KWOK_COMMANDS,
    KWOK_VERSION,
    MINIMUM_GO,
    Binary,
    binaries,
    helm_binary,
    is_reported_version,
    parse_go_version,
)


class BuildError(RuntimeError):
    """The local cluster could not be built; the message says why and what to do."""


@dataclass(frozen=True)
class BuildProgress:
    """One progress report: which step, how many Go packages it has compiled, and its latest line."""

    step: str
    packages: int
    line: str
    done: bool = False


ProgressCallback = Callable[[BuildProgress], None]


def check_go() -> str:
    """The path of a Go new enough to build the control plane, or a BuildError that says what to install."""
    go = shutil.which("go")
    if go is None:
        raise BuildError(
            "Go is not installed (no `go` on PATH). Ramp's local cluster is built from Kubernetes' Go modules: "
            f"install Go {MINIMUM_GO[0]}.{MINIMUM_GO[1]} or newer and run `ramp cluster up` again."
        )
    result = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=False)
    found = parse_go_version(result.stdout)
    if found is None or found < MINIMUM_GO:
        raise BuildError(
            f"Go at {go} reports {result.stdout.strip() or 'no version'}; Kubernetes {KUBERNETES_VERSION} needs "
            f"Go {MINIMUM_GO[0]}.{MINIMUM_GO[1]} or newer. Install a newer Go, or set GOTOOLCHAIN to one the "
            "Go module proxy serves (e.g. GOTOOLCHAIN=go1.26.8)."
        )
    return go


def probe_version(binary: Binary, path: Path, go: str | None) -> str:
    """What the binary says about its version ('' when it cannot run)."""
    if not path.exists():
        return ""
    if binary.probe == "flag":
        args = [str(path), "version", "--client"] if binary.name == "kubectl" else [str(path), "--version"]
    elif go is not None:
        args = [go, "version", "-m", str(path)]
    else:
        return ""
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return ""
    return result.stdout + result.stderr


def missing_binaries(paths: CachePaths, go: str | None) -> list[Binary]:
    """The binaries that are absent or report another version than wanted."""
    return [
        binary
        for binary in binaries()
        if not is_reported_version(binary, probe_version(binary, paths.bin / binary.name, go))
    ]


def _version_ldflags() -> str:
    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    # kwokctl picks the flags it passes to each component from `--version`: unstamped builds report
    # v0.0.0-master and would get the wrong ones.
    flags = []
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {package}.gitVersion={KUBERNETES_VERSION}",
            f"-X {package}.gitMajor={major}",
            f"-X {package}.gitMinor={minor}",
            f"-X {package}.gitTreeState=clean",
        ]
    return " ".join(["-s", "-w", *flags])


def _go_environment(paths: CachePaths) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GOMODCACHE=str(paths.go_modules),
        GOCACHE=str(paths.go_build),
        # -mod=mod resolves what the wrapper module needs for this platform only (`go mod tidy` would
        # resolve every OS and build tag, and take far longer).
        GOFLAGS="-mod=mod",
        CGO_ENABLED="0",
        GOBIN=str(paths.bin),
    )
    env.setdefault("GOTOOLCHAIN", "local")
    return env


def _run_go(step: str, args: list[str], cwd: Path, env: dict[str, str], log: Path, report: ProgressCallback) -> None:
    """Run one go command, streaming its output to the log and the progress callback."""
    packages = 0
    with log.open("a") as sink:
        sink.write(f"\n$ (cd {cwd} && {' '.join(args)})\n")
        process = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert process.stdout is not None
        tail: list[str] = []
        for raw in process.stdout:
            line = raw.rstrip()
            sink.write(raw)
            tail = [*tail[-30:], line]
            # `go build -v` names each package as it compiles; downloads are named too.
            if not line.startswith("go: ") and " " not in line:
                packages += 1
            report(BuildProgress(step, packages, line))
        code = process.wait()
    if code != 0:
        detail = "\n".join(tail[-15:])
        raise BuildError(f"{step} failed (exit {code}); the whole log is in {log}. Last lines:\n{detail}")
    report(BuildProgress(step, packages, "", done=True))


def _prepare_module(name: str, paths: CachePaths) -> Path:
    """Copy a wrapper module's go.mod (and go.sum) into the cache, so the checkout stays clean."""
    source = go_module_sources() / name
    target = paths.sources / name
    target.mkdir(parents=True, exist_ok=True)
    for file_name in ("go.mod", "go.sum"):
        if (source / file_name).exists() and (
            not (target / file_name).exists() or (source / file_name).read_bytes() != (target / file_name).read_bytes()
        ):
            shutil.copyfile(source / file_name, target / file_name)
    return target


def ensure_binaries(paths: CachePaths, report: ProgressCallback) -> list[str]:
    """Build what is missing; return the names built (empty when everything already had the right version)."""
    paths.bin.mkdir(parents=True, exist_ok=True)
    paths.logs.mkdir(parents=True, exist_ok=True)
    missing = {binary.name for binary in missing_binaries(paths, shutil.which("go"))}
    if not missing:
        return []
    go = check_go()
    env = _go_environment(paths)
    log = paths.logs / f"build-{time.strftime('%Y%m%dT%H%M%S')}.log"
    kube = [name for name in KUBE_COMMANDS if name in missing]
    if kube:
        cwd = _prepare_module("kube", paths)
        targets = [f"k8s.io/kubernetes/cmd/{name}" for name in kube]
        step = f"Kubernetes {KUBERNETES_VERSION} ({', '.join(kube)})"
        args = [go, "build", "-v", "-trimpath", "-ldflags", _version_ldflags(), "-o", f"{paths.bin}/", *targets]
        _run_go(step, args, cwd, env, log, report)
    if "etcd" in missing:
        cwd = _prepare_module("etcd", paths)
        args = [
            go,
            "build",
            "-v",
            "-trimpath",
            "-ldflags",
            "-s -w",
            "-o",
            str(paths.bin / "etcd"),
            "go.etcd.io/etcd/server/v3",
        ]
        _run_go(f"etcd {ETCD_VERSION}", args, cwd, env, log, report)
    kwok = [name for name in KWOK_COMMANDS if name in missing]
    if kwok:
        targets = [f"sigs.k8s.io/kwok/cmd/{name}@{KWOK_VERSION}" for name in kwok]
        args = [go, "install", "-v", "-trimpath", "-ldflags", "-s -w", *targets]
        _run_go(f"kwok {KWOK_VERSION} ({', '.join(kwok)})", args, paths.root, env, log, report)
    still = missing_binaries(paths, go)
    if still:
        names = ", ".join(binary.name for binary in still)
        raise BuildError(f"after building, these still report the wrong version: {names} (log: {log})")
    return sorted(missing)


def ensure_helm(paths: CachePaths, report: ProgressCallback) -> Path:
    """The path of helm at HELM_VERSION in the cache's bin, built from the Go module proxy when missing or wrong.

    Helm is not part of the local cluster (`ensure_binaries` leaves it alone); the chart's tests ask for it.
    """
    binary = helm_binary()
    path = paths.bin / binary.name
    go = shutil.which("go")
    if is_reported_version(binary, probe_version(binary, path, go)):
        return path
    go = check_go()
    paths.bin.mkdir(parents=True, exist_ok=True)
    paths.logs.mkdir(parents=True, exist_ok=True)
    log = paths.logs / f"build-helm-{time.strftime('%Y%m%dT%H%M%S')}.log"
    args = [go, "install", "-v", "-trimpath", "-ldflags", "-s -w", f"{HELM_PACKAGE}@{HELM_VERSION}"]
    _run_go(f"helm {HELM_VERSION}", args, paths.root, _go_environment(paths), log, report)
    if not is_reported_version(binary, probe_version(binary, path, go)):
        raise BuildError(f"after building, {path} does not report helm {HELM_VERSION} (log: {log})")
    return path


def download_go_module(module: str, version: str, paths: CachePaths) -> Path:
    """The directory of a Go module's source at `version`, downloaded from the Go module proxy into the cache.

    For files a module ships beside its code (prometheus-operator's CRDs, used by the Helm chart's tests).
    """
    go = check_go()
    result = subprocess.run(
        [go, "mod", "download", "-json", f"{module}@{version}"],
        cwd=paths.root,
        env=_go_environment(paths),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BuildError(f"cannot download {module}@{version}: {(result.stdout + result.stderr).strip()[-500:]}")
    directory = Path(json.loads(result.stdout)["Dir"])
    if not directory.is_dir():
        raise BuildError(f"{module}@{version} downloaded, but {directory} is missing")
    return directory
