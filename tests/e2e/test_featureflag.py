"""FeatureFlag rollouts on the local cluster: steps, pauses, analysis, abort, promote and retry.

A FeatureFlag (ramp.dev/v1alpha1) opens its new variant step by step: setWeight 10 → pause → setWeight 50 →
analysis (a web metric served by the test) → 100% and Healthy. A failed analysis sets the weight to 0 at once
and marks the flag Degraded, naming the run; `flags promote`, `abort` and `retry` drive it through the same
status fields as a Rollout's.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from openfeature.evaluation_context import EvaluationContext

from ramp.flags.cluster_store import ClusterFlagStore
from ramp.kube.client import KubeClient
from ramp.kube.config import load_kubeconfig
from tests.e2e.flags_clients import flags_verb, python_client, start_flag_server
from tests.e2e.harness import (
    INSTANCE_ID_LABEL,
    Cluster,
    ControllerProcess,
    instance_id_for,
    wait_until,
)
from tests.e2e.metrics_source import MetricsSource
from tests.e2e.scenario import Scenario

STEPS: list[dict[str, Any]] = [
    {"setWeight": 10},
    {"pause": {}},
    {"setWeight": 50},
    {
        "analysis": {
            "templates": [{"templateName": "success-ratio"}],
            "args": [{"name": "flag", "value": "{{flag.key}}"}, {"name": "variant", "value": "{{flag.variant}}"}],
        }
    },
]


@pytest.fixture
def source() -> Iterator[MetricsSource]:
    serving = MetricsSource()
    serving.set_document({"ratio": 0.99})
    yield serving
    serving.stop()


def _start(start_controller: Callable[..., ControllerProcess], namespace: str) -> ControllerProcess:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")
    return controller


def _template(source: MetricsSource) -> str:
    metric = {
        "name": "success-ratio",
        "successCondition": "result > 0.95",
        "failureLimit": 0,
        "provider": {"web": {"url": f"{source.url}/health?flag={{{{args.flag}}}}", "jsonPath": "{$.ratio}"}},
    }
    spec = {"args": [{"name": "flag"}, {"name": "variant"}], "metrics": [metric]}
    manifest = {"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate", "metadata": {"name": "success-ratio"}}
    return json.dumps({**manifest, "spec": spec})


def _flag(namespace: str, name: str = "checkout") -> str:
    manifest = {
        "apiVersion": "ramp.dev/v1alpha1",
        "kind": "FeatureFlag",
        # FeatureFlags are filtered by the controller's instance id as its argoproj.io kinds are.
        "metadata": {"name": name, "labels": {INSTANCE_ID_LABEL: instance_id_for(namespace)}},
        "spec": {
            "key": f"{name}-v2",
            "variants": {"on": True, "off": False},
            "defaultVariant": "off",
            "rollout": {"variant": "on", "steps": STEPS},
        },
    }
    return json.dumps(manifest)


def _status(s: Scenario, name: str = "checkout") -> dict[str, Any]:
    return dict(s.get("featureflag", name).get("status") or {})


def _then(s: Scenario, timeout: float = 60, name: str = "checkout", **expected: Any) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        status = _status(s, name)
        return status if all(status.get(key) == value for key, value in expected.items()) else None

    return wait_until(reached, timeout, f"FeatureFlag {name} to reach {expected}")


def test_a_flag_opens_step_by_step_under_analysis_and_goes_healthy(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], source: MetricsSource
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a web-backed AnalysisTemplate and a FeatureFlag rolling out `on` over `off`
    s.given(_template(source))
    s.given(_flag(namespace))
    # Then 10% of users get `on`, and the flag waits at the indefinite pause
    _then(s, weight=10, currentStepIndex=1, phase="Paused")
    # When the flag is promoted
    assert "featureflag 'checkout' promoted" in flags_verb(cluster, namespace, "promote", "checkout")
    # Then it runs the analysis at 50%, with the flag's key and variant as arguments, and goes Healthy at 100%
    status = _then(s, phase="Healthy")
    assert (status["weight"], status["currentStepIndex"]) == (100, len(STEPS))
    [run] = s.cluster.list("analysisruns", namespace)
    assert run["status"]["phase"] == "Successful"
    assert {arg["name"]: arg["value"] for arg in run["spec"]["args"]} == {"flag": "checkout-v2", "variant": "on"}
    owner = run["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("FeatureFlag", "checkout", True)
    healthy = next(c for c in status["conditions"] if c["type"] == "Healthy")
    assert healthy["status"] == "True"
    # And `flags get` shows the definition clients now get: `on` for everyone
    shown = flags_verb(cluster, namespace, "get", "checkout")
    assert "Weight:     100%" in shown and '"targeting": "on"' in shown


def test_a_failed_analysis_sends_everyone_back_to_the_default(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], source: MetricsSource
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a flag promoted past its pause while the success ratio is 10%
    source.set_document({"ratio": 0.1})
    s.given(_template(source))
    s.given(_flag(namespace))
    _then(s, weight=10, phase="Paused")
    flags_verb(cluster, namespace, "promote", "checkout")
    # Then the analysis fails and the flag aborts by itself: weight 0, Degraded, the message naming the run
    status = _then(s, phase="Degraded")
    assert status["weight"] == 0
    assert status["abort"] is True
    [run] = s.cluster.list("analysisruns", namespace)
    assert run["status"]["phase"] == "Failed"
    assert f'AnalysisRun "{run["metadata"]["name"]}" Failed' in status["message"]
    s.then_event("checkout", "RolloutAborted")
    # When the metric recovers and the flag is retried
    source.set_document({"ratio": 0.99})
    flags_verb(cluster, namespace, "retry", "checkout")
    # Then the steps start again from 10%, and the failed run of the earlier attempt is gone
    _then(s, weight=10, currentStepIndex=1, phase="Paused")
    wait_until(lambda: not s.cluster.list("analysisruns", namespace), 30, "the earlier run to be deleted")


def test_abort_sends_everyone_to_the_default_and_promote_full_completes_after_retry(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], source: MetricsSource
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a flag paused at 10%
    s.given(_template(source))
    s.given(_flag(namespace))
    _then(s, weight=10, phase="Paused")
    # When it is aborted
    assert "featureflag 'checkout' aborted" in flags_verb(cluster, namespace, "abort", "checkout")
    # Then nobody gets the new variant any more
    status = _then(s, phase="Degraded")
    assert status["weight"] == 0
    assert "Weight:     0%" in flags_verb(cluster, namespace, "get", "checkout")
    # When it is retried and fully promoted
    flags_verb(cluster, namespace, "retry", "checkout")
    _then(s, weight=10, phase="Paused")
    assert "fully promoted" in flags_verb(cluster, namespace, "promote", "checkout", "--full")
    # Then it skips the remaining steps (no analysis run) and is Healthy at 100%
    status = _then(s, phase="Healthy")
    assert status["weight"] == 100
    assert s.cluster.list("analysisruns", namespace) == []


def test_the_cluster_flag_store_follows_the_rollout_without_an_api_call_per_read(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], source: MetricsSource
) -> None:
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    s.given(_template(source))

    async def follow() -> list[Any]:
        async with KubeClient(load_kubeconfig([cluster.kubeconfig])) as kube:
            store = ClusterFlagStore.for_cluster(kube, namespace)
            informer = asyncio.create_task(store.run())
            try:
                await store.wait_for_sync()
                assert store.snapshot().flags == {}
                # When the FeatureFlag is applied: the store wakes, and serves it at 10% once the controller acts
                changed = asyncio.create_task(store.changed())
                await asyncio.to_thread(s.given, _flag(namespace))
                await asyncio.wait_for(changed, 30)
                seen = []
                for _ in range(60):
                    definition = store.snapshot().flags.get("checkout-v2")
                    if definition and definition.get("targeting"):
                        seen.append(definition["targeting"])
                        break
                    await asyncio.wait_for(store.changed(), 30)
                # When it is aborted: the split is gone, everyone gets the default
                await asyncio.to_thread(flags_verb, cluster, namespace, "abort", "checkout")
                for _ in range(60):
                    definition = store.snapshot().flags["checkout-v2"]
                    if "targeting" not in definition:
                        seen.append(definition)
                        break
                    await asyncio.wait_for(store.changed(), 30)
                return seen
            finally:
                informer.cancel()

    seen = asyncio.run(follow())
    assert seen[0] == {"fractional": [["on", 10], ["off", 90]]}
    assert seen[1]["defaultVariant"] == "off" and seen[1]["metadata"]["rolloutWeight"] == 0


def test_ramp_flags_serve_serves_the_clusters_flags_to_the_sdk_as_the_rollout_moves(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    source: MetricsSource,
    tmp_path: Path,
) -> None:
    # Given a controller, and `ramp flags serve` in cluster mode on the test's namespace
    _start(start_controller, namespace)
    s = Scenario(cluster, namespace)
    s.given(_template(source))
    server = start_flag_server(
        ["-n", namespace, "--kubeconfig", str(cluster.kubeconfig)], tmp_path / "serve.log", timeout=60
    )
    try:
        url = server.url
        client = python_client(url, f"cluster-{namespace}")
        keys = [EvaluationContext(targeting_key=f"user-{i}") for i in range(2000)]

        def share_on() -> float:
            return sum(bool(client.get_boolean_value("checkout-v2", False, key)) for key in keys) / len(keys)

        # When a FeatureFlag opens its new variant to 10% and pauses
        s.given(_flag(namespace))
        _then(s, phase="Paused", weight=10)

        # Then the real OpenFeature SDK sees about 10% of 2,000 users on it, through the server's watch
        def about_ten_percent() -> float | None:
            share = share_on()
            return share if 0.07 <= share <= 0.13 else None

        first = wait_until(about_ten_percent, 30, "about 10% on")
        # And when the rollout is aborted, every user gets the default at once
        flags_verb(cluster, namespace, "abort", "checkout")
        wait_until(lambda: share_on() == 0.0, 30, "everyone back on the default")
        print(f"cluster mode: {first:.3f} of 2,000 users on the new variant at 10%")
    finally:
        server.stop()
