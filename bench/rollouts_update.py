"""Benchmark: update the image of N Rollouts at once and wait until every one is Healthy again.

Setup: the local cluster (`LocalCluster().up()`, with enough kwok nodes for the pods: 110 pods per node), a
fresh namespace, `ramp controller --namespaced --namespace <ns> --leader-elect=false` as its own process, and
N canary Rollouts with no steps (a rolling update: replicas 2, maxSurge 1, maxUnavailable 0) created at once
and brought to Healthy. Then every Rollout's image is changed by concurrent merge patches (async `KubeClient`,
no client-side rate limit), and the update phase lasts until every Rollout is Healthy again: phase Healthy,
observedGeneration == metadata.generation, stableRS == currentPodHash, and currentPodHash changed.

How to read what it prints (all for the update phase):
- first / all Healthy: seconds from the first patch to the first and to the last Rollout Healthy.
- milestones: each Rollout's update is a chain (with maxSurge 1 and maxUnavailable 0, each new pod must be
  available before an old one goes): Ramp creates and scales the new ReplicaSet, kube-controller-manager (kcm)
  creates its pod, kube-scheduler binds it, kwok makes it Ready, kcm writes the ReplicaSet's availableReplicas,
  Ramp scales the old ReplicaSet down, kcm deletes its pod and writes status.replicas, ... Ramp marks Healthy.
  Each is stamped when this process's watch (Rollouts, ReplicaSets, pods) first shows it; the table gives
  first / p50 / p90 / last over the N Rollouts, in seconds after the first patch.
- waiting on each actor: per Rollout, every gap between consecutive milestones is charged to whoever acted
  next; the five sums add up to that Rollout's whole update. Waiting includes the actor's queues and its
  client-side rate limit: kcm's --kube-api-qps is 20 (burst 30), Ramp's --qps 40 (burst 80).
- controller API requests per rollout update: `controller_clientset_k8s_request_total` from the controller's
  /metrics, all series summed, after minus before, divided by N; read once the counters have stopped moving
  after the last Healthy. By kind, verb and status code (the label set has no subresource: a status patch is
  "rollouts Patch"); 409s are conflicts.
- reconciles per rollout update: sum of `rollout_reconcile_count`, the same way; and the events recorded.
- CPU seconds (user+sys from /proc/<pid>/stat) over the update phase of the controller, of each cluster
  component and of this process (all share the machine's cores), and the controller's RSS and peak (VmHWM).
- the cluster components' own counters (kcm's requests, the time its requests waited in its rate limiter, its
  ReplicaSet work queue; the scheduler's), which cover the whole cluster, so other users of it show up there;
  and the WARN/ERROR lines of the controller's log and the E/W lines of kcm, scheduler and apiserver about the
  namespace. The controller log's path is printed.

Nothing asserts on the figures. Run: `.venv/bin/python bench/rollouts_update.py --rollouts 100` (`--keep` keeps
the namespace; `--qps` is passed to the controller, burst twice that).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from process import cpu_seconds, free_port, memory_mib
from ramp.cli.demo import install_crds
from ramp.kube.client import KubeClient
from ramp.kube.config import load_config
from ramp.kube.errors import ApiError
from ramp.kube.resources import PODS, REPLICA_SETS, ROLLOUTS, Resource
from ramp.localcluster.build import BuildProgress
from ramp.localcluster.cluster import COMPONENTS, LocalCluster

PODS_PER_NODE = 110  # kwok's default node capacity
REPLICAS = 2
OLD_IMAGE, NEW_IMAGE = "nginx:1.27", "nginx:1.28"
HASH_LABEL = "rollouts-pod-template-hash"
REQUESTS = "controller_clientset_k8s_request_total"
CLUSTER_LOGS = ("kube-controller-manager", "kube-scheduler", "kube-apiserver")
_LABELS = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def _rollout(index: int) -> dict[str, Any]:
    name = f"bench-{index:05d}"
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name},
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": OLD_IMAGE}]},
            },
            "strategy": {"canary": {}},
        },
    }


def _secure_port(pid: int | None) -> int | None:
    """The --secure-port of a cluster component (its /metrics is open to anyone there)."""
    if pid is None:
        return None
    for arg in Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0"):
        if arg.startswith("--secure-port="):
            return int(arg.split("=", 1)[1])
    return None


def _scrape_component(port: int | None) -> Counter[str]:
    """kube-controller-manager's or kube-scheduler's own counters: API requests by method, time spent in the
    client-side rate limiter (--kube-api-qps), the ReplicaSet work queue, scheduling attempts."""
    totals: Counter[str] = Counter()
    if port is None:
        return totals
    try:
        text = httpx.get(f"https://127.0.0.1:{port}/metrics", verify=False, timeout=30).text
    except httpx.HTTPError:
        return totals
    for line in text.splitlines():
        if line.startswith("#") or "{" not in line:
            continue
        name, rest = line.split("{", 1)
        labels = dict(_LABELS.findall(rest.rsplit("}", 1)[0]))
        value = float(line.rsplit(" ", 1)[1])
        if name == "rest_client_requests_total":
            totals[f"requests {labels.get('method')} {labels.get('code')}"] += value
        elif name == "rest_client_rate_limiter_duration_seconds_sum":
            totals["throttled seconds"] += value
        elif name == "rest_client_rate_limiter_duration_seconds_count":
            totals["throttled count"] += value
        elif name.startswith("workqueue_") and labels.get("name") == "replicaset":
            totals[name.removeprefix("workqueue_")] += value
        elif name == "scheduler_schedule_attempts_total":
            totals[f"schedule attempts {labels.get('result')}"] += value
    return totals


@dataclass
class Metrics:
    """The controller's counters that this benchmark reads, at one moment."""

    requests: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (kind, verb, status) -> count
    reconciles: float = 0.0
    reconcile_errors: float = 0.0
    retries: float = 0.0
    events: Counter[str] = field(default_factory=Counter)  # reason -> count

    def totals(self) -> tuple[float, float]:
        return sum(self.requests.values()), self.reconciles

    def minus(self, before: Metrics) -> Metrics:
        return Metrics(
            requests=self.requests - before.requests,
            reconciles=self.reconciles - before.reconciles,
            reconcile_errors=self.reconcile_errors - before.reconcile_errors,
            retries=self.retries - before.retries,
            events=self.events - before.events,
        )


