"""The Kubernetes permissions `ramp controller` needs: every (API group, resource, verb) it uses, and why.

`deploy/rbac.yaml` holds the ClusterRole the controller runs under (the install manifest and the Helm chart take
their rules from it); this table is the code's side of it. Unit tests (tests/unit/manager/test_permissions.py)
hold the two equal and check the table against the code: every API call the controller's packages make with a
named resource is granted here, and every grant marked `direct` is found at such a call site, so neither a missing
grant nor an unused one goes unnoticed. Grants reached through a variable (routers that pick a kind at run time)
or through the API server (owner references) say so in `why`. The e2e harness runs every controller on the
ServiceAccount's token and fails a test on any forbidden request.

Only the controller is covered: the CLI and the dashboard act with their user's own credentials.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ramp.analysis.reconciler import SECRETS
from ramp.kube.resources import (
    ANALYSIS_RUNS,
    ANALYSIS_TEMPLATES,
    CLUSTER_ANALYSIS_TEMPLATES,
    DEPLOYMENTS,
    EVENTS,
    EXPERIMENTS,
    FEATURE_FLAGS,
    INGRESSES,
    JOBS,
    LEASES,
    POD_TEMPLATES,
    PODS,
    REPLICA_SETS,
    ROLLOUTS,
    SERVICES,
    Resource,
)
from ramp.notifications.watch import CONFIGMAPS
from ramp.traffic.ambassador import AMBASSADOR_MAPPINGS, MAPPINGS_V3
from ramp.traffic.apisix import APISIX_ROUTES
from ramp.traffic.gatewayapi import GRPC_ROUTES, HTTP_ROUTES, TCP_ROUTES, TLS_ROUTES
from ramp.traffic.istio import DESTINATION_RULES, VIRTUAL_SERVICES
from ramp.traffic.smi import traffic_split_resource
from ramp.traffic.traefik import LEGACY_TRAEFIK_SERVICES, TRAEFIK_SERVICES

Permission = tuple[str, str, str]
"""(API group, resource or resource/subresource, verb), as RBAC spells them."""


@dataclass(frozen=True)
class Grant:
    """Verbs on one resource (or subresource) and the code that needs them."""

    group: str
    resource: str
    verbs: tuple[str, ...]
    why: str
    direct: bool = True
    """True: a call naming the resource's constant makes each verb (the unit test finds them all)."""

    def permissions(self) -> frozenset[Permission]:
        return frozenset((self.group, self.resource, verb) for verb in self.verbs)


def grant(resource: Resource, *verbs: str, why: str, subresource: str | None = None, direct: bool = True) -> Grant:
    name = f"{resource.plural}/{subresource}" if subresource else resource.plural
    return Grant(resource.group, name, verbs, why, direct)


_INFORMER = "informer (manager.runtime)"
_ROUTE_PROBE = "routing-kind probe and informer (manager.routing_watch)"
_OWNER_REF = (
    "owner references with blockOwnerDeletion on the objects it creates; the API server checks this verb when the "
    "OwnerReferencesPermissionEnforcement admission plugin is on (OpenShift)"
)

