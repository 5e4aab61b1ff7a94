"""Benchmark: Ramp against Argo Rollouts, the same workloads on the same local cluster in one run.

Upstream's controller (v1.10.2) is built from the Go module proxy into the cache on first use
(`bench/upstream.py`). For each workload, each controller in turn runs alone against a fresh namespace: both as
`<controller> --namespaced --namespace <ns> --instance-id <id> --leader-elect=false` with free ports and the same
`--qps/--burst` (40/80; 200/400 for the steady-state first deploys), the Rollouts labelled with the instance id.
Ramp's CRDs (the same argoproj.io/v1alpha1 API) serve both.

Workloads (sizes changeable with --sizes):
- rolling-N (100, 500, 2000): N canary Rollouts without steps (replicas 2) brought to Healthy, then every image
  changed at once; time from the first patch to every Rollout Healthy on the new hash, the controller's CPU
  seconds over that phase, its API requests per update (`controller_clientset_k8s_request_total`, which both
  controllers export, read once the counters stop moving), the same without Event writes, the events the
  namespace kept per update (listed, `count` summed: upstream's recorder drops events when its queue is full),
  its peak RSS (VmHWM). The first deploy is shown too.
- canary-N (500): the same with steps setWeight 50, a 1 s pause and a web analysis step (two measurements one
  second apart from a local endpoint).
- steady-N (5000, 20000): N Rollouts (replicas 0 by default: the controllers cache Rollouts and ReplicaSets, not
  pods; pods would only time kube-controller-manager) exist before the controller starts; time from its start
  to every Rollout reconciled (status.observedGeneration current) and to all Healthy, then CPU while idle over
  30 s (% of one core), RSS then and at peak. Then the steady state proper: the controller is restarted over the
  N Healthy Rollouts ("restart: ..."): time from its start until it has reconciled every one (its
  `rollout_reconcile` histogram, per namespace and name in both controllers, has N series), its CPU to then, its
  idle CPU and RSS afterwards, its peak RSS, then the CPU one /metrics scrape costs it. The issue's steady-state
  goals are judged on these rows. The bench polls /metrics no more than a fifth of the time (`_wait_reconciled`).
- abort: a canary under a web analysis step whose endpoint starts failing; time from the first failing
  measurement to the canary ReplicaSet at 0 (`bench/analysis_abort.py`), median and max over --trials.

Prints a table: workload, metric, Ramp, Argo, Ramp/Argo, the goal of issue 14 where there is one, met?
Nothing asserts on the figures. Run: `.venv/bin/python bench/compare.py` (the full table takes hours on two
cores); partial runs: `--only rolling,abort --sizes 20 --controllers ramp,argo --json out.json`. Under the table,
each update workload's requests per update are broken down by kind and verb for each controller.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

import analysis_abort
import upstream
from comparison import (
    ARGO,
    RAMP,
    Row,
    nodes_for,
    parse_controllers,
    select,
    summary,
    table,
    unit_of,
    workload_names,
)
from process import cpu_seconds, free_port, memory_mib, stop
from ramp.cli.demo import install_crds
from ramp.kube.client import KubeClient
from ramp.kube.config import load_config
from ramp.kube.errors import ApiError
from ramp.kube.resources import ANALYSIS_TEMPLATES, EVENTS, ROLLOUTS
from ramp.localcluster.build import BuildProgress
from ramp.localcluster.cluster import LocalCluster
from rollouts_update import _bounded, _settled

INSTANCE_LABEL = "argo-rollouts.argoproj.io/controller-instance-id"
OLD_IMAGE, NEW_IMAGE = "nginx:1.27", "nginx:1.28"
DEFAULT_SIZES = {"rolling": [100, 500, 2000], "canary": [500], "steady": [5000, 20000]}
KINDS = ["rolling", "canary", "steady", "abort"]
READY = {RAMP: "workers started", ARGO: "Started controller"}


@dataclass
class Controller:
    """One controller process watching one namespace."""

    name: str
    process: subprocess.Popen[bytes]
    metrics_port: int
    log: Path
    started: float  # monotonic, when the process was started

    @property
    def pid(self) -> int:
        return self.process.pid


def start_controller(
    name: str, options: argparse.Namespace, cluster: LocalCluster, namespace: str, qps: int, wait_ready: bool = True
) -> Controller:
    """Ramp's or Argo's controller for `namespace` and its instance id (the namespace's name), as its own process."""
    healthz, metrics = free_port(), free_port()
    common = ["--kubeconfig", str(cluster.kubeconfig), "--namespaced", "--namespace", namespace]
    common += ["--instance-id", namespace, "--leader-elect=false", "--healthzPort", str(healthz)]
    common += ["--metricsPort", str(metrics), "--qps", str(qps), "--burst", str(qps * 2)]
    env = dict(os.environ)
    if name == RAMP:
        command = [sys.executable, "-m", "ramp.cli.main", "controller", *common, "--bind-address", "127.0.0.1"]
    else:
        command = [str(options.argo_binary), *common]
        env["POD_NAMESPACE"] = namespace  # where upstream looks for its ConfigMaps and notification Secret
    log = cluster.paths.logs / f"bench-compare-{name}-{namespace}.log"
    with log.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    controller = Controller(name, process, metrics, log, time.monotonic())
    if wait_ready:
        deadline = time.monotonic() + 300
        while READY[name] not in log.read_text(errors="replace"):
            check_alive(controller)
            if time.monotonic() > deadline:
                raise SystemExit(f"{name} controller not ready after 300 s; log {log}")
            time.sleep(0.1)
    return controller


def check_alive(controller: Controller) -> None:
    if controller.process.poll() is not None:
        tail = controller.log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{controller.name} controller exited ({controller.log}):\n{tail}")


def new_namespace(cluster: LocalCluster, kind: str) -> str:
    namespace = f"bench-cmp-{kind}-{uuid.uuid4().hex[:6]}"
    cluster.run_kubectl("create", "namespace", namespace)
    # Pods are refused until the namespace's default ServiceAccount exists.
    deadline = time.monotonic() + 60
    while not cluster.run_kubectl("get", "serviceaccount", "default", "-n", namespace, check=False):
        if time.monotonic() > deadline:
            raise SystemExit(f"no default ServiceAccount in {namespace}")
        time.sleep(0.2)
    return namespace


def _rollout(index: int, namespace: str, replicas: int, steps: list[dict[str, Any]] | None) -> dict[str, Any]:
    name = f"bench-{index:05d}"
    canary: dict[str, Any] = {} if steps is None else {"steps": steps}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name, "labels": {INSTANCE_LABEL: namespace}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": OLD_IMAGE}]},
            },
            "strategy": {"canary": canary},
        },
    }


