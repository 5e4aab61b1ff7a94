"""The manual gates of a rollout (promote, abort, retry, pause, restart, undo, set image), driven two ways.

A scenario that needs a person's action takes the `gates` fixture and runs twice:

- `RampGates` ("ramp") runs Ramp's own command line, `ramp <verb> NAME -n NS --kubeconfig K`, the way a user
  would (the verbs and flags are upstream kubectl-argo-rollouts').
- `UpstreamPatchGates` ("upstream-patches") writes exactly what upstream's kubectl plugin writes, with plain
  kubectl: the status merge patches of promote/abort/retry, spec merge patches of pause/restart, a JSON patch
  of /spec/template for undo and of the container image for set image (the contract's table, "What the upstream
  kubectl plugin writes"). So a script or a dashboard written for Argo Rollouts is shown to work with Ramp.

The scenarios assert the resulting cluster state only, never what was sent, so both drivers meet the same bar.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime
from typing import Any, Protocol

import pytest

from tests.e2e.harness import Cluster, ramp_command

HASH_LABEL = "rollouts-pod-template-hash"
REVISION = "rollout.argoproj.io/revision"


class Gates(Protocol):
    """The actions a person takes on a rollout, by rollout name, in one namespace."""

    name: str

    def promote(self, rollout: str, full: bool = False) -> None: ...
    def abort(self, rollout: str) -> None: ...
    def retry(self, rollout: str) -> None: ...
    def pause(self, rollout: str) -> None: ...
    def restart(self, rollout: str) -> None: ...
    def undo(self, rollout: str, to_revision: int | None = None) -> None: ...
    def set_image(self, rollout: str, container: str, image: str) -> None: ...


class RampGates:
    """Ramp's CLI as a subprocess: `ramp promote web --full -n NS --kubeconfig K`."""

    name = "ramp"

    def __init__(self, cluster: Cluster, namespace: str) -> None:
        self.cluster = cluster
        self.namespace = namespace

    def run(self, *verb: str) -> str:
        args = [*ramp_command(), *verb, "-n", self.namespace, "--kubeconfig", str(self.cluster.kubeconfig)]
        result = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, (
            f"`ramp {' '.join(verb)}` exited {result.returncode}:\n{result.stdout}{result.stderr}"
        )
        return result.stdout

    def promote(self, rollout: str, full: bool = False) -> None:
        self.run("promote", rollout, *(["--full"] if full else []))

    def abort(self, rollout: str) -> None:
        self.run("abort", rollout)

    def retry(self, rollout: str) -> None:
        self.run("retry", "rollout", rollout)

    def pause(self, rollout: str) -> None:
        self.run("pause", rollout)

    def restart(self, rollout: str) -> None:
        self.run("restart", rollout)

    def undo(self, rollout: str, to_revision: int | None = None) -> None:
        self.run("undo", rollout, *(["--to-revision", str(to_revision)] if to_revision is not None else []))

    def set_image(self, rollout: str, container: str, image: str) -> None:
        self.run("set", "image", rollout, f"{container}={image}")


