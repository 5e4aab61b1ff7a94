"""What the benchmarks share: free ports, a process's CPU and memory from /proc, the controller's API request
counts from its metrics, a paused canary Rollout to fill a cluster with, and `ramp controller` for one namespace
as its own process.

Imported by the scripts next to it (`python bench/<name>.py` puts this folder on the path).
"""

from __future__ import annotations

import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

from ramp.localcluster.cluster import LocalCluster

TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a process (NaN when it is gone)."""
    if pid is None:
        return math.nan
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / TICKS


def memory_mib(pid: int) -> tuple[float, float]:
    """Resident memory now and at its peak, MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    return rss / 1024, peak / 1024


def request_counts(port: int) -> Counter[str]:
    """The controller's API requests by verb (`controller_clientset_k8s_request_total` on its metrics port)."""
    verbs: Counter[str] = Counter()
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text.splitlines():
        if line.startswith("controller_clientset_k8s_request_total{"):
            verb = re.search(r'verb="([^"]+)"', line).group(1)  # type: ignore[union-attr]
            verbs[verb] += int(float(line.rsplit(" ", 1)[1]))
    return verbs


def start_namespaced_controller(
    cluster: LocalCluster, namespace: str, log_path: Path, *extra: str
) -> tuple[subprocess.Popen[bytes], int]:
    """`ramp controller --namespaced` for one namespace as its own process, once its workers run; and its
    metrics port."""
    healthz, metrics = free_port(), free_port()
    command = [sys.executable, "-m", "ramp.cli.main", "controller", "--kubeconfig", str(cluster.kubeconfig)]
    command += ["--namespaced", "--namespace", namespace, "--leader-elect=false"]
    command += ["--healthzPort", str(healthz), "--metricsport", str(metrics), *extra]
    with log_path.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    while "workers started" not in log_path.read_text():
        if process.poll() is not None:
            raise SystemExit(f"controller exited: {log_path.read_text()[-3000:]}")
        time.sleep(0.1)
    return process, metrics


def paused_rollout(index: int, instance: str) -> dict[str, object]:
    """Rollout `bench-<index>` for controller instance `instance`: one replica, a canary that stops at its first
    (indefinite) pause, so once placed it stays idle."""
    name = f"bench-{index:05d}"
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name, "labels": {"argo-rollouts.argoproj.io/controller-instance-id": instance}},
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


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    """Ask a process to stop; kill it if it has not within `timeout`."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
