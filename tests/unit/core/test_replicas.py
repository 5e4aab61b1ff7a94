"""Canary replica arithmetic: worked cases (many from Argo Rollouts' documented examples) and invariants."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ramp.core.replicas import (
    CanaryCounts,
    CanaryScale,
    ObservedWeights,
    ReplicaSetCounts,
    SurgeLimits,
    approximate_weighted_counts,
    calculate_basic_canary_counts,
    calculate_older_scale_down,
    calculate_routed_canary_counts,
    resolve_surge_limits,
)


def rs(name: str, replicas: int, available: int | None = None) -> ReplicaSetCounts:
    return ReplicaSetCounts(name, replicas, replicas if available is None else available)


# --- resolve_surge_limits -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable", "expected"),
    [
        pytest.param(10, "25%", "25%", SurgeLimits(3, 2), id="25% of 10: surge rounds up to 3, unavailable down to 2"),
        pytest.param(10, 2, 0, SurgeLimits(2, 0), id="plain counts are taken as they are"),
        pytest.param(10, "3", "1", SurgeLimits(3, 1), id="number strings are counts"),
        pytest.param(10, "0%", "0%", SurgeLimits(0, 1), id="both zero: one pod may be unavailable"),
        pytest.param(3, 0, "25%", SurgeLimits(0, 1), id="unavailable rounding to 0 with no surge becomes 1"),
        pytest.param(3, "1%", "25%", SurgeLimits(1, 0), id="1% surge of 3 rounds up to 1 pod"),
        pytest.param(4, 1, 10, SurgeLimits(1, 4), id="unavailable is capped at replicas"),
        pytest.param(0, "25%", "25%", SurgeLimits(0, 0), id="0 replicas: nothing may be unavailable"),
    ],
)
def test_resolve_surge_limits(replicas: int, surge: int | str, unavailable: int | str, expected: SurgeLimits) -> None:
    assert resolve_surge_limits(replicas, surge, unavailable) == expected


@pytest.mark.parametrize(
    ("surge", "unavailable", "field"),
    [("abc", 1, "maxSurge"), (1, "{{args.x}}", "maxUnavailable"), (-1, 1, "maxSurge"), (1, "-5%", "maxUnavailable")],
)
def test_bad_surge_limits_name_the_field(surge: int | str, unavailable: int | str, field: str) -> None:
    with pytest.raises(ValueError, match=f"spec.strategy.canary.{field}"):
        resolve_surge_limits(10, surge, unavailable)


# --- approximate_weighted_counts ----------------------------------------------------------------------------

WEIGHTS = (10, 20, 25, 33, 50, 75, 90)
# replicas -> "canary/stable" for each of WEIGHTS. Matches upstream's results, except the two cells marked below.
APPROXIMATIONS = {
    1: {  # surge 1
        1: "1/1 1/1 1/1 1/1 1/1 1/1 1/1",
        2: "1/2 1/2 1/2 1/2 1/1 2/1 2/1",
        3: "1/3 1/3 1/3 1/2 2/2 3/1 3/1",
        4: "1/4 1/4 1/3 2/3 2/2 3/1 4/1",
        5: "1/5 1/4 1/4 2/4 3/3 4/1 5/1",
        6: "1/6 1/5 2/5 2/4 3/3 5/2 6/1",
        7: "1/7 2/6 2/6 2/5 4/4 6/2 7/1",
        8: "1/8 2/7 2/6 3/6 4/4 6/2 8/1",
        9: "1/9 2/8 2/7 3/6 5/5 7/2 9/1",
        10: "1/9 2/8 3/8 3/7 5/5 8/3 9/1",
    },
    0: {  # no surge
        1: "0/1 0/1 0/1 0/1 1/0 1/0 1/0",
        2: "1/1 1/1 1/1 1/1 1/1 1/1 1/1",  # 75%: upstream gives 0/2 (no candidate left after its tie rule)
        3: "1/2 1/2 1/2 1/2 2/1 2/1 2/1",
        4: "1/3 1/3 1/3 1/3 2/2 3/1 3/1",
        5: "1/4 1/4 1/4 2/3 3/2 4/1 4/1",  # 90%: upstream gives 0/5, against its own "never 0 pods" rule
        6: "1/5 1/5 2/4 2/4 3/3 5/1 5/1",
        7: "1/6 1/6 2/5 2/5 4/3 5/2 6/1",
        8: "1/7 2/6 2/6 3/5 4/4 6/2 7/1",
        9: "1/8 2/7 2/7 3/6 5/4 7/2 8/1",
        10: "1/9 2/8 3/7 3/7 5/5 8/2 9/1",
    },
}


def approximation_table() -> list[object]:
    cases: list[object] = []
    for surge, rows in APPROXIMATIONS.items():
        for replicas, row in rows.items():
            for weight, cell in zip(WEIGHTS, row.split(), strict=True):
                canary, stable = (int(n) for n in cell.split("/"))
                label = f"{replicas} replicas {weight}% weight surge {surge} → {cell}"
                cases.append(pytest.param(replicas, weight, surge, CanaryCounts(canary, stable), id=label))
    return cases


@pytest.mark.parametrize(("replicas", "weight", "surge", "expected"), approximation_table())
def test_approximation_table(replicas: int, weight: int, surge: int, expected: CanaryCounts) -> None:
    assert approximate_weighted_counts(replicas, weight, surge) == expected


@pytest.mark.parametrize(
    ("replicas", "weight", "surge", "expected"),
    [
        pytest.param(0, 50, 1, (0, 0), id="0 replicas → 0/0"),
        pytest.param(10, 0, 1, (0, 10), id="weight 0 → all stable, no surge pod"),
        pytest.param(10, 100, 1, (10, 0), id="weight 100 → all canary"),
        pytest.param(1, 1, 0, (0, 1), id="1 replica no surge 1% → no room for a canary"),
        pytest.param(1, 49, 0, (0, 1), id="1 replica no surge 49% → stable keeps the pod"),
        pytest.param(1, 50, 0, (1, 0), id="1 replica no surge 50% → tie goes to the canary"),
        pytest.param(1, 99, 1, (1, 1), id="1 replica with surge 99% → one pod each"),
        pytest.param(2, 1, 1, (1, 2), id="2 replicas 1% with surge → 1 of 3"),
        pytest.param(2, 99, 1, (2, 1), id="2 replicas 99% with surge → 2 of 3"),
        pytest.param(3, 49, 1, (2, 2), id="3 replicas 49% with surge → 2 of 4"),
        pytest.param(10, 1, 0, (1, 9), id="10 replicas 1% → never 0 canary pods"),
        pytest.param(10, 14, 0, (1, 9), id="10 replicas 14% no surge → 1/9"),
        pytest.param(10, 15, 0, (2, 8), id="10 replicas 15% no surge → tie goes to the canary"),
        pytest.param(10, 99, 0, (9, 1), id="10 replicas 99% → never 0 stable pods"),
        pytest.param(10, 18, 1, (2, 9), id="10 replicas 18% with surge → 2 of 11"),
        pytest.param(10, 24, 1, (3, 8), id="10 replicas 24% with surge → 3 of 11"),
        pytest.param(10, 99, 1, (10, 1), id="10 replicas 99% with surge → 10 of 11"),
        pytest.param(4, 55, 1, (2, 2), id="equally close with and without surge → no extra pod"),
    ],
)
def test_approximation_edge_cases(replicas: int, weight: int, surge: int, expected: tuple[int, int]) -> None:
    assert approximate_weighted_counts(replicas, weight, surge) == expected


# --- calculate_basic_canary_counts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("replicas", "weight", "limits", "canary", "stable", "others", "expected"),
    [
        # Upstream's documented examples (utils/replicaset/canary.go).
        pytest.param(10, 10, (1, 1), rs("c", 0), rs("s", 10), [], (1, 9), id="10 replicas 10% surge 1 unavail 1 → 1/9"),
        pytest.param(10, 30, (3, 0), rs("c", 0), rs("s", 10), [], (3, 10), id="surge only → canary up, stable waits"),
        pytest.param(10, 30, (0, 5), rs("c", 0), rs("s", 10), [], (0, 7), id="no surge → stable down first"),
        # (Its comment says 1/9 here; its code gives 1/10, since 1 of 11 pods is closer to 5% than 1 of 10.)
        pytest.param(10, 5, (1, 1), rs("c", 0), rs("s", 10), [], (1, 10), id="10 replicas 5% → 1 canary of 11"),
        pytest.param(1, 5, (1, 0), rs("c", 0), rs("s", 1), [], (1, 1), id="1 replica 5% surge 1 → 1/1"),
        pytest.param(1, 95, (1, 0), rs("c", 0), rs("s", 1), [], (1, 1), id="1 replica 95% surge 1 → 1/1"),
        # Scale-up limited by surge.
        pytest.param(10, 20, (2, 0), rs("c", 0), rs("s", 10), [], (2, 10), id="10 replicas 20% surge 2 → 2/10"),
        pytest.param(10, 30, (2, 0), rs("c", 0), rs("s", 10), [], (2, 10), id="canary stops at the surge limit"),
        pytest.param(10, 50, (2, 1), rs("c", 0), rs("s", 10), [], (2, 9), id="surge and unavailable together"),
        pytest.param(
            4, 100, (1, 0), rs("c", 0), rs("s", 4, 1), [], (1, 4), id="surge honoured with stable unavailable"
        ),
        pytest.param(10, 20, (2, 0), rs("c", 2), rs("s", 10), [], (2, 8), id="extra stable pods scaled down"),
        pytest.param(
            10, 30, (1, 0), rs("c", 0), rs("s", 1), [rs("v1", 3)], (1, 7), id="stable scaled up before canary"
        ),
        # Scale-down limited by unavailable.
        pytest.param(10, 20, (0, 2), rs("c", 0), rs("s", 10), [], (0, 8), id="no surge → stable down by unavailable"),
        pytest.param(10, 30, (0, 2), rs("c", 0), rs("s", 10), [], (0, 8), id="stable stops at the unavailable limit"),
        pytest.param(10, 5, (0, 1), rs("c", 0), rs("s", 10), [], (0, 9), id="5% no surge step 1 → make room"),
        pytest.param(10, 5, (0, 1), rs("c", 0), rs("s", 9), [], (1, 9), id="5% no surge step 2 → then the canary"),
        pytest.param(3, 99, (0, 2), rs("c", 0), rs("s", 3), [], (0, 1), id="no surge 3 replicas 99% step 1 → 0/1"),
        pytest.param(3, 99, (0, 2), rs("c", 0), rs("s", 1), [], (2, 1), id="no surge 3 replicas 99% step 2 → 2/1"),
        pytest.param(
            10, 30, (0, 3), rs("c", 4), rs("s", 8, 5), [], (3, 7), id="unavailable stable pods cost no budget"
        ),
        pytest.param(
            4, 100, (1, 0), rs("c", 1), rs("s", 4, 1), [], (1, 3), id="unavailable budget with stable unhealthy"
        ),
        pytest.param(
            10, 100, (1, 0), rs("c", 10, 8), rs("s", 10, 2), [], (9, 2), id="over surge: unhealthy pods trimmed"
        ),
        pytest.param(10, 100, (3, 0), rs("c", 6, 3), rs("s", 7, 8), [], (6, 7), id="pods above spec never count"),
        # Older ReplicaSets go first.
        pytest.param(
            10, 30, (0, 1), rs("c", 4, 2), rs("s", 8, 6), [rs("v1", 3)], (4, 8), id="older RS blocks scale-down"
        ),
        pytest.param(
            10, 20, (2, 2), rs("c", 0), rs("s", 8), [rs("v1", 2)], (2, 8), id="older RS still allows scale-up"
        ),
        # Canary scaling down when the weight falls.
        pytest.param(10, 0, (1, 1), rs("c", 1), rs("s", 10), [], (0, 10), id="weight 0 → canary to 0"),
        pytest.param(
            10, 20, (0, 1), rs("c", 5), rs("s", 5), [], (4, 5), id="weight falls, no surge → canary down first"
        ),
        pytest.param(10, 20, (1, 1), rs("c", 4), rs("s", 5), [], (4, 7), id="weight falls → stable up within surge"),
        pytest.param(4, 0, (1, 0), rs("c", 4), rs("s", 0), [], (4, 1), id="abort step 1 → stable surges first"),
        pytest.param(4, 0, (1, 0), rs("c", 4), rs("s", 1, 0), [], (4, 1), id="abort step 2 → wait for stable pods"),
        pytest.param(4, 0, (1, 0), rs("c", 4), rs("s", 1), [], (3, 1), id="abort step 3 → canary down by one"),
        pytest.param(10, 100, (1, 1), rs("c", 10), rs("s", 1), [], (10, 0), id="weight 100 → stable to 0"),
        # No separate stable: the canary becomes the whole Rollout.
        pytest.param(10, 10, (0, 1), rs("c", 9), None, [], (10, 0), id="stable None → canary to all replicas"),
        pytest.param(10, 10, (0, 1), rs("c", 9), rs("c", 9), [], (10, 0), id="stable is the canary → same"),
        pytest.param(10, 10, (0, 1), rs("c", 10, 0), rs("c", 10, 0), [], (10, 0), id="first deploy ignores weight"),
        pytest.param(1, 51, (0, 1), None, None, [], (1, 0), id="first deploy with no RS yet → create 1"),
        pytest.param(5, 50, (2, 1), None, rs("s", 5), [], (2, 4), id="canary not created yet → created within surge"),
        pytest.param(
            1, 51, (0, 1), rs("c", 0), rs("s", 1), [], (0, 0), id="1 replica no surge 51% → stable goes first"
        ),
        pytest.param(1, 49, (0, 1), rs("c", 0), rs("s", 1), [], (0, 1), id="1 replica no surge 49% → stable stays"),
        # Over the surge limit (replicas lowered): trimmed, but not below the available minimum.
        pytest.param(
            5, 100, (1, 1), rs("c", 3), rs("s", 8), [], (3, 1), id="replicas lowered → stable down to 4 available"
        ),
        pytest.param(5, 0, (0, 1), rs("c", 8), rs("s", 2), [], (2, 2), id="replicas lowered while aborting"),
        pytest.param(5, 0, (0, 1), rs("c", 8, 2), rs("s", 5), [], (0, 5), id="over surge → canary trimmed first"),
    ],
)
def test_basic_canary_counts(
    replicas: int,
    weight: int,
    limits: tuple[int, int],
    canary: ReplicaSetCounts | None,
    stable: ReplicaSetCounts | None,
    others: list[ReplicaSetCounts],
    expected: tuple[int, int],
) -> None:
    result = calculate_basic_canary_counts(replicas, weight, SurgeLimits(*limits), canary, stable, others)
    assert result == expected


# --- calculate_older_scale_down -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("replicas", "limits", "canary", "stable", "older", "expected"),
    [
        pytest.param(10, (1, 1), rs("c", 0), rs("s", 8), [rs("v1", 2)], {"v1": 1}, id="one available pod may go"),
        pytest.param(10, (1, 0), rs("c", 1), rs("s", 9), [rs("v1", 2)], {"v1": 0}, id="all above the minimum go"),
        pytest.param(10, (1, 0), rs("c", 1), rs("s", 9), [rs("v1", 2, 0)], {"v1": 0}, id="unavailable pods go free"),
        pytest.param(
            10, (1, 0), rs("c", 1, 0), rs("s", 9), [rs("v1", 2)], {"v1": 1}, id="budget counts available only"
        ),
        pytest.param(10, (1, 0), rs("c", 2, 0), rs("s", 8), [rs("v1", 3, 2)], {"v1": 2}, id="unhealthy then nothing"),
        pytest.param(
            10, (1, 1), rs("c", 3), rs("s", 5), [rs("v3", 2), rs("v2", 2)], {"v3": 0, "v2": 1}, id="given order first"
        ),
        pytest.param(10, (1, 1), rs("c", 2), rs("s", 7), [rs("v1", 0)], {}, id="nothing to scale down"),
        pytest.param(10, (1, 1), rs("c", 0), rs("s", 7, 5), [rs("v1", 3)], {}, id="below the minimum: wait"),
    ],
)
def test_older_scale_down(
    replicas: int,
    limits: tuple[int, int],
    canary: ReplicaSetCounts,
    stable: ReplicaSetCounts,
    older: list[ReplicaSetCounts],
    expected: dict[str, int],
) -> None:
    all_sets = [canary, stable, *older]
    assert calculate_older_scale_down(replicas, SurgeLimits(*limits), all_sets, older) == expected


# --- calculate_routed_canary_counts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({"replicas": 10, "weight": 10}, (1, 10), id="10% of 10 → 1 canary, stable stays full"),
        pytest.param({"replicas": 10, "weight": 15}, (2, 10), id="canary rounds up"),
        pytest.param({"replicas": 10, "weight": 0}, (0, 10), id="weight 0 → no canary"),
        pytest.param({"replicas": 10, "weight": 5, "min_pods_per_replica_set": 2}, (2, 10), id="min pods per RS"),
        pytest.param({"replicas": 1, "weight": 5, "min_pods_per_replica_set": 3}, (1, 1), id="min pods capped"),
        pytest.param({"replicas": 10, "weight": 0, "min_pods_per_replica_set": 2}, (0, 10), id="min pods not for 0"),
        pytest.param(
            {"replicas": 1, "weight": 100, "canary_scale": CanaryScale(replicas=9)},
            (9, 1),
            id="setCanaryScale replicas",
        ),
        pytest.param(
            {"replicas": 4, "weight": 100, "canary_scale": CanaryScale(weight=200)}, (8, 4), id="setCanaryScale weight"
        ),
        pytest.param(
            {"replicas": 10, "weight": 20, "canary_scale": CanaryScale()}, (2, 10), id="matchTrafficWeight uses weight"
        ),
        pytest.param(
            {"replicas": 10, "weight": 10, "dynamic_stable_scale": True, "observed": ObservedWeights(10, 90)},
            (1, 9),
            id="dynamic stable scale → stable follows its share",
        ),
        pytest.param(
            {"replicas": 10, "weight": 20, "dynamic_stable_scale": True, "observed": ObservedWeights(10, 90)},
            (2, 9),
            id="dynamic stable keeps pods for the traffic it still gets",
        ),
        pytest.param(
            {
                "replicas": 10,
                "weight": 0,
                "dynamic_stable_scale": True,
                "observed": ObservedWeights(20, 80),
                "aborted": True,
            },
            (2, 10),
            id="aborted canary keeps pods for the traffic it still gets",
        ),
        pytest.param(
            {"replicas": 10, "weight": 0, "dynamic_stable_scale": True, "observed": ObservedWeights(20, 80)},
            (0, 10),
            id="not aborted: canary follows the weight",
        ),
        pytest.param(
            {"replicas": 10, "weight": 95, "dynamic_stable_scale": True, "min_pods_per_replica_set": 2},
            (10, 2),
            id="dynamic stable scale honours min pods",
        ),
    ],
)
def test_routed_canary_counts(kwargs: dict[str, object], expected: tuple[int, int]) -> None:
    assert calculate_routed_canary_counts(**kwargs) == expected  # type: ignore[arg-type]


# --- invariants ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """A Rollout's replica state as one reconcile sees it."""

    replicas: int
    weight: int
    limits: SurgeLimits
    canary: ReplicaSetCounts
    stable: ReplicaSetCounts | None
    others: tuple[ReplicaSetCounts, ...]

    @property
    def has_stable(self) -> bool:
        return self.stable is not None and self.stable.name != self.canary.name

    @property
    def sets(self) -> list[ReplicaSetCounts]:
        stable = [self.stable] if self.stable is not None and self.has_stable else []
        return [self.canary, *stable, *self.others]

    def decide(self) -> dict[str, int]:
        """One reconcile: the new spec replicas of every ReplicaSet, by name."""
        counts = calculate_basic_canary_counts(
            self.replicas, self.weight, self.limits, self.canary, self.stable, self.others
        )
        plan = {rs.name: rs.replicas for rs in self.sets}
        plan.update(calculate_older_scale_down(self.replicas, self.limits, self.sets, self.others))
        plan[self.canary.name] = counts.canary
        if self.stable is not None and self.has_stable:
            plan[self.stable.name] = counts.stable
        return plan

    def settle(self, plan: dict[str, int]) -> Snapshot:
        """The snapshot after `plan` is written and every pod has become available."""
        return replace(
            self,
            canary=rs(self.canary.name, plan[self.canary.name]),
            stable=rs(self.stable.name, plan[self.stable.name]) if self.stable and self.has_stable else self.stable,
            others=tuple(rs(o.name, plan[o.name]) for o in self.others),
        )


