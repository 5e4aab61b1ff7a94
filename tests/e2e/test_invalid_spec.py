"""An invalid Rollout spec is reported, touches nothing, does not hold other rollouts up, and heals when fixed.

Behaviour matched (upstream pkg/apis/rollouts/validation, docs/features/specification.md; the contract's phase
rules): an invalid spec sets the InvalidSpec condition with a message naming the field, the phase is Degraded
("InvalidSpec: ..."), and the controller does not create, scale or delete any ReplicaSet until the spec is valid.
The CRD's schema accepts these manifests (they are semantic errors), so they reach the controller. A spec
Ramp cannot carry out (both strategies, a step plugin) is refused the same way, and `ramp lint` prints the very
message of the InvalidSpec condition for the same file: one shared validation.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.harness import Cluster, ControllerProcess, ramp_command
from tests.e2e.scenario import Scenario

OLD, NEW = "nginx:1.27", "nginx:1.28"
VALID_STEPS = [{"setWeight": 25}, {"pause": {}}]

# Each case: how to make the spec invalid (given_rollout keyword arguments), a field the message must name
# (case-insensitive), and the JSON patch that fixes it.
CASES: dict[str, tuple[dict[str, Any], tuple[str, ...], list[dict[str, Any]]]] = {
    "step-with-two-actions": (
        {"canary": {"steps": [{"setWeight": 25, "pause": {}}, {"pause": {}}]}},
        ("steps[0]",),
        [{"op": "replace", "path": "/spec/strategy/canary/steps", "value": VALID_STEPS}],
    ),
    "set-canary-scale-without-traffic-routing": (
        {"canary": {"steps": [{"setCanaryScale": {"weight": 25}}, {"pause": {}}]}},
        ("setcanaryscale", "trafficrouting"),
        [{"op": "replace", "path": "/spec/strategy/canary/steps", "value": VALID_STEPS}],
    ),
    "selector-not-matching-template-labels": (
        {"canary": {"steps": VALID_STEPS}, "spec": {"selector": {"matchLabels": {"app": "elsewhere"}}}},
        ("selector",),
        [{"op": "replace", "path": "/spec/selector", "value": {"matchLabels": {"app": "web"}}}],
    ),
}


def _start(start_controller: Callable[..., ControllerProcess], namespace: str) -> ControllerProcess:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    return controller


@pytest.mark.parametrize("case", list(CASES))
def test_invalid_spec_is_reported_touches_nothing_and_heals_when_fixed(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], case: str
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    invalid, named, fix = CASES[case]
    # Given a valid rollout `other` in the same namespace
    s.given_rollout("other", image=OLD, replicas=4, canary={"steps": VALID_STEPS})
    s.then_phase("other", "Healthy")
    # When a rollout `web` with an invalid spec is applied
    s.given_rollout("web", image=OLD, replicas=4, **invalid)
    # Then it has an InvalidSpec condition naming the field, and is Degraded
    condition = s.then_condition("web", "InvalidSpec", "InvalidSpec", status="True")
    for field in named:
        assert field in condition["message"].lower(), (field, condition["message"])
    rollout = s.then_phase("web", "Degraded")
    assert rollout["status"]["message"].startswith("InvalidSpec")
    # And no ReplicaSet is created for it
    assert s.replica_sets("web") == []
    # And meanwhile the other rollout keeps progressing
    s.when_image("rollout", "other", "app", NEW)
    s.then_phase("other", "Paused")
    s.then_replica_sets("other", {OLD: 3, NEW: 1})
    assert s.replica_sets("web") == []
    assert s.live_pods("app=web") == []
    # When the spec is fixed
    s.when_json_patched("rollout", "web", fix)
    # Then the rollout becomes Healthy, the condition gone
    s.then_phase("web", "Healthy")
    s.then_ready_images("app=web", {OLD: 4})
    assert s.condition("web", "InvalidSpec") is None
    (rs,) = s.replica_sets("web")
    s.check_replica_set(rs, "web", revision=1)


def test_invalid_change_to_a_healthy_rollout_leaves_its_pods_untouched(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a Healthy rollout of 4 pods
    s.given_rollout("web", image=OLD, replicas=4, canary={"steps": VALID_STEPS})
    s.then_phase("web", "Healthy")
    s.then_ready_images("app=web", {OLD: 4})
    (rs,) = s.replica_sets("web")
    pods = {pod["metadata"]["uid"] for pod in s.live_pods("app=web")}
    # When a new image comes together with an invalid step
    s.when_json_patched(
        "rollout",
        "web",
        [
            {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": NEW},
            {"op": "replace", "path": "/spec/strategy/canary/steps/0", "value": {"setWeight": 25, "pause": {}}},
        ],
    )
    # Then it is Degraded with InvalidSpec naming the step
    condition = s.then_condition("web", "InvalidSpec", "InvalidSpec", status="True")
    assert "steps[0]" in condition["message"]
    s.then_phase("web", "Degraded")
    time.sleep(2)  # give a wrong controller time to act; nothing may change
    # And no new ReplicaSet, the old one still at 4 with the same pods
    (after,) = s.replica_sets("web")
    assert after["metadata"]["uid"] == rs["metadata"]["uid"]
    assert after["spec"]["replicas"] == 4
    assert {pod["metadata"]["uid"] for pod in s.live_pods("app=web")} == pods
    s.then_ready_images("app=web", {OLD: 4}, timeout=5)
    # When the step is fixed
    s.when_json_patched(
        "rollout", "web", [{"op": "replace", "path": "/spec/strategy/canary/steps/0", "value": {"setWeight": 25}}]
    )
    # Then the update proceeds to its first pause
    s.then_phase("web", "Paused")
    s.then_replica_sets("web", {OLD: 3, NEW: 1})


def _rollout_file(tmp_path: Path, strategy: dict[str, Any]) -> Path:
    """A user's file holding one Rollout `web` of 4 pods with `strategy`."""
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 4,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": OLD}]},
            },
            "strategy": strategy,
        },
    }
    path = tmp_path / "web.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path


