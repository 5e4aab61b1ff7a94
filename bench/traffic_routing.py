"""Benchmark: N canary Rollouts routed through Istio VirtualServices — how fast a weight reaches the routing
object, how fast an abort takes it back, and what that costs in API requests.

Setup: the local cluster, the minimal Istio CRDs of the tests (tests/fixtures/crds/istio.yaml), a fresh namespace,
`ramp controller --namespaced` as its own process, and N Rollouts (2 replicas; steps setWeight 10, pause), each
with its own stable and canary Service and a VirtualService splitting one HTTP route between them.

Phases, all Rollouts at once (concurrent patches):
- update: each Rollout's image is changed; stamped when its VirtualService first gives the canary 10.
- abort: each Rollout is aborted; stamped when its VirtualService first gives the canary 0 again.
Each phase prints first / p50 / p90 / last seconds after the patch was answered, the controller's API requests
per Rollout by kind and verb (`controller_clientset_k8s_request_total`, after minus before, read once the
counters stopped moving), reconciles per Rollout (`rollout_reconcile_count`) and requests per reconcile; then
the controller's CPU seconds and resident memory. Nothing asserts on the figures.
Run: `.venv/bin/python bench/traffic_routing.py [--rollouts 50]` (builds and starts the local cluster).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from process import cpu_seconds, memory_mib, start_namespaced_controller, stop
from ramp.cli.demo import install_crds
from ramp.kube.client import KubeClient
from ramp.kube.config import load_config
from ramp.kube.resources import ROLLOUTS, SERVICES, Resource
from ramp.localcluster.cluster import LocalCluster

VIRTUAL_SERVICES = Resource("networking.istio.io", "v1beta1", "virtualservices", "VirtualService")
ISTIO_CRDS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "crds" / "istio.yaml"
_LABELS = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _objects(name: str) -> list[tuple[Resource, dict[str, Any]]]:
    services = [
        (
            SERVICES,
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": f"{name}-{role}"},
                "spec": {"selector": {"app": name}, "ports": [{"port": 80}]},
            },
        )
        for role in ("stable", "canary")
    ]
    route = {
        "name": "primary",
        "route": [
            {"destination": {"host": f"{name}-stable"}, "weight": 100},
            {"destination": {"host": f"{name}-canary"}, "weight": 0},
        ],
    }
    virtual_service = {
        "apiVersion": "networking.istio.io/v1beta1",
        "kind": "VirtualService",
        "metadata": {"name": name},
        "spec": {"hosts": [f"{name}.example.com"], "http": [route]},
    }
    return [*services, (VIRTUAL_SERVICES, virtual_service)]


def _rollout(name: str) -> dict[str, Any]:
    canary = {
        "stableService": f"{name}-stable",
        "canaryService": f"{name}-canary",
        "trafficRouting": {"istio": {"virtualService": {"name": name, "routes": ["primary"]}}},
        "steps": [{"setWeight": 10}, {"pause": {}}],
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
            },
            "strategy": {"canary": canary},
        },
    }


def _canary_weight(virtual_service: dict[str, Any]) -> int:
    for route in virtual_service.get("spec", {}).get("http") or []:
        for destination in route.get("route") or []:
            if str(destination.get("destination", {}).get("host", "")).endswith("-canary"):
                return int(destination.get("weight") or 0)
    return 0


def _scrape(port: int) -> tuple[Counter[str], float]:
    requests: Counter[str] = Counter()
    reconciles = 0.0
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text.splitlines():
        if line.startswith("#") or "{" not in line:
            continue
        name, rest = line.split("{", 1)
        labels = dict(_LABELS.findall(rest.rsplit("}", 1)[0]))
        value = float(line.rsplit(" ", 1)[1])
        if name == "controller_clientset_k8s_request_total":
            requests[f"{labels.get('kind')} {labels.get('verb')}"] += int(value)
        elif name == "rollout_reconcile_count":
            reconciles += value
    return requests, reconciles


async def _settled(port: int, quiet: float = 3.0) -> tuple[Counter[str], float]:
    last = await asyncio.to_thread(_scrape, port)
    since = time.monotonic()
    while time.monotonic() - since < quiet:
        await asyncio.sleep(0.5)
        now = await asyncio.to_thread(_scrape, port)
        if (sum(now[0].values()), now[1]) != (sum(last[0].values()), last[1]):
            since = time.monotonic()
        last = now
    return last


async def _until_weights(
    client: KubeClient, namespace: str, names: list[str], weight: int, started: float
) -> list[float]:
    """Seconds after `started` at which each VirtualService first gave the canary `weight` (polled every 50 ms)."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + 600
    while len(seen) < len(names) and time.monotonic() < deadline:
        listed = await client.list(VIRTUAL_SERVICES, namespace)
        now = time.monotonic()
        for item in listed.get("items") or []:
            name = item["metadata"]["name"]
            if name not in seen and _canary_weight(item) == weight:
                seen[name] = now - started
        await asyncio.sleep(0.05)
    if len(seen) < len(names):
        raise SystemExit(f"only {len(seen)} of {len(names)} VirtualServices reached weight {weight}")
    return sorted(seen.values())