int_or_percent = st.one_of(st.integers(0, 12), st.integers(0, 100).map(lambda p: f"{p}%"))


@st.composite
def replica_sets(draw: st.DrawFn, name: str, *, surplus: bool) -> ReplicaSetCounts:
    replicas = draw(st.integers(0, 60))
    # Available may exceed spec for a moment while a ReplicaSet scales down.
    available = draw(st.integers(0, replicas + (3 if surplus else 0)))
    return ReplicaSetCounts(name, replicas, available)


@st.composite
def snapshots(draw: st.DrawFn, *, surplus: bool = True) -> Snapshot:
    replicas = draw(st.integers(0, 50))
    canary = draw(replica_sets("canary", surplus=surplus))
    stable = draw(st.one_of(st.none(), replica_sets("stable", surplus=surplus), st.just(canary)))
    others = draw(st.lists(replica_sets("older", surplus=surplus), max_size=3))
    return Snapshot(
        replicas=replicas,
        weight=draw(st.integers(0, 100)),
        limits=resolve_surge_limits(replicas, draw(int_or_percent), draw(int_or_percent)),
        canary=canary,
        stable=stable,
        others=tuple(replace(o, name=f"older-{i}") for i, o in enumerate(others)),
    )


@settings(max_examples=400, deadline=None)
@given(snapshots())
def test_never_negative_and_never_above_the_surge_limit(snapshot: Snapshot) -> None:
    plan = snapshot.decide()
    assert all(count >= 0 for count in plan.values())
    before = sum(rs.replicas for rs in snapshot.sets)
    assert sum(plan.values()) <= max(snapshot.replicas + snapshot.limits.max_surge, before)


