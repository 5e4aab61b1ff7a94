"""The flagd flag definition a FeatureFlag stands for right now (pure): its variants and targeting, with the
rollout's current split of the new variant over the default.

At weight w of the new variant `new` over the default `old` the rollout's rule is
`{"fractional": [["new", w], ["old", 100 - w]]}`, the new variant listed FIRST: the evaluator walks the buckets
cumulatively in the listed order, so a user whose bucket falls below w% gets `new`, and raising w only moves
users from `old` to `new`, never back (monotone rollouts).

The user's own targeting decides first; the split applies to what it leaves to the default:
`{"if": [user, user, split]}` — a user rule that names a variant wins (a tester pinned to a variant stays
there whatever the weight), and whatever falls through to the default (the rule gives null, "" or false) is
split. Weight 0, an aborted or Degraded rollout: no split at all, everyone outside the user rules gets the
default at once. Healthy after the last step: the new variant is everyone's (weight 100).

Used by `ramp.flags.cluster_store` (the OFREP server's cluster store) and by the tests.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ramp.api.featureflag import FeatureFlag, FlagPhase
from ramp.flags.plan import rollout_hash

Definition = dict[str, Any]


def rollout_weight(flag: FeatureFlag) -> int | None:
    """The share (0-100) of users the new variant has now; None when the flag has no rollout.

    Degraded or aborted: 0. Healthy after the last step: 100. Otherwise status.weight. 0 until the controller has
    acted on the flag's current rollout (`status.currentStepHash`): a changed variant or steps never inherit the
    share the previous rollout had reached.
    """
    rollout = flag.spec.rollout
    if rollout is None:
        return None
    status = flag.status
    if status is None or status.current_step_hash != rollout_hash(flag):
        return 0
    if status.abort or status.phase == FlagPhase.DEGRADED:
        return 0
    steps = rollout.steps or []
    if status.phase == FlagPhase.HEALTHY and (status.current_step_index or 0) >= len(steps):
        return 100
    return max(0, min(100, status.weight or 0))


def split_rule(new: str, old: str, weight: int) -> Any:
    """The rollout's targeting at `weight`: None (everyone default) at 0, the new variant's name at 100, else a
    fractional split with the new variant first.

    >>> split_rule("on", "off", 10)
    {'fractional': [['on', 10], ['off', 90]]}
    >>> split_rule("on", "off", 100)
    'on'
    >>> split_rule("on", "off", 0) is None
    True
    """
    if weight <= 0:
        return None
    if weight >= 100:
        return new
    return {"fractional": [[new, weight], [old, 100 - weight]]}


def combine_targeting(user: Mapping[str, Any] | None, split: Any) -> Any:
    """The user's rule first, the split for what falls through to the default (see the module docstring)."""
    if not user:
        return split
    if split is None:
        return copy.deepcopy(dict(user))
    return {"if": [copy.deepcopy(dict(user)), copy.deepcopy(dict(user)), split]}


def flag_definition(flag: FeatureFlag) -> Definition:
    """The flagd-format definition (`state`, `variants`, `defaultVariant`, `targeting`?, `metadata`?) of the flag
    as its rollout stands now."""
    spec = flag.spec
    definition: Definition = {
        "state": spec.state or "ENABLED",
        "variants": copy.deepcopy(dict(spec.variants)),
        "defaultVariant": spec.default_variant,
    }
    weight = rollout_weight(flag)
    split = None
    if spec.rollout is not None and weight is not None:
        split = split_rule(spec.rollout.variant, spec.default_variant, weight)
        definition["metadata"] = {"rolloutVariant": spec.rollout.variant, "rolloutWeight": weight}
    targeting = combine_targeting(spec.targeting, split)
    if targeting is not None:
        definition["targeting"] = targeting
    return definition