def _percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, max(0, math.ceil(share * len(values)) - 1))]


def _report(label: str, delays: list[float], requests: Counter[str], reconciles: float, n: int) -> None:
    print(
        f"{label}: canary weight reached  first {delays[0]:.2f}s  p50 {_percentile(delays, 0.5):.2f}s  "
        f"p90 {_percentile(delays, 0.9):.2f}s  last {delays[-1]:.2f}s"
    )
    total = sum(requests.values())
    per_reconcile = total / reconciles if reconciles else float("nan")
    print(
        f"  API requests per rollout {total / n:.1f} ({per_reconcile:.2f} per reconcile), "
        f"reconciles per rollout {reconciles / n:.1f}"
    )
    for key, count in sorted(requests.items(), key=lambda item: -item[1]):
        if count:
            print(f"    {key:<32} {count / n:.2f}")


async def _run(cluster: LocalCluster, namespace: str, n: int, port: int, pid: int) -> None:
    config = load_config(str(cluster.kubeconfig))
    names = [f"bench-{i:04d}" for i in range(n)]
    async with KubeClient(config, qps=0, burst=0, field_manager="bench") as client:
        for name in names:
            for resource, body in _objects(name):
                await client.create(resource, body, namespace)
        await asyncio.gather(*(client.create(ROLLOUTS, _rollout(name), namespace) for name in names))
        while True:
            items = (await client.list(ROLLOUTS, namespace))["items"]
            if sum((r.get("status") or {}).get("phase") == "Healthy" for r in items) == n:
                break
            await asyncio.sleep(0.5)
        cpu_before = cpu_seconds(pid)
        for label, patch, weight in (
            ("update", {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:1.28"}]}}}}, 10),
            ("abort", None, 0),
        ):
            before = await _settled(port)
            started = time.monotonic()
            if patch is not None:
                await asyncio.gather(*(client.patch(ROLLOUTS, name, patch, namespace) for name in names))
            else:
                abort = {"status": {"abort": True}}
                await asyncio.gather(
                    *(client.patch(ROLLOUTS, name, abort, namespace, subresource="status") for name in names)
                )
            delays = await _until_weights(client, namespace, names, weight, started)
            after = await _settled(port)
            _report(label, delays, after[0] - before[0], after[1] - before[1], n)
        rss, peak = memory_mib(pid)
        print(
            f"controller CPU {cpu_seconds(pid) - cpu_before:.2f}s over both phases; "
            f"RSS {rss:.0f} MiB (peak {peak:.0f} MiB)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rollouts", type=int, default=50)
    options = parser.parse_args()
    cluster = LocalCluster()
    cluster.up(lambda update: None)
    install_crds(cluster)
    cluster.run_kubectl("apply", "--server-side", "-f", str(ISTIO_CRDS))
    cluster.run_kubectl(
        "wait", "--for=condition=Established", "crd/virtualservices.networking.istio.io", "--timeout=60s"
    )
    namespace = f"bench-traffic-{uuid.uuid4().hex[:6]}"
    cluster.run_kubectl("create", "namespace", namespace)
    log_path = cluster.paths.logs / "bench-traffic-controller.log"
    process, port = start_namespaced_controller(cluster, namespace, log_path)
    print(f"{options.rollouts} Istio-routed rollouts (python {sys.version.split()[0]}, {os.cpu_count()} cpus)")
    try:
        asyncio.run(_run(cluster, namespace, options.rollouts, port, process.pid))
    finally:
        stop(process)
        cluster.run_kubectl("delete", "namespace", namespace, "--timeout=10m", check=False)


if __name__ == "__main__":
    main()
