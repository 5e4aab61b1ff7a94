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
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

from ramp.cli.demo import install_crds
from ramp.localcluster.cluster import LocalCluster

TICKS = os.sysconf("SC_CLK_TCK")


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _memory_mib(pid: int) -> tuple[float, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    return rss / 1024, peak / 1024


def _requests(port: int) -> Counter[str]:
    verbs: Counter[str] = Counter()
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text.splitlines():
        if line.startswith("controller_clientset_k8s_request_total{"):
            verb = re.search(r'verb="([^"]+)"', line).group(1)  # type: ignore[union-attr]
            verbs[verb] += int(float(line.rsplit(" ", 1)[1]))
    return verbs


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
    healthz, metrics = _free_port(), _free_port()
    log_path = cluster.paths.logs / "bench-analysis-controller.log"
    command = [
        sys.executable,
        "-m",
        "ramp.cli.main",
        "controller",
        "--kubeconfig",
        str(cluster.kubeconfig),
        "--namespaced",
        "--namespace",
        namespace,
        "--leader-elect=false",
        "--qps",
        str(options.qps),
        "--burst",
        str(int(options.qps * 2)),
        "--healthzPort",
        str(healthz),
        "--metricsport",
        str(metrics),
    ]
    with log_path.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
    try:
        while "workers started" not in log_path.read_text():
            if process.poll() is not None:
                raise SystemExit(f"controller exited: {log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        before = _requests(metrics)
        cpu_before = _cpu_seconds(process.pid)
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
        cpu = _cpu_seconds(process.pid) - cpu_before
        rss, peak = _memory_mib(process.pid)
        requests = _requests(metrics) - before
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
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