def _web_template(url: str, namespace: str) -> dict[str, Any]:
    metric = {
        "name": "ok",
        "interval": "1s",
        "count": 2,
        "successCondition": "result == 1",
        "provider": {"web": {"url": url + "/ok", "jsonPath": "{$.ok}"}},
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "web", "labels": {INSTANCE_LABEL: namespace}},
        "spec": {"metrics": [metric]},
    }


CANARY_STEPS: list[dict[str, Any]] = [
    {"setWeight": 50},
    {"pause": {"duration": "1s"}},
    {"analysis": {"templates": [{"templateName": "web"}]}},
]


async def _retry(call: Callable[[], Awaitable[Any]], limit: float = 300.0) -> Any:
    """`call()`, tried again while the API server is briefly unavailable (a 5xx or 429, or no connection: a shared
    cluster's apiserver restarting), for at most `limit` seconds."""
    deadline = time.monotonic() + limit
    while True:
        try:
            return await call()
        except (ApiError, httpx.TransportError) as problem:
            transient = not isinstance(problem, ApiError) or problem.code >= 500 or problem.code == 429
            if not transient or time.monotonic() > deadline:
                raise
            print(f"  (API server unavailable, trying again: {problem})", file=sys.stderr)
            await asyncio.sleep(1.0)


async def _list(client: KubeClient, namespace: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await _retry(lambda: client.list(ROLLOUTS, namespace)))["items"]
    return items