# Each case: the strategy of the user's file, and how the InvalidSpec message starts (the field, then upstream's
# message where upstream has one).
NOT_CARRIED_OUT: dict[str, tuple[dict[str, Any], str]] = {
    "canary-and-blue-green": (
        {"canary": {"steps": VALID_STEPS}, "blueGreen": {"activeService": "web-active"}},
        "spec.strategy: Multiple Strategies can not be listed",
    ),
    "plugin-step": (
        {"canary": {"steps": [{"setWeight": 25}, {"plugin": {"name": "acme/step", "config": {"level": 1}}}]}},
        'spec.strategy.canary.steps[1].plugin: step plugin "acme/step" is not supported by Ramp',
    ),
}


@pytest.mark.parametrize("case", list(NOT_CARRIED_OUT))
def test_a_spec_ramp_cannot_carry_out_is_invalid_scales_nothing_and_lint_says_the_same(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    tmp_path: Path,
    case: str,
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    strategy, message = NOT_CARRIED_OUT[case]
    path = _rollout_file(tmp_path, strategy)
    # Given the user's file is applied
    s.given(path.read_text())
    # Then the Rollout has an InvalidSpec condition with the named message, and is Degraded
    condition = s.then_condition("web", "InvalidSpec", "InvalidSpec", status="True")
    assert condition["message"].startswith(message), condition["message"]
    rollout = s.then_phase("web", "Degraded")
    assert rollout["status"]["message"] == f"InvalidSpec: {condition['message']}"
    # And nothing is scaled: no ReplicaSet, no pod
    time.sleep(2)  # give a wrong controller time to act; nothing may appear
    assert s.replica_sets("web") == []
    assert s.live_pods("app=web") == []
    # When `ramp lint -f` checks the same file
    result = subprocess.run([*ramp_command(), "lint", "-f", str(path)], capture_output=True, text=True, check=False)
    # Then it fails printing the same message
    assert result.returncode == 1, result.stdout
    assert result.stdout.splitlines() == [f'{path}: Rollout "web": {condition["message"]}']