CONTROLLER_GRANTS: tuple[Grant, ...] = (
    # Ramp's own kinds.
    grant(ROLLOUTS, "list", "watch", why=_INFORMER),
    grant(ROLLOUTS, "patch", why="rollout.reconciler: spec defaults, pause conditions, restartAt"),
    grant(ROLLOUTS, "patch", subresource="status", why="rollout.reconciler: the status, one patch per reconcile"),
    grant(ROLLOUTS, "update", subresource="finalizers", why=_OWNER_REF, direct=False),
    grant(ANALYSIS_RUNS, "list", "watch", why=_INFORMER),
    grant(
        ANALYSIS_RUNS,
        "create",
        "get",
        "patch",
        "delete",
        why="rollout.analysisruns (create, adopt, terminate, delete); analysis.reconciler (status, retention)",
    ),
    grant(ANALYSIS_RUNS, "update", subresource="finalizers", why=_OWNER_REF, direct=False),
    grant(EXPERIMENTS, "list", "watch", why=_INFORMER),
    grant(EXPERIMENTS, "create", "patch", why="rollout.reconciler (experiment steps); experiments.reconciler status"),
    grant(EXPERIMENTS, "update", subresource="finalizers", why=_OWNER_REF, direct=False),
    grant(FEATURE_FLAGS, "list", "watch", why=_INFORMER + " (after a probe: the CRD may be missing)"),
    grant(FEATURE_FLAGS, "patch", subresource="status", why="flags.reconciler: the status, one patch per reconcile"),
    grant(FEATURE_FLAGS, "update", subresource="finalizers", why=_OWNER_REF, direct=False),
    grant(ANALYSIS_TEMPLATES, "list", "watch", why=_INFORMER),
    grant(CLUSTER_ANALYSIS_TEMPLATES, "list", "watch", why=_INFORMER + "; not in namespaced mode"),
    # The workload.
    grant(REPLICA_SETS, "list", "watch", why=_INFORMER + ": the Rollouts' own and workloadRef ReplicaSets"),
    grant(
        REPLICA_SETS,
        "create",
        "get",
        "patch",
        "delete",
        why="rollout.reconciler (create, adopt, scale, annotate, history limit); experiments.reconciler",
    ),
    grant(DEPLOYMENTS, "list", "watch", why=_INFORMER + ": workloadRef"),
    grant(DEPLOYMENTS, "patch", why="rollout.workload: scales a referenced Deployment down (scaleDown)"),
    grant(POD_TEMPLATES, "list", "watch", why=_INFORMER + ": workloadRef"),
    grant(
        PODS,
        "list",
        "patch",
        why="rollout.reconciler: ephemeral pod metadata (canary/stable, active/preview); rollout.restart; "
        "providers.job: a Job's pods",
    ),
    grant(PODS, "create", subresource="eviction", why="rollout.restart: restartAt evicts old pods"),
    grant(SERVICES, "list", "watch", why=_INFORMER),
    grant(SERVICES, "patch", "delete", why="rollout.services (selector switch); experiments.reconciler (cleanup)"),
    grant(
        SERVICES,
        "create",
        "get",
        why="experiments.reconciler: an experiment's Services (`_create_owned` adopts one after a conflict)",
        direct=False,
    ),
    # Leader election, events.
    grant(
        LEASES,
        "create",
        "get",
        "list",
        "update",
        "delete",
        why="kube.leaderelection; manager.sharding: the shard Leases listed, a replica's member Lease deleted",
    ),
    grant(EVENTS, "create", "patch", why="kube.events: new events, and repeats counted on the existing one"),
    # Analysis.
    grant(JOBS, "create", "get", "list", "delete", why="providers.job: the measurement's Job, its garbage collection"),
    grant(
        SECRETS,
        "get",
        why="analysis.reconciler: secretKeyRef arguments, provider credentials (datadog, influxdb); "
        "notifications.watch: argo-rollouts-notification-secret, by name",
    ),
    # Notifications: upstream's ConfigMap, listed and watched by name (a field selector) in the controller's
    # namespace, and with --self-service-notification-enabled in the Rollouts' namespaces; its Secret is read by
    # name (the `get` above).
    grant(
        CONFIGMAPS,
        "list",
        "watch",
        why="notifications.watch: argo-rollouts-notification-configmap, by name",
        direct=False,
    ),
    # Traffic routers.
    grant(INGRESSES, "list", "watch", why=_INFORMER),
    grant(INGRESSES, "get", "create", "update", "delete", why="traffic.nginx (canary Ingress); traffic.alb"),
    grant(VIRTUAL_SERVICES, "list", "watch", why=_ROUTE_PROBE),
    grant(VIRTUAL_SERVICES, "get", why="traffic.istio"),
    grant(VIRTUAL_SERVICES, "update", why="traffic.istio: writes the routes it reads", direct=False),
    grant(DESTINATION_RULES, "list", "watch", why=_ROUTE_PROBE),
    grant(DESTINATION_RULES, "get", "update", why="traffic.istio: subsets"),
    grant(
        traffic_split_resource("v1alpha1"),
        "get",
        "create",
        "update",
        "delete",
        why="traffic.smi (the TrafficSplit version is chosen at run time)",
        direct=False,
    ),
    grant(HTTP_ROUTES, "list", "watch", why=_ROUTE_PROBE),
    grant(GRPC_ROUTES, "list", "watch", why=_ROUTE_PROBE),
    *(
        grant(route, "get", "list", "update", why="traffic.gatewayapi: the routes named or selected", direct=False)
        for route in (HTTP_ROUTES, GRPC_ROUTES, TCP_ROUTES, TLS_ROUTES)
    ),
    grant(MAPPINGS_V3, "list", "watch", why=_ROUTE_PROBE),
    *(
        grant(mapping, "get", "create", "update", "delete", why="traffic.ambassador: canary mappings", direct=False)
        for mapping in (MAPPINGS_V3, AMBASSADOR_MAPPINGS)
    ),
    *(
        grant(service, "get", "list", "watch", "update", why=_ROUTE_PROBE + "; traffic.traefik", direct=False)
        for service in (TRAEFIK_SERVICES, LEGACY_TRAEFIK_SERVICES)
    ),
    grant(APISIX_ROUTES, "list", "watch", why=_ROUTE_PROBE),
    grant(APISIX_ROUTES, "get", "create", "update", "delete", why="traffic.apisix: canary routes"),
)
"""Everything the controller does on the API server. deploy/rbac.yaml grants exactly this."""


def permissions_of(grants: Iterable[Grant]) -> frozenset[Permission]:
    return frozenset().union(*(g.permissions() for g in grants))


def permissions_of_rules(rules: Sequence[Mapping[str, Any]]) -> frozenset[Permission]:
    """What a ClusterRole's `rules` allow: every (group, resource, verb) a rule combines."""
    return frozenset(
        (str(group), str(resource), str(verb))
        for rule in rules
        for group in rule.get("apiGroups") or ()
        for resource in rule.get("resources") or ()
        for verb in rule.get("verbs") or ()
    )
