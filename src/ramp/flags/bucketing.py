"""Fractional bucketing: one documented hash, monotone in the listed weights.

The bucket key (by default flagKey + targetingKey) is UTF-8 encoded and hashed with MurmurHash3 x86 32-bit,
seed 0, read unsigned: h in [0, 2**32). With total weight T the bucket is b = (h * T) >> 32, in [0, T), and the
variants are walked cumulatively in the order listed: the first variant whose running weight sum exceeds b wins.

For Ramp's rollout shape `[["new", w], ["old", 100 - w]]` a key is in `new` exactly when b < w with T = 100, so a
key in `new` at 10% stays in `new` at 20%, 50% and 100%: raising a step never sends a user back.
"""

from __future__ import annotations

from collections.abc import Sequence

import mmh3


def bucket_hash(key: str) -> int:
    """MurmurHash3 x86 32-bit (seed 0, unsigned) of the key's UTF-8 bytes."""
    # surrogatepass: a key with an unpaired surrogate (possible from a JSON flag file or context) still hashes,
    # to a fixed bucket, instead of failing the request; well-formed keys encode exactly as UTF-8.
    return int(mmh3.hash(key.encode("utf-8", "surrogatepass"), 0, signed=False))


def bucket(key: str, total_weight: int) -> int:
    """The key's bucket in [0, total_weight)."""
    return (bucket_hash(key) * total_weight) >> 32


def pick(key: str, weighted: Sequence[tuple[str, int]]) -> str | None:
    """The variant the key falls in, walking `weighted` cumulatively in order; None when no weight is positive."""
    total = 0
    for _, weight in weighted:
        total += weight
    if total <= 0:
        return None
    b = bucket(key, total)
    running = 0
    for variant, weight in weighted:
        running += weight
        if b < running:
            return variant
    return None  # unreachable: b < total
