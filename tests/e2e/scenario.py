"""Given/When/Then steps for scenarios on the local cluster, written the way a user would act.

    s = Scenario(cluster, namespace)
    s.given(MANIFEST)
    s.when_image("rollout", "web", "app", "nginx:1.28")
    s.then_phase("web", "Paused")
    s.then_step("web", 1)
    s.expect_pods("app=web", count=3, ready=3, image="nginx:1.28")
    assert "RolloutPaused" in s.event_reasons("web")

Every step acts through kubectl and waits on the state it expects, failing with what it last saw.
"""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.harness import Cluster, wait_until

DEFAULT_WAIT = 60.0


class Scenario:
    """One scenario in one namespace."""

    def __init__(self, cluster: Cluster, namespace: str) -> None:
        self.cluster = cluster
        self.namespace = namespace

    # -- Given / When ---------------------------------------------------------------------------
    def given(self, manifest: str) -> Scenario:
        """Apply a manifest (any number of documents) into the scenario's namespace."""
        self.cluster.apply(manifest, self.namespace)
        return self

    def when_image(self, kind: str, name: str, container: str, image: str) -> Scenario:
        """Change one container's image, as `kubectl set image` / `kubectl argo rollouts set image` do."""
        obj = self.get(kind, name)
        containers = obj["spec"]["template"]["spec"]["containers"]
        index = next(i for i, c in enumerate(containers) if c["name"] == container)
        patch = [{"op": "replace", "path": f"/spec/template/spec/containers/{index}/image", "value": image}]
        self.cluster.kubectl("patch", kind, name, "-n", self.namespace, "--type=json", "-p", json.dumps(patch))
        return self

    def when_patched(self, kind: str, name: str, patch: dict[str, Any], subresource: str | None = None) -> Scenario:
        """A JSON merge patch, optionally on a subresource (the upstream plugin's status patches)."""
        args = ["patch", kind, name, "-n", self.namespace, "--type=merge", "-p", json.dumps(patch)]
        if subresource:
            args.append(f"--subresource={subresource}")
        self.cluster.kubectl(*args)
        return self

    # -- Then -------------------------------------------------------------------------------------
    def get(self, kind: str, name: str) -> dict[str, Any]:
        return self.cluster.get(kind, name, self.namespace)

    def then_phase(self, name: str, phase: str, timeout: float = DEFAULT_WAIT) -> dict[str, Any]:
        """Wait until the Rollout reports `phase` for its current generation."""

        def reached() -> dict[str, Any] | None:
            rollout = self.get("rollout", name)
            status = rollout.get("status", {})
            current = status.get("observedGeneration") == str(rollout["metadata"]["generation"])
            return rollout if current and status.get("phase") == phase else None

        return wait_until(reached, timeout, f"rollout {name} to be {phase}")

    def then_step(self, name: str, index: int, timeout: float = DEFAULT_WAIT) -> dict[str, Any]:
        return wait_until(
            lambda: (r := self.get("rollout", name)).get("status", {}).get("currentStepIndex") == index and r,
            timeout,
            f"rollout {name} at step {index}",
        )

    def expect_pods(
        self,
        selector: str,
        count: int,
        ready: int | None = None,
        image: str | None = None,
        timeout: float = DEFAULT_WAIT,
    ) -> list[dict[str, Any]]:
        """Wait until exactly `count` live pods match, `ready` of them Ready, all running `image`."""

        def matches() -> list[dict[str, Any]] | None:
            pods = [
                pod
                for pod in self.cluster.list("pods", self.namespace, selector)
                if not pod["metadata"].get("deletionTimestamp") and pod["status"].get("phase") != "Succeeded"
            ]
            if len(pods) != count:
                return None
            if ready is not None and sum(_is_ready(pod) for pod in pods) != ready:
                return None
            if image is not None and any(c["image"] != image for pod in pods for c in pod["spec"]["containers"]):
                return None
            return pods or [{}]

        return wait_until(matches, timeout, f"{count} pods ({ready} ready, image {image}) matching {selector}")

    def event_reasons(self, name: str) -> list[str]:
        return [event["reason"] for event in self.cluster.events(self.namespace, name)]

    def then_event(self, name: str, reason: str, timeout: float = DEFAULT_WAIT) -> None:
        wait_until(lambda: reason in self.event_reasons(name), timeout, f"event {reason} on {name}")


def _is_ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))
