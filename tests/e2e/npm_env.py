"""npm packages for the tests and benchmarks that run real JavaScript clients under node.

A pinned package.json + package-lock.json (committed) is installed with `npm ci` into
$RAMP_CACHE/npm/<name>-<lockfile hash> (default ~/.cache/ramp/npm/...) once; later runs reuse it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path


def npm_cache_root() -> Path:
    return Path(os.environ.get("RAMP_CACHE", Path.home() / ".cache" / "ramp")) / "npm"


def ensure_npm_env(name: str, source: Path) -> Path:
    """The directory holding `source`'s pinned node_modules and its scripts (*.cjs copied fresh every call)."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not on PATH: install Node.js 18+ to run the JavaScript SDK checks")
    lock = (source / "package-lock.json").read_bytes()
    target = (
        npm_cache_root() / f"{name}-{hashlib.sha256(lock + (source / 'package.json').read_bytes()).hexdigest()[:12]}"
    )
    marker = target / "node_modules" / ".ramp-installed"
    if not marker.exists():
        target.mkdir(parents=True, exist_ok=True)
        for file in ("package.json", "package-lock.json"):
            shutil.copyfile(source / file, target / file)
        subprocess.run(
            ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=target,
            check=True,
            timeout=600,
        )
        marker.touch()
    for script in source.glob("*.cjs"):
        shutil.copyfile(script, target / script.name)
    return target