def _scrape(port: int) -> Metrics:
    metrics = Metrics()
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text.splitlines():
        if line.startswith("#") or "{" not in line:
            continue
        name, rest = line.split("{", 1)
        labels = dict(_LABELS.findall(rest.rsplit("}", 1)[0]))
        value = float(line.rsplit(" ", 1)[1])
        if name == REQUESTS:
            metrics.requests[(labels["kind"], labels["verb"], labels["status_code"])] += int(value)
        elif name == "rollout_reconcile_count":
            metrics.reconciles += value
        elif name == "rollout_reconcile_error":
            metrics.reconcile_errors += value
        elif name == "workqueue_retries_total":
            metrics.retries += value
        elif name == "rollout_events_total":
            metrics.events[labels.get("reason", "?")] += int(value)
    return metrics


async def _settled(port: int, quiet: float = 3.0, limit: float = 30.0) -> tuple[Metrics, float]:
    """The controller's metrics once requests and reconciles stopped changing for `quiet` seconds (at most
    `limit` seconds of waiting); also how long that took."""
    started = time.monotonic()
    last = await asyncio.to_thread(_scrape, port)
    unchanged_since = time.monotonic()
    while time.monotonic() - unchanged_since < quiet and time.monotonic() - started < limit:
        await asyncio.sleep(0.5)
        now = await asyncio.to_thread(_scrape, port)
        if now.totals() != last.totals():
            unchanged_since = time.monotonic()
        last = now
    return last, time.monotonic() - started


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def _is_ready(pod: dict[str, Any]) -> bool:
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _owner(obj: dict[str, Any], kind: str) -> str | None:
    for ref in obj["metadata"].get("ownerReferences", []):
        if ref.get("kind") == kind:
            return str(ref["name"])
    return None


def milestones() -> list[tuple[str, str]]:
    """Each stage of one Rollout's update in its usual order, and who acts to reach it. With maxSurge 1 and
    maxUnavailable 0 it is a chain: each new pod must be available before an old one goes."""
    stages = [("patch answered", "api"), ("new RS created", "ramp")]
    for k in range(1, REPLICAS + 1):
        stages += [
            (f"new RS scaled to {k}", "ramp"),
            (f"new pod {k} created", "kcm"),
            (f"new pod {k} scheduled", "scheduler"),
            (f"new pod {k} Ready", "kwok"),
            (f"new RS {k} available", "kcm"),
            (f"old RS scaled to {REPLICAS - k}", "ramp"),
            (f"old RS has {REPLICAS - k} pods", "kcm"),
        ]
    return [*stages, ("Healthy", "ramp")]


