"""`ramp controller` as a real process: it takes the Lease, hands over on a crash, survives apiserver restarts."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

import httpx

from ramp import __version__
from tests.e2e.harness import Cluster, ControllerProcess, wait_until
from tests.e2e.scenario import Scenario
from tests.e2e.test_analysis_run import (
    MetricsEndpoint,
    endpoint_fixture,  # noqa: F401 - provides the `endpoint` fixture
    then_phase,
)
from tests.e2e.test_experiment import _analysis_template, _experiment

CONTROLLER_NAMESPACE = "argo-rollouts"
LEADER_LINE = r"leader acquired"
SYNCED_LINE = r"informers synced"


def _lease(cluster: Cluster, instance_id: str) -> dict:
    return cluster.get("lease", f"argo-rollouts-controller-lock-{instance_id}", CONTROLLER_NAMESPACE)


def test_controller_takes_the_lease_and_serves_health_and_metrics(
    cluster: Cluster, start_controller: Callable[..., ControllerProcess]
) -> None:
    instance = f"lease-{uuid.uuid4().hex[:6]}"
    # When a controller starts
    controller = start_controller("--instance-id", instance)
    controller.wait_for_log(LEADER_LINE, timeout=30)
    controller.wait_for_log(SYNCED_LINE, timeout=30)
    # Then it holds the Lease upstream's controller uses, with upstream's timings
    lease = _lease(cluster, instance)
    assert lease["spec"]["leaseDurationSeconds"] == 15
    assert lease["spec"]["holderIdentity"]
    # And it serves /healthz and Prometheus /metrics
    assert httpx.get(f"http://127.0.0.1:{controller.healthz_port}/healthz").status_code == 200
    metrics = httpx.get(f"http://127.0.0.1:{controller.metrics_port}/metrics").text
    assert "controller_clientset_k8s_request_total" in metrics
    # And on SIGTERM it stops cleanly and gives the Lease up
    assert controller.terminate() == 0
    released = _lease(cluster, instance)["spec"].get("holderIdentity")
    assert released in (None, "")


def test_second_controller_takes_over_within_20s_of_a_crash(
    cluster: Cluster, start_controller: Callable[..., ControllerProcess]
) -> None:
    instance = f"takeover-{uuid.uuid4().hex[:6]}"
    # Given a leader and a standby
    first = start_controller("--instance-id", instance, label="first")
    first.wait_for_log(LEADER_LINE, timeout=30)
    second = start_controller("--instance-id", instance, label="second")
    wait_until(lambda: "lease" in second.log().lower(), 20, "the standby to try the lease")
    time.sleep(3)
    assert LEADER_LINE not in second.log(), "the standby must not lead while the leader renews"
    holder = _lease(cluster, instance)["spec"]["holderIdentity"]
    # When the leader is killed without a chance to release the Lease
    first.kill()
    killed_at = time.monotonic()
    # Then the standby holds the Lease within 20 s
    second.wait_for_log(LEADER_LINE, timeout=20)
    took = time.monotonic() - killed_at
    new_holder = _lease(cluster, instance)["spec"]["holderIdentity"]
    assert new_holder != holder
    assert _lease(cluster, instance)["spec"]["leaseTransitions"] >= 1
    print(f"takeover after {took:.1f}s")


def _rollout(name: str, instance: str) -> str:
    return f"""
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: {name}
  labels:
    argo-rollouts.argoproj.io/controller-instance-id: {instance}
spec:
  replicas: 1
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
  strategy:
    canary: {{}}
"""


def _added_event(cluster: Cluster, namespace: str, name: str) -> bool:
    return any(event["reason"] == "RolloutAddedToInformer" for event in cluster.events(namespace, name))


def _reconciled(controller: ControllerProcess, name: str) -> bool:
    """Whether /metrics carries a reconcile series for the rollout (removed again when it is deleted)."""
    return any(
        line.startswith("rollout_reconcile_count{") and f'name="{name}"' in line
        for line in controller.metrics().splitlines()
    )


RESTART_REFUSES = (
    "a kube-apiserver that has just started answers 403 to every ServiceAccount until its RBAC cache has synced; "
    "the controller is expected to retry, which this test checks"
)
"""Why the apiserver-restart tests do not count refused requests: they are the restart's, not a missing grant."""


def _restart_apiserver(cluster: Cluster, outage_seconds: float) -> None:
    cluster.local.stop_component("kube-apiserver")
    time.sleep(outage_seconds)
    cluster.local.start_component("kube-apiserver")
    assert cluster.local.is_ready(wait_seconds=60)
    # kube-controller-manager's own watches back off for up to ~30 s after the outage; later tests need it
    # (a namespace's default ServiceAccount), so wait until it works again before going on.
    probe = cluster.create_namespace("after-restart")
    cluster.kubectl("delete", "namespace", probe, "--wait=false")


