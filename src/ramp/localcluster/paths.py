"""Where the local cluster keeps its binaries, Go caches and cluster state: a cache outside the checkout.

`RAMP_CACHE` overrides the default `~/.cache/ramp`, so CI's fresh clones reuse what an earlier run built.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CachePaths:
    """The folders under the cache root."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def go_modules(self) -> Path:
        return self.root / "go" / "mod"

    @property
    def go_build(self) -> Path:
        return self.root / "go" / "build"

    @property
    def sources(self) -> Path:
        """Working copies of the Go wrapper modules (go.sum is written there, not in the checkout)."""
        return self.root / "src"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def kwok_workdir(self) -> Path:
        return self.root / "kwok"


def cache_paths() -> CachePaths:
    """The cache root from `RAMP_CACHE`, else `~/.cache/ramp`."""
    configured = os.environ.get("RAMP_CACHE", "").strip()
    root = Path(configured).expanduser() if configured else Path.home() / ".cache" / "ramp"
    return CachePaths(root.resolve())


def go_module_sources() -> Path:
    """The Go wrapper modules shipped with the package (kube: the control plane; etcd: its store)."""
    return Path(__file__).parent / "gomod"
