"""Label selectors that decide which objects this controller instance owns.

Upstream's `--instance-id` contract: with an id, watch only objects labelled
`argo-rollouts.argoproj.io/controller-instance-id=<id>`; without one, only objects that lack the label, so
two controllers (one with, one without an id) never act on the same Rollout. `ramp.manager` applies the
selector to the argoproj.io informers (Rollouts, AnalysisRuns, templates, Experiments), as upstream does.
"""

from __future__ import annotations

INSTANCE_ID_LABEL = "argo-rollouts.argoproj.io/controller-instance-id"


def instance_id_selector(instance_id: str | None) -> str:
    """The label selector for `--instance-id`; an empty id counts as none.

    >>> instance_id_selector("blue")
    'argo-rollouts.argoproj.io/controller-instance-id=blue'
    >>> instance_id_selector(None)
    '!argo-rollouts.argoproj.io/controller-instance-id'
    """
    if instance_id:
        return f"{INSTANCE_ID_LABEL}={instance_id}"
    return f"!{INSTANCE_ID_LABEL}"
