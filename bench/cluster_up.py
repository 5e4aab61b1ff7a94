"""Benchmark: how long `ramp cluster up` takes when the cluster is built, and what the cache costs on disk.

Prints the warm `up` time with the cluster already running (the common case in `make test`) and after its
processes died (the case after a session ends), and the size of each part of the cache.
Run: `.venv/bin/python bench/cluster_up.py [--runs 5]`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ramp.localcluster.cluster import COMPONENTS, LocalCluster


def _time_up() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ramp.cli.cluster", "up"], check=True, capture_output=True)
    return time.perf_counter() - started


def _size(path: Path) -> str:
    if not path.exists():
        return "-"
    out = subprocess.run(["du", "-sh", str(path)], capture_output=True, text=True, check=True).stdout
    return out.split()[0]


def _spread(samples: list[float]) -> str:
    low, high = min(samples), max(samples)
    return f"median {statistics.median(samples):.2f}s (min {low:.2f}, max {high:.2f}, n={len(samples)})"


def _spread(samples: list[float]) -> str:
    low, high = min(samples), max(samples)
    return f"median {statistics.median(samples):.2f}s (min {low:.2f}, max {high:.2f}, n={len(samples)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    cluster = LocalCluster()
    _time_up()  # make sure it is built and running
    running = [_time_up() for _ in range(options.runs)]
    restarted = []
    for _ in range(max(1, options.runs // 2)):
        for name in COMPONENTS:
            cluster.stop_component(name)
        restarted.append(_time_up())
    print(f"ramp cluster up, cluster running:     {_spread(running)}")
    print(f"ramp cluster up, processes had died:  {_spread(restarted)}")
    paths = cluster.paths
    print(f"cache {paths.root}: total {_size(paths.root)}")
    parts = [
        ("binaries", paths.bin),
        ("go modules", paths.go_modules),
        ("go build cache", paths.go_build),
        ("cluster state", paths.kwok_workdir),
    ]
    for label, path in parts:
        print(f"  {label:<15} {_size(path)}")


if __name__ == "__main__":
    main()
