"""Pod-template and steps hashes: the short names Ramp gives ReplicaSets and `status.currentStepHash`.

Role: turn a pod template (plus `status.collisionCount`) or a list of canary steps into a short, stable,
DNS-safe string, the same shape as upstream's (FNV-32a, rendered with Kubernetes' "safe" alphabet, e.g.
"5d7f8b9c4"). Upstream hashes Go's JSON encoding of its typed structs, which Python cannot reproduce byte for
byte; Ramp hashes a canonical JSON encoding instead (sorted keys, compact). That is fine because a ReplicaSet is
never found by recomputing its name: `podtemplate.is_same_pod_template` compares templates, so ReplicaSets
created by Argo Rollouts are adopted whatever their hash. Collaborators: `podtemplate` (label handling),
the rollout reconciler (names new ReplicaSets `<rollout>-<hash>`, bumps collisionCount on a clash).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

POD_TEMPLATE_HASH_LABEL = "rollouts-pod-template-hash"

# Kubernetes' rand.SafeEncodeString alphabet: no vowels and no characters that read alike (0/o, 1/l, 3/e),
# so a hash never spells a word.
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

_FNV32_OFFSET_BASIS = 0x811C9DC5
_FNV32_PRIME = 0x01000193
_UINT32 = 0xFFFFFFFF


def compute_pod_template_hash(template: Mapping[str, Any], collision_count: int | None) -> str:
    """Return the hash naming the ReplicaSet of `template`; a new `collision_count` gives a new name.

    The template's own `rollouts-pod-template-hash` label is left out, so the hash of an RS's template equals
    the hash of the Rollout template it was made from. `collision_count` None and 0 differ, as upstream:
    None adds nothing, a number adds its 32-bit little-endian bytes padded to 8.

    >>> compute_pod_template_hash({"spec": {"containers": [{"name": "a", "image": "nginx"}]}}, None)
    '589c598cb5'
    """
    payload = _encode_json(_without_hash_label(template))
    if collision_count is not None:
        payload += (collision_count & _UINT32).to_bytes(4, "little") + bytes(4)
    return encode_safe(str(_fnv32a(payload)))


def compute_steps_hash(steps: Sequence[Mapping[str, Any]] | None) -> str:
    """Return the hash of the canary steps for `status.currentStepHash` (None hashes as JSON `null`).

    Any change to a step (order, value, a key added) gives a new hash, which is how a steps change is noticed.
    """
    return encode_safe(str(_fnv32a(_encode_json(steps))))


def encode_safe(text: str) -> str:
    """Map each character of `text` onto the safe alphabet (Kubernetes' SafeEncodeString)."""
    return "".join(SAFE_ALPHABET[ord(character) % len(SAFE_ALPHABET)] for character in text)


def _fnv32a(data: bytes) -> int:
    value = _FNV32_OFFSET_BASIS
    for byte in data:
        value = ((value ^ byte) * _FNV32_PRIME) & _UINT32
    return value


def _encode_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _without_hash_label(template: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = template.get("metadata")
    if not isinstance(metadata, Mapping):
        return template
    labels = metadata.get("labels")
    if not isinstance(labels, Mapping) or POD_TEMPLATE_HASH_LABEL not in labels:
        return template
    kept = {key: value for key, value in labels.items() if key != POD_TEMPLATE_HASH_LABEL}
    new_metadata = {key: value for key, value in metadata.items() if key != "labels"}
    if kept:
        # An emptied label map is dropped, so {"labels": {hash}} hashes like a template with no labels.
        new_metadata["labels"] = kept
    return {**template, "metadata": new_metadata}