def _is_current(rollout: dict[str, Any]) -> bool:
    status = rollout.get("status") or {}
    return bool(status.get("observedGeneration") == str(rollout["metadata"].get("generation")))


def _is_healthy(rollout: dict[str, Any], old_hash: str | None = None) -> bool:
    status = rollout.get("status") or {}
    return (
        _is_current(rollout)
        and status.get("phase") == "Healthy"
        and (old_hash is None or status.get("stableRS") == status.get("currentPodHash") != old_hash)
    )


async def _wait_for(
    client: KubeClient,
    namespace: str,
    n: int,
    controller: Controller,
    limit: float,
    old_hashes: dict[str, str] | None = None,
) -> tuple[float | None, float | None]:
    """Poll the namespace's Rollouts until all n are Healthy (on a new hash when `old_hashes` is given); the
    monotonic times at which every Rollout was first reconciled and all were Healthy (None: not within `limit` s)."""
    interval = max(0.5, n / 4000)
    deadline = time.monotonic() + limit
    reconciled_at = None
    while time.monotonic() < deadline:
        check_alive(controller)
        items = await _list(client, namespace)
        now = time.monotonic()
        if reconciled_at is None and len(items) >= n and all(_is_current(r) for r in items):
            reconciled_at = now
        hashes = old_hashes or {}
        healthy = sum(1 for r in items if _is_healthy(r, hashes.get(r["metadata"]["name"]) if hashes else None))
        if healthy >= n:
            return reconciled_at or now, now
        await asyncio.sleep(interval)
    print(f"  {controller.name}: timed out after {limit:.0f}s", file=sys.stderr)
    return reconciled_at, None


def _reconciled_names(port: int) -> int:
    """How many Rollouts the controller has reconciled since it started: `rollout_reconcile` series (a
    histogram per namespace and name, exported by both controllers) with a count above zero."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=60).text
    except httpx.HTTPError:
        return 0  # not serving yet
    series = (line for line in text.splitlines() if line.startswith("rollout_reconcile_count{"))
    return sum(1 for line in series if float(line.rsplit(" ", 1)[1]) > 0)


# Polling /metrics costs the controller a scrape each time (tens of MB of text at 20,000 Rollouts): the bench
# waits at least SCRAPE_SHARE_INVERSE times a scrape's duration between two, so its own polling takes at most a
# fifth of the controller's time, whichever controller it is (a Prometheus server scrapes every 15-30 s). The cost
# of one scrape is reported in its own row.
POLL_INTERVAL = 0.25
SCRAPE_SHARE_INVERSE = 4


async def _wait_reconciled(controller: Controller, n: int, limit: float) -> float | None:
    """Seconds from the controller's start until every one of the n Rollouts was reconciled (None: not in time)."""
    deadline = controller.started + limit
    while time.monotonic() < deadline:
        check_alive(controller)
        asked = time.monotonic()
        if await asyncio.to_thread(_reconciled_names, controller.metrics_port) >= n:
            return time.monotonic() - controller.started
        await asyncio.sleep(max(POLL_INTERVAL, SCRAPE_SHARE_INVERSE * (time.monotonic() - asked)))
    print(f"  {controller.name}: not every Rollout reconciled after {limit:.0f}s", file=sys.stderr)
    return None


def _scrape_cost(controller: Controller, scrapes: int = 3) -> float:
    """The controller's CPU seconds for one /metrics scrape (the mean of a few, while it is otherwise idle)."""
    before = cpu_seconds(controller.pid)
    for _ in range(scrapes):
        httpx.get(f"http://127.0.0.1:{controller.metrics_port}/metrics", timeout=60)
    return (cpu_seconds(controller.pid) - before) / scrapes


async def _events_kept(client: KubeClient, namespace: str) -> int:
    """Events about Rollouts the namespace holds (those the controller records; not kube-controller-manager's or
    the scheduler's about pods and ReplicaSets), each counted as often as it happened (a repeat is one object)."""
    items = (await client.list(EVENTS, namespace))["items"]
    about_rollouts = (item for item in items if (item.get("involvedObject") or {}).get("kind") == "Rollout")
    return sum(int(item.get("count") or 1) for item in about_rollouts)


