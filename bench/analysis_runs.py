"""Benchmark: N AnalysisRuns measuring every second — how precisely, and at what cost.

Starts a local HTTP endpoint that records when each run's web metric asks it (one path per run), creates N
AnalysisRuns (web metric, interval 1s, count C) in a fresh namespace, runs `ramp controller --namespaced` for
it as its own process, and waits until every run is Successful. Prints: the time to finish them all; the gaps
between consecutive measurements of a run (p50 / p99 / max, against the 1 s asked for: upstream's pain point is
runs drifting to minutes); API requests per measurement; CPU seconds; resident memory.
Run: `.venv/bin/python bench/analysis_runs.py [--runs 200] [--count 10]` (builds and starts the local cluster).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml

from process import cpu_seconds, memory_mib, request_counts, start_namespaced_controller, stop
from ramp.cli.demo import install_crds
from ramp.localcluster.cluster import LocalCluster


class Endpoint:
    """Answers `{"ok": 1}` and records the arrival time of every request, by path."""

    def __init__(self) -> None:
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        lock = threading.Lock()
        arrivals = self.arrivals

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with lock:
                    arrivals[self.path].append(time.monotonic())
                body = b'{"ok": 1}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def _run(index: int, url: str, count: int) -> dict[str, Any]:
    name = f"bench-{index:05d}"
    metric = {
        "name": "ok",
        "interval": "1s",
        "count": count,
        "successCondition": "result == 1",
        "provider": {"web": {"url": f"{url}/{name}", "jsonPath": "{$.ok}"}},
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {"name": name},
        "spec": {"metrics": [metric]},
    }


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def _phases(cluster: LocalCluster, namespace: str) -> Counter[str]:
    listed = json.loads(cluster.run_kubectl("get", "analysisruns", "-n", namespace, "-o", "json"))
    return Counter(str((item.get("status") or {}).get("phase") or "New") for item in listed["items"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--qps", type=float, default=40.0, help="the controller's --qps (each measurement is a write)")
    options = parser.parse_args()
    cluster = LocalCluster()
    cluster.up(lambda update: None)
    install_crds(cluster)
    endpoint = Endpoint()
    namespace = f"bench-analysis-{uuid.uuid4().hex[:6]}"
    cluster.run_kubectl("create", "namespace", namespace)
    log_path = cluster.paths.logs / "bench-analysis-controller.log"
    qps = ["--qps", str(options.qps), "--burst", str(int(options.qps * 2))]
    process, metrics = start_namespaced_controller(cluster, namespace, log_path, *qps)
    try:
        before = request_counts(metrics)
        cpu_before = cpu_seconds(process.pid)
        started = time.monotonic()
        items = [_run(i, endpoint.url, options.count) for i in range(options.runs)]
        for start in range(0, len(items), 250):
            batch = {"apiVersion": "v1", "kind": "List", "items": items[start : start + 250]}
            cluster.run_kubectl("create", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(batch))
        limit = started + 120 + options.count * 3
        phases: Counter[str] = Counter()
        while time.monotonic() < limit:
            phases = _phases(cluster, namespace)
            if phases.get("Successful", 0) == options.runs:
                break
            time.sleep(1)
        elapsed = time.monotonic() - started
        cpu = cpu_seconds(process.pid) - cpu_before
        rss, peak = memory_mib(process.pid)
        requests = request_counts(metrics) - before
    finally:
        stop(process)
        cluster.run_kubectl("delete", "namespace", namespace, "--timeout=10m", check=False)
    gaps = [later - earlier for times in endpoint.arrivals.values() for earlier, later in itertools.pairwise(times)]
    measurements = sum(len(times) for times in endpoint.arrivals.values())
    n = options.runs
    machine = f"python {sys.version.split()[0]}, {os.cpu_count()} cpus"
    print(f"{n} AnalysisRuns x {options.count} measurements at 1s, controller --qps {options.qps:g} ({machine})")
    print(f"  phases at the end       {dict(phases)}")
    print(f"  all finished in         {elapsed:.1f}s (ideal ~{options.count - 1}s plus start-up)")
    print(
        f"  gap between measurements p50 {_percentile(gaps, 0.5):.3f}s  p99 {_percentile(gaps, 0.99):.3f}s  "
        f"max {max(gaps, default=float('nan')):.3f}s (asked: 1s)"
    )
    print(f"  measurements taken      {measurements} (expected {n * options.count})")
    per = sum(requests.values()) / measurements if measurements else float("nan")
    print(f"  API requests            {dict(sorted(requests.items()))} ({per:.2f} per measurement)")
    per_cpu = cpu / measurements * 1000 if measurements else 0.0
    print(f"  CPU seconds             {cpu:.1f} ({per_cpu:.2f} ms per measurement)")
    print(f"  RSS now / peak          {rss:.0f} / {peak:.0f} MiB")


if __name__ == "__main__":
    main()