@settings(max_examples=400, deadline=None)
@given(snapshots())
def test_scale_downs_keep_the_available_minimum(snapshot: Snapshot) -> None:
    # The ReplicaSet controller deletes unavailable pods first, so a ReplicaSet scaled to n keeps min(available, n).
    plan = snapshot.decide()
    min_available = snapshot.replicas - snapshot.limits.max_unavailable
    before = sum(min(rs.available, rs.replicas) for rs in snapshot.sets)
    after = sum(min(rs.available, plan[rs.name]) for rs in snapshot.sets)
    assert after >= min(before, min_available)


@settings(max_examples=300, deadline=None)
@given(snapshots())
def test_repeated_reconciles_converge_to_the_weighted_counts(snapshot: Snapshot) -> None:
    if snapshot.has_stable:
        desired = approximate_weighted_counts(snapshot.replicas, snapshot.weight, snapshot.limits.max_surge)
    else:
        desired = CanaryCounts(snapshot.replicas, 0)
    # Every reconcile moves at least one pod, so the pods involved bound the number of reconciles.
    bound = snapshot.replicas + sum(rs.replicas for rs in snapshot.sets) + 2
    for _ in range(bound):
        plan = snapshot.decide()
        snapshot = snapshot.settle(plan)
    plan = snapshot.decide()
    assert snapshot.settle(plan) == snapshot, "not settled"
    assert plan[snapshot.canary.name] == desired.canary
    if snapshot.stable is not None and snapshot.has_stable:
        assert plan[snapshot.stable.name] == desired.stable
    assert all(plan[o.name] == 0 for o in snapshot.others)


