"""Fractional bucketing: the documented hash, and monotone rollouts (a key in `new` at w stays there above w)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ramp.flags.bucketing import bucket, bucket_hash, pick
from ramp.flags.evaluator import resolve


def test_the_hash_is_murmur3_x86_32_seed_0_unsigned() -> None:
    # Published MurmurHash3_x86_32 test vectors (seed 0).
    assert bucket_hash("") == 0
    assert bucket_hash("hello") == 0x248BFA47
    assert bucket_hash("The quick brown fox jumps over the lazy dog") == 0x2E4FF723


def test_bucket_scales_the_hash_into_the_total_weight() -> None:
    assert bucket("hello", 100) == (0x248BFA47 * 100) >> 32
    assert all(0 <= bucket(f"user-{i}", 7) < 7 for i in range(200))


def test_pick_walks_the_variants_in_listed_order() -> None:
    assert pick("anything", [("only", 1)]) == "only"
    assert pick("anything", [("none", 0), ("all", 5)]) == "all"
    assert pick("anything", [("a", 0), ("b", 0)]) is None


@settings(deadline=None)  # no wall-time assertions: the machine is shared
@given(
    keys=st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=30),
    weights=st.lists(st.integers(min_value=0, max_value=100), min_size=2, max_size=6),
)
def test_rollout_shape_is_monotone_in_the_weight(keys: list[str], weights: list[int]) -> None:
    """The FeatureFlag conversion's shape: a key in `new` at some weight is in `new` at every higher weight."""
    for key in keys:
        seen_new = False
        for weight in sorted(weights):
            variant = pick("flag" + key, [("new", weight), ("old", 100 - weight)])
            if seen_new:
                assert variant == "new", (key, weight)
            seen_new = variant == "new"


@settings(deadline=None)
@given(key=st.text(min_size=1, max_size=40), low=st.integers(0, 100), high=st.integers(0, 100))
def test_monotone_through_the_evaluator(key: str, low: int, high: int) -> None:
    low, high = min(low, high), max(low, high)

    def variant_at(weight: int) -> str | None:
        definition = {
            "state": "ENABLED",
            "variants": {"new": True, "old": False},
            "defaultVariant": "old",
            "targeting": {"fractional": [["new", weight], ["old", 100 - weight]]},
        }
        return resolve("checkout", definition, {"targetingKey": key}, evaluators={}, timestamp=0).variant

    if variant_at(low) == "new":
        assert variant_at(high) == "new"


def test_shares_are_close_to_the_weights() -> None:
    keys = [f"user-{i}" for i in range(10_000)]
    for weight in (10, 50):
        share = sum(pick("flag" + k, [("new", weight), ("old", 100 - weight)]) == "new" for k in keys) / len(keys)
        assert abs(share - weight / 100) < 0.01


# Buckets (of 100) recorded when the hash was chosen: a key's bucket never changes across releases, or users would
# move between variants on an upgrade of the server with no change to the flag.
PINNED_BUCKETS = {
    "checkoutuser-1": (3105039728, 72),
    "checkoutuser-2": (1487212983, 34),
    "checkoutuser-42": (3313060877, 77),
    "new-checkoutalice": (873940884, 20),
    "bannerbob": (1051171199, 24),
    "rollout日本": (3659859870, 85),
    "x": (1050319643, 24),
}


def test_a_keys_bucket_never_changes() -> None:
    for key, (hashed, bucket_of_100) in PINNED_BUCKETS.items():
        assert bucket_hash(key) == hashed, key
        assert bucket(key, 100) == bucket_of_100, key
        variant = resolve(
            "checkout",
            {
                "state": "ENABLED",
                "variants": {"new": True, "old": False},
                "defaultVariant": "old",
                "targeting": {"fractional": [key, ["new", bucket_of_100 + 1], ["old", 99 - bucket_of_100]]},
            },
            {},
            evaluators={},
            timestamp=0,
        ).variant
        assert variant == "new", key


def test_a_key_with_an_unpaired_surrogate_hashes_to_a_fixed_bucket_instead_of_failing() -> None:
    # A JSON flag file or context may carry "\ud800" (json.loads accepts it); UTF-8 alone cannot encode it.
    assert bucket_hash("flaguser\ud800") == bucket_hash("flaguser\ud800")
    assert 0 <= bucket("flaguser\ud800", 100) < 100
