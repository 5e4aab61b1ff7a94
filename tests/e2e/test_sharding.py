"""Sharded replicas (`ramp controller --shards 3`): three replicas split 30 Rollouts in three namespaces, one
is SIGKILLed, the others take its shards, and every Rollout still rolls out, reconciled by one replica at a
time.

Evidence, from the replicas (each logs, in JSON, one `reconciled` line per reconcile with its wall-clock start
and end, and one `rollout status written` line per status write with the resourceVersion it made) and from the
objects themselves (the shard Leases' holders, the Rollouts' resourceVersions):
- no two replicas' reconciles of one Rollout overlap in time, before or after the kill;
- the killed replica's Rollouts are reconciled and written by a survivor after the kill;
- each Rollout's current version was written by the replica that holds its shard now.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from dataclasses import dataclass

import pytest

from ramp.core.sharding import shard_for
from tests.e2e.conftest import CONTROLLER_NAMESPACE, ControllerFactory
from tests.e2e.harness import Cluster, ControllerProcess, instance_id_for, wait_until
from tests.e2e.scenario import Scenario

SHARDS = 3
PER_NAMESPACE = 10


@dataclass(frozen=True)
class Reconcile:
    replica: str
    key: str
    started: float
    ended: float


def log_records(process: ControllerProcess) -> list[dict[str, object]]:
    records = []
    for line in process.log().splitlines():
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut by SIGKILL
    return records


def identity_of(process: ControllerProcess) -> str:
    found = [r["identity"] for r in log_records(process) if r.get("msg") == "controller starting"]
    assert found, f"no start line in {process.log_path}"
    return str(found[0])


def reconciles(replica: str, process: ControllerProcess) -> list[Reconcile]:
    return [
        Reconcile(replica, str(r["key"]), float(str(r["started"])), float(str(r["ended"])))
        for r in log_records(process)
        if r.get("msg") == "reconciled" and r.get("controller") == "Rollouts"
    ]


def status_writes(process: ControllerProcess) -> dict[str, set[str]]:
    """rollout key -> resourceVersions this replica's status writes made."""
    writes: dict[str, set[str]] = defaultdict(set)
    for r in log_records(process):
        if r.get("msg") == "rollout status written":
            writes[str(r["rollout"])].add(str(r["resourceVersion"]))
    return writes


def shard_holders(cluster: Cluster, instance_id: str) -> dict[int, str]:
    """shard -> holder identity ("" when free), read from the shard Leases."""
    holders = {}
    for shard in range(SHARDS):
        name = f"argo-rollouts-shard-{shard}-of-{SHARDS}-{instance_id}"
        lease = cluster.kubectl("get", "lease", name, "-n", CONTROLLER_NAMESPACE, "-o", "json", check=False)
        holders[shard] = json.loads(lease)["spec"].get("holderIdentity", "") if lease.startswith("{") else ""
    return holders


def shards_held(process: ControllerProcess) -> float:
    for line in process.metrics().splitlines():
        if line.startswith("controller_shards_held "):
            return float(line.split()[1])
    return -1.0


def assert_no_overlap(all_reconciles: list[Reconcile]) -> None:
    by_key: dict[str, list[Reconcile]] = defaultdict(list)
    for reconcile in all_reconciles:
        by_key[reconcile.key].append(reconcile)
    for key, runs in by_key.items():
        runs.sort(key=lambda r: r.started)
        for earlier_index, earlier in enumerate(runs):
            for later in runs[earlier_index + 1 :]:
                if later.started >= earlier.ended:
                    break
                assert later.replica == earlier.replica, f"{key} reconciled by two replicas at once: {earlier} {later}"


def rollouts_manifest(count: int) -> str:
    documents = []
    for i in range(count):
        name = f"web-{i}"
        documents.append(
            {
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
                    "strategy": {"canary": {}},
                },
            }
        )
    return "\n---\n".join(json.dumps(d) for d in documents)


