"""Sharding decisions: the hash that places a key on a shard, the key each kind is hashed by, and the
balancing plan one replica makes each round."""

from __future__ import annotations

from collections import Counter

import pytest

from ramp.core.sharding import ShardPlan, fair_share, plan_shards, shard_for, shard_key


def test_a_key_lands_on_the_same_shard_in_every_process_and_within_range() -> None:
    # Fixed values: Python's salted hash() would change them from one process to the next.
    assert [shard_for(f"ns/r{i}", 4) for i in range(8)] == [shard_for(f"ns/r{i}", 4) for i in range(8)]
    assert all(0 <= shard_for(f"ns/r{i}", 7) < 7 for i in range(1000))
    assert shard_for("anything", 1) == 0


def test_keys_spread_evenly_over_the_shards() -> None:
    counts = Counter(shard_for(f"team-{i % 50}/web-{i}", 4) for i in range(20_000))
    assert set(counts) == {0, 1, 2, 3}
    assert all(4_500 < count < 5_500 for count in counts.values()), counts


def test_adding_a_shard_moves_only_about_its_share_of_the_keys_and_only_onto_the_new_shard() -> None:
    keys = [f"ns/r{i}" for i in range(10_000)]
    moved = [k for k in keys if shard_for(k, 4) != shard_for(k, 5)]
    assert all(shard_for(k, 5) == 4 for k in moved)
    assert 1_600 < len(moved) < 2_400  # about 1/5


def test_zero_shards_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        shard_for("ns/r", 0)


def _owned(kind: str, owner: str, name: str = "child") -> dict[str, object]:
    return {
        "metadata": {
            "namespace": "ns",
            "name": name,
            "ownerReferences": [{"kind": kind, "name": owner, "controller": True}],
        }
    }


def test_runs_and_experiments_of_a_rollout_are_hashed_by_the_rollout_so_they_share_its_shard() -> None:
    assert shard_key("AnalysisRun", _owned("Rollout", "web")) == "ns/web"
    assert shard_key("Experiment", _owned("Rollout", "web")) == "ns/web"
    assert shard_key("AnalysisRun", _owned("Experiment", "web-exp")) == "ns/web-exp"


def test_standalone_objects_and_non_controller_owners_hash_by_their_own_name() -> None:
    assert shard_key("AnalysisRun", {"metadata": {"namespace": "ns", "name": "solo"}}) == "ns/solo"
    loose = _owned("Rollout", "web")
    loose["metadata"]["ownerReferences"][0]["controller"] = False  # type: ignore[index]
    assert shard_key("AnalysisRun", loose) == "ns/child"
    assert shard_key("AnalysisRun", _owned("Deployment", "web")) == "ns/child"
    # A Rollout is always its own key, whatever owns it.
    assert shard_key("Rollout", _owned("Rollout", "parent", name="web")) == "ns/web"


def test_fair_share_is_the_ceiling_of_shards_over_live_replicas() -> None:
    assert [fair_share(20, r) for r in (1, 2, 3, 4, 5)] == [20, 10, 7, 5, 4]


def test_the_first_replica_alone_takes_every_free_shard() -> None:
    assert sorted(plan_shards(3, "a", {"a"}, {}).acquire) == [0, 1, 2]


def test_a_replica_over_its_share_gives_back_what_the_others_lack_highest_first() -> None:
    holders = {0: "a", 1: "a", 2: "a"}
    assert plan_shards(3, "a", {"a", "b"}, holders).release == (2,)  # b lacks 1 of its 2
    assert plan_shards(3, "a", {"a", "b", "c"}, holders).release == (2, 1)


def test_a_replica_at_its_share_keeps_it_while_the_others_have_theirs() -> None:
    holders: dict[int, str | None] = {0: "a", 1: "a", 2: "b", 3: "b", 4: "c"}
    assert plan_shards(5, "a", {"a", "b", "c"}, holders) == ShardPlan()


def test_a_replica_below_its_share_takes_free_shards_up_to_it_only() -> None:
    holders: dict[int, str | None] = {0: "a", 1: None, 2: None, 3: None}
    plan = plan_shards(4, "b", {"a", "b"}, holders)
    assert len(plan.acquire) == 2 and set(plan.acquire) <= {1, 2, 3}
    assert plan.release == ()


def test_a_shard_held_by_another_live_replica_is_never_planned_for_taking() -> None:
    assert plan_shards(2, "b", {"a", "b"}, {0: "a", 1: "a"}).acquire == ()


def test_an_orphan_is_taken_even_above_the_share_so_no_shard_waits_for_a_dead_members_lease() -> None:
    # c died: its shard Lease expired (free) while its member Lease still looks live for a moment.
    holders: dict[int, str | None] = {0: "a", 1: "b", 2: None}
    assert plan_shards(3, "a", {"a", "b", "c"}, holders).acquire == ()
    assert plan_shards(3, "a", {"a", "b", "c"}, holders, orphans={2}).acquire == (2,)


def test_replicas_racing_for_free_shards_start_from_different_places() -> None:
    firsts = {plan_shards(16, f"replica-{i}", {f"replica-{i}"}, {}).acquire[0] for i in range(10)}
    assert len(firsts) > 3


def _simulate(shards: int, replicas: list[str], holders: dict[int, str | None], rounds: int) -> dict[int, str | None]:
    """Every replica plans in turn each round; a take succeeds only when the shard is still free (the Lease
    write is a compare-and-swap), a release frees it."""
    free_before: set[int] = set()
    for _ in range(rounds):
        free_now = {i for i in range(shards) if holders.get(i) is None}
        for me in replicas:
            plan = plan_shards(shards, me, set(replicas), holders, orphans=free_now & free_before)
            for i in plan.release:
                holders[i] = None
            for i in plan.acquire:
                if holders.get(i) is None:
                    holders[i] = me
        free_before = free_now
    return holders


@pytest.mark.parametrize(("shards", "count"), [(3, 3), (4, 3), (20, 4), (7, 2), (2, 3)])
def test_replicas_started_one_after_another_converge_to_fair_shares_with_no_shard_left_free(
    shards: int, count: int
) -> None:
    replicas = [f"r{i}" for i in range(count)]
    holders = _simulate(shards, replicas[:1], {}, rounds=2)  # the first one alone grabs everything
    holders = _simulate(shards, replicas, holders, rounds=6)
    assert all(holders.get(i) is not None for i in range(shards))
    per_replica = Counter(holders.values())
    assert max(per_replica.values()) <= fair_share(shards, count)


def test_when_a_replica_dies_the_survivors_take_its_shards_and_stay_fair() -> None:
    holders: dict[int, str | None] = {0: "a", 1: "b", 2: "c", 3: "a", 4: "b", 5: "c"}
    holders = {i: (None if h == "c" else h) for i, h in holders.items()}  # c's Leases expired
    holders = _simulate(6, ["a", "b"], holders, rounds=3)
    assert Counter(holders.values()) == {"a": 3, "b": 3}
