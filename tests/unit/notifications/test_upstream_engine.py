"""The controller's engine end to end without a cluster: the catalog ConfigMap as Argo Rollouts documents it, a
webhook service on a local server, and a RolloutAborted event give the catalog's message, once, with upstream's
key in the notified annotation; a custom trigger with a `when` sends when it comes to hold."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import yaml

from ramp.kube.client import KubeClient
from ramp.kube.config import ClusterConfig
from ramp.kube.events import EventRecorder
from ramp.notifications.bookkeeping import read_ledger
from ramp.notifications.delivery import RetryPolicy
from ramp.notifications.notifier import Lookup, Notifier
from ramp.notifications.services.base import ServiceContext
from ramp.notifications.upstream import UpstreamEngine
from ramp.notifications.watch import ConfigBook
from tests.backends import LocalHttpServer, Reply
from tests.unit.notifications.test_notifier import _Cluster, _rollout

CATALOG = (
    Path(__file__).resolve().parents[2] / "fixtures" / "notifications" / "argo-rollouts-notification-configmap.yaml"
)


async def test_the_catalog_configmap_sends_its_message_for_an_abort_and_a_custom_trigger_when_it_holds() -> None:
    hook = LocalHttpServer(lambda request: Reply(200, "ok")).start()
    try:
        configmap: dict[str, Any] = yaml.safe_load(CATALOG.read_text())
        configmap["metadata"]["namespace"] = "argo-rollouts"
        configmap["data"]["service.webhook.hook"] = f"url: {hook.url}/x\n"
        configmap["data"]["trigger.on-big"] = "- send: [rollout-completed]\n  when: rollout.spec.replicas > 3\n"
        cluster = _Cluster(
            _rollout(
                **{
                    "notifications.argoproj.io/subscribe.on-rollout-aborted.hook": "",
                    "notifications.argoproj.io/subscribe.on-big.hook": "",
                }
            )
        )
        cluster.rollout["spec"] = {"replicas": 2, "template": {"spec": {"containers": [{"name": "app", "image": "a"}]}}}
        client = KubeClient(ClusterConfig(server="https://mock"), transport=httpx.MockTransport(cluster), qps=0)
        recorder = EventRecorder(client, host="test")
        engine = UpstreamEngine()
        async with httpx.AsyncClient(timeout=5) as http:
            book = ConfigBook(
                engine, ServiceContext(http, lambda **kw: http), recorder, controller_namespace="argo-rollouts"
            )
            book.set("argo-rollouts", configmap, None)
            notifier = Notifier(client, recorder, book, engine, policy=RetryPolicy(attempts=1))
            recorder.add_listener(notifier.listen)
            await notifier.resume(Lookup(lambda k, ns, n: cluster.rollout, lambda ns: []), [])
            tasks = [asyncio.create_task(notifier.run()), asyncio.create_task(recorder.run())]
            recorder.warning(cluster.rollout, "RolloutAborted", "Rollout aborted update to revision 2")
            notifier.observe(cluster.rollout)  # 2 replicas: on-big does not hold
            await asyncio.sleep(0)
            await notifier.drain(10)
            cluster.rollout["spec"]["replicas"] = 5
            notifier.observe(cluster.rollout)
            await asyncio.sleep(0)
            await notifier.drain(10)
            for task in tasks:
                task.cancel()
        bodies = [r.body.decode().strip() for r in hook.requests]
        assert bodies == ["Rollout web has been aborted.", "Rollout web has been completed."]
        notified = read_ledger(cluster.rollout["metadata"]["annotations"]).notified
        assert len(notified) == 2
        assert "on-big:[0]." in next(k for k in notified if "on-big" in k)
        assert any(k.endswith(":on-rollout-aborted:[0].2jmj7l5rSw0yVb_vlWAYkK_YBwk:hook:") for k in notified)
    finally:
        hook.stop()
