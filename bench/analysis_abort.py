"""Benchmark: from the first failing measurement to the canary at weight 0 — how fast a bad release is pulled.

A canary Rollout (4 replicas, steps setWeight 50 then an analysis step) is updated; its step AnalysisRun measures a
web metric every second from a local endpoint. Once the canary is under analysis, the endpoint starts answering a
failing value and records when it first did. Watches then stamp: the AnalysisRun Failed, the Rollout aborted
(status.abort), and the canary ReplicaSet scaled to 0 (weight 0: no traffic router, so the weight is the pods).
Repeated `--trials` times (one rollout each); prints each interval's median and max. Goal: under 1 s plus the
configured abort delay (none here: no traffic router).
Run: `.venv/bin/python bench/analysis_abort.py [--trials 5]` (builds and starts the local cluster).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from process import start_namespaced_controller, stop
from ramp.cli.demo import install_crds
from ramp.kube.client import KubeClient
from ramp.kube.config import load_config
from ramp.kube.resources import ANALYSIS_RUNS, REPLICA_SETS, ROLLOUTS
from ramp.localcluster.cluster import LocalCluster


class Endpoint:
    """Answers {"ok": 1} per path until the path is failed; then {"ok": 0}, noting when it first said so."""

    def __init__(self) -> None:
        self.failing: set[str] = set()
        self.first_failure: dict[str, float] = {}
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                failing = self.path in endpoint.failing
                if failing:
                    endpoint.first_failure.setdefault(self.path, time.monotonic())
                body = json.dumps({"ok": 0 if failing else 1}).encode()
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


def _template(url: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    metric = {
        "name": "ok",
        "interval": "1s",
        "count": 600,
        "successCondition": "result == 1",
        "failureLimit": 0,
        "provider": {"web": {"url": url + "/{{args.name}}", "jsonPath": "{$.ok}"}},
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "ok", "labels": labels or {}},
        "spec": {"args": [{"name": "name"}], "metrics": [metric]},
    }


def _rollout(name: str, image: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    step = {"analysis": {"templates": [{"templateName": "ok"}], "args": [{"name": "name", "value": name}]}}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
            "strategy": {"canary": {"steps": [{"setWeight": 50}, step]}},
        },
    }


async def _wait(check: Any, limit: float = 120, interval: float = 0.02) -> float:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if await check():
            return time.monotonic()
        await asyncio.sleep(interval)
    raise SystemExit("timed out")


async def _trial(
    client: KubeClient, namespace: str, endpoint: Endpoint, index: int, labels: dict[str, str] | None = None
) -> dict[str, float]:
    """One trial; `labels` go on the Rollout (e.g. a controller's instance id)."""
    name = f"bench-{index:02d}"
    await client.create(ROLLOUTS, _rollout(name, "nginx:1.27", labels), namespace)

    async def healthy() -> bool:
        rollout = await client.get(ROLLOUTS, name, namespace)
        return (rollout.get("status") or {}).get("phase") == "Healthy"

    await _wait(healthy)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.28"}]}}}}
    await client.patch(ROLLOUTS, name, patch, namespace)

    async def analysing() -> bool:
        rollout = await client.get(ROLLOUTS, name, namespace)
        run = ((rollout.get("status") or {}).get("canary") or {}).get("currentStepAnalysisRunStatus") or {}
        return run.get("status") == "Running"

    await _wait(analysing)
    await asyncio.sleep(2.5)  # a few good measurements first
    path = f"/{name}"
    endpoint.failing.add(path)
    stamps: dict[str, float] = {}
    canary_name = ""
    while len(stamps) < 3:
        rollout = await client.get(ROLLOUTS, name, namespace)
        status = rollout.get("status") or {}
        now = time.monotonic()
        if status.get("abort"):
            stamps.setdefault("rollout aborted", now)
        run_status = (status.get("canary") or {}).get("currentStepAnalysisRunStatus") or {}
        if "run failed" not in stamps:
            runs = (await client.list(ANALYSIS_RUNS, namespace))["items"]
            if (
                any(
                    r["metadata"]["name"].startswith(f"{name}-") and (r.get("status") or {}).get("phase") == "Failed"
                    for r in runs
                )
                or run_status.get("status") == "Failed"
            ):
                stamps.setdefault("run failed", now)
        if not canary_name:
            current = status.get("currentPodHash")
            canary_name = f"{name}-{current}" if current else ""
        if canary_name:
            rs = await client.get(REPLICA_SETS, canary_name, namespace)
            if (rs.get("spec") or {}).get("replicas") == 0:
                stamps.setdefault("canary at 0", now)
        await asyncio.sleep(0.02)
    start = endpoint.first_failure[path]
    return {key: value - start for key, value in stamps.items()}


async def _run(options: argparse.Namespace, cluster: LocalCluster, namespace: str, endpoint: Endpoint) -> list[Any]:
    config = load_config(str(cluster.kubeconfig))
    async with KubeClient(config, qps=0, burst=0, field_manager="bench") as client:
        from ramp.kube.resources import ANALYSIS_TEMPLATES

        await client.create(ANALYSIS_TEMPLATES, _template(endpoint.url), namespace)
        return [await _trial(client, namespace, endpoint, i) for i in range(options.trials)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=5)
    options = parser.parse_args()
    cluster = LocalCluster()
    cluster.up(lambda update: None)
    install_crds(cluster)
    endpoint = Endpoint()
    namespace = f"bench-abort-{uuid.uuid4().hex[:6]}"
    cluster.run_kubectl("create", "namespace", namespace)
    log_path = cluster.paths.logs / "bench-abort-controller.log"
    process, _ = start_namespaced_controller(cluster, namespace, log_path)
    try:
        trials = asyncio.run(_run(options, cluster, namespace, endpoint))
    finally:
        stop(process)
        cluster.run_kubectl("delete", "namespace", namespace, "--timeout=10m", check=False)
    machine = f"python {sys.version.split()[0]}, {os.cpu_count()} cpus"
    print(f"from the first failing measurement, {len(trials)} trials ({machine}; the poll adds up to ~0.05s):")
    for key in ("run failed", "rollout aborted", "canary at 0"):
        values = [trial[key] for trial in trials]
        print(f"  {key:<16} median {statistics.median(values):.3f}s  max {max(values):.3f}s")


if __name__ == "__main__":
    main()
