"""Notifications in the controller: the notifier listening to the event recorder, the configuration watcher, and
the HTTP clients the services share, built once per process by `ramp.manager.runtime.Manager`.

The notifier hears every event the reconcilers record; it sends only while this replica leads (only a leader's
reconcilers record events), and at the start of each term resumes the deliveries left pending on the objects.
Its annotation patches spend a request budget of their own (as events do), never a release write's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from ramp.kube.caches import Informers
from ramp.kube.client import KubeClient
from ramp.kube.events import EventRecorder
from ramp.kube.informer import EventHandler
from ramp.notifications.delivery import RetryPolicy
from ramp.notifications.engine import Engine
from ramp.notifications.notifier import Lookup, Notifier
from ramp.notifications.services.base import ServiceContext
from ramp.notifications.watch import ConfigBook, ConfigWatcher

SEND_TIMEOUT = 10.0
"""Seconds one attempt to send may take (connect, send, answer)."""


@dataclass
class Notifications:
    notifier: Notifier
    watcher: ConfigWatcher
    http: httpx.AsyncClient
    insecure: list[httpx.AsyncClient] = field(default_factory=list)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self.notifier.run(), name="notifier")
            group.create_task(self.watcher.run(), name="notification-config")

    async def resume(self, informers: Informers, *, owns: Callable[[Mapping[str, Any]], bool] | None = None) -> int:
        """Start of a leader term: the term's caches, and the deliveries its objects hold as pending.

        `owns`: with --shards, whether this replica reconciles a Rollout now; only those are evaluated, and their
        pending deliveries are sent at their next change (not at the term's start: shards come and go)."""

        def get(kind: str, namespace: str, name: str) -> dict[str, object] | None:
            informer = informers.rollouts if kind == "Rollout" else informers.analysis_runs
            return informer.get(f"{namespace}/{name}")

        lookup = Lookup(get, informers.analysis_runs.list)
        objects = [] if owns is not None else [*informers.rollouts.list(), *informers.analysis_runs.list()]
        resumed = await self.notifier.resume(lookup, objects)
        self.notifier.book.set_leading(True)
        # Conditions with a `when` (custom triggers) are evaluated on every change of a Rollout, as upstream's
        # notifications controller does; the cached ones once now.
        notifier = self.notifier

        def observe(rollout: Mapping[str, Any]) -> None:
            if owns is None or owns(rollout):
                notifier.observe(rollout)

        informers.rollouts.add_handler(EventHandler(on_add=observe, on_update=lambda old, new: observe(new)))
        for rollout in informers.rollouts.list():
            observe(rollout)
        return resumed

    def end_term(self) -> None:
        """The leader term ended at once: queue nothing more, report nothing more (until the next term)."""
        self.notifier.end_term()
        self.notifier.book.set_leading(False)

    async def aclose(self) -> None:
        for client in (self.http, *self.insecure):
            await client.aclose()


def build_notifications(
    client: KubeClient,
    recorder: EventRecorder,
    engine: Engine,
    *,
    controller_namespace: str,
    self_service: bool,
    watched_namespace: str | None = None,
) -> Notifications:
    http = httpx.AsyncClient(timeout=httpx.Timeout(SEND_TIMEOUT))

    def client_for(*, insecure: bool = False) -> httpx.AsyncClient:
        """A client that skips certificate checks when a service's options ask for it (`insecureSkipVerify`)."""
        if not insecure:
            return http
        if not unverified:
            unverified.append(httpx.AsyncClient(timeout=httpx.Timeout(SEND_TIMEOUT), verify=False))
        return unverified[0]

    unverified: list[httpx.AsyncClient] = []
    book = ConfigBook(
        engine,
        ServiceContext(http, client_for),
        recorder,
        controller_namespace=controller_namespace,
        self_service=self_service,
    )
    notifier = Notifier(
        client.with_own_limiter(*client.budget), recorder, book, engine, policy=RetryPolicy(timeout=SEND_TIMEOUT)
    )
    recorder.add_listener(notifier.listen)
    book.set_leading(False)  # until the first term starts
    return Notifications(notifier, ConfigWatcher(client, book, watched_namespace=watched_namespace), http, unverified)
