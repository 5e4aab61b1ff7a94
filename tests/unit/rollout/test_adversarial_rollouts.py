"""Every Rollout-level input of the adversarial corpus (tests/adversarial/rollouts.yaml) is a problem of the
shared validation naming its field, never an exception: what `ramp lint` prints and the controller's
InvalidSpec says."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ramp.rollout.validation import check_rollout
from tests.adversarial.corpus import Entry, apply_patch, base_rollout, load_entries

ENTRIES = load_entries()


def test_the_base_rollout_is_valid() -> None:
    assert check_rollout(base_rollout()) == []


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry.id for entry in ENTRIES])
def test_each_bad_input_is_a_problem_naming_its_field(entry: Entry) -> None:
    problems = check_rollout(apply_patch(base_rollout(), entry.patch))
    assert problems, entry.id
    assert any(problem.path.startswith(entry.expect) for problem in problems), problems
    assert all(len(problem.message) < 2000 for problem in problems)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, (*path, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _paths(child, (*path, index))
    return found


SPEC_PATHS = [path for path in _paths(base_rollout()) if path[:1] == ("spec",) and len(path) > 1]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(path=st.sampled_from(SPEC_PATHS), value=JSON_VALUES)
def test_any_value_anywhere_in_the_spec_is_a_problem_or_valid_never_an_exception(
    path: tuple[Any, ...], value: Any
) -> None:
    manifest = base_rollout()
    node: Any = manifest
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    check_rollout(manifest)  # returns problems (maybe none); must not raise
