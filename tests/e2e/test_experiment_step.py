"""A canary Rollout's `experiment` step on the local cluster: a baseline (stable template) and a canary template
run side by side with an analysis, and the rollout goes on or aborts as the analysis says.

Given a canary Rollout with steps setWeight 20 → experiment (baseline from the stable ReplicaSet, canary from the
new one, an analysis of a web metric with requiredForCompletion) → setWeight 60 → pause,
When a new image is rolled out,
Then the Rollout creates `<rollout>-<hash>-<revision>-1`, owned by it, whose ReplicaSets run the two templates;
with a healthy metric the Experiment ends Successful and the rollout moves on to the pause; with a failing one the
Experiment ends Failed and the rollout aborts ("Experiment analysis phase is error/failed"), its canary scaled down.
A weighted experiment template behind Istio gets its share of traffic while it runs.
Behaviour matched: upstream's features/experiment.md ("Integration with Rollouts") and rollout/experiment.go.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.gates import RampGates
from tests.e2e.harness import Cluster, ControllerProcess, wait_until
from tests.e2e.routers.istio_host import CASE as ISTIO
from tests.e2e.scenario import Scenario, pod_template_hash
from tests.e2e.test_analysis_run import MetricsEndpoint
from tests.e2e.traffic_cases import Names, install_crds

pytestmark = pytest.mark.cluster

V1, V2 = "nginx:1.27", "nginx:1.28"


@pytest.fixture
def endpoint() -> Iterator[MetricsEndpoint]:
    serving = MetricsEndpoint()
    serving.documents["/ratio"] = {"ratio": 0.99}
    yield serving
    serving.stop()


def _analysis_template(url: str, count: int = 3) -> str:
    metric = {
        "name": "ratio",
        "interval": "1s",
        "count": count,
        "failureLimit": 0,
        "successCondition": "result >= 0.95",
        "provider": {"web": {"url": url, "jsonPath": "{$.ratio}"}},
    }
    template = {"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate", "metadata": {"name": "ratio"}}
    return json.dumps({**template, "spec": {"metrics": [metric]}})


def _experiment_step(weight: int | None = None) -> dict[str, Any]:
    canary: dict[str, Any] = {"name": "canary", "specRef": "canary"}
    if weight is not None:
        canary["weight"] = weight
    return {
        "experiment": {
            "templates": [{"name": "baseline", "specRef": "stable"}, canary],
            "analyses": [{"name": "ratio", "templateName": "ratio", "requiredForCompletion": True}],
        }
    }


def _start(start_controller: Callable[..., ControllerProcess], namespace: str) -> None:
    start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false").wait_for_log("workers started")


def _step_experiment(s: Scenario) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        items = s.cluster.list("experiments", s.namespace)
        return items[0] if items else None

    return wait_until(found, 90, "the step's Experiment")


def _then_experiment_phase(s: Scenario, name: str, phase: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        experiment = s.get("experiment", name)
        return experiment if (experiment.get("status") or {}).get("phase") == phase else None

    return wait_until(reached, 120, f"experiment {name} to be {phase}")


def _given_rollout(s: Scenario, endpoint: MetricsEndpoint) -> None:
    s.given(_analysis_template(endpoint.url("/ratio")))
    steps = [{"setWeight": 20}, _experiment_step(), {"setWeight": 60}, {"pause": {}}]
    s.given_rollout("web", image=V1, replicas=4, canary={"steps": steps})
    s.then_phase("web", "Healthy")


def _then_experiment_runs_both_templates(s: Scenario, v1: str, v2: str) -> dict[str, Any]:
    experiment = _step_experiment(s)
    name = experiment["metadata"]["name"]
    assert name == f"web-{v2}-2-1"
    owner = experiment["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("Rollout", "web", True)
    _then_experiment_phase(s, name, "Running")
    images = {}
    for rs in s.cluster.list("replicasets", s.namespace):
        refs = rs["metadata"].get("ownerReferences") or []
        if any(r["kind"] == "Experiment" and r["name"] == name for r in refs):
            images[rs["metadata"]["name"]] = rs["spec"]["template"]["spec"]["containers"][0]["image"]
    assert images == {f"{name}-baseline": V1, f"{name}-canary": V2}
    del v1
    return experiment


def test_a_passing_experiment_step_moves_the_rollout_on(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], endpoint: MetricsEndpoint
) -> None:
    s = Scenario(cluster, namespace)
    _start(start_controller, namespace)
    _given_rollout(s, endpoint)
    v1 = pod_template_hash(s.replica_set_for_image("web", V1))
    RampGates(cluster, namespace).set_image("web", "app", V2)
    v2 = pod_template_hash(s.replica_set_for_image("web", V2))
    experiment = _then_experiment_runs_both_templates(s, v1, v2)
    assert s.status("web")["canary"]["currentExperiment"] == experiment["metadata"]["name"]
    _then_experiment_phase(s, experiment["metadata"]["name"], "Successful")
    s.then_rollout("web", lambda r: r["status"].get("currentStepIndex") == 3, "paused at the last step")
    assert s.status("web")["phase"] == "Paused"
    assert "currentExperiment" not in s.status("web")["canary"]


def test_a_failing_experiment_step_aborts_the_rollout(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], endpoint: MetricsEndpoint
) -> None:
    s = Scenario(cluster, namespace)
    _start(start_controller, namespace)
    _given_rollout(s, endpoint)
    v1 = pod_template_hash(s.replica_set_for_image("web", V1))
    endpoint.documents["/ratio"] = {"ratio": 0.2}
    RampGates(cluster, namespace).set_image("web", "app", V2)
    v2 = pod_template_hash(s.replica_set_for_image("web", V2))
    experiment = _step_experiment(s)
    _then_experiment_phase(s, experiment["metadata"]["name"], "Failed")
    rollout = s.then_phase("web", "Degraded")
    assert "Experiment analysis phase is error/failed" in rollout["status"]["message"]
    wait_until(lambda: s.replica_set_for_image("web", V2)["spec"]["replicas"] == 0, 90, "canary scaled down")
    assert s.replica_set_for_image("web", V1)["spec"]["replicas"] == 4
    del v1, v2


def test_a_weighted_experiment_template_gets_its_share_through_the_router(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], endpoint: MetricsEndpoint
) -> None:
    install_crds(cluster, ISTIO)
    names = Names(namespace)
    s = Scenario(cluster, namespace)
    for service in (names.stable_service, names.canary_service):
        body = {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80}]}
        s.given(json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": service}, "spec": body}))
    s.given(ISTIO.objects(names))
    _start(start_controller, namespace)
    s.given(_analysis_template(endpoint.url("/ratio"), count=15))  # runs long enough to sample the split
    steps = [{"setWeight": 20}, _experiment_step(weight=5), {"pause": {}}]
    canary = {
        "stableService": names.stable_service,
        "canaryService": names.canary_service,
        "trafficRouting": ISTIO.traffic_routing(names),
        "steps": steps,
    }
    # A Service is made for an experiment template only when its pods expose a port (as upstream).
    containers = [{"name": "app", "image": V1, "ports": [{"containerPort": 80}]}]
    s.given_rollout("web", image=V1, replicas=4, canary=canary, pod_spec={"containers": containers})
    s.then_phase("web", "Healthy")
    RampGates(cluster, namespace).set_image("web", "app", V2)
    experiment = _step_experiment(s)
    name = experiment["metadata"]["name"]

    def experiment_share() -> dict[str, int] | None:
        shares = ISTIO.read_weights(cluster, names)
        service = f"{name}-canary"
        return shares if shares.get(service) == 5 else None

    shares = wait_until(experiment_share, 90, "the experiment's canary Service to get 5")
    assert shares[names.canary_service] == 20
    assert shares[names.stable_service] == 75
    assert sum(shares.values()) == 100
    _then_experiment_phase(s, name, "Successful")
    wait_until(lambda: f"{name}-canary" not in ISTIO.read_weights(cluster, names), 90, "experiment share removed")