def test_informers_resume_after_a_kube_apiserver_restart(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    """Leader election off, so what is tested is the informers themselves: no new term rebuilds them."""
    instance = f"restart-{uuid.uuid4().hex[:6]}"
    # Given a running controller that has handled rollout 'before'
    controller = start_controller(
        "--instance-id", instance, "--leader-elect=false", refusals_expected_because=RESTART_REFUSES
    )
    controller.wait_for_log(SYNCED_LINE, timeout=30)
    cluster.apply(_rollout("before", instance), namespace)
    wait_until(lambda: _added_event(cluster, namespace, "before"), 30, "the controller to see rollout 'before'")
    wait_until(lambda: _reconciled(controller, "before"), 30, "a reconcile series for 'before'")
    # When kube-apiserver is away for 15 s (longer than any renew deadline) and comes back
    _restart_apiserver(cluster, outage_seconds=15)
    assert controller.alive, "the controller must ride out an apiserver outage"
    # And afterwards one rollout is deleted and another created
    cluster.kubectl("delete", "rollout", "before", "-n", namespace)
    cluster.apply(_rollout("after", instance), namespace)
    # Then the same informers catch up with both: the new one is handled, the deleted one forgotten
    wait_until(lambda: _added_event(cluster, namespace, "after"), 60, "the controller to see rollout 'after'")
    # Series outlive the object by 65 s (as upstream), so that a last scrape still sees their final values.
    wait_until(lambda: not _reconciled(controller, "before"), 120, "the series of deleted 'before' to go")
    assert controller.alive
    assert "informers synced" in controller.log()
    assert controller.log().count("informers synced") == 1, "the informers were rebuilt, not resumed"
    assert httpx.get(f"http://127.0.0.1:{controller.healthz_port}/healthz").status_code == 200


def test_leader_rides_out_a_kube_apiserver_restart(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    """Leader election on: an outage longer than the renew deadline ends the term; the process leads again."""
    instance = f"relead-{uuid.uuid4().hex[:6]}"
    controller = start_controller("--instance-id", instance, refusals_expected_because=RESTART_REFUSES)
    controller.wait_for_log(SYNCED_LINE, timeout=30)
    cluster.apply(_rollout("before", instance), namespace)
    wait_until(lambda: _added_event(cluster, namespace, "before"), 30, "the controller to see rollout 'before'")
    # When kube-apiserver is away for 15 s
    _restart_apiserver(cluster, outage_seconds=15)
    # Then the controller is still running, leads again and catches up
    cluster.apply(_rollout("after", instance), namespace)
    wait_until(lambda: _added_event(cluster, namespace, "after"), 60, "the controller to see rollout 'after'")
    assert controller.alive
    assert httpx.get(f"http://127.0.0.1:{controller.healthz_port}/healthz").status_code == 200


def test_namespaced_controller_sees_only_its_namespace(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    instance = f"ns-{uuid.uuid4().hex[:6]}"
    other = cluster.create_namespace("other")
    try:
        # Given a controller in namespaced mode for one namespace
        controller = start_controller("--instance-id", instance, "--namespaced", "--namespace", namespace)
        controller.wait_for_log(SYNCED_LINE, timeout=30)
        # When rollouts appear in that namespace and in another
        cluster.apply(_rollout("outside", instance), other)
        cluster.apply(_rollout("inside", instance), namespace)
        # Then only the one in its namespace is handled
        wait_until(lambda: _added_event(cluster, namespace, "inside"), 30, "the controller to see rollout 'inside'")
        time.sleep(2)
        assert not _added_event(cluster, other, "outside")
    finally:
        cluster.kubectl("delete", "namespace", other, "--wait=false", check=False)


def test_instance_id_filters_what_a_controller_sees(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess]
) -> None:
    mine, other = f"mine-{uuid.uuid4().hex[:6]}", f"other-{uuid.uuid4().hex[:6]}"
    controller = start_controller("--instance-id", mine)
    controller.wait_for_log(SYNCED_LINE, timeout=30)
    # Given a rollout labelled for another instance, and one for this instance
    cluster.apply(_rollout("theirs", other), namespace)
    cluster.apply(_rollout("ours", mine), namespace)
    # Then only ours is picked up
    wait_until(lambda: _added_event(cluster, namespace, "ours"), 30, "the controller to see rollout 'ours'")
    time.sleep(2)
    assert not _added_event(cluster, namespace, "theirs")


def _series(metrics: str, family: str, /, **labels: str) -> list[str]:
    """The exposition lines of `family` whose labels include every one of `labels`."""
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    return [
        line
        for line in metrics.splitlines()
        if line.startswith(family + "{") and all(label in line for label in wanted)
    ]


def test_an_upstream_deployments_flags_start_it_and_metrics_show_analysis_and_experiments(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], endpoint: MetricsEndpoint
) -> None:
    # Given a controller started with flags from upstream's install manifests, some of no meaning for Ramp
    controller = start_controller(
        "--namespaced",
        "--namespace",
        namespace,
        "--leader-elect=false",
        "--leader-election-lease-duration=20s",
        "--kloglevel=2",
        "--istio-api-version=v1alpha3",
        "--alb-ingress-classes=alb",
        "--aws-verify-target-group",
    )
    controller.wait_for_log("workers started")
    # Then it names the ignored flags in one notice
    notice = controller.wait_for_log(r"ignored: (.*)").group(1)
    for flag in ("--kloglevel", "--istio-api-version", "--alb-ingress-classes", "--aws-verify-target-group"):
        assert flag in notice
    s = Scenario(cluster, namespace)
    # When an Experiment runs with an analysis from an AnalysisTemplate
    s.given(_analysis_template("ratio", endpoint.url("/healthy")))
    s.given(_experiment("good", analyses=[{"name": "ratio", "templateName": "ratio", "requiredForCompletion": True}]))
    then_phase(s, "experiment", "good", "Successful", timeout=90)
    # Then /metrics carries upstream's analysis and experiment series, with upstream's labels
    scraped = controller.metrics()
    run = {"namespace": namespace, "name": "good-ratio"}
    assert _series(scraped, "analysis_run_info", **run, phase="Successful")
    assert _series(scraped, "analysis_run_phase", **run, phase="Successful")[0].endswith(" 1.0")
    assert _series(scraped, "analysis_run_metric_type", **run, metric="ratio", type="Web")
    measured = _series(
        scraped, "analysis_run_metric_phase", **run, metric="ratio", type="Web", dry_run="false", phase="Successful"
    )
    assert measured and measured[0].endswith(" 1.0")
    assert _series(scraped, "analysis_run_reconcile_count", **run)
    assert _series(scraped, "analysis_template_info", namespace=namespace, name="ratio")
    assert _series(scraped, "analysis_template_metric_info", namespace=namespace, name="ratio", type="Web")
    assert _series(scraped, "experiment_info", namespace=namespace, name="good", phase="Successful")
    assert _series(scraped, "experiment_phase", namespace=namespace, name="good", phase="Successful")[0].endswith(
        " 1.0"
    )
    assert _series(scraped, "experiment_reconcile_count", namespace=namespace, name="good")
    assert _series(scraped, "argo_rollouts_controller_info", version=f"v{__version__}")
    # And the request counter names the experiment, while its ReplicaSets count under N/A (bounded series)
    assert _series(scraped, "controller_clientset_k8s_request_total", kind="experiments", name="good")
    assert _series(scraped, "controller_clientset_k8s_request_total", kind="replicasets", name="N/A")
    assert not _series(scraped, "controller_clientset_k8s_request_total", kind="replicasets", name="good-baseline")


def test_controllers_analysis_runs_only_analysis_with_the_lease_timings_given(
    cluster: Cluster, namespace: str, start_controller: Callable[..., ControllerProcess], endpoint: MetricsEndpoint
) -> None:
    instance = f"analysis-{uuid.uuid4().hex[:6]}"
    # Given a controller started with upstream's --controllers=analysis and longer leader-election timings
    controller = start_controller(
        "--instance-id",
        instance,
        "--namespaced",
        "--namespace",
        namespace,
        "--controllers=analysis",
        "--leader-election-lease-duration=30s",
        "--leader-election-renew-deadline=20s",
        "--leader-election-retry-period=3s",
    )
    controller.wait_for_log(LEADER_LINE, timeout=30)
    controller.wait_for_log("workers started")
    # Then the Lease records the lease duration given
    assert _lease(cluster, instance)["spec"]["leaseDurationSeconds"] == 30
    # When an AnalysisRun and a Rollout appear
    run = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {"name": "check", "labels": {"argo-rollouts.argoproj.io/controller-instance-id": instance}},
        "spec": {"metrics": [{"name": "ratio", "provider": {"web": {"url": endpoint.url("/healthy")}}}]},
    }
    cluster.apply(json.dumps(run), namespace)
    cluster.apply(_rollout("untouched", instance), namespace)
    # Then the run is measured to the end, and the Rollout is left alone (no Rollout controller runs)
    s = Scenario(cluster, namespace)
    then_phase(s, "analysisrun", "check", "Successful", timeout=60)
    assert not cluster.get("rollout", "untouched", namespace).get("status")
    assert not _added_event(cluster, namespace, "untouched")