class UpstreamPatchGates:
    """The exact writes of upstream's kubectl plugin, made with kubectl (no Ramp code involved)."""

    name = "upstream-patches"

    def __init__(self, cluster: Cluster, namespace: str) -> None:
        self.cluster = cluster
        self.namespace = namespace

    # -- writes ------------------------------------------------------------------------------------
    def merge(self, rollout: str, patch: dict[str, Any], status: bool = False) -> None:
        args = ["patch", "rollout", rollout, "-n", self.namespace, "--type=merge", "-p", json.dumps(patch)]
        if status:
            args.append("--subresource=status")
        self.cluster.kubectl(*args)

    def json_patch(self, rollout: str, operations: list[dict[str, Any]]) -> None:
        self.cluster.kubectl(
            "patch", "rollout", rollout, "-n", self.namespace, "--type=json", "-p", json.dumps(operations)
        )

    def rollout(self, rollout: str) -> dict[str, Any]:
        return self.cluster.get("rollout", rollout, self.namespace)

    # -- gates -------------------------------------------------------------------------------------
    def promote(self, rollout: str, full: bool = False) -> None:
        """Upstream's promote: decided from the status as read now (pkg/kubectl-argo-rollouts/cmd/promote)."""
        obj = self.rollout(rollout)
        spec, status = obj["spec"], obj.get("status", {})
        canary = spec.get("strategy", {}).get("canary")
        steps = (canary or {}).get("steps") or []
        status_patch: dict[str, Any] | None = None
        if full:
            if status.get("currentPodHash") != status.get("stableRS"):
                status_patch = {"status": {"promoteFull": True}}
        else:
            pause_conditions = status.get("pauseConditions") or []
            step_analysis = (status.get("canary") or {}).get("currentStepAnalysisRunStatus") or {}
            inconclusive = canary is not None and step_analysis.get("status") == "Inconclusive"
            if inconclusive and pause_conditions and status.get("controllerPause") and steps:
                status_patch = {
                    "status": {
                        "pauseConditions": None,
                        "controllerPause": False,
                        "currentStepIndex": _next_step(status, steps),
                    }
                }
            elif pause_conditions:
                status_patch = {"status": {"pauseConditions": None}}
            elif canary is not None and steps:
                status_patch = {"status": {"pauseConditions": None, "currentStepIndex": _next_step(status, steps)}}
        if status_patch is not None:
            self.merge(rollout, status_patch, status=True)
        if spec.get("paused"):
            self.merge(rollout, {"spec": {"paused": False}})

    def abort(self, rollout: str) -> None:
        self.merge(rollout, {"status": {"abort": True}}, status=True)

    def retry(self, rollout: str) -> None:
        self.merge(rollout, {"status": {"abort": False}}, status=True)

    def pause(self, rollout: str) -> None:
        self.merge(rollout, {"spec": {"paused": True}})

    def restart(self, rollout: str) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.merge(rollout, {"spec": {"restartAt": now}})

    def undo(self, rollout: str, to_revision: int | None = None) -> None:
        """Upstream's undo: the revision's ReplicaSet template, minus the hash label, replaces /spec/template."""
        obj = self.rollout(rollout)
        owned = [
            rs
            for rs in self.cluster.list("replicasets", self.namespace)
            if any(
                ref.get("uid") == obj["metadata"]["uid"] and ref.get("controller")
                for ref in rs["metadata"].get("ownerReferences", [])
            )
        ]
        by_revision = {
            int(rs["metadata"]["annotations"][REVISION]): rs
            for rs in owned
            if rs["metadata"].get("annotations", {}).get(REVISION, "").isdigit()
        }
        if to_revision:
            assert to_revision in by_revision, f"revision {to_revision} not in history {sorted(by_revision)}"
            target = by_revision[to_revision]
        else:
            assert len(by_revision) >= 2, f"no previous revision in {sorted(by_revision)}"
            target = by_revision[sorted(by_revision)[-2]]
        template = json.loads(json.dumps(target["spec"]["template"]))
        template.get("metadata", {}).get("labels", {}).pop(HASH_LABEL, None)
        self.json_patch(rollout, [{"op": "replace", "path": "/spec/template", "value": template}])

    def set_image(self, rollout: str, container: str, image: str) -> None:
        containers = self.rollout(rollout)["spec"]["template"]["spec"]["containers"]
        index = next(i for i, c in enumerate(containers) if c["name"] == container)
        self.json_patch(
            rollout, [{"op": "replace", "path": f"/spec/template/spec/containers/{index}/image", "value": image}]
        )


def _next_step(status: dict[str, Any], steps: list[Any]) -> int:
    """Upstream's GetCurrentCanaryStep index plus one, never past the end."""
    index = int(status.get("currentStepIndex") or 0)
    return index + 1 if index < len(steps) else index


GATES = {"ramp": RampGates, "upstream-patches": UpstreamPatchGates}


@pytest.fixture(name="gates", params=list(GATES))
def gates_fixture(request: pytest.FixtureRequest, cluster: Cluster, namespace: str) -> Gates:
    """Each scenario taking `gates` runs once with Ramp's CLI and once with upstream's plugin writes."""
    driver: Gates = GATES[request.param](cluster, namespace)
    return driver
