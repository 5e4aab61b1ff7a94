"""Benchmark: the cost of re-reconciling Rollouts when an object they name appears (the reference index).

Builds the manager's wiring in-process (no API server: informers are fed watch events by hand, as the unit
tests do) with N Rollouts, each naming a step template, a background template, a cluster template and an
Ingress, spread over `--namespaces` namespaces, with templates that include each other. Prints: the time and
memory the index adds per Rollout, and the time from a template or Ingress event to its Rollouts being queued
(median and worst over many events), for a template named by one Rollout and for one named by every Rollout of
a namespace.
Run: `.venv/bin/python bench/reference_index.py [--rollouts 20000 --namespaces 200]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import tracemalloc
from typing import Any

from ramp.kube.reconcile import Result
from ramp.manager import RECONCILER_KINDS, Manager, ManagerOptions
from ramp.manager.wiring import REFERENCE_INDEX
from ramp.rollout.references import rollout_reference_keys

CLUSTER_TEMPLATE = {"templateName": "c", "clusterScope": True}


class _Idle:
    async def reconcile(self, key: str) -> Result:
        return Result()


def _rollout(index: int, namespace: str, rv: str = "1") -> dict[str, Any]:
    canary = {
        "analysis": {"templates": [{"templateName": "shared-background"}]},
        "steps": [
            {"setWeight": 20},
            {"analysis": {"templates": [{"templateName": f"own-{index}"}, CLUSTER_TEMPLATE]}},
        ],
        "trafficRouting": {"nginx": {"stableIngress": f"ingress-{index}"}},
    }
    return {
        "metadata": {"name": f"r-{index}", "namespace": namespace, "resourceVersion": rv},
        "spec": {"strategy": {"canary": canary}},
    }


def _event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "object": obj}


def _timings(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"median {statistics.median(ordered) * 1e6:.1f} µs, worst {ordered[-1] * 1e6:.1f} µs"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rollouts", type=int, default=20000)
    parser.add_argument("--namespaces", type=int, default=200)
    parser.add_argument("--events", type=int, default=500)
    options = parser.parse_args()

    manager = Manager(
        ManagerOptions(identity="bench", leader_elect=False),
        client=None,  # type: ignore[arg-type]  # informers are fed by hand; nothing is sent
        reconcilers={kind: (lambda _: _Idle()) for kind in RECONCILER_KINDS},
    )
    informers = manager._build_term()
    queue = manager.controllers["rollouts"].queue
    rollouts = [_rollout(i, f"ns-{i % options.namespaces}") for i in range(options.rollouts)]

    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    started = time.perf_counter()
    for rollout in rollouts:
        informers.rollouts._apply(_event("ADDED", rollout))
    loaded = time.perf_counter() - started
    index_bytes = sum(
        stat.size_diff
        for stat in tracemalloc.take_snapshot().compare_to(before, "filename")
        if "informer.py" in str(stat.traceback) or "references.py" in str(stat.traceback)
    )
    tracemalloc.stop()
    keys_started = time.perf_counter()
    for rollout in rollouts:
        rollout_reference_keys(rollout)
    keys_time = time.perf_counter() - keys_started
    while len(queue):
        key = await queue.get()
        if key is not None:
            queue.done(key)

    async def fan_out(make: Any, informer: Any, expected: int) -> list[float]:
        samples = []
        for i in range(options.events):
            obj = make(i)
            begun = time.perf_counter()
            informer._apply(_event("ADDED", obj))
            samples.append(time.perf_counter() - begun)
            queued = len(queue)
            assert queued == expected, f"expected {expected} rollouts queued, found {queued}"
            while len(queue):
                key = await queue.get()
                if key is not None:
                    queue.done(key)
            informer._apply(_event("DELETED", obj))
            while len(queue):
                key = await queue.get()
                if key is not None:
                    queue.done(key)
        return samples

    own = await fan_out(
        lambda i: {"metadata": {"name": f"own-{i}", "namespace": f"ns-{i % options.namespaces}"}},
        informers.analysis_templates,
        1,
    )
    assert informers.ingresses is not None
    ingress = await fan_out(
        lambda i: {"metadata": {"name": f"ingress-{i}", "namespace": f"ns-{i % options.namespaces}"}},
        informers.ingresses,
        1,
    )
    per_namespace = options.rollouts // options.namespaces
    shared = await fan_out(
        lambda i: {"metadata": {"name": "shared-background", "namespace": f"ns-{i % options.namespaces}"}},
        informers.analysis_templates,
        per_namespace,
    )
    indexed = len(informers.rollouts._indexes[REFERENCE_INDEX][1])
    print(f"rollouts: {options.rollouts} in {options.namespaces} namespaces; index keys: {indexed}")
    print(f"load with the index: {loaded / options.rollouts * 1e6:.1f} µs per Rollout event")
    print(f"  of which computing the keys: {keys_time / options.rollouts * 1e6:.1f} µs per Rollout")
    print(f"memory held by the informer and its indexes: {index_bytes / options.rollouts:.0f} B per Rollout")
    print(f"template named by 1 Rollout -> queued: {_timings(own)}")
    print(f"Ingress named by 1 Rollout -> queued: {_timings(ingress)}")
    print(f"template named by {per_namespace} Rollouts -> queued: {_timings(shared)}")


if __name__ == "__main__":
    asyncio.run(main())
