"""Drop-in behaviours an Argo Rollouts user relies on, on the local cluster: sharded controllers and apply order.

- Children carry the controller instance id (upstream: an AnalysisRun or Experiment made for a Rollout labelled
  `argo-rollouts.argoproj.io/controller-instance-id: X` carries the same label, so the controller started with
  `--instance-id X` sees it). Without it the Rollout would wait on its analysis forever.
- Order of creation does not matter: one `kubectl apply -f` of a file holding a Rollout and then the
  AnalysisTemplate or Ingress it names reconciles the Rollout again as soon as the referenced object appears,
  not at the next resync (the controller runs here with a resync far longer than the waits).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.harness import INSTANCE_ID_LABEL, Cluster, ControllerProcess, instance_id_for, wait_until
from tests.e2e.metrics_source import MetricsSource
from tests.e2e.scenario import Scenario

OLD, NEW = "nginx:1.27", "nginx:1.28"
# Far longer than any wait below: a Rollout that recovers did so because something re-enqueued it.
LONG_RESYNC = "3600"
REFERENCE_WAIT = 20.0


@pytest.fixture
def source() -> Iterator[MetricsSource]:
    serving = MetricsSource()
    serving.set_document({"ratio": 0.99})
    yield serving
    serving.stop()


def _start(start_controller: Callable[..., ControllerProcess], namespace: str) -> ControllerProcess:
    controller = start_controller(
        "--namespaced", "--namespace", namespace, "--leader-elect=false", "--rollout-resync", LONG_RESYNC
    )
    controller.wait_for_log("workers started")
    return controller


def _template(name: str, source: MetricsSource) -> dict[str, Any]:
    metric = {
        "name": "success-ratio",
        "successCondition": "result > 0.95",
        "provider": {"web": {"url": f"{source.url}/health", "jsonPath": "{$.ratio}"}},
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": name},
        "spec": {"metrics": [metric]},
    }


def _rollout(canary: dict[str, Any], image: str = OLD) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
            "strategy": {"canary": canary},
        },
    }


def _file(*documents: dict[str, Any]) -> str:
    """One manifest file, documents in the order given (as a user's file has them)."""
    return "\n---\n".join(json.dumps(doc) for doc in documents)


def _condition(s: Scenario, name: str, kind: str) -> dict[str, Any] | None:
    conditions = (s.get("rollout", name).get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == kind), None)


def test_an_analysis_step_of_a_sharded_rollout_runs_under_its_instance_id_and_promotes(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], source: MetricsSource
) -> None:
    instance = instance_id_for(namespace)
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a controller started with --instance-id, and a labelled canary with an analysis step
    step = {"analysis": {"templates": [{"templateName": "success"}]}}
    s.given(_file(_template("success", source), _rollout({"steps": [{"setWeight": 50}, step]})))
    assert s.get("rollout", "web")["metadata"]["labels"][INSTANCE_ID_LABEL] == instance
    s.then_phase("web", "Healthy")
    # When a new version reaches the analysis step
    s.when_image("rollout", "web", "app", NEW)
    # Then the AnalysisRun carries the Rollout's instance id, its controller runs it, and the release completes
    runs = wait_until(lambda: cluster.list("analysisruns", namespace), 60, "the step's AnalysisRun")
    assert [r["metadata"]["labels"].get(INSTANCE_ID_LABEL) for r in runs] == [instance]
    wait_until(
        lambda: (
            (cluster.get("analysisrun", runs[0]["metadata"]["name"], namespace).get("status") or {}).get("phase")
            == "Successful"
        ),
        60,
        "the run to be Successful",
    )
    s.then_phase("web", "Healthy")
    s.then_ready_images("app=web", {NEW: 2})