@pytest.fixture
def more_namespaces(cluster: Cluster, namespace: str) -> list[str]:
    """Two more namespaces whose argoproj objects carry the test namespace's instance id."""
    extra = [cluster.create_namespace("test-sharding-more") for _ in range(2)]
    for name in extra:
        cluster.instance_ids[name] = instance_id_for(namespace)
    yield extra  # type: ignore[misc]
    for name in extra:
        cluster.instance_ids.pop(name, None)
        cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def test_three_replicas_split_rollouts_and_a_killed_ones_shards_move_with_no_rollout_reconciled_twice(
    cluster: Cluster, namespace: str, more_namespaces: list[str], start_controller: ControllerFactory
) -> None:
    instance_id = instance_id_for(namespace)
    namespaces = [namespace, *more_namespaces]
    replicas: dict[str, ControllerProcess] = {}
    try:
        # Given three replicas run with --shards 3 (default lease timings: 15 s lease, 10 s renew deadline)
        replicas = {
            f"r{i}": start_controller("--shards", str(SHARDS), "--logformat", "json", label=f"r{i}") for i in range(3)
        }
        for process in replicas.values():
            process.wait_for_log(r'"msg": "workers started"', timeout=90)
        identities = {identity_of(p): name for name, p in replicas.items()}
        # When they have found each other, each holds one shard
        wait_until(lambda: all(shards_held(p) == 1 for p in replicas.values()), 90, "every replica to hold one shard")
        # And 30 Rollouts are applied across three namespaces
        scenarios = [Scenario(cluster, ns) for ns in namespaces]
        for s in scenarios:
            s.given(rollouts_manifest(PER_NAMESPACE))
        keys = [f"{s.namespace}/web-{i}" for s in scenarios for i in range(PER_NAMESPACE)]
        # Then all go Healthy
        for s in scenarios:
            for i in range(PER_NAMESPACE):
                s.then_phase(f"web-{i}", "Healthy", timeout=180)
        holders = shard_holders(cluster, instance_id)
        owner_of = {key: identities[holders[shard_for(key, SHARDS)]] for key in keys}
        # And each Rollout's writes so far come from the replica that holds its shard
        for key in keys:
            writers = {name for name, p in replicas.items() if status_writes(p).get(key)}
            assert writers == {owner_of[key]}, f"{key}: status written by {writers}, shard held by {owner_of[key]}"

        # When one replica is SIGKILLed
        victim = owner_of[keys[0]]
        victim_shards = {shard for shard, holder in holders.items() if identities.get(holder) == victim}
        victim_keys = [key for key in keys if owner_of[key] == victim]
        killed_at = time.time()
        replicas[victim].kill()
        survivors = {name: p for name, p in replicas.items() if name != victim}

        # Then its shards are taken over by the others
        def taken_over() -> dict[int, str] | None:
            now = shard_holders(cluster, instance_id)
            moved = all(identities.get(now[shard]) in survivors for shard in victim_shards)
            return now if moved else None

        holders = wait_until(taken_over, 90, f"shards {sorted(victim_shards)} of {victim} to be taken over", 0.2)
        takeover = time.time() - killed_at
        print(f"takeover of {len(victim_shards)} shard(s) after SIGKILL: {takeover:.1f} s")
        wait_until(lambda: sum(shards_held(p) for p in survivors.values()) == SHARDS, 60, "survivors to hold all")

        # When every Rollout's image is updated
        for s in scenarios:
            for i in range(PER_NAMESPACE):
                s.when_image("rollout", f"web-{i}", "app", "nginx:1.28")
        # Then each progresses to Healthy with the new image
        for s in scenarios:
            for i in range(PER_NAMESPACE):
                s.then_phase(f"web-{i}", "Healthy", timeout=180)
                s.expect_pods(f"app=web-{i}", count=1, image="nginx:1.28", timeout=120)

        holders = shard_holders(cluster, instance_id)
        owner_of = {key: identities[holders[shard_for(key, SHARDS)]] for key in keys}
        assert set(owner_of.values()) <= set(survivors)
        all_reconciles = [r for name, p in replicas.items() for r in reconciles(name, p)]
        # And no Rollout was ever reconciled by two replicas at once
        assert_no_overlap(all_reconciles)
        # And the killed replica's Rollouts moved: a survivor reconciled each after the kill
        for key in victim_keys:
            after = {r.replica for r in all_reconciles if r.key == key and r.started > killed_at}
            assert after == {owner_of[key]}, f"{key}: reconciled after the kill by {after}"
        # And after the takeover each Rollout was reconciled only by its shard's holder
        settled = killed_at + takeover
        for r in all_reconciles:
            if r.started > settled and r.key in owner_of:
                assert r.replica == owner_of[r.key], f"{r} outside its shard's holder {owner_of[r.key]}"
        # And each Rollout's current version is a status write of its shard's holder (the object's history)
        writes = {name: status_writes(p) for name, p in survivors.items()}
        for s in scenarios:
            for i in range(PER_NAMESPACE):
                key = f"{s.namespace}/web-{i}"
                version = s.get("rollout", f"web-{i}")["metadata"]["resourceVersion"]
                writers = {name for name, w in writes.items() if version in w.get(key, set())}
                assert writers == {owner_of[key]}, f"{key}@{version} written by {writers}"
    finally:
        # Stop the replicas first (they hand their Leases back), then remove what is left of the Leases.
        for process in replicas.values():
            if process.alive:
                process.terminate(timeout=30)
        leases = cluster.kubectl("get", "leases", "-n", CONTROLLER_NAMESPACE, "-o", "name", check=False).split()
        ours = [lease for lease in leases if lease.endswith(f"-{instance_id}") or f"-{instance_id}-" in lease]
        if ours:
            cluster.kubectl("delete", "-n", CONTROLLER_NAMESPACE, *ours, "--wait=false", check=False)