MILESTONES = milestones()
ACTORS = dict(MILESTONES)


@dataclass
class Timeline:
    """When each milestone of one Rollout's update was first seen (monotonic seconds)."""

    old_hash: str
    marks: dict[str, float] = field(default_factory=dict)
    new_pods: list[str] = field(default_factory=list)  # in the order they were first seen

    def mark(self, label: str, now: float) -> None:
        self.marks.setdefault(label, now)

    def waits(self, start: float) -> Counter[str]:
        """Seconds spent waiting on each actor: every gap between consecutive milestones is charged to the
        actor of the later one (whoever had to act next). Their sum is this Rollout's whole update time."""
        charged: Counter[str] = Counter()
        previous = start
        for label, stamp in sorted(self.marks.items(), key=lambda item: item[1]):
            charged[ACTORS[label]] += max(0.0, stamp - previous)
            previous = max(previous, stamp)
        return charged


class Tracker:
    """Watches the namespace's Rollouts, ReplicaSets and pods, stamping each Rollout's milestones as they're seen."""

    def __init__(self, client: KubeClient, namespace: str, old_hashes: dict[str, str]) -> None:
        self.client = client
        self.namespace = namespace
        self.timelines = {name: Timeline(old_hash) for name, old_hash in old_hashes.items()}
        self.all_healthy = asyncio.Event()
        self._pending = set(old_hashes)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """List each kind (seeding the state) and keep watching from there."""
        for resource, handle in ((ROLLOUTS, self._rollout), (REPLICA_SETS, self._replica_set), (PODS, self._pod)):
            listed = await self.client.list(resource, self.namespace)
            now = time.monotonic()
            for item in listed["items"]:
                handle("ADDED", item, now)
            version = listed["metadata"]["resourceVersion"]
            self._tasks.append(asyncio.create_task(self._watch(resource, version, handle)))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _watch(
        self, resource: Resource, version: str, handle: Callable[[str, dict[str, Any], float], None]
    ) -> None:
        while True:
            try:
                async for event in self.client.watch(resource, self.namespace, resource_version=version):
                    kind, obj = event["type"], event["object"]
                    if kind == "ERROR":
                        raise RuntimeError(f"watch of {resource.plural} failed: {obj}")
                    version = obj["metadata"]["resourceVersion"]
                    if kind != "BOOKMARK":
                        handle(kind, obj, time.monotonic())
            except (httpx.TransportError, ApiError) as problem:
                print(f"  (watch of {resource.plural} restarted: {problem})", file=sys.stderr)
                await asyncio.sleep(0.2)

    def _rollout(self, kind: str, rollout: dict[str, Any], now: float) -> None:
        name = rollout["metadata"]["name"]
        timeline = self.timelines.get(name)
        if timeline is None or "Healthy" in timeline.marks or kind == "DELETED":
            return
        status = rollout.get("status", {})
        if (
            status.get("phase") == "Healthy"
            and status.get("observedGeneration") == str(rollout["metadata"].get("generation"))
            and status.get("stableRS") == status.get("currentPodHash") != timeline.old_hash
        ):
            timeline.mark("Healthy", now)
            self._pending.discard(name)
            if not self._pending:
                self.all_healthy.set()

    def _replica_set(self, kind: str, rs: dict[str, Any], now: float) -> None:
        timeline = self.timelines.get(_owner(rs, "Rollout") or "")
        if timeline is None:
            return
        gone = kind == "DELETED"
        spec = 0 if gone else rs["spec"].get("replicas", 1)
        status = rs.get("status", {})
        if rs["metadata"].get("labels", {}).get(HASH_LABEL) != timeline.old_hash:
            if not gone:
                timeline.mark("new RS created", now)
            for k in range(1, min(spec, REPLICAS) + 1):
                timeline.mark(f"new RS scaled to {k}", now)
            for k in range(1, min(status.get("availableReplicas", 0), REPLICAS) + 1):
                timeline.mark(f"new RS {k} available", now)
            return
        for k in range(spec, REPLICAS):
            timeline.mark(f"old RS scaled to {k}", now)
        for k in range(0 if gone else status.get("replicas", 0), REPLICAS):
            timeline.mark(f"old RS has {k} pods", now)

    def _pod(self, kind: str, pod: dict[str, Any], now: float) -> None:
        labels = pod["metadata"].get("labels", {})
        timeline = self.timelines.get(labels.get("app", ""))
        if timeline is None or kind == "DELETED" or labels.get(HASH_LABEL) == timeline.old_hash:
            return
        name = pod["metadata"]["name"]
        if name not in timeline.new_pods:
            timeline.new_pods.append(name)
        k = timeline.new_pods.index(name) + 1
        if k > REPLICAS:
            return
        timeline.mark(f"new pod {k} created", now)
        if pod["spec"].get("nodeName"):
            timeline.mark(f"new pod {k} scheduled", now)
        if _is_ready(pod):
            timeline.mark(f"new pod {k} Ready", now)


