"""Read-only views of rollouts, shared by the CLI and the dashboard.

`tree.build_rollout_view` turns raw objects into a `models.RolloutView` (summary + revision → ReplicaSet → pod
tree, AnalysisRuns and Experiments per revision); `listing.build_list_row` makes the rows of `list rollouts`;
`text` renders both as upstream's plain text; `fetch` reads the objects from the API server (async);
`pods`, `summary` and `symbols` hold the rules for pod status, weights and status symbols. The phase shown is
`ramp.core.phase.client_phase` (upstream's client rule).
"""

from ramp.core.phase import client_phase
from ramp.views.listing import ListRow, build_list_row, render_list
from ramp.views.models import (
    AnalysisRunView,
    ExperimentView,
    ImageView,
    PodView,
    ReplicaSetView,
    RevisionView,
    RolloutView,
)
from ramp.views.text import render_rollout
from ramp.views.tree import build_rollout_view

__all__ = [
    "AnalysisRunView",
    "ExperimentView",
    "ImageView",
    "ListRow",
    "PodView",
    "ReplicaSetView",
    "RevisionView",
    "RolloutView",
    "build_list_row",
    "build_rollout_view",
    "client_phase",
    "render_list",
    "render_rollout",
]
