"""The one interface every traffic router implements, and the plain records the Rollout reconciler hands it.

A router moves a share of traffic from the stable Service to the canary Service in one kind of routing object
(an Ingress, a VirtualService, an HTTPRoute, ...). The Rollout reconciler (`ramp.rollout.traffic`) decides the
`Weights`, the header routes and the mirror routes with pure functions, then asks each configured router
(found through `ramp.traffic.registry`) to make its objects say so. Routers are idempotent: a call that
changes nothing writes nothing. They never delete a user's object; objects a router creates (nginx's canary
Ingress, Ambassador's canary Mappings) carry the Rollout as controller owner.

A routing object that is missing or malformed raises `RouterError` with a message naming the object and the
fix; the reconciler stops the rollout with that message and changes nothing else.

Objects are read and written through `RouterIO`, which keeps what it read for the rest of one reconcile so a
router's several calls cost one GET per object.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ramp.api.traffic import RolloutTrafficRouting
from ramp.kube.client import KubeClient
from ramp.kube.errors import ApiError
from ramp.kube.resources import Resource

Obj = dict[str, Any]


class RouterError(Exception):
    """A routing object is missing or malformed; the message names it and says how to fix it.

    `watched`: the missing object is of a kind the controller watches (Ingresses, and the routing kinds the
    cluster serves), so its creation reconciles the Rollout again by itself and nothing needs to poll for it.
    """

    def __init__(self, message: str, *, watched: bool = False) -> None:
        super().__init__(message)
        self.watched = watched


@dataclass(frozen=True)
class Destination:
    """A Service that gets a share of traffic: `weight` out of the total (maxTrafficWeight, 100 by default)."""

    service: str
    weight: int
    pod_hash: str = ""


@dataclass(frozen=True)
class Weights:
    """The traffic split to write. `canary.weight + stable.weight + Σ additional.weight == total`, always.

    `additional` are the Services of experiment templates that take a weight of their own.
    """

    canary: Destination
    stable: Destination
    additional: tuple[Destination, ...] = ()
    total: int = 100

    def __post_init__(self) -> None:
        shares = self.canary.weight + self.stable.weight + sum(d.weight for d in self.additional)
        if shares != self.total or min(self.canary.weight, self.stable.weight) < 0:
            raise ValueError(f"weights {self} do not sum to {self.total}")

    @property
    def destinations(self) -> tuple[Destination, ...]:
        """Canary, stable, then the additional ones."""
        return (self.canary, self.stable, *self.additional)


@dataclass(frozen=True)
class StringMatch:
    """How a value is matched: `kind` is exact, prefix or regex."""

    kind: str
    value: str


@dataclass(frozen=True)
class HeaderMatch:
    """A request header and how its value must match."""

    name: str
    value: StringMatch


@dataclass(frozen=True)
class HeaderRoute:
    """A managed route sending requests whose headers all match to the canary Service (setHeaderRoute)."""

    name: str
    matches: tuple[HeaderMatch, ...]


@dataclass(frozen=True)
class RequestMatch:
    """One alternative of a mirror route: every field given must match (method, path, headers)."""

    method: StringMatch | None = None
    path: StringMatch | None = None
    headers: tuple[HeaderMatch, ...] = ()


@dataclass(frozen=True)
class MirrorRoute:
    """A managed route copying `percentage` of the matching requests to the canary Service (setMirrorRoute)."""

    name: str
    matches: tuple[RequestMatch, ...]
    percentage: int = 100


@dataclass(frozen=True)
class RouterContext:
    """What a router needs to know about the Rollout it routes for."""

    namespace: str
    rollout_name: str
    rollout_uid: str
    routing: RolloutTrafficRouting
    stable_service: str
    canary_service: str
    managed_routes: tuple[str, ...] = ()
    """The names in trafficRouting.managedRoutes, in precedence order (first wins)."""

    @property
    def total(self) -> int:
        return self.routing.effective_max_traffic_weight

    def owner_reference(self) -> Obj:
        """Controller owner reference for objects a router creates, so they go when the Rollout goes."""
        return {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Rollout",
            "name": self.rollout_name,
            "uid": self.rollout_uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }


@dataclass
class RouterIO:
    """Reads and writes routing objects for one reconcile, remembering what it read.

    `get` returns a deep copy the caller may change and pass to `replace`; writes are guarded by the
    resourceVersion that was read, so a concurrent change makes the write fail with a conflict and the next
    reconcile decides again. `writes` counts the API writes (for tests and benchmarks). `labels` go on every
    object a router creates (the Rollout's controller instance id), so its children belong to its controller.
    """

    client: KubeClient
    namespace: str
    labels: Mapping[str, str] = field(default_factory=dict)
    watched: Callable[[Resource, str], bool] | None = None
    """Whether the controller watches objects of a kind in a namespace (`Informers.is_watched`)."""
    _read: dict[tuple[str, str], Obj | None] = field(default_factory=dict)
    writes: int = 0

    async def find(self, resource: Resource, name: str) -> Obj | None:
        """The object, or None when it does not exist (or its kind is not installed)."""
        key = (resource.path(self.namespace), name)
        if key not in self._read:
            try:
                self._read[key] = await self.client.get(resource, name, self.namespace)
            except ApiError as err:
                if not err.is_not_found:
                    raise
                self._read[key] = None
        found = self._read[key]
        return copy.deepcopy(found) if found is not None else None

    async def get(self, resource: Resource, name: str, field_path: str) -> Obj:
        """The object, or RouterError naming `field_path` (the Rollout field that references it)."""
        found = await self.find(resource, name)
        if found is None:
            raise RouterError(
                f'{field_path}: {resource.kind} "{name}" not found in namespace {self.namespace}; '
                "create it or fix the name",
                watched=self.watched is not None and self.watched(resource, self.namespace),
            )
        return found

    def for_namespace(self, namespace: str) -> RouterIO:
        """Reads and writes in another namespace (routes a Rollout names there), with the same labels and watch."""
        return RouterIO(self.client, namespace, self.labels, self.watched)

    async def list(self, resource: Resource, label_selector: str | None = None) -> list[Obj]:
        """Objects of a kind in the namespace (not remembered)."""
        try:
            listed = await self.client.list(resource, self.namespace, label_selector=label_selector)
        except ApiError as err:
            if err.is_not_found:
                return []
            raise
        return list(listed.get("items") or [])

    async def replace(self, resource: Resource, obj: Mapping[str, Any]) -> Obj:
        """Write `obj` back (PUT, guarded by its resourceVersion) unless it equals what was read."""
        name = str(obj["metadata"]["name"])
        key = (resource.path(self.namespace), name)
        if self._read.get(key) == obj:
            return dict(obj)
        updated = await self.client.update(resource, obj, self.namespace)
        self._read[key] = updated
        self.writes += 1
        return copy.deepcopy(updated)

    async def create(self, resource: Resource, obj: Mapping[str, Any]) -> Obj:
        if self.labels:
            labelled = copy.deepcopy(dict(obj))
            meta = labelled.setdefault("metadata", {})
            meta["labels"] = {**(meta.get("labels") or {}), **self.labels}
            obj = labelled
        created = await self.client.create(resource, obj, self.namespace)
        self._read[(resource.path(self.namespace), str(created["metadata"]["name"]))] = created
        self.writes += 1
        return copy.deepcopy(created)

    async def delete(self, resource: Resource, name: str) -> None:
        """Delete an object the router created (never a user's)."""
        try:
            await self.client.delete(resource, name, self.namespace)
        except ApiError as err:
            if not err.is_not_found:
                raise
        self._read[(resource.path(self.namespace), name)] = None
        self.writes += 1


class Router(Protocol):
    """One traffic router (nginx, istio, ...): each method makes the routing objects say one thing.

    Methods raise `RouterError` for a missing or malformed object and never delete a user's object.
    """

    name: str
    """The trafficRouting key, such as "nginx" or "plugins/argoproj-labs/gatewayAPI"."""

    async def update_hash(self, canary_hash: str, stable_hash: str, additional: Sequence[Destination]) -> None:
        """Point subset-style routing (Istio DestinationRule subsets) at these pod hashes; most routers do nothing."""

    async def set_weight(self, weights: Weights) -> None:
        """Send `weights.canary.weight` of `weights.total` to the canary Service and the rest as `weights` says."""

    async def set_header_route(self, route: HeaderRoute) -> None:
        """Add or update the managed header route `route.name`; with no matches, remove it."""

    async def set_mirror_route(self, route: MirrorRoute) -> None:
        """Add or update the managed mirror route `route.name`; with no matches, remove it."""

    async def verify_weight(self, weights: Weights) -> bool | None:
        """True when the data plane applies `weights` (ALB target groups); None when the router cannot tell."""

    async def remove_managed_routes(self) -> None:
        """Remove every header and mirror route this Rollout added."""

    async def remove(self) -> None:
        """trafficRouting left the spec: send everything to stable, drop managed routes and created objects."""


class RouterFactory(Protocol):
    """Builds a router for one reconcile (registry values)."""

    def __call__(self, context: RouterContext, io: RouterIO) -> Router: ...


class UnsupportedFeature(RouterError):
    """The router cannot do what a step asks (e.g. mirror routes on SMI); the message names the step and router."""


class RouterBase(ABC):
    """What most routers share: the context and IO they were built with, and the calls they have nothing to do for.

    A router subclasses this, sets `name`, writes `set_weight` and `remove`, and overrides the rest only where its
    routing objects can do more (Istio's subsets and mirror routes, nginx's header routes, ...). A step asking for a
    header or mirror route on a router that keeps the default gets `UnsupportedFeature`; removing one is a no-op.
    """

    name: str

    def __init__(self, context: RouterContext, io: RouterIO) -> None:
        self.context = context
        self.io = io

    @abstractmethod
    async def set_weight(self, weights: Weights) -> None: ...

    @abstractmethod
    async def remove(self) -> None: ...

    async def update_hash(self, canary_hash: str, stable_hash: str, additional: Sequence[Destination]) -> None:
        return None

    async def set_header_route(self, route: HeaderRoute) -> None:
        if route.matches:
            raise UnsupportedFeature(f'setHeaderRoute "{route.name}": {self.name} does not support setHeaderRoute')

    async def set_mirror_route(self, route: MirrorRoute) -> None:
        if route.matches:
            raise UnsupportedFeature(f'setMirrorRoute "{route.name}": {self.name} does not support setMirrorRoute')

    async def verify_weight(self, weights: Weights) -> bool | None:
        return None

    async def remove_managed_routes(self) -> None:
        return None
