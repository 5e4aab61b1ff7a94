"""Benchmark: N Rollouts over R sharded replicas (`ramp controller --shards S`), and one replica's SIGKILL.

Creates N Rollouts across a few namespaces (labelled for a bench instance id, so no other controller sees
them), starts R replicas as their own processes with `--shards S`, and prints: time until the shards are spread
(every replica holds its fair share), time until every Rollout was reconciled once (from the replicas'
`rollout_reconcile_count` series), per replica its shards, Rollouts reconciled, API requests, CPU seconds and
peak RSS; then it SIGKILLs one replica and prints the time until the survivors hold every shard and until
each of the killed replica's Rollouts was reconciled by a survivor.
Run: `.venv/bin/python bench/sharding.py [--rollouts 20000 --replicas 4 --shards 4]` (the local cluster must
be up: `ramp cluster up`). The issue's workload is 20,000 Rollouts over 4 replicas; on a shared machine
check it at `--rollouts 200` first.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

import httpx
import yaml

from process import cpu_seconds, free_port, memory_mib, paused_rollout, request_counts
from ramp.cli.demo import install_crds
from ramp.localcluster.cluster import LocalCluster

NAMESPACES = 4
LEASE_NAMESPACE = "argo-rollouts"


class Replica:
    def __init__(self, name: str, cluster: LocalCluster, instance: str, shards: int) -> None:
        self.name = name
        self.metrics_port = free_port()
        self.log_path = cluster.paths.logs / f"bench-shard-{name}.log"
        command = [
            sys.executable,
            "-m",
            "ramp.cli.main",
            "controller",
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--instance-id",
            instance,
            "--shards",
            str(shards),
            "--healthzPort",
            str(free_port()),
            "--metricsport",
            str(self.metrics_port),
        ]
        with self.log_path.open("w") as sink:
            self.process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT)

    def metrics(self) -> str:
        if self.process.poll() is not None:
            raise SystemExit(f"replica {self.name} exited: {self.log_path.read_text()[-2000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=30).text
        except httpx.ConnectError:
            return ""  # not listening yet

    def shards_held(self) -> int:
        for line in self.metrics().splitlines():
            if line.startswith("controller_shards_held "):
                return int(float(line.split()[1]))
        return 0

    def reconciled(self, namespaces: set[str]) -> dict[str, float]:
        """`namespace/name` -> reconciles, of the Rollouts this replica reconciled at least once."""
        found: dict[str, float] = {}
        for line in self.metrics().splitlines():
            if not line.startswith("rollout_reconcile_count{"):
                continue
            labels = dict(part.split("=", 1) for part in line[line.index("{") + 1 : line.index("}")].split(","))
            namespace, name = labels.get("namespace", "").strip('"'), labels.get("name", "").strip('"')
            if namespace in namespaces:
                found[f"{namespace}/{name}"] = float(line.rsplit(" ", 1)[1])
        return found


def _wait(check: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rollouts", type=int, default=20_000)
    parser.add_argument("--replicas", type=int, default=4)
    parser.add_argument("--shards", type=int, default=4)
    options = parser.parse_args()
    n, shards = options.rollouts, options.shards
    cluster = LocalCluster()
    cluster.up(lambda update: None)
    install_crds(cluster)
    instance = f"bench-{uuid.uuid4().hex[:6]}"
    namespaces = [f"{instance}-{i}" for i in range(NAMESPACES)]
    replicas: list[Replica] = []
    try:
        for namespace in namespaces:
            cluster.run_kubectl("create", "namespace", namespace)
        cluster.run_kubectl("create", "namespace", LEASE_NAMESPACE, check=False)
        for start in range(0, n, 250):
            items = [paused_rollout(i, instance) for i in range(start, min(start + 250, n))]
            namespace = namespaces[(start // 250) % NAMESPACES]
            document = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items})
            cluster.run_kubectl("apply", "-n", namespace, "-f", "-", stdin=document)
        keys_by_namespace = set(namespaces)
        started = time.monotonic()
        replicas = [Replica(f"r{i}", cluster, instance, shards) for i in range(options.replicas)]
        share = math.ceil(shards / options.replicas)
        spread = _wait(
            lambda: (
                sum(r.shards_held() for r in replicas) == shards and all(r.shards_held() <= share for r in replicas)
            ),
            300,
            "the shards to spread",
        )
        every = _wait(
            lambda: len(set().union(*(set(r.reconciled(keys_by_namespace)) for r in replicas))) >= n,
            3600,
            "every rollout reconciled once",
        )
        reconciled_at = time.monotonic() - started
        rows = []
        for r in replicas:
            requests = request_counts(r.metrics_port)
            rss, peak = memory_mib(r.process.pid)
            rows.append(
                f"  {r.name}: shards {r.shards_held()}, rollouts {len(r.reconciled(keys_by_namespace))}, "
                f"requests {sum(requests.values())}, CPU {cpu_seconds(r.process.pid):.1f}s, "
                f"RSS {rss:.0f} MiB (peak {peak:.0f})"
            )
        victim, survivors = replicas[0], replicas[1:]
        victim_keys = set(victim.reconciled(keys_by_namespace))
        before = {r.name: r.reconciled(keys_by_namespace) for r in survivors}
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait(10)
        killed = time.monotonic()
        takeover = _wait(
            lambda: sum(r.shards_held() for r in survivors) == shards, 120, "survivors to hold every shard"
        )

        def moved() -> bool:
            """Every Rollout of the killed replica was reconciled again by a survivor (its count went up: a
            survivor may have reconciled it before, while the shards were still spreading)."""
            again: set[str] = set()
            for r in survivors:
                counts, earlier = r.reconciled(keys_by_namespace), before[r.name]
                again |= {key for key, count in counts.items() if count > earlier.get(key, 0)}
            return victim_keys <= again

        moved_after = _wait(moved, 600, "the killed replica's rollouts to be reconciled by survivors")
        print(
            f"{n} rollouts, {options.replicas} replicas, --shards {shards} (python {sys.version.split()[0]}, "
            f"{os.cpu_count()} cpus)"
        )
        print(f"  shards spread           {spread:.1f}s after start")
        print(f"  every rollout handled   {reconciled_at:.1f}s after start ({every:.1f}s after the spread)")
        print("\n".join(rows))
        print(
            f"  SIGKILL {victim.name} ({len(victim_keys)} rollouts): survivors hold every shard after "
            f"{takeover:.1f}s; its rollouts reconciled by survivors after {time.monotonic() - killed:.1f}s "
            f"({moved_after:.1f}s after the takeover)"
        )
    finally:
        for r in replicas:
            if r.process.poll() is None:
                r.process.send_signal(signal.SIGTERM)
        for r in replicas:
            try:
                r.process.wait(30)
            except subprocess.TimeoutExpired:
                r.process.kill()
        leases = cluster.run_kubectl("get", "leases", "-n", LEASE_NAMESPACE, "-o", "name", check=False)
        ours = [lease for lease in leases.split() if instance in lease]
        if ours:
            cluster.run_kubectl("delete", "-n", LEASE_NAMESPACE, *ours, check=False)
        cluster.run_kubectl("delete", "namespace", *namespaces, "--wait=false", check=False)


if __name__ == "__main__":
    main()
