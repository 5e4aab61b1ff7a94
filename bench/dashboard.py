"""Benchmark: the dashboard with N rollouts in a namespace — first list, list again, live-update latency, memory.

Creates N canary Rollouts (no controller: the dashboard shows objects as they are), starts `ramp dashboard` as its
own process, and prints: the first list (informers starting, then the answer), a warm list, the time from a
change to a Rollout (its status phase patched with kubectl) to the event on the list's server-sent event stream, and the
dashboard's resident memory.
Run: `.venv/bin/python bench/dashboard.py [--rollouts 500]` (builds and starts the local cluster).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid

import httpx
import yaml

from process import free_port, memory_mib, stop
from ramp.cli.demo import install_crds
from ramp.localcluster.cluster import LocalCluster


def _rollout(index: int) -> dict[str, object]:
    name = f"bench-{index:05d}"
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
            },
            "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}},
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rollouts", type=int, default=500)
    parser.add_argument("--changes", type=int, default=10)
    options = parser.parse_args()
    cluster = LocalCluster()
    cluster.up(lambda update: None)
    install_crds(cluster)
    namespace = f"bench-dashboard-{uuid.uuid4().hex[:6]}"
    cluster.run_kubectl("create", "namespace", namespace)
    token = secrets.token_urlsafe(16)
    port = free_port()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"http://127.0.0.1:{port}/api/v1/namespaces/{namespace}/rollouts"
    process = None
    try:
        for start in range(0, options.rollouts, 250):
            items = [_rollout(i) for i in range(start, min(start + 250, options.rollouts))]
            batch = {"apiVersion": "v1", "kind": "List", "items": items}
            cluster.run_kubectl("create", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(batch))
        command = [sys.executable, "-m", "ramp.cli.main", "dashboard", "--kubeconfig", str(cluster.kubeconfig)]
        command += ["-n", namespace, "--port", str(port), "--token", token]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v1/config", headers=headers, timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        started = time.monotonic()
        first = httpx.get(url, headers=headers, timeout=120)
        first_seconds = time.monotonic() - started
        listed = len(first.json()["items"])
        warm = []
        for _ in range(5):
            began = time.monotonic()
            httpx.get(url, headers=headers, timeout=60)
            warm.append(time.monotonic() - began)
        latencies = _measure_live_updates(url, token, namespace, cluster, options.changes)
        rss, peak = memory_mib(process.pid)
    finally:
        if process is not None:
            stop(process, signal.SIGINT, 20)
        cluster.run_kubectl("delete", "namespace", namespace, "--timeout=10m", check=False)
    machine = f"python {sys.version.split()[0]}, {os.cpu_count()} cpus"
    print(f"dashboard with {options.rollouts} rollouts ({machine})")
    print(f"  first list              {first_seconds:.2f}s ({listed} rollouts; informers start on the first request)")
    print(f"  warm list               median {statistics.median(warm) * 1000:.0f} ms")
    print(
        f"  change → SSE event      median {statistics.median(latencies) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms (includes kubectl's own start, ~100 ms)"
    )
    print(f"  RSS now / peak          {rss:.0f} / {peak:.0f} MiB")


def _measure_live_updates(url: str, token: str, namespace: str, cluster: LocalCluster, changes: int) -> list[float]:
    """Change a Rollout's phase (its status, as a controller would) and time until the list's event stream sends
    the next list (no controller runs, so nothing else changes)."""
    arrivals: list[float] = []
    ready = threading.Event()

    def listen() -> None:
        try:
            with httpx.stream("GET", f"{url}/watch", params={"token": token}, timeout=None) as stream:
                ready.set()
                for line in stream.iter_lines():
                    if line.startswith("event:"):
                        arrivals.append(time.monotonic())
        except httpx.HTTPError:
            return  # the dashboard stopped at the end

    threading.Thread(target=listen, daemon=True).start()
    ready.wait(30)
    time.sleep(2.0)
    latencies = []
    for i in range(changes):
        name = f"bench-{i:05d}"
        began = time.monotonic()
        phase = "Paused" if i % 2 == 0 else "Healthy"  # what the list shows; no controller overwrites it
        patch = json.dumps({"status": {"phase": phase, "message": f"bench change {i}"}})
        cluster.run_kubectl(
            "patch", "rollout", name, "-n", namespace, "--subresource=status", "--type=merge", "-p", patch
        )
        deadline = began + 30
        while not any(t > began for t in arrivals) and time.monotonic() < deadline:
            time.sleep(0.005)
        after = [t for t in arrivals if t > began]
        if after:
            latencies.append(after[0] - began)
        time.sleep(0.5)
    return latencies or [float("nan")]


if __name__ == "__main__":
    main()