@given(st.integers(0, 50), st.integers(0, 100), st.integers(0, 5))
def test_weighted_counts_split_the_replicas(replicas: int, weight: int, surge: int) -> None:
    canary, stable = approximate_weighted_counts(replicas, weight, surge)
    assert canary >= 0 and stable >= 0
    if replicas == 0:
        assert (canary, stable) == (0, 0)
        return
    assert canary + stable in ({replicas, replicas + 1} if surge > 0 else {replicas})
    if 1 <= weight <= 99 and not (replicas == 1 and surge == 0):
        assert canary > 0 and stable > 0
    # Never further from the weight than one pod's share.
    assert abs(canary / (canary + stable) * 100 - weight) <= 100 / replicas


@given(st.integers(0, 50), st.integers(0, 100), st.integers(0, 5), st.booleans())
def test_routed_counts_stay_within_replicas(replicas: int, weight: int, min_pods: int, dynamic: bool) -> None:
    canary, stable = calculate_routed_canary_counts(replicas, weight, min_pods or None, dynamic)
    assert 0 <= canary <= replicas and 0 <= stable <= replicas
    assert (canary == 0) == (weight == 0 or replicas == 0)


def test_docstring_examples_hold() -> None:
    import doctest

    import ramp.core.replicas

    assert doctest.testmod(ramp.core.replicas).failed == 0
