"""Benchmark: `ramp controller` starting with N Rollouts already in the cluster.

Creates N Rollouts (labelled for a bench instance id, so no other controller sees them), starts the
controller as its own process, and prints: time to the Lease, time until every informer has listed,
time until every rollout was reconciled once (from the controller's reconcile metrics), API requests
by verb, CPU seconds, and resident memory after sync and at peak, then CPU used while idle for 20 s.
Run: `.venv/bin/python bench/controller_startup.py [--rollouts 1000]` (the local cluster must be up:
`ramp cluster up`).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import uuid

import httpx
import yaml

from process import cpu_seconds, free_port, memory_mib, paused_rollout, request_counts
from ramp.cli.demo import install_crds
from ramp.localcluster.cluster import LocalCluster


def _reconciled(port: int, namespace: str) -> int:
    """Rollouts reconciled at least once: one `rollout_reconcile_count` series each."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    marker = f'namespace="{namespace}"'
    return sum(1 for line in text.splitlines() if line.startswith("rollout_reconcile_count{") and marker in line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rollouts", type=int, default=1000)
    options = parser.parse_args()
    cluster = LocalCluster()
    cluster.up(lambda update: None)
    install_crds(cluster)  # a cluster just (re)created has none
    instance = f"bench-{uuid.uuid4().hex[:6]}"
    namespace = instance
    cluster.run_kubectl("create", "namespace", namespace)
    try:
        for start in range(0, options.rollouts, 250):
            items = [paused_rollout(i, instance) for i in range(start, min(start + 250, options.rollouts))]
            cluster.run_kubectl(
                "apply",
                "-n",
                namespace,
                "-f",
                "-",
                stdin=yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}),
            )
        healthz, metrics = free_port(), free_port()
        log_path = cluster.paths.logs / "bench-controller.log"
        command = [
            sys.executable,
            "-m",
            "ramp.cli.main",
            "controller",
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--instance-id",
            instance,
            "--healthzPort",
            str(healthz),
            "--metricsport",
            str(metrics),
        ]
        started = time.monotonic()
        with log_path.open("w") as sink:
            process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)
        marks: dict[str, float] = {}
        while "synced" not in marks:
            text = log_path.read_text()
            if "leader" not in marks and "leader acquired" in text:
                marks["leader"] = time.monotonic() - started
            if "informers synced" in text:
                marks["synced"] = time.monotonic() - started
            if process.poll() is not None:
                raise SystemExit(f"controller exited: {text[-2000:]}")
            time.sleep(0.05)
        rss_synced, _ = memory_mib(process.pid)
        while _reconciled(metrics, namespace) < options.rollouts:
            time.sleep(0.5)
        marks["reconciled"] = time.monotonic() - started
        cpu_busy = cpu_seconds(process.pid)
        rss, peak = memory_mib(process.pid)
        requests = request_counts(metrics)
        time.sleep(20)
        cpu_idle = cpu_seconds(process.pid) - cpu_busy
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    finally:
        cluster.run_kubectl("delete", "namespace", namespace, "--timeout=10m", check=False)
    n = options.rollouts
    print(f"controller start with {n} rollouts (python {sys.version.split()[0]}, {os.cpu_count()} cpus)")
    print(f"  lease acquired          {marks['leader']:.2f}s")
    print(f"  informers synced        {marks['synced']:.2f}s")
    print(f"  every rollout handled   {marks['reconciled']:.2f}s (event writes are paced by --qps 40)")
    print(f"  API requests            {dict(sorted(requests.items()))} ({sum(requests.values()) / n:.2f} per rollout)")
    print(f"  CPU seconds to here     {cpu_busy:.2f}")
    print(f"  RSS after sync          {rss_synced:.0f} MiB; now {rss:.0f} MiB; peak {peak:.0f} MiB")
    print(f"  CPU while idle 20s      {cpu_idle:.2f}s")


if __name__ == "__main__":
    main()
