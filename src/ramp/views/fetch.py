"""Reading what the views show from the API server: one rollout's objects, and a stream of rollout changes.

`fetch_rollout_objects` reads the Rollout, then the ReplicaSets and pods matching its pod selector and the
AnalysisRuns and Experiments of its namespace; `ramp.views.tree` keeps only what the Rollout (or its
ReplicaSets) owns. `list_rollouts` and `follow_rollouts` list Rollouts and then watch them, re-listing when the
watch's resourceVersion has expired, for `list rollouts -w` and `status`. API errors propagate as
`ramp.kube.errors.ApiError`; the CLI words them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from ramp.kube.client import JSON, KubeClient
from ramp.kube.errors import ApiError
from ramp.kube.resources import ANALYSIS_RUNS, EXPERIMENTS, PODS, REPLICA_SETS, ROLLOUTS
from ramp.kube.selectors import format_label_selector
from ramp.views.models import RolloutView
from ramp.views.tree import build_rollout_view

# A watch is re-opened after the server ends it; a short pause keeps a failing API server from a hot loop.
_REWATCH_PAUSE = 1.0


@dataclass(frozen=True)
class RolloutObjects:
    rollout: JSON
    replica_sets: list[JSON]
    pods: list[JSON]
    analysis_runs: list[JSON]
    experiments: list[JSON]


async def fetch_rollout_objects(client: KubeClient, namespace: str, name: str) -> RolloutObjects:
    """The Rollout `name` and the objects that may belong to it (read concurrently)."""
    rollout = await client.get(ROLLOUTS, name, namespace)
    selector = format_label_selector((rollout.get("spec") or {}).get("selector")) or None
    replica_sets, pods, runs, experiments = await asyncio.gather(
        client.list(REPLICA_SETS, namespace, label_selector=selector),
        client.list(PODS, namespace, label_selector=selector),
        client.list(ANALYSIS_RUNS, namespace),
        client.list(EXPERIMENTS, namespace),
    )
    return RolloutObjects(
        rollout=rollout,
        replica_sets=list(replica_sets.get("items") or []),
        pods=list(pods.get("items") or []),
        analysis_runs=list(runs.get("items") or []),
        experiments=list(experiments.get("items") or []),
    )


async def fetch_rollout_view(client: KubeClient, namespace: str, name: str) -> RolloutView:
    """The `get rollout` view of Rollout `name`."""
    objects = await fetch_rollout_objects(client, namespace, name)
    return build_rollout_view(
        objects.rollout, objects.replica_sets, objects.pods, objects.analysis_runs, objects.experiments
    )


def _resource_version(obj: Mapping[str, Any]) -> str | None:
    version = (obj.get("metadata") or {}).get("resourceVersion")
    return str(version) if version else None


async def list_rollouts(
    client: KubeClient, namespace: str | None, *, name: str | None = None
) -> tuple[list[JSON], str | None]:
    """The Rollouts of a namespace (all with None; just `name` if given) and the list's resourceVersion."""
    field_selector = f"metadata.name={name}" if name else None
    listed = await client.list(ROLLOUTS, namespace, field_selector=field_selector)
    return list(listed.get("items") or []), _resource_version(listed)


async def follow_rollouts(
    client: KubeClient, namespace: str | None, *, name: str | None = None, resource_version: str | None = None
) -> AsyncGenerator[tuple[str, JSON], None]:
    """(event type, Rollout) for every change after `resource_version`, until closed.

    Without a version (or when it has expired) it lists first and yields each Rollout as `ADDED`.
    `namespace=None` follows all namespaces; `name` narrows to one Rollout.
    """
    field_selector = f"metadata.name={name}" if name else None
    version = resource_version
    while True:
        if version is None:
            items, version = await list_rollouts(client, namespace, name=name)
            for item in items:
                yield "ADDED", item
        try:
            async with aclosing(
                client.watch(ROLLOUTS, namespace, resource_version=version, field_selector=field_selector)
            ) as events:
                async for event in events:
                    kind, obj = str(event.get("type", "")), event.get("object") or {}
                    if kind == "ERROR":
                        raise ApiError.from_status(obj)
                    version = _resource_version(obj) or version
                    if kind != "BOOKMARK":
                        yield kind, obj
        except ApiError as error:
            if not error.is_gone:
                raise
            version = None
        await asyncio.sleep(_REWATCH_PAUSE)
