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
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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

    def when_json_patched(self, kind: str, name: str, operations: list[dict[str, Any]]) -> Scenario:
        """A JSON patch (RFC 6902) on the main resource."""
        self.cluster.kubectl("patch", kind, name, "-n", self.namespace, "--type=json", "-p", json.dumps(operations))
        return self

    # -- Rollouts, ReplicaSets and pods (added for the canary, rolling-update and workloadRef scenarios) -----
    def given_rollout(
        self,
        name: str,
        *,
        image: str = "nginx:1.27",
        replicas: int = 4,
        canary: dict[str, Any] | None = None,
        spec: dict[str, Any] | None = None,
        pod_spec: dict[str, Any] | None = None,
    ) -> Scenario:
        """Apply a canary Rollout `name` (pods labelled app=<name>, one container `app`).

        `canary` is the strategy.canary block; `spec` adds or overrides top-level spec fields (a value of None
        removes the field, e.g. `{"template": None}` for a workloadRef); `pod_spec` adds pod spec fields.
        """
        body: dict[str, Any] = {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}], **(pod_spec or {})},
            },
            "strategy": {"canary": canary if canary is not None else {}},
        }
        for key, value in (spec or {}).items():
            if value is None:
                body.pop(key, None)
            else:
                body[key] = value
        manifest = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": name}, "spec": body}
        return self.given(json.dumps(manifest))

    def status(self, name: str) -> dict[str, Any]:
        return dict(self.get("rollout", name).get("status", {}))

    def then_rollout(
        self, name: str, check: Callable[[dict[str, Any]], Any], what: str, timeout: float = DEFAULT_WAIT
    ) -> dict[str, Any]:
        """Wait until `check(rollout)` is truthy for the Rollout's current generation; return the Rollout."""

        def reached() -> dict[str, Any] | None:
            rollout = self.get("rollout", name)
            status = rollout.get("status", {})
            if status.get("observedGeneration") != str(rollout["metadata"]["generation"]):
                return None
            return rollout if check(rollout) else None

        return wait_until(reached, timeout, f"rollout {name}: {what}")

    def condition(self, name: str, condition_type: str) -> dict[str, Any] | None:
        conditions = self.status(name).get("conditions") or []
        return next((c for c in conditions if c.get("type") == condition_type), None)

    def then_condition(
        self,
        name: str,
        condition_type: str,
        reason: str,
        status: str | None = None,
        timeout: float = DEFAULT_WAIT,
    ) -> dict[str, Any]:
        """Wait until the Rollout has a condition of `condition_type` with `reason` (and `status`); return it."""

        def found() -> dict[str, Any] | None:
            cond = self.condition(name, condition_type)
            if cond and cond.get("reason") == reason and (status is None or cond.get("status") == status):
                return cond
            return None

        return wait_until(found, timeout, f"condition {condition_type}={status or '*'}/{reason} on rollout {name}")

    def replica_sets(self, rollout: str) -> list[dict[str, Any]]:
        """ReplicaSets whose controller is the Rollout `rollout`, oldest first."""
        owned = [
            rs
            for rs in self.cluster.list("replicasets", self.namespace)
            if any(
                ref.get("kind") == "Rollout" and ref.get("name") == rollout and ref.get("controller")
                for ref in rs["metadata"].get("ownerReferences", [])
            )
        ]
        return sorted(owned, key=lambda rs: rs["metadata"]["creationTimestamp"])

    def replica_set_for_image(self, rollout: str, image: str) -> dict[str, Any]:
        """The Rollout's ReplicaSet whose pods run `image` (exactly one must exist)."""
        matching = [rs for rs in self.replica_sets(rollout) if rs_image(rs) == image]
        assert len(matching) == 1, f"expected one ReplicaSet of {rollout} with {image}, found {len(matching)}"
        return matching[0]

    def then_replica_sets(
        self, rollout: str, replicas_by_image: dict[str, int], timeout: float = DEFAULT_WAIT
    ) -> list[dict[str, Any]]:
        """Wait until the Rollout's ReplicaSets, keyed by image, have these spec replicas, all of them available.

        Images not named must have no ReplicaSet with replicas; a named image with 0 must exist at 0.
        """

        def matches() -> list[dict[str, Any]] | None:
            sets = self.replica_sets(rollout)
            seen: dict[str, int] = {}
            for rs in sets:
                image = rs_image(rs)
                wanted = replicas_by_image.get(image, 0)
                spec_replicas = rs["spec"].get("replicas", 1)
                status = rs.get("status", {})
                if spec_replicas != wanted or status.get("availableReplicas", 0) != wanted:
                    return None
                if status.get("replicas", 0) != wanted:
                    return None
                seen[image] = spec_replicas
            return sets if set(seen) >= set(replicas_by_image) else None

        return wait_until(matches, timeout, f"ReplicaSets of {rollout} at {replicas_by_image}")

    def live_pods(self, selector: str) -> list[dict[str, Any]]:
        """Pods matching `selector` that are not terminating and not finished."""
        return [pod for pod in self.cluster.list("pods", self.namespace, selector) if is_live(pod)]

    def ready_images(self, selector: str) -> Counter[str]:
        """How many Ready, live pods run each image (first container)."""
        return Counter(pod["spec"]["containers"][0]["image"] for pod in self.live_pods(selector) if _is_ready(pod))

    def then_ready_images(self, selector: str, expected: dict[str, int], timeout: float = DEFAULT_WAIT) -> None:
        """Wait until exactly these live pods exist, all Ready, counted by image."""

        def matches() -> bool:
            pods = self.live_pods(selector)
            ready = Counter(pod["spec"]["containers"][0]["image"] for pod in pods if _is_ready(pod))
            return len(pods) == sum(expected.values()) and ready == Counter(expected)

        wait_until(matches, timeout, f"ready pods {expected} matching {selector}")

    def event_count(self, name: str, reason: str) -> int:
        """How many times `reason` was recorded for `name` (repeats are aggregated into one Event's count)."""
        return sum(
            int(event.get("count") or event.get("series", {}).get("count") or 1)
            for event in self.cluster.events(self.namespace, name)
            if event.get("reason") == reason
        )

    def event_messages(self, name: str, reason: str) -> list[str]:
        return [
            str(event.get("message", ""))
            for event in self.cluster.events(self.namespace, name)
            if event.get("reason") == reason
        ]

    @contextmanager
    def sampling(self, sample: Callable[[], str | None], interval: float = 0.15) -> Iterator[Samples]:
        """Run `sample` in a thread every `interval` seconds while the block runs.

        `sample` returns None when the state it read is fine, or a description of what is wrong. The yielded
        `Samples` holds the count taken and every violation seen; check it after the block.
        """
        samples = Samples()
        stop = threading.Event()

        def run() -> None:
            while not stop.is_set():
                try:
                    problem = sample()
                except Exception as error:  # a failed read is not a violation; count it separately
                    samples.errors.append(repr(error))
                else:
                    samples.taken += 1
                    if problem:
                        samples.violations.append(problem)
                stop.wait(interval)

        thread = threading.Thread(target=run, name="sampler", daemon=True)
        thread.start()
        try:
            yield samples
        finally:
            stop.set()
            thread.join(30)

    def check_replica_set(self, rs: dict[str, Any], rollout: str, revision: int | None = None) -> str:
        """Assert the upstream shape of a Rollout's ReplicaSet; return its pod-template hash.

        Name `<rollout>-<hash>`, the hash as label, selector and template label, a controller ownerReference
        to the Rollout, and (when given) the `rollout.argoproj.io/revision` annotation.
        """
        owner = self.get("rollout", rollout)
        template_hash = pod_template_hash(rs)
        assert rs["metadata"]["name"] == f"{rollout}-{template_hash}"
        assert rs["spec"]["selector"]["matchLabels"]["rollouts-pod-template-hash"] == template_hash
        assert rs["spec"]["template"]["metadata"]["labels"]["rollouts-pod-template-hash"] == template_hash
        refs = [ref for ref in rs["metadata"].get("ownerReferences", []) if ref.get("controller")]
        assert len(refs) == 1, refs
        assert refs[0]["apiVersion"] == "argoproj.io/v1alpha1"
        assert (refs[0]["kind"], refs[0]["name"], refs[0]["uid"]) == ("Rollout", rollout, owner["metadata"]["uid"])
        if revision is not None:
            assert rs["metadata"].get("annotations", {}).get("rollout.argoproj.io/revision") == str(revision)
        return template_hash


