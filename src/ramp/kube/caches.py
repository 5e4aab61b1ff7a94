"""The informer caches of one leader term, as reconcilers read them.

Built by `ramp.manager.runtime` for every term; passed to the reconcilers (`ramp.rollout`, ...) inside the
manager's `ControllerContext`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ramp.kube.informer import Informer
from ramp.kube.resources import Resource


@dataclass(frozen=True)
class Informers:
    """The caches reconcilers read. `cluster_analysis_templates` is None in namespaced mode (as upstream).
    `workload_replica_sets` and `pod_templates` hold what a Rollout's workloadRef may name besides Deployments."""

    rollouts: Informer
    analysis_runs: Informer
    analysis_templates: Informer
    cluster_analysis_templates: Informer | None
    experiments: Informer
    replica_sets: Informer
    services: Informer
    deployments: Informer
    ingresses: Informer | None = None
    """Only to notice a named Ingress appear or change (routers read Ingresses themselves)."""
    routing: tuple[Informer, ...] = ()
    """Routing objects of custom kinds the cluster serves (`ramp.manager.routing_watch`), only to notice them change."""
    workload_replica_sets: Informer | None = None
    pod_templates: Informer | None = None
    feature_flags: Informer | None = None
    """FeatureFlags (ramp.dev), when the cluster serves their CRD."""

    def all(self) -> list[Informer]:
        found = [
            self.rollouts,
            self.analysis_runs,
            self.analysis_templates,
            self.cluster_analysis_templates,
            self.experiments,
            self.replica_sets,
            self.services,
            self.deployments,
            self.ingresses,
            *self.routing,
            self.workload_replica_sets,
            self.pod_templates,
            self.feature_flags,
        ]
        return [i for i in found if i is not None]

    def is_watched(self, resource: Resource, namespace: str) -> bool:
        """Whether changes to objects of `resource` in `namespace` reach the Rollouts naming them (an informer of
        that group and kind covers the namespace), so nothing needs to poll for one that is missing."""
        for informer in (self.ingresses, *self.routing):
            if informer is None:
                continue
            watched = informer.resource
            if (watched.group, watched.kind) == (resource.group, resource.kind):
                return informer.namespace is None or informer.namespace == namespace
        return False