async def _bounded(limit: int, calls: Iterable[Callable[[], Awaitable[Any]]]) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await call()

    return await asyncio.gather(*(one(call) for call in calls))


async def _wait_all_healthy(client: KubeClient, namespace: str, n: int, limit: float) -> float:
    started = time.monotonic()
    while True:
        items = (await client.list(ROLLOUTS, namespace))["items"]
        healthy = sum(
            1
            for r in items
            if r.get("status", {}).get("phase") == "Healthy"
            and r["status"].get("observedGeneration") == str(r["metadata"].get("generation"))
        )
        if healthy >= n:
            return time.monotonic() - started
        if time.monotonic() - started > limit:
            raise SystemExit(f"setup: only {healthy}/{n} rollouts Healthy after {limit:.0f}s")
        await asyncio.sleep(1)


def _log_problems(text: str) -> tuple[Counter[str], int]:
    """WARN/ERROR lines of the controller's log by message (fields dropped), and lines mentioning a conflict."""
    problems: Counter[str] = Counter()
    conflicts = 0
    for line in text.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[1] in ("WARN", "ERROR"):
            message = re.split(r" \w+=", parts[2], maxsplit=1)[0]
            problems[f"{parts[1]} {message}"] += 1
        if re.search(r"conflict|\b409\b", line, re.IGNORECASE):
            conflicts += 1
    return problems, conflicts


def _component_problems(text: str, namespace: str) -> Counter[str]:
    """klog error and warning lines of a cluster component about this namespace, by message (names and numbers
    replaced), e.g. kube-controller-manager's ReplicaSet syncs that failed and were requeued with backoff."""
    problems: Counter[str] = Counter()
    for line in text.splitlines():
        if line[:1] in ("E", "W") and namespace in line:
            message = line.split("] ", 1)[-1].replace(namespace, "<ns>")
            message = re.sub(r"<ns>/[\w.-]+", "<ns>/<name>", message)
            problems[f"{line[0]} {re.sub(r'[0-9]+', 'N', message)}"] += 1
    return problems


@dataclass
class Results:
    n: int
    patch_seconds: float = 0.0
    patch_errors: int = 0
    timelines: dict[str, Timeline] = field(default_factory=dict)
    update_start: float = 0.0
    all_healthy_at: float | None = None
    at_healthy: Metrics = field(default_factory=Metrics)
    settled: Metrics = field(default_factory=Metrics)
    settle_seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    rss: tuple[float, float] = (0.0, 0.0)
    log_problems: Counter[str] = field(default_factory=Counter)
    log_conflicts: int = 0
    component_problems: dict[str, Counter[str]] = field(default_factory=dict)
    component_metrics: dict[str, Counter[str]] = field(default_factory=dict)


def start_controller(
    options: argparse.Namespace, cluster: LocalCluster, namespace: str, log_path: Path
) -> tuple[subprocess.Popen[bytes], int]:
    """`ramp controller` for the namespace as its own process, once its workers run; and its metrics port."""
    healthz, port = free_port(), free_port()
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
        "--healthzPort",
        str(healthz),
        "--metricsport",
        str(port),
        "--bind-address",
        "127.0.0.1",
    ]
    if options.qps is not None:
        command += ["--qps", str(options.qps), "--burst", str(max(1, int(options.qps * 2)))]
    with log_path.open("w") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    while "workers started" not in log_path.read_text():
        if process.poll() is not None:
            raise SystemExit(f"controller exited: {log_path.read_text()[-3000:]}")
        time.sleep(0.1)
    return process, port


