"""Upstream's controller (argoproj/argo-rollouts), built once from the Go module proxy into the cache.

`go mod download` fetches the module; it is copied to a writable folder under the cache's `src/` and
`./cmd/rollouts-controller` is built inside it, so its go.mod's replace directives apply (`go install m@v`
refuses a module that has them). v1.10.2 asks for a newer Go than the local cluster's, so the build runs with
GOTOOLCHAIN set to one the module proxy serves. The binary is kept at
`<cache>/argo-rollouts/<version>/rollouts-controller` and reused while its --version names that version.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from ramp.localcluster.build import check_go
from ramp.localcluster.paths import CachePaths

MODULE = "github.com/argoproj/argo-rollouts"
VERSION = "v1.10.2"
TOOLCHAIN = "go1.27.3"


def binary_path(paths: CachePaths, version: str = VERSION) -> Path:
    return paths.root / "argo-rollouts" / version / "rollouts-controller"


def reported_version(binary: Path) -> str:
    """What a built controller says with --version (e.g. v1.10.2+unknown); empty when there is none."""
    if not binary.is_file():
        return ""
    result = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False, timeout=60)
    return result.stdout.strip()


def _environment(paths: CachePaths, toolchain: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GOMODCACHE=str(paths.go_modules),
        GOCACHE=str(paths.go_build),
        GOFLAGS="-mod=mod",
        CGO_ENABLED="0",
        GOTOOLCHAIN=toolchain,
    )
    return env


def ensure_controller(paths: CachePaths, version: str = VERSION, toolchain: str = TOOLCHAIN) -> Path:
    """The path of upstream's controller at `version`, built when the cache has none (minutes on 2 cores)."""
    target = binary_path(paths, version)
    if reported_version(target).startswith(version + "+"):
        return target
    go = check_go()
    env = _environment(paths, toolchain)
    paths.logs.mkdir(parents=True, exist_ok=True)
    log = paths.logs / f"build-argo-rollouts-{version}-{time.strftime('%Y%m%dT%H%M%S')}.log"
    print(f"building Argo Rollouts {version}'s controller (log: {log})", file=sys.stderr, flush=True)
    downloaded = subprocess.run(
        [go, "mod", "download", "-json", f"{MODULE}@{version}"],
        cwd=paths.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if downloaded.returncode != 0:
        raise SystemExit(f"cannot download {MODULE}@{version}: {(downloaded.stdout + downloaded.stderr)[-800:]}")
    module = Path(json.loads(downloaded.stdout)["Dir"])
    source = paths.sources / f"argo-rollouts-{version}"
    if not (source / "go.mod").is_file():
        shutil.rmtree(source, ignore_errors=True)
        shutil.copytree(module, source)
        for folder, _, files in os.walk(source):  # the module cache's files are read-only
            os.chmod(folder, 0o755)
            for name in files:
                os.chmod(Path(folder) / name, 0o644)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    flags = f"-s -w -X {MODULE}/utils/version.version={version.lstrip('v')}"
    command = [go, "build", "-trimpath", "-ldflags", flags, "-o", str(partial), "./cmd/rollouts-controller"]
    with log.open("w") as sink:
        sink.write(f"$ (cd {source} && GOTOOLCHAIN={toolchain} {' '.join(command)})\n")
        sink.flush()
        code = subprocess.run(command, cwd=source, env=env, stdout=sink, stderr=subprocess.STDOUT, check=False)
    if code.returncode != 0:
        raise SystemExit(f"building Argo Rollouts {version} failed (exit {code.returncode}); see {log}")
    partial.replace(target)  # only a finished build is ever at the target path
    if not reported_version(target).startswith(version + "+"):
        raise SystemExit(f"{target} reports {reported_version(target)!r} after the build, not {version}; see {log}")
    return target