def _requests(settled: Any) -> float:
    return float(sum(settled.requests.values()))


# Requests per update by kind and verb, per (workload, controller): printed under the table, kept in the JSON.
BREAKDOWNS: dict[str, dict[str, dict[str, float]]] = {}


def _breakdown(after: Any, before: Any, n: int) -> dict[str, float]:
    counts: dict[str, float] = {}
    for (kind, verb, _status), value in (after.requests - before.requests).items():
        what = f"{_kind_shown(kind)} {verb}"
        counts[what] = counts.get(what, 0.0) + value / n
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def _kind_shown(kind: str) -> str:
    """The `kind` label as printed: upstream labels some requests with the object's name (one series per bench
    Rollout) or with nothing; those are summed under one name each so the breakdown stays a line."""
    if kind.startswith("bench-"):
        return "(object name as kind)"
    return kind or "(no kind)"


async def _update_workload(
    options: argparse.Namespace, cluster: LocalCluster, name: str, kind: str, n: int
) -> dict[str, float | None]:
    """rolling-N or canary-N for one controller: first deploy, then every image changed at once."""
    namespace = new_namespace(cluster, kind)
    endpoint = analysis_abort.Endpoint() if kind == "canary" else None
    controller = start_controller(name, options, cluster, namespace, options.qps)
    figures: dict[str, float | None] = {}
    try:
        async with KubeClient(load_config(str(cluster.kubeconfig)), qps=0, burst=0, field_manager="bench") as client:
            if endpoint is not None:
                await client.create(ANALYSIS_TEMPLATES, _web_template(endpoint.url, namespace), namespace)
            steps = CANARY_STEPS if kind == "canary" else None
            started = time.monotonic()
            await _bounded(
                100,
                [
                    lambda i=i: _retry(lambda: client.create(ROLLOUTS, _rollout(i, namespace, 2, steps), namespace))
                    for i in range(n)
                ],
            )
            _, healthy_at = await _wait_for(client, namespace, n, controller, options.timeout)
            figures["first deploy: all Healthy"] = None if healthy_at is None else healthy_at - started
            if healthy_at is None:
                return figures
            before, _ = await _settled(controller.metrics_port)
            items = await _list(client, namespace)
            old_hashes = {r["metadata"]["name"]: r["status"]["currentPodHash"] for r in items}
            patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": NEW_IMAGE}]}}}}
            events_before = await _events_kept(client, namespace)
            cpu_before = cpu_seconds(controller.pid)
            started = time.monotonic()
            await _bounded(
                200, [lambda r=r: _retry(lambda: client.patch(ROLLOUTS, r, patch, namespace)) for r in old_hashes]
            )
            _, healthy_at = await _wait_for(client, namespace, n, controller, options.timeout, old_hashes)
            cpu_after = cpu_seconds(controller.pid)
            if healthy_at is not None:
                figures["update: all Healthy"] = healthy_at - started
                figures["update: controller CPU"] = cpu_after - cpu_before
                after, _ = await _settled(controller.metrics_port)
                figures["update: API requests per Rollout"] = (_requests(after) - _requests(before)) / n
                counts = _breakdown(after, before, n)
                BREAKDOWNS.setdefault(f"{kind}-{n}", {})[name] = counts
                event_requests = sum(value for what, value in counts.items() if what.startswith("events "))
                figures["update: API requests per Rollout, events aside"] = (
                    figures["update: API requests per Rollout"] - event_requests
                )
                figures["update: events kept per Rollout"] = (await _events_kept(client, namespace) - events_before) / n
        figures["peak RSS"] = memory_mib(controller.pid)[1]
    finally:
        stop(controller.process)
        if endpoint is not None:
            endpoint.server.shutdown()
        cluster.run_kubectl("delete", "namespace", namespace, "--timeout=30m", check=False)
    return figures


