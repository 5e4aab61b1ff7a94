"""The manager's wiring decisions: which queue an informer event concerns (`_route_events`, driven by feeding
watch events straight into the informers' caches; no API server), what each informer watches, and how the
end of a term is noticed."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from ramp.kube.client import KubeClient
from ramp.kube.config import ClusterConfig
from ramp.kube.metrics import EVENTS, K8S_REQUESTS, reconcile_metrics
from ramp.kube.reconcile import Result
from ramp.kube.workqueue import WorkQueue
from ramp.manager import RECONCILER_KINDS, Manager, ManagerOptions, controller_owner, referenced_services
from ramp.manager import wiring as manager_module
from ramp.manager.runtime import _end_term_if_informer_failed
from ramp.traffic.istio import VIRTUAL_SERVICES
from ramp.traffic.traefik import TRAEFIK_SERVICES


class _Idle:
    async def reconcile(self, key: str) -> Result:
        return Result()


def _unused_client(qps: float = 40, burst: int = 80) -> KubeClient:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"nothing is sent in these tests: {request.method} {request.url}")

    return KubeClient(ClusterConfig(server="https://mock"), transport=httpx.MockTransport(refuse), qps=qps, burst=burst)


def _manager(**options) -> Manager:
    reconcilers = {kind: (lambda _: _Idle()) for kind in RECONCILER_KINDS}
    manager = Manager(
        ManagerOptions(identity="me", leader_elect=False, **options),
        client=_unused_client(),  # informers are fed by hand; nothing is sent
        reconcilers=reconcilers,
    )
    manager.informers = manager._build_term()
    return manager


def _event(kind: str, obj: dict) -> dict:
    return {"type": kind, "object": obj}


def _meta(name: str, rv: str = "1", namespace: str = "ns", **extra) -> dict:
    return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": rv, **extra}}


def _rollout(name: str, rv: str = "1", namespace: str = "ns", **canary: str) -> dict:
    return {**_meta(name, rv, namespace), "spec": {"strategy": {"canary": canary}}}


def _owned_by(kind: str, owner: str, name: str, rv: str = "1") -> dict:
    return _meta(name, rv, ownerReferences=[{"kind": kind, "name": owner, "controller": True}])


async def _taken(queue: WorkQueue) -> list[str]:
    """Every key now on the queue, in order (each then released)."""
    keys = []
    while len(queue):
        key = await queue.get()
        assert key is not None
        keys.append(key)
        queue.done(key)
    return keys


def _queues(manager: Manager) -> dict[str, WorkQueue]:
    return {kind: c.queue for kind, c in manager.controllers.items()}


async def test_a_replicaset_change_concerns_its_controlling_rollout_only() -> None:
    manager = _manager()
    assert manager.informers is not None
    queues = _queues(manager)
    replica_sets = manager.informers.replica_sets
    replica_sets._apply(_event("ADDED", _owned_by("Rollout", "web", "web-6c5d")))
    replica_sets._apply(_event("ADDED", _owned_by("Deployment", "other", "other-1")))
    assert await _taken(queues["rollouts"]) == ["ns/web"]
    replica_sets._apply(_event("MODIFIED", _owned_by("Rollout", "web", "web-6c5d", rv="2")))
    replica_sets._apply(_event("DELETED", _owned_by("Rollout", "web", "web-6c5d", rv="3")))
    assert await _taken(queues["rollouts"]) == ["ns/web"]  # deduplicated while queued
    assert await _taken(queues["experiments"]) == []
    assert await _taken(queues["analysisruns"]) == []


async def test_a_resync_of_an_unchanged_replicaset_does_not_wake_its_rollout() -> None:
    manager = _manager()
    assert manager.informers is not None
    replica_sets = manager.informers.replica_sets
    replica_sets._apply(_event("ADDED", _owned_by("Rollout", "web", "web-6c5d")))
    queue = _queues(manager)["rollouts"]
    await _taken(queue)
    replica_sets._notify_update(*[replica_sets.get("ns/web-6c5d")] * 2)  # what a resync delivers
    assert await _taken(queue) == []


async def test_an_analysis_run_concerns_its_own_queue_and_its_owners() -> None:
    manager = _manager()
    assert manager.informers is not None
    queues = _queues(manager)
    manager.informers.analysis_runs._apply(_event("ADDED", _owned_by("Experiment", "exp", "exp-run")))
    manager.informers.experiments._apply(_event("ADDED", _owned_by("Rollout", "web", "web-exp")))
    assert await _taken(queues["analysisruns"]) == ["ns/exp-run"]
    assert await _taken(queues["experiments"]) == ["ns/exp", "ns/web-exp"]
    assert await _taken(queues["rollouts"]) == ["ns/web"]


async def test_a_service_change_concerns_the_rollouts_pointing_at_it_found_by_index() -> None:
    manager = _manager()
    assert manager.informers is not None
    rollouts, services = manager.informers.rollouts, manager.informers.services
    queue = _queues(manager)["rollouts"]
    rollouts._apply(_event("ADDED", _rollout("web", canaryService="web-canary", stableService="web")))
    rollouts._apply(_event("ADDED", _rollout("api", stableService="api")))
    rollouts._apply(_event("ADDED", _rollout("web", namespace="other", stableService="web")))
    await _taken(queue)
    services._apply(_event("ADDED", _meta("web")))
    assert await _taken(queue) == ["ns/web"]  # not other/web: another namespace's Service
    # The rollout now points elsewhere: the index follows the update.
    rollouts._apply(_event("MODIFIED", _rollout("web", rv="2", stableService="api")))
    await _taken(queue)
    services._apply(_event("MODIFIED", _meta("web", rv="2")))
    assert await _taken(queue) == []
    services._apply(_event("DELETED", _meta("api", rv="3")))
    assert sorted(await _taken(queue)) == ["ns/api", "ns/web"]
    rollouts._apply(_event("DELETED", _rollout("api", rv="4")))
    await _taken(queue)
    services._apply(_event("ADDED", _meta("api", rv="5")))
    assert await _taken(queue) == ["ns/web"]


def _analysed_rollout(name: str, *templates: dict, namespace: str = "ns") -> dict:
    step = {"analysis": {"templates": list(templates)}}
    return {**_meta(name, namespace=namespace), "spec": {"strategy": {"canary": {"steps": [step]}}}}


async def test_a_template_created_after_its_rollout_concerns_that_rollout_at_once() -> None:
    manager = _manager()
    assert manager.informers is not None
    informers = manager.informers
    queue = _queues(manager)["rollouts"]
    informers.rollouts._apply(_event("ADDED", _analysed_rollout("web", {"templateName": "rate"})))
    informers.rollouts._apply(_event("ADDED", _analysed_rollout("api", {"templateName": "c", "clusterScope": True})))
    informers.rollouts._apply(_event("ADDED", _analysed_rollout("web", {"templateName": "rate"}, namespace="other")))
    await _taken(queue)
    informers.analysis_templates._apply(_event("ADDED", _meta("rate")))
    assert await _taken(queue) == ["ns/web"]  # not other/web: another namespace's template
    assert informers.cluster_analysis_templates is not None
    informers.cluster_analysis_templates._apply(_event("ADDED", {"metadata": {"name": "c", "resourceVersion": "1"}}))
    assert await _taken(queue) == ["ns/api"]
    informers.analysis_templates._apply(_event("DELETED", _meta("rate", rv="2")))
    assert await _taken(queue) == ["ns/web"]


async def test_a_nested_template_reaches_the_rollouts_of_every_template_that_includes_it() -> None:
    manager = _manager()
    assert manager.informers is not None
    informers = manager.informers
    queue = _queues(manager)["rollouts"]
    informers.rollouts._apply(_event("ADDED", _analysed_rollout("web", {"templateName": "outer"})))
    outer = {**_meta("outer"), "spec": {"templates": [{"templateName": "middle"}]}}
    middle = {**_meta("middle"), "spec": {"templates": [{"templateName": "inner"}, {"templateName": "outer"}]}}
    informers.analysis_templates._apply(_event("ADDED", outer))
    informers.analysis_templates._apply(_event("ADDED", middle))  # includes outer again: a cycle ends
    await _taken(queue)
    informers.analysis_templates._apply(_event("ADDED", _meta("inner")))
    assert await _taken(queue) == ["ns/web"]


async def test_a_named_ingress_concerns_the_rollouts_routing_through_it() -> None:
    manager = _manager()
    assert manager.informers is not None
    informers = manager.informers
    assert informers.ingresses is not None
    queue = _queues(manager)["rollouts"]
    routed = {**_meta("web"), "spec": {"strategy": {"canary": {"trafficRouting": {"nginx": {"stableIngress": "in"}}}}}}
    informers.rollouts._apply(_event("ADDED", routed))
    await _taken(queue)
    informers.ingresses._apply(_event("ADDED", _meta("in")))
    informers.ingresses._apply(_event("ADDED", _meta("unrelated")))
    assert await _taken(queue) == ["ns/web"]


async def test_a_routing_object_of_a_served_kind_concerns_the_rollouts_naming_it_and_counts_as_watched() -> None:

    manager = _manager()
    manager.informers = manager._build_term([VIRTUAL_SERVICES])  # as if the cluster served VirtualServices only
    informers = manager.informers
    queue = _queues(manager)["rollouts"]
    istio = {"istio": {"virtualService": {"name": "vs"}}}
    routed = {**_meta("web"), "spec": {"strategy": {"canary": {"trafficRouting": istio}}}}
    informers.rollouts._apply(_event("ADDED", routed))
    await _taken(queue)
    (virtual_services,) = informers.routing
    virtual_services._apply(_event("ADDED", _meta("vs")))
    virtual_services._apply(_event("ADDED", _meta("other")))
    assert await _taken(queue) == ["ns/web"]
    assert informers.is_watched(VIRTUAL_SERVICES, "ns")
    assert not informers.is_watched(TRAEFIK_SERVICES, "ns")  # not served: a Rollout waiting for one polls


async def test_deleting_a_rollout_drops_its_metric_series_after_the_cleanup_delay(monkeypatch) -> None:
    monkeypatch.setattr(manager_module, "METRIC_CLEANUP_DELAY", 0.0)
    manager = _manager()
    assert manager.informers is not None
    rollouts = manager.informers.rollouts
    metrics = reconcile_metrics("rollout")

    def series(name: str) -> set[str]:
        found = set()
        for family in (metrics.duration, metrics.errors, EVENTS, K8S_REQUESTS):
            for metric in family.collect():
                found |= {s.name for s in metric.samples if s.labels.get("name") == name}
        return found

    for name in ("gone", "back"):
        rollouts._apply(_event("ADDED", _rollout(name)))
        metrics.duration.observe(0.1, "ns", name)
        metrics.errors.inc("ns", name)
        EVENTS.inc("ns", name, "Normal", "RolloutUpdated")
        K8S_REQUESTS.inc("rollouts", "ns", name, "Update", "200")
        rollouts._apply(_event("DELETED", _rollout(name, rv="2")))
    rollouts._apply(_event("ADDED", _rollout("back", rv="3")))  # re-created before the cleanup ran
    assert series("gone"), "kept until the cleanup delay is up, so the last values are scraped"
    for _ in range(3):
        await asyncio.sleep(0)
    assert series("gone") == set()
    assert "rollout_reconcile_error" in series("back")


def test_informers_watch_what_upstream_watches_and_all_resync() -> None:
    manager = _manager(instance_id="blue", rollout_resync=600.0)
    assert manager.informers is not None
    selectors = sorted((i.resource.plural, i.label_selector or "") for i in manager.informers.all())
    owned = "argo-rollouts.argoproj.io/controller-instance-id=blue"
    assert selectors == sorted(
        [
            ("rollouts", owned),
            ("analysisruns", owned),
            ("analysistemplates", owned),
            ("clusteranalysistemplates", owned),
            ("deployments", ""),
            ("experiments", owned),
            ("replicasets", "rollouts-pod-template-hash"),  # only a Rollout's; no instance id, as upstream
            # what a workloadRef may name: ReplicaSets neither a Rollout nor a Deployment made, PodTemplates
            ("replicasets", "!rollouts-pod-template-hash,!pod-template-hash"),
            ("podtemplates", ""),
            ("services", ""),
            ("ingresses", ""),  # upstream watches Ingresses too (nginx, ALB); Ramp to reconcile the Rollouts naming one
        ]
    )
    assert {i.resync_period for i in manager.informers.all()} == {600.0}


async def test_an_informer_task_that_ends_by_itself_ends_the_term_but_a_cancelled_one_does_not() -> None:
    async def crash() -> None:
        raise RuntimeError("bug")

    async def forever() -> None:
        await asyncio.Event().wait()

    failed = asyncio.Event()
    cancelled = asyncio.create_task(forever())
    cancelled.add_done_callback(lambda t: _end_term_if_informer_failed(failed, t))
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await asyncio.sleep(0)
    assert not failed.is_set(), "the manager cancelling its informers is the normal end of a term"
    crashed = asyncio.create_task(crash())
    crashed.add_done_callback(lambda t: _end_term_if_informer_failed(failed, t))
    with pytest.raises(RuntimeError):
        await crashed
    await asyncio.sleep(0)
    assert failed.is_set()


def test_a_replicaset_concerns_its_controlling_rollout() -> None:
    rs = {
        "metadata": {
            "namespace": "ns",
            "name": "web-6c5d",
            "ownerReferences": [
                {"kind": "Deployment", "name": "other"},  # not the controller
                {"kind": "Rollout", "name": "web", "controller": True},
            ],
        }
    }
    assert controller_owner(rs) == ("Rollout", "ns/web")
    assert controller_owner({"metadata": {"name": "orphan"}}) is None


def test_services_a_rollout_points_at_are_found_in_both_strategies() -> None:
    canary = {"spec": {"strategy": {"canary": {"canaryService": "web-canary", "stableService": "web"}}}}
    blue_green = {"spec": {"strategy": {"blueGreen": {"activeService": "active", "previewService": "preview"}}}}
    assert referenced_services(canary) == {"web-canary", "web"}
    assert referenced_services(blue_green) == {"active", "preview"}
    assert referenced_services({"spec": {}}) == set()
    routed = {"spec": {"strategy": {"canary": {"trafficRouting": {"smi": {"rootService": "root"}, "alb": {}}}}}}
    assert referenced_services(routed) == {"root"}


def test_thread_flags_size_each_reconciler_kind() -> None:
    options = ManagerOptions(rollout_threads=3, analysis_threads=4, experiment_threads=5, identity="me")
    threads = {kind: spec.threads(options) for kind, spec in RECONCILER_KINDS.items()}
    assert threads == {"rollouts": 3, "analysisruns": 4, "experiments": 5, "featureflags": 2}
    assert {spec.queue_name for spec in RECONCILER_KINDS.values()} == {
        "Rollouts",
        "AnalysisRuns",
        "Experiments",
        "FeatureFlags",
    }


def test_unknown_reconciler_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown reconciler kinds"):
        Manager(ManagerOptions(identity="me"), client=None, reconcilers={"deployments": lambda _: None})  # type: ignore[arg-type]


def test_sharding_needs_leader_election_and_at_least_one_shard() -> None:
    with pytest.raises(ValueError, match="leader election"):
        Manager(ManagerOptions(identity="me", leader_elect=False, shards=3), client=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 1"):
        Manager(ManagerOptions(identity="me", shards=0), client=None)  # type: ignore[arg-type]


def test_sharded_workers_route_children_by_their_owner_and_refuse_shards_not_held() -> None:
    from ramp.core.sharding import shard_for

    reconcilers = {kind: (lambda _: _Idle()) for kind in RECONCILER_KINDS}
    manager = Manager(ManagerOptions(identity="me", shards=4), client=_unused_client(), reconcilers=reconcilers)
    assert manager.elector is None  # no leader Lease: one Lease per shard instead
    manager.informers = manager._build_term()
    run = {
        "metadata": {
            "namespace": "ns",
            "name": "web-abc-1",
            "resourceVersion": "1",
            "ownerReferences": [{"kind": "Rollout", "name": "web", "controller": True}],
        }
    }
    manager.informers.analysis_runs._apply(_event("ADDED", run))
    runs = manager.controllers["analysisruns"]
    rollouts = manager.controllers["rollouts"]
    assert runs.shard_of is not None and rollouts.shard_of is not None and runs.holds is not None
    assert runs.shard_of("ns/web-abc-1") == rollouts.shard_of("ns/web") == shard_for("ns/web", 4)
    assert not runs.holds(shard_for("ns/web", 4))  # no shard held before the coordinator takes one


def test_events_spend_a_budget_of_their_own_as_large_as_the_release_writes_one() -> None:
    client = _unused_client(qps=40, burst=80)
    manager = Manager(ManagerOptions(identity="me", leader_elect=False), client=client)
    events_client = manager.recorder.client
    assert events_client.budget == client.budget == (40, 80), "upstream's flags: one client's budget for events"
    assert (client._limiter.qps, client._limiter.burst) == (120, 240), "upstream's three clients, pooled"
    assert (events_client._limiter.qps, events_client._limiter.burst) == (40, 80)
    assert events_client._limiter is not client._limiter, "an event never takes a token a release write waits for"