class Samples:
    """What a sampler thread saw: how many samples, and the violations among them."""

    def __init__(self) -> None:
        self.taken = 0
        self.violations: list[str] = []
        self.errors: list[str] = []

    def assert_clean(self, minimum: int = 5) -> None:
        assert self.taken >= minimum, f"only {self.taken} samples taken (read errors: {self.errors[:3]})"
        assert not self.violations, f"{len(self.violations)} of {self.taken} samples broke the bound: " + "; ".join(
            self.violations[:5]
        )


def rs_image(rs: dict[str, Any]) -> str:
    """The image of a ReplicaSet's first container."""
    return str(rs["spec"]["template"]["spec"]["containers"][0]["image"])


def pod_template_hash(obj: dict[str, Any]) -> str:
    """The rollouts-pod-template-hash label of a ReplicaSet or pod."""
    return str(obj["metadata"]["labels"]["rollouts-pod-template-hash"])


def is_live(pod: dict[str, Any]) -> bool:
    """Not terminating and not finished: a pod that counts towards a ReplicaSet."""
    return not pod["metadata"].get("deletionTimestamp") and pod["status"].get("phase") not in ("Succeeded", "Failed")


def is_ready(pod: dict[str, Any]) -> bool:
    return _is_ready(pod)


def _is_ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))
