"""Which objects an instance owns (`--instance-id`), and the resource table's addresses."""

from __future__ import annotations

import pytest

from ramp.kube.resources import (
    CLUSTER_ANALYSIS_TEMPLATES,
    EVENTS,
    LEASES,
    RESOURCES,
    RESOURCES_BY_KIND,
    ROLLOUTS,
    object_key,
    split_key,
)
from ramp.kube.selectors import INSTANCE_ID_LABEL, instance_id_selector


def test_with_an_instance_id_only_objects_labelled_with_it_are_watched() -> None:
    assert instance_id_selector("blue") == "argo-rollouts.argoproj.io/controller-instance-id=blue"


@pytest.mark.parametrize("instance_id", [None, ""])
def test_without_an_instance_id_only_unlabelled_objects_are_watched(instance_id: str | None) -> None:
    assert instance_id_selector(instance_id) == f"!{INSTANCE_ID_LABEL}"


def test_paths_of_namespaced_cluster_scoped_and_core_resources() -> None:
    assert ROLLOUTS.path() == "/apis/argoproj.io/v1alpha1/rollouts"
    assert ROLLOUTS.path("ns") == "/apis/argoproj.io/v1alpha1/namespaces/ns/rollouts"
    assert ROLLOUTS.path("ns", "r", "status") == "/apis/argoproj.io/v1alpha1/namespaces/ns/rollouts/r/status"
    assert CLUSTER_ANALYSIS_TEMPLATES.path("ignored", "t") == "/apis/argoproj.io/v1alpha1/clusteranalysistemplates/t"
    assert EVENTS.path("ns", "e") == "/api/v1/namespaces/ns/events/e"
    assert LEASES.api_version == "coordination.k8s.io/v1"
    assert EVENTS.api_version == "v1"


def test_naming_a_namespaced_object_needs_its_namespace() -> None:
    with pytest.raises(ValueError, match="pass its namespace"):
        ROLLOUTS.path(None, "r")


def test_the_table_has_every_kind_ramp_needs() -> None:
    needed = {
        *("rollouts", "analysisruns", "analysistemplates", "clusteranalysistemplates", "experiments"),
        *("replicasets", "pods", "services", "deployments", "jobs", "events", "leases", "namespaces"),
        *("ingresses", "horizontalpodautoscalers"),
    }
    assert needed <= set(RESOURCES)
    assert all(RESOURCES_BY_KIND[r.kind] is r for r in RESOURCES.values())


def test_keys_are_namespace_slash_name_or_bare_name_for_cluster_scoped() -> None:
    assert object_key({"metadata": {"namespace": "ns", "name": "r"}}) == "ns/r"
    assert object_key({"metadata": {"name": "t"}}) == "t"
    assert split_key("ns/r") == ("ns", "r")
    assert split_key("t") == (None, "t")
