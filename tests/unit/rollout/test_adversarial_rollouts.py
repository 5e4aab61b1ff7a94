"""Every Rollout-level input of the adversarial corpus (tests/adversarial/rollouts.yaml) is a problem of the
shared validation naming its field, never an exception: what `ramp lint` prints and the controller's
InvalidSpec says."""

from __future__ import annotations

import pytest

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
