"""A canary with no steps is a rolling update bounded by maxSurge and maxUnavailable at every moment.

Behaviour matched (upstream docs/features/canary.md "maxSurge/maxUnavailable", the contract's canary arithmetic):
with no steps the desired weight is 100 at once; scale-up is bounded by replicas + maxSurge minus the ReplicaSets'
spec replicas, scale-down by available - (replicas - maxUnavailable). Percentages: maxSurge rounds up,
maxUnavailable rounds down. A sampler reads the namespace's pods and ReplicaSets (one consistent list) about every
150 ms for the whole update and checks the bounds at each sample.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from tests.e2e.harness import Cluster, ControllerProcess
from tests.e2e.scenario import Scenario, is_live, is_ready

OLD, NEW = "nginx:1.27", "nginx:1.28"
REPLICAS = 10


@pytest.mark.parametrize(
    ("max_surge", "max_unavailable"),
    [
        pytest.param(2, 1, id="counts-surge2-unavailable1"),
        # 25% of 10: surge rounds up to 3, unavailable rounds down to 2
        pytest.param("25%", "25%", id="percent-surge3-unavailable2"),
    ],
)
def test_rolling_update_stays_within_surge_and_unavailable_bounds(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    max_surge: int | str,
    max_unavailable: int | str,
) -> None:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    s = Scenario(cluster, namespace)
    surge = _resolve(max_surge, round_up=True)
    unavailable = _resolve(max_unavailable, round_up=False)
    # Given a Healthy canary Rollout with no steps
    canary = {"maxSurge": max_surge, "maxUnavailable": max_unavailable}
    # minReadySeconds stretches the update over several seconds (kwok pods are Ready at once), so that the
    # sampler sees every wave of it.
    s.given_rollout("web", image=OLD, replicas=REPLICAS, canary=canary, spec={"minReadySeconds": 2})
    s.then_phase("web", "Healthy")
    s.then_ready_images("app=web", {OLD: REPLICAS})

    def within_bounds() -> str | None:
        items = cluster.list("pods,replicasets", namespace)
        pods = [i for i in items if i["kind"] == "Pod" and i["metadata"].get("labels", {}).get("app") == "web"]
        live = [pod for pod in pods if is_live(pod)]
        ready = sum(is_ready(pod) for pod in live)
        spec_total = sum(
            i["spec"].get("replicas", 1)
            for i in items
            if i["kind"] == "ReplicaSet"
            and any(ref.get("kind") == "Rollout" for ref in i["metadata"].get("ownerReferences", []))
        )
        problems = []
        if len(live) > REPLICAS + surge:
            problems.append(f"{len(live)} live pods > {REPLICAS}+{surge}")
        if ready < REPLICAS - unavailable:
            problems.append(f"{ready} ready pods < {REPLICAS}-{unavailable}")
        if spec_total > REPLICAS + surge:
            problems.append(f"ReplicaSet replicas sum {spec_total} > {REPLICAS}+{surge}")
        return "; ".join(problems) or None

    # When the image changes
    with s.sampling(within_bounds) as samples:
        s.when_image("rollout", "web", "app", NEW)
        # Then it ends with ten new pods, the old ReplicaSet at 0, Healthy
        s.then_replica_sets("web", {OLD: 0, NEW: REPLICAS})
        s.then_ready_images("app=web", {NEW: REPLICAS})
        rollout = s.then_phase("web", "Healthy")
    # And at every sample the pods stayed within replicas+maxSurge and replicas-maxUnavailable
    samples.assert_clean(minimum=10)
    status = rollout["status"]
    assert status["stableRS"] == status["currentPodHash"]
    assert (status["replicas"], status["updatedReplicas"], status["availableReplicas"]) == (REPLICAS,) * 3
    print(f"{samples.taken} samples, bounds surge={surge} unavailable={unavailable}")


def _resolve(value: int | str, round_up: bool) -> int:
    if isinstance(value, int):
        return value
    exact = REPLICAS * int(value.rstrip("%")) / 100
    return math.ceil(exact) if round_up else math.floor(exact)