async def _steady_workload(
    options: argparse.Namespace, cluster: LocalCluster, name: str, n: int
) -> dict[str, float | None]:
    """steady-N for one controller: N Rollouts exist, the controller starts, brings them to Healthy, idles."""
    namespace = new_namespace(cluster, "steady")
    figures: dict[str, float | None] = {}
    controller = None
    try:
        async with KubeClient(load_config(str(cluster.kubeconfig)), qps=0, burst=0, field_manager="bench") as client:
            replicas = options.steady_replicas
            await _bounded(
                100,
                [
                    lambda i=i: _retry(
                        lambda: client.create(ROLLOUTS, _rollout(i, namespace, replicas, None), namespace)
                    )
                    for i in range(n)
                ],
            )
            controller = start_controller(name, options, cluster, namespace, options.first_deploy_qps, wait_ready=False)
            reconciled_at, healthy_at = await _wait_for(client, namespace, n, controller, options.timeout)
            cpu_busy = cpu_seconds(controller.pid)
            figures["every Rollout reconciled"] = None if reconciled_at is None else reconciled_at - controller.started
            figures["all Healthy"] = None if healthy_at is None else healthy_at - controller.started
            figures["CPU to all Healthy"] = cpu_busy if healthy_at is not None else None
        if healthy_at is not None:
            await asyncio.sleep(options.settle)
            idle_from = cpu_seconds(controller.pid)
            await asyncio.sleep(options.idle)
            figures["idle CPU"] = (cpu_seconds(controller.pid) - idle_from) / options.idle * 100
            figures["RSS when idle"] = memory_mib(controller.pid)[0]
        figures["peak RSS"] = memory_mib(controller.pid)[1]
        if healthy_at is not None:
            # The steady state proper: the controller restarts over N Healthy Rollouts (an upgrade, a failover).
            stop(controller.process)
            controller = start_controller(name, options, cluster, namespace, options.first_deploy_qps, wait_ready=False)
            reconciled = await _wait_reconciled(controller, n, options.timeout)
            figures["restart: every Rollout reconciled"] = reconciled
            figures["restart: CPU to every Rollout reconciled"] = cpu_seconds(controller.pid)
            await asyncio.sleep(options.settle)
            idle_from = cpu_seconds(controller.pid)
            await asyncio.sleep(options.idle)
            figures["restart: idle CPU"] = (cpu_seconds(controller.pid) - idle_from) / options.idle * 100
            figures["restart: RSS when idle"], figures["restart: peak RSS"] = memory_mib(controller.pid)
            figures["restart: CPU per /metrics scrape"] = await asyncio.to_thread(_scrape_cost, controller)
    finally:
        if controller is not None:
            stop(controller.process)
        # Only the last controller's namespace may be left deleting: the next controller must not run beside it.
        last = name == parse_controllers(options.controllers)[-1]
        waiting = ["--wait=false"] if options.no_cleanup_wait and last else ["--timeout=60m"]
        cluster.run_kubectl("delete", "namespace", namespace, *waiting, check=False)
    return figures


async def _abort_workload(options: argparse.Namespace, cluster: LocalCluster, name: str) -> dict[str, float | None]:
    namespace = new_namespace(cluster, "abort")
    endpoint = analysis_abort.Endpoint()
    controller = start_controller(name, options, cluster, namespace, options.qps)
    labels = {INSTANCE_LABEL: namespace}
    try:
        async with KubeClient(load_config(str(cluster.kubeconfig)), qps=0, burst=0, field_manager="bench") as client:
            await client.create(ANALYSIS_TEMPLATES, analysis_abort._template(endpoint.url, labels), namespace)
            trials = [
                await analysis_abort._trial(client, namespace, endpoint, i, labels) for i in range(options.trials)
            ]
    finally:
        stop(controller.process)
        endpoint.server.shutdown()
        cluster.run_kubectl("delete", "namespace", namespace, "--timeout=10m", check=False)
    values = [trial["canary at 0"] for trial in trials]
    return {
        "failing measurement -> canary at 0 (median)": statistics.median(values),
        "failing measurement -> canary at 0 (max)": max(values),
        "failing measurement -> AnalysisRun Failed (median)": statistics.median(t["run failed"] for t in trials),
    }