def _start_profiler(path: str, pid: int) -> subprocess.Popen[bytes]:
    """py-spy sampling the controller (collapsed stacks, one line per stack) until it is sent SIGINT."""
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "--pid", str(pid), "--format", "raw", "--rate", "200", "--nonblocking", "-o", path]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _log_size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _read_from(path: Path, offset: int) -> str:
    if not path.exists():
        return ""
    with path.open(errors="replace") as log:
        log.seek(offset)
        return log.read()


async def run(
    options: argparse.Namespace, cluster: LocalCluster, namespace: str, log_path: Path, controller_pid: int, port: int
) -> tuple[Results, int]:
    """Setup and update phases; returns the results and the controller log's size when the update began."""
    n = options.rollouts
    config = load_config(str(cluster.kubeconfig))
    async with KubeClient(config, qps=0, burst=0, field_manager="bench") as client:
        # Setup: create every Rollout at once and let the controller bring them to Healthy.
        started = time.monotonic()
        await _bounded(100, [lambda i=i: client.create(ROLLOUTS, _rollout(i), namespace) for i in range(n)])
        created = time.monotonic() - started
        healthy = await _wait_all_healthy(client, namespace, n, options.timeout)
        print(f"setup: {n} rollouts created in {created:.1f}s, all Healthy {created + healthy:.1f}s after the first")
        before, waited = await _settled(port)
        print(f"setup: the controller went quiet {waited:.1f}s later", flush=True)

        items = (await client.list(ROLLOUTS, namespace))["items"]
        old_hashes = {r["metadata"]["name"]: r["status"]["currentPodHash"] for r in items}
        tracker = Tracker(client, namespace, old_hashes)
        await tracker.start()
        log_offset = _log_size(log_path)
        component_logs = {name: cluster.directory / "logs" / f"{name}.log" for name in CLUSTER_LOGS}
        component_offsets = {name: _log_size(path) for name, path in component_logs.items()}
        pids = {"ramp controller": controller_pid} | {name: cluster.component_pid(name) for name in COMPONENTS}
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        own_before = sum(os.times()[:2])
        ports = {name: _secure_port(pids[name]) for name in ("kube-controller-manager", "kube-scheduler")}
        components_before = {name: await asyncio.to_thread(_scrape_component, p) for name, p in ports.items()}

        profiler = _start_profiler(options.profile, controller_pid) if options.profile else None
        # The update: every image at once.
        patch = {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": NEW_IMAGE}]}}}}
        results = Results(n, timelines=tracker.timelines)

        async def update(name: str) -> None:
            try:
                await client.patch(ROLLOUTS, name, patch, namespace)
            except (ApiError, httpx.TransportError) as problem:
                results.patch_errors += 1
                print(f"  patch {name} failed: {problem}", file=sys.stderr)
            tracker.timelines[name].mark("patch answered", time.monotonic())

        results.update_start = time.monotonic()
        await asyncio.gather(*(update(name) for name in old_hashes))
        results.patch_seconds = time.monotonic() - results.update_start
        try:
            await asyncio.wait_for(tracker.all_healthy.wait(), options.timeout)
            results.all_healthy_at = time.monotonic()
        except TimeoutError:
            print(f"  timed out after {options.timeout:.0f}s", file=sys.stderr)
        # CPU over the update phase only (to the last Healthy), not the settling wait.
        end = results.all_healthy_at or time.monotonic()
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        cpu_after = {name: cpu_seconds(pid) for name, pid in pids.items()}
        results.cpu = {name: cpu_after[name] - cpu_before[name] for name in pids}
        results.cpu["this benchmark"] = sum(os.times()[:2]) - own_before
        results.cpu["(update phase, wall)"] = end - results.update_start
        for name, component_port in ports.items():
            after = await asyncio.to_thread(_scrape_component, component_port)
            after.subtract(components_before[name])
            results.component_metrics[name] = after
        results.at_healthy = (await asyncio.to_thread(_scrape, port)).minus(before)
        settled, results.settle_seconds = await _settled(port)
        results.settled = settled.minus(before)
        await tracker.stop()
        for name, path in component_logs.items():
            text = await asyncio.to_thread(_read_from, path, component_offsets[name])
            results.component_problems[name] = _component_problems(text, namespace)
    return results, log_offset


def _row(label: str, values: list[float], n: int, unit: str = "") -> str:
    if not values:
        return f"    {label:<34} (none seen)"
    missing = f"  ({n - len(values)} never)" if len(values) < n else ""
    cells = (min(values), _percentile(values, 0.5), _percentile(values, 0.9), max(values))
    return f"    {label:<34}" + "".join(f" {v:7.2f}{unit}" for v in cells) + missing


def report(results: Results, options: argparse.Namespace, log_path: Path, nodes: int) -> None:
    n, start = results.n, results.update_start
    timelines = results.timelines
    healthy = [t.marks["Healthy"] for t in timelines.values() if "Healthy" in t.marks]
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(
        f"\nrollouts update: {n} canary Rollouts without steps, replicas {REPLICAS}, {OLD_IMAGE} -> {NEW_IMAGE}"
        f" (python {sys.version.split()[0]}, {os.cpu_count()} cpus, {memory:.0f} GiB, {nodes} kwok nodes,"
        f" controller --qps {options.qps if options.qps is not None else '40 (default)'})"
    )
    print(f"  patches sent and answered    {results.patch_seconds:.2f}s ({results.patch_errors} failed)")
    if healthy:
        print(f"  first Healthy                {min(healthy) - start:.2f}s after the first patch")
    if results.all_healthy_at is not None:
        print(f"  all Healthy                  {results.all_healthy_at - start:.2f}s after the first patch")
    else:
        print(f"  all Healthy                  NOT reached: {len(healthy)}/{n} within {options.timeout:.0f}s")

    print("\n  milestones, seconds after the first patch   first     p50     p90    last")
    for label, actor in MILESTONES:
        values = [t.marks[label] - start for t in timelines.values() if label in t.marks]
        print(_row(f"{label} ({actor})", values, n))

    waits = {name: t.waits(start) for name, t in timelines.items() if "Healthy" in t.marks}
    if waits:
        print("\n  per rollout, seconds spent waiting on each actor    min     p50     p90     max   (mean share)")
        whole = sum(sum(w.values()) for w in waits.values()) or 1.0
        for actor in dict.fromkeys(ACTORS.values()):
            values = [w[actor] for w in waits.values()]
            print(_row(actor, values, len(waits)) + f"   ({sum(values) / whole * 100:4.1f}%)")
        name = max(waits, key=lambda key: sum(waits[key].values()))
        marks = sorted(timelines[name].marks.items(), key=lambda item: item[1])
        print(f"  slowest rollout {name} ({sum(waits[name].values()):.1f}s):")
        print("    " + ", ".join(f"{label} {stamp - start:.1f}" for label, stamp in marks))
    for what in ("created", "scheduled", "Ready"):
        stamps = sorted(
            t.marks[f"new pod {k} {what}"]
            for t in timelines.values()
            for k in range(1, REPLICAS + 1)
            if f"new pod {k} {what}" in t.marks
        )
        if len(stamps) > 1:
            rate = (len(stamps) - 1) / max(stamps[-1] - stamps[0], 1e-9)
            print(
                f"  new pods {what:<10} {len(stamps):5d} from {stamps[0] - start:6.1f}s to {stamps[-1] - start:6.1f}s"
                f" ({rate:.1f}/s)"
            )

    settled, at_healthy = results.settled, results.at_healthy
    total = sum(settled.requests.values())
    late = total - sum(at_healthy.requests.values())
    print(
        f"\n  controller API requests      {total} = {total / n:.2f} per rollout update"
        f" ({late} of them after the last Healthy; counters still {results.settle_seconds:.1f}s later)"
    )
    by_kind_verb: Counter[str] = Counter()
    for (kind, verb, status), count in settled.requests.items():
        by_kind_verb[f"{kind} {verb} {status}"] += count
    for key, count in by_kind_verb.most_common():
        if count:
            print(f"    {key:<32} {count:6d}  {count / n:6.2f} per rollout")
    conflicts = sum(count for (_, _, status), count in settled.requests.items() if status == "409")
    print(f"  conflicts (409 answers)      {conflicts} = {conflicts / n:.2f} per rollout update")
    print(
        f"  reconciles                   {settled.reconciles:.0f} = {settled.reconciles / n:.2f} per rollout update"
        f" ({settled.reconciles - at_healthy.reconciles:.0f} after the last Healthy);"
        f" errors {settled.reconcile_errors:.0f}, work-queue retries {settled.retries:.0f}"
    )
    events = ", ".join(f"{reason} {count}" for reason, count in settled.events.most_common() if count)
    print(f"  events recorded              {events or 'none'}")
    wall = results.cpu.pop("(update phase, wall)")
    print(f"  CPU seconds (update phase, {wall:.1f}s wall; user+sys):")
    for name, seconds in results.cpu.items():
        print(f"    {name:<26} {seconds:7.2f}s  ({seconds / wall * 100:5.1f}% of one core)")
    rss, peak = results.rss
    print(f"  controller RSS               {rss:.0f} MiB now, peak (VmHWM) {peak:.0f} MiB")
    problems = sum(results.log_problems.values())
    print(f"  controller log               {log_path}")
    print(f"    during the update: {problems} WARN/ERROR lines, {results.log_conflicts} mentioning a conflict")
    for message, count in results.log_problems.most_common(8):
        print(f"    {count:6d} x {message[:150]}")
    print("  cluster components over the update phase (their counters cover the whole cluster, not only this run):")
    for name, counters in results.component_metrics.items():
        requests = {
            k.removeprefix("requests "): int(v) for k, v in sorted(counters.items()) if k.startswith("requests") and v
        }
        waited, throttled = counters["throttled seconds"], counters["throttled count"]
        print(f"    {name}: {sum(requests.values())} API requests ({sum(requests.values()) / wall:.1f}/s) {requests}")
        print(
            f"      waited in its client-side rate limiter: {waited:.1f}s in all,"
            f" {waited / max(throttled, 1) * 1000:.0f} ms per request on average"
        )
        if counters["adds_total"]:
            queued = counters["queue_duration_seconds_sum"] / max(counters["queue_duration_seconds_count"], 1)
            print(
                f"      ReplicaSet work queue: {counters['adds_total']:.0f} adds, {counters['retries_total']:.0f}"
                f" retries, {queued:.2f}s mean wait in the queue"
            )
        attempts = {k.removeprefix("schedule attempts "): int(v) for k, v in counters.items() if k.startswith("sched")}
        if attempts:
            print(f"      scheduling attempts {attempts}")
    for name, problems in results.component_problems.items():
        print(f"  {name} log: {sum(problems.values())} E/W lines about the namespace during the update")
        for message, count in problems.most_common(5):
            print(f"    {count:6d} x {message[:200]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rollouts", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=900.0, help="Seconds to wait for each phase.")
    parser.add_argument("--qps", type=float, default=None, help="The controller's --qps (burst twice that).")
    parser.add_argument("--keep", action="store_true", help="Keep the namespace (and its objects) at the end.")
    parser.add_argument("--profile", default=None, help="Sample the controller with py-spy over the update phase.")
    options = parser.parse_args()
    cluster = LocalCluster()
    # Room for every pod during the update (replicas + 1 surge each), beside whatever else runs in the cluster.
    nodes = max(4, math.ceil(options.rollouts * (REPLICAS + 1) / PODS_PER_NODE) + 1)

    def progress(step: BuildProgress) -> None:
        if step.done:
            print(f"cluster: {step.step} {step.line}", file=sys.stderr)

    cluster.up(progress, nodes=nodes)
    install_crds(cluster)  # a cluster just (re)created has none
    namespace = f"bench-update-{uuid.uuid4().hex[:6]}"
    cluster.run_kubectl("create", "namespace", namespace)
    log_path = cluster.paths.logs / f"bench-rollouts-update-{options.rollouts}.log"
    try:
        # Pods are refused until the namespace's default ServiceAccount exists.
        deadline = time.monotonic() + 60
        while not cluster.run_kubectl("get", "serviceaccount", "default", "-n", namespace, check=False):
            if time.monotonic() > deadline:
                raise SystemExit(f"no default ServiceAccount in {namespace}")
            time.sleep(0.2)
        print(f"namespace {namespace}; controller log {log_path}", flush=True)
        process, port = start_controller(options, cluster, namespace, log_path)
        try:
            results, log_offset = asyncio.run(run(options, cluster, namespace, log_path, process.pid, port))
            results.rss = memory_mib(process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        results.log_problems, results.log_conflicts = _log_problems(_read_from(log_path, log_offset))
    finally:
        if options.keep:
            print(f"kept namespace {namespace}")
        else:
            cluster.run_kubectl("delete", "namespace", namespace, "--timeout=10m", check=False)
    report(results, options, log_path, nodes)


if __name__ == "__main__":
    main()
