"""The notifications configuration the controller uses, kept current: ConfigMap
`argo-rollouts-notification-configmap` and Secret `argo-rollouts-notification-secret` in the controller's
namespace and, with `--self-service-notification-enabled` (upstream's flag), in each Rollout's own namespace.

`ConfigWatcher` lists and watches the ConfigMap by name (a field selector: no other ConfigMap is read or cached),
reads the Secret by name (GET only: Ramp never lists or watches Secrets) when the ConfigMap changes and every
30 s, and hands every change to `ConfigBook`, which loads the configuration (`Engine.load`) and builds its
services once per change. What the configuration gets wrong (a bad trigger, a key Ramp does not act on, a
service it cannot build) is a Warning event `NotificationConfigInvalid` on the ConfigMap, once per change, and
the rest of the configuration is used.

As upstream's `GetAPIsFromNamespace`, an object in namespace N is served by the controller namespace's
configuration and, with self-service, by N's own too (each sends on its own).

Used by `ramp.notifications.notifier`; wired by `ramp.manager.runtime`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ramp.kube.client import KubeClient
from ramp.kube.errors import ApiError
from ramp.kube.events import EventRecorder
from ramp.kube.resources import Resource
from ramp.notifications.engine import ConfigLike, Engine
from ramp.notifications.services.base import Service, ServiceConfigError, ServiceContext
from ramp.notifications.services.registry import build_service

log = logging.getLogger(__name__)

CONFIGMAP_NAME = "argo-rollouts-notification-configmap"
SECRET_NAME = "argo-rollouts-notification-secret"
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap")
SECRETS = Resource("", "v1", "secrets", "Secret")
CONFIG_INVALID = "NotificationConfigInvalid"
"""Reason of the Warning event naming what in a notifications configuration Ramp cannot honour."""

Obj = dict[str, Any]


@dataclass(frozen=True)
class LoadedConfig:
    """One namespace's configuration with its services built."""

    namespace: str
    config: ConfigLike
    services: Mapping[str, Service]
    service_types: Mapping[str, str]
    self_service: bool