def test_an_experiment_step_and_its_analysis_carry_the_rollouts_instance_id(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], source: MetricsSource
) -> None:
    instance = instance_id_for(namespace)
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a labelled canary whose first step is an experiment with an analysis
    experiment = {
        "experiment": {
            "duration": "5s",
            "templates": [{"name": "canary", "specRef": "canary"}],
            "analyses": [{"name": "check", "templateName": "success"}],
        }
    }
    s.given(_file(_template("success", source), _rollout({"steps": [experiment]})))
    s.then_phase("web", "Healthy")
    # When a new version starts the experiment
    s.when_image("rollout", "web", "app", NEW)
    # Then the Experiment and its AnalysisRun carry the instance id, and the release completes through them
    experiments = wait_until(lambda: cluster.list("experiments", namespace), 60, "the step's Experiment")
    assert experiments[0]["metadata"]["labels"][INSTANCE_ID_LABEL] == instance
    runs = wait_until(lambda: cluster.list("analysisruns", namespace), 60, "the experiment's AnalysisRun")
    assert runs[0]["metadata"]["labels"][INSTANCE_ID_LABEL] == instance
    s.then_phase("web", "Healthy", timeout=90)
    s.then_ready_images("app=web", {NEW: 2})


def test_a_rollout_applied_before_its_analysis_template_recovers_as_soon_as_the_template_exists(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], source: MetricsSource
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a Rollout with background analysis whose template does not exist yet
    canary = {
        "analysis": {"templates": [{"templateName": "success"}]},
        "steps": [{"setWeight": 50}, {"pause": {"duration": "1s"}}],
    }
    s.given(_file(_rollout(canary)))
    wait_until(
        lambda: (c := _condition(s, "web", "InvalidSpec")) and "success" in str(c.get("message")),
        30,
        "InvalidSpec naming the missing template",
    )
    # When the template is applied
    s.given(_file(_template("success", source)))
    # Then the Rollout is reconciled again at once (the resync is an hour away) and becomes Healthy
    wait_until(lambda: _condition(s, "web", "InvalidSpec") is None, REFERENCE_WAIT, "InvalidSpec to clear")
    s.then_phase("web", "Healthy")


def test_one_file_with_the_rollout_first_and_its_template_second_runs_the_analysis(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], source: MetricsSource
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a Healthy canary with an analysis step, whose file lists the Rollout before the template
    step = {"analysis": {"templates": [{"templateName": "success"}]}}
    s.given(_file(_rollout({"steps": [{"setWeight": 50}, step]}), _template("success", source)))
    s.then_phase("web", "Healthy")
    # When the same file is applied again with a new image (Rollout first again)
    s.given(_file(_rollout({"steps": [{"setWeight": 50}, step]}, image=NEW), _template("success", source)))
    # Then the analysis runs and the release completes
    s.then_phase("web", "Healthy", timeout=90)
    s.then_ready_images("app=web", {NEW: 2})


def test_a_rollout_routed_through_an_ingress_created_after_it_recovers_as_soon_as_the_ingress_exists(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    services = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]},
        }
        for name in ("web-stable", "web-canary")
    ]
    canary = {
        "stableService": "web-stable",
        "canaryService": "web-canary",
        "trafficRouting": {"nginx": {"stableIngress": "web"}},
        "steps": [{"setWeight": 50}, {"pause": {}}],
    }
    # Given a file with the Services and a Rollout routed through nginx, but no Ingress yet
    s.given(_file(*services, _rollout(canary)))
    wait_until(
        lambda: (c := _condition(s, "web", "InvalidSpec")) and "Ingress" in str(c.get("message")),
        30,
        "InvalidSpec naming the missing Ingress",
    )
    # When the Ingress is applied
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web", "annotations": {"kubernetes.io/ingress.class": "nginx"}},
        "spec": {
            "rules": [
                {
                    "host": "web.example",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web-stable", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ]
        },
    }
    s.given(_file(ingress))
    # Then the Rollout is reconciled again at once and becomes Healthy
    wait_until(lambda: _condition(s, "web", "InvalidSpec") is None, REFERENCE_WAIT, "InvalidSpec to clear")
    s.then_phase("web", "Healthy")
