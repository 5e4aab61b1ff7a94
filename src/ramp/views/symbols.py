"""Status symbols and tags of the rollout tree, the same glyphs upstream's `get rollout` prints.

Pure lookups from a status word to a symbol; `ramp.views.text` colours them, the dashboard maps them to its own
icons. The pod rule follows kubectl's STATUS column (`Init:`, `Signal:`, `ExitCode:` prefixes, `*Error`).
"""

from __future__ import annotations

ICON_WAITING = "◷"
ICON_PROGRESSING = "◌"
ICON_WARNING = "⚠"
ICON_UNKNOWN = "?"
ICON_OK = "✔"
ICON_BAD = "✖"
ICON_PAUSED = "॥"
ICON_NEUTRAL = "•"

ICON_ROLLOUT = "⟳"
ICON_REVISION = "#"
ICON_REPLICA_SET = "⧉"
ICON_POD = "□"
ICON_EXPERIMENT = "Σ"
ICON_ANALYSIS_RUN = "\u03b1"  # Greek alpha
ICON_METRIC = "◦"  # Ramp's own: upstream's tree has no metric rows

TAG_STABLE = "stable"
TAG_CANARY = "canary"
TAG_ACTIVE = "active"
TAG_PREVIEW = "preview"
TAG_PING = "ping"
TAG_PONG = "pong"

_ROLLOUT_ICONS = {
    "Progressing": ICON_PROGRESSING,
    "Error": ICON_WARNING,
    "InvalidSpec": ICON_WARNING,
    "Paused": ICON_PAUSED,
    "Healthy": ICON_OK,
    "Degraded": ICON_BAD,
    "Unknown": ICON_UNKNOWN,
    "ScaledDown": ICON_NEUTRAL,
}
_REPLICA_SET_ICONS = {
    "Progressing": ICON_PROGRESSING,
    "Healthy": ICON_OK,
    "ReplicaFailure": ICON_BAD,
    "ScaledDown": ICON_NEUTRAL,
}
_ANALYSIS_ICONS = {
    "Successful": ICON_OK,
    "Inconclusive": ICON_UNKNOWN,
    "Failed": ICON_BAD,
    "Error": ICON_WARNING,
    "Running": ICON_PROGRESSING,
    "Pending": ICON_WAITING,
}
_POD_ICONS = {
    "Pending": ICON_PROGRESSING,
    "Terminating": ICON_PROGRESSING,
    "ContainerCreating": ICON_PROGRESSING,
    "Running": ICON_OK,
    "Completed": ICON_OK,
    "Failed": ICON_BAD,
    "InvalidImageName": ICON_BAD,
    "CrashLoopBackOff": ICON_BAD,
    "ImagePullBackOff": ICON_WARNING,
    "RegistryUnavailable": ICON_WARNING,
    "Unknown": ICON_UNKNOWN,
}


def rollout_icon(phase: str) -> str:
    """✔ Healthy, ◌ Progressing, ॥ Paused, ✖ Degraded, ⚠ Error; a space for anything else."""
    return _ROLLOUT_ICONS.get(phase, " ")


def replica_set_icon(status: str) -> str:
    """✔ Healthy, ◌ Progressing, ✖ ReplicaFailure, • ScaledDown."""
    return _REPLICA_SET_ICONS.get(status, " ")


def analysis_icon(phase: str) -> str:
    """The symbol of an AnalysisRun or Experiment phase (also used for measurements)."""
    return _ANALYSIS_ICONS.get(phase, " ")


def pod_icon(status: str) -> str:
    """The symbol of a pod's kubectl-style status word.

    >>> [pod_icon(s) for s in ("Running", "Init:0/1", "ExitCode:1", "ErrImagePull", "CrashLoopBackOff")]
    ['✔', '◌', '✖', '⚠', '✖']
    """
    if status.startswith("Init:"):
        return ICON_PROGRESSING
    if status.startswith(("Signal:", "ExitCode:")):
        return ICON_BAD
    if status.endswith("Error") or status.startswith("Err"):
        return ICON_WARNING
    return _POD_ICONS.get(status, " ")