def run_workload(
    options: argparse.Namespace, cluster: LocalCluster, workload: str, name: str
) -> dict[str, float | None]:
    kind, _, size = workload.partition("-")
    print(f"{workload}: {name} ...", file=sys.stderr, flush=True)
    if kind in ("rolling", "canary"):
        return asyncio.run(_update_workload(options, cluster, name, kind, int(size)))
    if kind == "steady":
        return asyncio.run(_steady_workload(options, cluster, name, int(size)))
    return asyncio.run(_abort_workload(options, cluster, name))


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cpus, {memory:.0f} GiB, python {sys.version.split()[0]}, Argo Rollouts {upstream.VERSION},"
        f" {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--only", default="", help="Comma-separated workloads or kinds (rolling, canary, steady, abort)."
    )
    parser.add_argument(
        "--sizes", default="", help="Comma-separated sizes for rolling, canary and steady (default: the issue's)."
    )
    parser.add_argument("--controllers", default="ramp,argo", help="Which controllers run, in this order.")
    parser.add_argument("--json", type=Path, default=None, help="Also write the rows and the machine to this file.")
    parser.add_argument("--qps", type=int, default=40, help="Both controllers' --qps (burst twice that).")
    parser.add_argument("--first-deploy-qps", type=int, default=200, help="--qps for the steady-state workloads.")
    parser.add_argument("--steady-replicas", type=int, default=0, help="Replicas of each steady-state Rollout.")
    parser.add_argument("--trials", type=int, default=5, help="Trials of the abort workload.")
    parser.add_argument("--settle", type=float, default=10.0, help="Seconds after all Healthy before idle CPU.")
    parser.add_argument("--idle", type=float, default=30.0, help="Seconds idle CPU is measured over.")
    parser.add_argument("--timeout", type=float, default=3600.0, help="Seconds to wait for each phase.")
    parser.add_argument(
        "--no-cleanup-wait",
        action="store_true",
        help="Do not wait for the last controller's steady-state namespace to be deleted (for a run's last workload "
        "only: the deletion of its objects goes on beside whatever runs next).",
    )
    options = parser.parse_args()
    try:
        controllers = parse_controllers(options.controllers)
        sizes = dict(DEFAULT_SIZES)
        if options.sizes:
            chosen = [int(part) for part in options.sizes.split(",") if part.strip()]
            sizes = {kind: chosen for kind in DEFAULT_SIZES}
        workloads = select(workload_names(KINDS, sizes), [p.strip() for p in options.only.split(",") if p.strip()])
    except ValueError as problem:
        parser.error(str(problem))
    if ARGO in controllers:
        options.argo_binary = upstream.ensure_controller(LocalCluster().paths)
    cluster = LocalCluster()

    def progress(step: BuildProgress) -> None:
        if step.done:
            print(f"cluster: {step.step} {step.line}", file=sys.stderr)

    cluster.up(progress, nodes=nodes_for(workloads, options.steady_replicas))
    install_crds(cluster)
    rows: list[Row] = []
    for workload in workloads:
        results = {name: run_workload(options, cluster, workload, name) for name in controllers}
        metrics = list(dict.fromkeys(metric for figures in results.values() for metric in figures))
        for metric in metrics:
            row = Row(workload, metric, unit_of(metric))
            row.ramp = results.get(RAMP, {}).get(metric)
            row.argo = results.get(ARGO, {}).get(metric)
            rows.append(row)
        print(table([row for row in rows if row.workload == workload]), file=sys.stderr, flush=True)
        for name, counts in BREAKDOWNS.get(workload, {}).items():
            shown = ", ".join(f"{what} {value:.2f}" for what, value in counts.items())
            print(f"{workload} {name}: requests per update: {shown}", file=sys.stderr, flush=True)
    about = machine()
    print(f"\nRamp against Argo Rollouts ({about}; --qps {options.qps}, steady state --qps {options.first_deploy_qps})")
    print(table(rows))
    print(summary(rows))
    if options.json is not None:
        document = {
            "machine": about,
            "options": {k: str(v) for k, v in vars(options).items()},
            "rows": [r.as_json() for r in rows],
            "requests_per_update": BREAKDOWNS,
        }
        options.json.parent.mkdir(parents=True, exist_ok=True)
        options.json.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
