"""API coordinates of the kinds Ramp reads and writes, and the `namespace/name` keys of objects.

A `Resource` says where a kind lives on the API server (group, version, plural) and nothing about its
shape: objects stay raw JSON dicts (lightkube's split of coordinates from data). `kube.client` turns a
Resource into URL paths; `kube.informer` and `kube.workqueue` use `object_key`/`split_key`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Resource:
    """Where one kind lives on the API server."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        """`apiVersion` as written in objects: `group/version`, or just `version` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        """The URL path of the collection, an object, or an object's subresource.

        A namespaced resource without a namespace addresses the collection across all namespaces, which only
        list and watch accept; naming an object then needs its namespace.
        """
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            root = f"{root}/namespaces/{namespace}"
        elif self.namespaced and name is not None:
            raise ValueError(f"{self.kind} {name!r} is namespaced: pass its namespace")
        path = f"{root}/{self.plural}"
        if name is not None:
            path = f"{path}/{name}"
            if subresource:
                path = f"{path}/{subresource}"
        elif subresource:
            raise ValueError(f"subresource {subresource!r} needs an object name")
        return path


ROLLOUTS = Resource("argoproj.io", "v1alpha1", "rollouts", "Rollout")
ANALYSIS_RUNS = Resource("argoproj.io", "v1alpha1", "analysisruns", "AnalysisRun")
ANALYSIS_TEMPLATES = Resource("argoproj.io", "v1alpha1", "analysistemplates", "AnalysisTemplate")
CLUSTER_ANALYSIS_TEMPLATES = Resource(
    "argoproj.io", "v1alpha1", "clusteranalysistemplates", "ClusterAnalysisTemplate", namespaced=False
)
EXPERIMENTS = Resource("argoproj.io", "v1alpha1", "experiments", "Experiment")
FEATURE_FLAGS = Resource("ramp.dev", "v1alpha1", "featureflags", "FeatureFlag")
REPLICA_SETS = Resource("apps", "v1", "replicasets", "ReplicaSet")
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment")
PODS = Resource("", "v1", "pods", "Pod")
POD_TEMPLATES = Resource("", "v1", "podtemplates", "PodTemplate")
SERVICES = Resource("", "v1", "services", "Service")
EVENTS = Resource("", "v1", "events", "Event")
NAMESPACES = Resource("", "v1", "namespaces", "Namespace", namespaced=False)
JOBS = Resource("batch", "v1", "jobs", "Job")
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")
INGRESSES = Resource("networking.k8s.io", "v1", "ingresses", "Ingress")
HORIZONTAL_POD_AUTOSCALERS = Resource("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler")

RESOURCES: Mapping[str, Resource] = {
    r.plural: r
    for r in (
        ROLLOUTS,
        ANALYSIS_RUNS,
        ANALYSIS_TEMPLATES,
        CLUSTER_ANALYSIS_TEMPLATES,
        EXPERIMENTS,
        FEATURE_FLAGS,
        REPLICA_SETS,
        DEPLOYMENTS,
        PODS,
        POD_TEMPLATES,
        SERVICES,
        EVENTS,
        NAMESPACES,
        JOBS,
        LEASES,
        INGRESSES,
        HORIZONTAL_POD_AUTOSCALERS,
    )
}
"""Every kind Ramp uses, by plural (the name `kubectl` and the API paths use)."""

RESOURCES_BY_KIND: Mapping[str, Resource] = {r.kind: r for r in RESOURCES.values()}


def object_key(obj: Mapping[str, Any]) -> str:
    """The cache and queue key of an object: `namespace/name`, or `name` if cluster-scoped (as client-go)."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    name = str(meta.get("name", ""))
    return f"{namespace}/{name}" if namespace else name


def split_key(key: str) -> tuple[str | None, str]:
    """`namespace/name` → (namespace, name); a bare `name` → (None, name)."""
    namespace, sep, name = key.partition("/")
    return (namespace, name) if sep else (None, key)
