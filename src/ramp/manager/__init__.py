"""`ramp controller`'s process: the leader-term runtime (`runtime`), its wiring (`wiring`), its options."""

from ramp.kube.caches import Informers
from ramp.manager.options import ManagerOptions, default_identity
from ramp.manager.runtime import Manager, TermEnd
from ramp.manager.wiring import (
    DEFAULT_RECONCILERS,
    METRIC_CLEANUP_DELAY,
    RECONCILER_KINDS,
    SERVICE_INDEX,
    ControllerContext,
    ReconcilerFactory,
    ReconcilerKind,
    build_rollout_reconciler,
    controller_owner,
    referenced_services,
    rollout_service_keys,
    route_events,
)

__all__ = [
    "DEFAULT_RECONCILERS",
    "METRIC_CLEANUP_DELAY",
    "RECONCILER_KINDS",
    "SERVICE_INDEX",
    "ControllerContext",
    "Informers",
    "Manager",
    "ManagerOptions",
    "ReconcilerFactory",
    "ReconcilerKind",
    "TermEnd",
    "build_rollout_reconciler",
    "controller_owner",
    "default_identity",
    "referenced_services",
    "rollout_service_keys",
    "route_events",
]
