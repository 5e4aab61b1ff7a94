"""What `ramp controller`'s flags decide (`ManagerOptions`), shared by the runtime and the wiring."""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass, field

from ramp.kube.lease import DEFAULT_LEASE_NAMESPACE


def default_identity() -> str:
    """`<hostname>_<uuid>`, the holder identity upstream writes into the Lease."""
    return f"{socket.gethostname()}_{uuid.uuid4()}"


@dataclass(frozen=True)
class ManagerOptions:
    """What `ramp controller`'s flags decide."""

    namespace: str | None = None
    """Watch only this namespace (namespaced mode); None watches all."""
    instance_id: str | None = None
    leader_elect: bool = True
    lease_namespace: str = DEFAULT_LEASE_NAMESPACE
    identity: str = field(default_factory=default_identity)
    lease_duration: int = 15
    """Seconds a standby waits after the last renewal before taking the Lease (upstream's default)."""
    renew_deadline: float = 10.0
    """Seconds the leader keeps retrying a renewal before it stops leading."""
    retry_period: float = 2.0
    """Seconds between attempts to acquire or renew."""
    bind_address: str = "0.0.0.0"  # probes and scrapers reach a pod on its IP, as upstream
    healthz_port: int = 8080
    metrics_port: int = 8090
    rollout_threads: int = 10
    analysis_threads: int = 30
    experiment_threads: int = 10
    feature_flag_threads: int = 2
    """Workers reconciling FeatureFlags (a flag's reconcile is a few cache reads and one status patch)."""
    rollout_resync: float = 900.0
    """Seconds between re-deliveries of every cached object to its informer's handlers (all informers)."""
    shutdown_timeout: float = 20.0
    """Longest wait for in-flight reconciles on graceful shutdown."""
    shards: int = 1
    """Split the Rollouts into this many shards, one Lease each, spread over the replicas that run with the same
    --shards and --instance-id (`manager.sharding`); 1 runs unsharded under the one leader Lease."""
    notifications_namespace: str = DEFAULT_LEASE_NAMESPACE
    """Where the notifications ConfigMap and Secret are read: the controller's namespace ($POD_NAMESPACE, as
    upstream)."""
    self_service_notifications: bool = False
    """--self-service-notification-enabled: also read them from each Rollout's own namespace."""
    exit_on_lost_lease: bool = False
    """On losing the Lease (or a failed term), exit 1 (upstream's way, for a supervisor to restart us)
    instead of standing by."""
