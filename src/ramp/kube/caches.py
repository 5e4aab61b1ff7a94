"""The informer caches of one leader term, as reconcilers read them.

Built by `ramp.manager.runtime` for every term; passed to the reconcilers (`ramp.rollout`, ...) inside the
manager's `ControllerContext`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ramp.kube.informer import Informer


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
    workload_replica_sets: Informer | None = None
    pod_templates: Informer | None = None

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
            self.workload_replica_sets,
            self.pod_templates,
        ]
        return [i for i in found if i is not None]
