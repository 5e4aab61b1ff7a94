"""Pod-template and steps hashes: stable, sensitive to what matters, blind to the hash label, DNS-safe."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ramp.core.hashing import SAFE_ALPHABET, compute_pod_template_hash, compute_steps_hash, encode_safe

TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]},
}
# Decimal digits land on these ten letters of the safe alphabet, which is why hashes look like "5d7f8b9c4".
DIGIT_LETTERS = set("456789bcdf")


def test_same_template_gives_the_same_hash_whatever_the_key_order():
    reordered = {"spec": TEMPLATE["spec"], "metadata": {"labels": {"app": "web"}}}
    assert compute_pod_template_hash(TEMPLATE, None) == compute_pod_template_hash(reordered, None)
    assert compute_pod_template_hash(TEMPLATE, 2) == compute_pod_template_hash(copy.deepcopy(TEMPLATE), 2)


def test_a_changed_template_gives_another_hash():
    changed = copy.deepcopy(TEMPLATE)
    changed["spec"]["containers"][0]["image"] = "nginx:1.28"
    assert compute_pod_template_hash(changed, None) != compute_pod_template_hash(TEMPLATE, None)


def test_collision_count_changes_the_hash():
    hashes = {compute_pod_template_hash(TEMPLATE, count) for count in (None, 0, 1, 2)}
    assert len(hashes) == 4


def test_hash_label_is_ignored():
    labelled = copy.deepcopy(TEMPLATE)
    labelled["metadata"]["labels"]["rollouts-pod-template-hash"] = "5d7f8b9c4"
    assert compute_pod_template_hash(labelled, 1) == compute_pod_template_hash(TEMPLATE, 1)


def test_a_label_map_holding_only_the_hash_label_is_no_labels():
    bare = {"metadata": {}, "spec": TEMPLATE["spec"]}
    only_hash = {"metadata": {"labels": {"rollouts-pod-template-hash": "x"}}, "spec": TEMPLATE["spec"]}
    assert compute_pod_template_hash(only_hash, None) == compute_pod_template_hash(bare, None)


def test_hash_input_is_not_modified():
    labelled = copy.deepcopy(TEMPLATE)
    labelled["metadata"]["labels"]["rollouts-pod-template-hash"] = "x"
    compute_pod_template_hash(labelled, None)
    assert labelled["metadata"]["labels"]["rollouts-pod-template-hash"] == "x"


def test_hash_uses_the_safe_alphabet_like_upstream():
    value = compute_pod_template_hash(TEMPLATE, None)
    assert 1 <= len(value) <= 10
    assert set(value) <= DIGIT_LETTERS


def test_safe_encoding_of_digits_matches_kubernetes():
    assert encode_safe("0123456789") == "456789bcdf"
    assert set(encode_safe("abcxyz")) <= set(SAFE_ALPHABET)


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=4), st.integers(0, 2**31))
def test_hash_is_always_a_short_safe_string(labels, collision_count):
    template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "a", "image": "b"}]}}
    value = compute_pod_template_hash(template, collision_count)
    assert 1 <= len(value) <= 10
    assert set(value) <= DIGIT_LETTERS


def test_steps_hash_is_stable_and_sees_every_change():
    steps: list[dict[str, Any]] = [{"setWeight": 20}, {"pause": {}}, {"setWeight": 50}, {"pause": {"duration": "1m"}}]
    assert compute_steps_hash(steps) == compute_steps_hash(copy.deepcopy(steps))
    assert compute_steps_hash(steps) != compute_steps_hash([*steps[:3], {"pause": {"duration": "2m"}}])
    assert compute_steps_hash(steps) != compute_steps_hash(list(reversed(steps)))
    assert compute_steps_hash(None) != compute_steps_hash([])
    assert set(compute_steps_hash(steps)) <= DIGIT_LETTERS