def secret_values(secret: Mapping[str, Any] | None) -> dict[str, str] | None:
    """A Secret's `data` decoded (and `stringData`, should a client have left it); undecodable values left out."""
    if secret is None:
        return None
    values: dict[str, str] = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            values[str(key)] = base64.b64decode(str(value), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            continue
    for key, value in (secret.get("stringData") or {}).items():
        values[str(key)] = str(value)
    return values


@dataclass(frozen=True)
class Prepared:
    """A configuration loaded and its services built, not yet in use (`ConfigBook.prepare`)."""

    loaded: LoadedConfig
    messages: frozenset[str]
    """Everything in it Ramp cannot honour, worded for a Warning event."""


class ConfigBook:
    """The loaded configurations by namespace; `update` on every change of a ConfigMap or Secret."""

    def __init__(
        self,
        engine: Engine,
        context: ServiceContext,
        recorder: EventRecorder,
        *,
        controller_namespace: str,
        self_service: bool = False,
    ) -> None:
        self.engine = engine
        self.context = context
        self.recorder = recorder
        self.controller_namespace = controller_namespace
        self.self_service = self_service
        self._loaded: dict[str, LoadedConfig] = {}
        self._reported: dict[str, frozenset[str]] = {}
        self._problems: dict[str, tuple[Obj, frozenset[str]]] = {}
        self.leading = True
        """False on a standby replica (`set_leading`): it loads configurations but reports nothing."""

    def for_namespace(self, namespace: str) -> list[LoadedConfig]:
        """The configurations that serve an object in `namespace` (the controller's first)."""
        found = [self._loaded[self.controller_namespace]] if self.controller_namespace in self._loaded else []
        if self.self_service and namespace != self.controller_namespace and namespace in self._loaded:
            found.append(self._loaded[namespace])
        return found

    def get(self, namespace: str) -> LoadedConfig | None:
        return self._loaded.get(namespace)

    def set(self, namespace: str, configmap: Obj | None, secret: Obj | None) -> None:
        """The ConfigMap and Secret of `namespace` now (None: absent): load and build again (all on the caller's
        thread; the watcher uses `prepare` on a worker thread, then `install`)."""
        self.install(namespace, configmap, self.prepare(namespace, configmap, secret))

    def prepare(self, namespace: str, configmap: Obj | None, secret: Obj | None) -> Prepared | None:
        """Parse the configuration and build its services: CPU work on user input (YAML, templates compiled, each
        service's options), safe on a worker thread since it touches none of the book's state."""
        if configmap is None:
            return None
        data = {str(k): str(v) for k, v in (configmap.get("data") or {}).items()}
        config, problems = self.engine.load(data, secret_values(secret), namespace)
        messages = [f"{p.key}: {p.message}" for p in problems]
        services: dict[str, Service] = {}
        types: dict[str, str] = {}
        for name, spec in config.services.items():
            try:
                services[name] = build_service(spec.type, name, spec.options, self.context)
                types[name] = spec.type
            except ServiceConfigError as err:
                messages.append(str(err))
        messages += [w for service in services.values() for w in getattr(service, "warnings", ())]
        loaded = LoadedConfig(namespace, config, services, types, self_service=namespace != self.controller_namespace)
        return Prepared(loaded, frozenset(messages))

    def install(self, namespace: str, configmap: Obj | None, prepared: Prepared | None) -> None:
        """Put a prepared configuration in use (on the event loop), and report its problems."""
        if configmap is None or prepared is None:
            # No ConfigMap, no notifications from this namespace (a Secret alone configures nothing).
            self._loaded.pop(namespace, None)
            self._reported.pop(namespace, None)
            self._problems.pop(namespace, None)
            log.info("notifications configuration removed", extra={"namespace": namespace})
            return
        self._loaded[namespace] = prepared.loaded
        log.info(
            "notifications configuration loaded",
            extra={
                "namespace": namespace,
                "services": sorted(prepared.loaded.services),
                "problems": len(prepared.messages),
            },
        )
        self._problems[namespace] = (configmap, prepared.messages)
        self._report(namespace)

    def set_leading(self, leading: bool) -> None:
        """Only the leader reports configuration problems (every replica loads the configuration, ready to lead);
        a new leader reports what it finds."""
        self.leading = leading
        if leading:
            for namespace in list(self._problems):
                self._report(namespace)
        else:
            self._reported.clear()

    def _report(self, namespace: str) -> None:
        configmap, messages = self._problems[namespace]
        if not self.leading or not messages or messages == self._reported.get(namespace):
            return
        for message in sorted(messages):
            self.recorder.warning(configmap, CONFIG_INVALID, message)
        self._reported[namespace] = messages


class ConfigWatcher:
    """Lists and watches the notifications ConfigMap (by name) and reads its Secret (by name), feeding `ConfigBook`.

    Secrets are read one by one with GET, never listed or watched (Ramp's RBAC grants no more): the Secret of each
    namespace that has the ConfigMap is read when the ConfigMap changes and every `secret_resync` seconds, so a
    rotated token is used within that time.
    """

    def __init__(
        self,
        client: KubeClient,
        book: ConfigBook,
        *,
        watched_namespace: str | None = None,
        retry_seconds: float = 5.0,
        secret_resync: float = 30.0,
    ) -> None:
        self.client = client
        self.book = book
        self.retry_seconds = retry_seconds
        self.secret_resync = secret_resync
        # The controller's namespace; with self-service also every namespace the controller watches (all of them,
        # or the one of --namespaced), as upstream's informers.
        namespaces: list[str | None] = [book.controller_namespace]
        if book.self_service:
            namespaces = [None] if watched_namespace is None else [book.controller_namespace, watched_namespace]
        self.namespaces = list(dict.fromkeys(namespaces))
        self._configmaps: dict[str, Obj] = {}
        self._secret_versions: dict[str, str] = {}

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for namespace in self.namespaces:
                group.create_task(self._follow(namespace))
            group.create_task(self._resync_secrets())

    async def _follow(self, namespace: str | None) -> None:
        selector = f"metadata.name={CONFIGMAP_NAME}"
        while True:
            try:
                listed = await self.client.list(CONFIGMAPS, namespace, field_selector=selector)
                present: set[str] = set()
                for item in listed.get("items") or []:
                    present.add(str(item["metadata"]["namespace"]))
                    await self._apply(
                        str(item["metadata"]["namespace"]), {"apiVersion": "v1", "kind": "ConfigMap", **item}
                    )
                for gone in {ns for ns in self._configmaps if namespace in (None, ns)} - present:
                    await self._apply(gone, None)
                version = str((listed.get("metadata") or {}).get("resourceVersion") or "")
                async for event in self.client.watch(
                    CONFIGMAPS, namespace, resource_version=version, field_selector=selector
                ):
                    kind = event.get("type")
                    obj = event.get("object") or {}
                    if kind in ("ADDED", "MODIFIED"):
                        await self._apply(str(obj["metadata"]["namespace"]), obj)
                    elif kind == "DELETED":
                        await self._apply(str(obj["metadata"]["namespace"]), None)
                    elif kind == "ERROR":
                        break
            except asyncio.CancelledError:
                raise
            except (ApiError, httpx.HTTPError, KeyError, ValueError) as err:
                log.warning(
                    "watching the notifications ConfigMap failed; retrying",
                    extra={"error": str(err) or type(err).__name__},
                )
                await asyncio.sleep(self.retry_seconds)

    async def _apply(self, namespace: str, configmap: Obj | None) -> None:
        if configmap is None:
            self._configmaps.pop(namespace, None)
            self._secret_versions.pop(namespace, None)
            self.book.set(namespace, None, None)
            return
        self._configmaps[namespace] = configmap
        secret = await self._read_secret(namespace)
        self._secret_versions[namespace] = _version(secret)
        await self._load(namespace, configmap, secret)

    async def _read_secret(self, namespace: str) -> Obj | None:
        try:
            found: Obj = await self.client.get(SECRETS, SECRET_NAME, namespace)
        except ApiError as err:
            if err.is_not_found:
                return None
            raise
        return found

    async def _resync_secrets(self) -> None:
        while True:
            await asyncio.sleep(self.secret_resync)
            for namespace, configmap in list(self._configmaps.items()):
                try:
                    secret = await self._read_secret(namespace)
                except (ApiError, httpx.HTTPError) as err:
                    log.warning(
                        "reading the notifications Secret failed",
                        extra={"namespace": namespace, "error": str(err) or type(err).__name__},
                    )
                    continue
                if _version(secret) != self._secret_versions.get(namespace):
                    self._secret_versions[namespace] = _version(secret)
                    await self._load(namespace, configmap, secret)

    async def _load(self, namespace: str, configmap: Obj, secret: Obj | None) -> None:
        # A ConfigMap is user input of any size (and, with self-service, any tenant's): parse it off the loop.
        prepared = await asyncio.to_thread(self.book.prepare, namespace, configmap, secret)
        if self._configmaps.get(namespace) is configmap:  # not replaced or deleted meanwhile
            self.book.install(namespace, configmap, prepared)


def _version(obj: Obj | None) -> str:
    return str(((obj or {}).get("metadata") or {}).get("resourceVersion") or "")
