"""A pod's status word, ready count and restarts as kubectl's `get pods` columns show them.

The status is the phase, overridden by the pod's reason, by a failing or waiting init container
(`Init:CrashLoopBackOff`, `Init:0/2`), by a container's waiting or terminated reason, and by `Terminating` once
the pod is being deleted. Used by `ramp.views.tree` for the pod rows of the rollout tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

NODE_UNREACHABLE_REASON = "NodeLost"


@dataclass(frozen=True)
class PodState:
    """What the tree shows about one pod besides its name and age."""

    status: str
    ready: str
    restarts: int


def _terminated_reason(terminated: Mapping[str, Any], prefix: str = "") -> str:
    if terminated.get("reason"):
        return prefix + str(terminated["reason"])
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode', 0)}"


def _init_status(pod: Mapping[str, Any]) -> tuple[str | None, int]:
    """(status while initialising or None, restarts of init containers)."""
    spec_inits = (pod.get("spec") or {}).get("initContainers") or []
    sidecars = {c.get("name") for c in spec_inits if c.get("restartPolicy") == "Always"}
    restarts = 0
    for index, container in enumerate((pod.get("status") or {}).get("initContainerStatuses") or []):
        restarts += int(container.get("restartCount") or 0)
        state = container.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated and int(terminated.get("exitCode") or 0) == 0:
            continue
        if terminated:
            return _terminated_reason(terminated, "Init:"), restarts
        if container.get("name") in sidecars and container.get("started") and container.get("ready"):
            continue
        if waiting and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            return f"Init:{waiting['reason']}", restarts
        return f"Init:{index}/{len(spec_inits)}", restarts
    return None, restarts


def describe_pod(pod: Mapping[str, Any]) -> PodState:
    """The status word, `ready/total` containers and restart count of a raw Pod object."""
    status = pod.get("status") or {}
    total = len((pod.get("spec") or {}).get("containers") or [])
    reason = str(status.get("reason") or status.get("phase") or "")
    init_reason, restarts = _init_status(pod)
    ready = 0
    if init_reason is not None:
        reason = init_reason
    else:
        restarts, running = 0, False
        for container in reversed(status.get("containerStatuses") or []):
            restarts += int(container.get("restartCount") or 0)
            state = container.get("state") or {}
            waiting, terminated = state.get("waiting") or {}, state.get("terminated")
            if waiting.get("reason"):
                reason = str(waiting["reason"])
            elif terminated is not None:
                reason = _terminated_reason(terminated)
            elif container.get("ready") and state.get("running") is not None:
                running = True
                ready += 1
        if reason == "Completed" and running:
            reason = "Running"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == NODE_UNREACHABLE_REASON else "Terminating"
    return PodState(status=reason, ready=f"{ready}/{total}", restarts=restarts)
