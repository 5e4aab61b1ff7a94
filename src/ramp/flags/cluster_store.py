"""The flag store of a cluster: every FeatureFlag an informer holds, as the flagd definitions clients get now.

`ClusterFlagStore` implements the flag store protocol `ramp flags serve` reads (`snapshot()` without I/O,
`changed()` returning when the set changes) from an informer on FeatureFlags (`ramp.kube.informer`): no API call
per evaluation. Each flag's definition comes from `ramp.flags.definition` (its rollout's current weight); the
set's version is a hash of the flag keys with their objects' resourceVersions, so it changes exactly when a
flag (its spec or its rollout's status) does, and an ETag built on it is stable across replicas.

Flags are keyed by `spec.key` (default: metadata.name). Two FeatureFlags in different namespaces may name the
same key: the store serves the first by `namespace/name` order and logs the others as shadowed; run one
server per namespace (`namespace=`, `ramp flags serve --namespace`) to keep teams apart. A FeatureFlag that
does not parse or validate is left out (the controller names its problem in its status).

Used by the OFREP server (`ramp.flags.ofrep`, through `ramp flags serve`) and by the tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from ramp.api.featureflag import parse_feature_flag, validate_feature_flag
from ramp.api.validation import ManifestError
from ramp.flags.definition import flag_definition
from ramp.flags.store import FlagSet
from ramp.kube.client import KubeClient
from ramp.kube.informer import EventHandler, Informer
from ramp.kube.resources import FEATURE_FLAGS

log = logging.getLogger("ramp.flags")
Obj = dict[str, Any]


def build_flag_set(objects: Iterable[Mapping[str, Any]], namespace: str | None = None) -> FlagSet:
    """The flag set of FeatureFlag objects (pure): definitions by key, first by `namespace/name` on collisions."""
    flags: dict[str, Mapping[str, Any]] = {}
    owners: dict[str, str] = {}
    versions: list[str] = []

    def order(obj: Mapping[str, Any]) -> tuple[str, str]:
        meta = obj.get("metadata") or {}
        return str(meta.get("namespace") or ""), str(meta.get("name") or "")

    for obj in sorted(objects, key=order):
        ns, name = order(obj)
        if namespace is not None and ns != namespace:
            continue
        try:
            flag = parse_feature_flag(obj)
        except ManifestError as error:
            log.warning("FeatureFlag %s/%s left out: %s", ns, name, error.summary())
            continue
        problems = validate_feature_flag(flag)
        if problems:
            log.warning("FeatureFlag %s/%s left out: %s", ns, name, "; ".join(str(p) for p in problems))
            continue
        key = flag.flag_key
        if key in flags:
            log.warning("FeatureFlag %s/%s shadowed: key %r is served from %s", ns, name, key, owners[key])
            continue
        flags[key] = flag_definition(flag)
        owners[key] = f"{ns}/{name}"
        versions.append(f"{key}={ns}/{name}@{(obj.get('metadata') or {}).get('resourceVersion', '')}")
    digest = hashlib.sha256("\n".join(versions).encode()).hexdigest()[:16]
    return FlagSet(version=digest, flags=flags)


class ClusterFlagStore:
    """FeatureFlags from an informer, as a flag store; `run()` runs the informer (or run it yourself)."""

    def __init__(self, informer: Informer, namespace: str | None = None) -> None:
        self.informer = informer
        self.namespace = namespace
        self._snapshot: FlagSet | None = None
        self._changed = asyncio.Event()
        informer.add_handler(
            EventHandler(
                on_add=self._touch,
                on_update=lambda old, new: None if old is new else self._touch(new),
                on_delete=self._touch,
            )
        )

    @classmethod
    def for_cluster(
        cls, client: KubeClient, namespace: str | None = None, label_selector: str | None = None
    ) -> ClusterFlagStore:
        """A store on a new informer of the FeatureFlags in `namespace` (all namespaces when None)."""
        return cls(Informer(client, FEATURE_FLAGS, namespace=namespace, label_selector=label_selector), namespace)

    async def run(self) -> None:
        """Run the informer until cancelled."""
        await self.informer.run()

    async def wait_for_sync(self) -> None:
        await self.informer.wait_for_sync()

    def snapshot(self) -> FlagSet:
        """The flags now, built once per change (no I/O)."""
        if self._snapshot is None:
            self._snapshot = build_flag_set(self.informer.list(), self.namespace)
        return self._snapshot

    async def changed(self) -> None:
        """Return at the next change of the set."""
        await self._changed.wait()

    def _touch(self, obj: Obj) -> None:
        self._snapshot = None
        waking, self._changed = self._changed, asyncio.Event()
        waking.set()
