"""Ramp's pod-template defaulting matches what kube-apiserver stores for a ReplicaSet's template.

A Rollout's template is stored as written, a ReplicaSet's template defaulted by the API server; Ramp must still
see them as the same template (podtemplate.is_same_pod_template), and see any real change as a different one.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from ramp.core.podtemplate import apply_pod_template_defaults, is_same_pod_template
from tests.e2e.harness import Cluster

DIGEST = "sha256:" + "a" * 64

TEMPLATES: dict[str, dict[str, Any]] = {
    "web": {
        "metadata": {"labels": {"app": "web", "tier": "frontend"}, "annotations": {"team": "checkout"}},
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "nginx:1.27",
                    "ports": [{"name": "http", "containerPort": 8080}, {"containerPort": 9090, "protocol": "UDP"}],
                    "readinessProbe": {"httpGet": {"port": "http"}},
                    "livenessProbe": {"tcpSocket": {"port": 8080}, "initialDelaySeconds": 5},
                    "startupProbe": {"exec": {"command": ["true"]}, "failureThreshold": 30},
                    "env": [
                        {"name": "PLAIN", "value": "1"},
                        {"name": "EMPTY", "value": ""},
                        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                        {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
                        {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                        {"name": "CONF", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}},
                    ],
                    "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
                    "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
                }
            ],
            "volumes": [{"name": "config", "configMap": {"name": "app-config"}}],
        },
    },
    "volumes": {
        "metadata": {"labels": {"app": "volumes"}},
        "spec": {
            "containers": [{"name": "app", "image": "registry.example.com:5000/team/app:v2"}],
            "volumes": [
                {"name": "cm", "configMap": {"name": "c", "items": [{"key": "a", "path": "a"}]}},
                {"name": "sec", "secret": {"secretName": "s"}},
                {
                    "name": "down",
                    "downwardAPI": {"items": [{"path": "l", "fieldRef": {"fieldPath": "metadata.labels"}}]},
                },
                {
                    "name": "proj",
                    "projected": {
                        "sources": [
                            {"configMap": {"name": "c"}},
                            {"secret": {"name": "s"}},
                            {"downwardAPI": {"items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name"}}]}},
                            {"serviceAccountToken": {"path": "token", "audience": "api"}},
                        ]
                    },
                },
                {"name": "scratch", "emptyDir": {}},
                {"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
                {"name": "bare"},
                {"name": "host", "hostPath": {"path": "/var/log"}},
                {"name": "claim", "persistentVolumeClaim": {"claimName": "data"}},
                {
                    "name": "eph",
                    "ephemeral": {
                        "volumeClaimTemplate": {
                            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
                        }
                    },
                },
                {"name": "img", "image": {"reference": "quay.io/x/tools"}},
                {"name": "img-pinned", "image": {"reference": "quay.io/x/tools:1.0"}},
            ],
        },
    },
    "init": {
        "metadata": {"labels": {"app": "init", "tier": "backend"}},
        "spec": {
            "initContainers": [
                {
                    "name": "migrate",
                    "image": "busybox",
                    "command": ["sh", "-c", "true"],
                    "resources": {"requests": {"cpu": "0.5", "memory": "1000Mi"}},
                },
                {
                    "name": "proxy",
                    "image": "envoyproxy/envoy:latest",
                    "restartPolicy": "Always",
                    "ports": [{"containerPort": 15000}],
                },
            ],
            "containers": [
                {
                    "name": "app",
                    "image": f"ghcr.io/org/app@{DIGEST}",
                    "readinessProbe": {"grpc": {"port": 9000}},
                    "lifecycle": {"preStop": {"httpGet": {"port": 8080}}},
                    "resources": {"limits": {"cpu": "1000m", "memory": "1Gi"}, "requests": {"cpu": "250m"}},
                },
                {"name": "pinned", "image": f"nginx:1.27@{DIGEST}", "imagePullPolicy": "Always"},
            ],
            "terminationGracePeriodSeconds": 10,
        },
    },
    "images": {
        "metadata": {"labels": {"app": "images"}},
        "spec": {
            "containers": [
                {"name": "untagged", "image": "nginx"},
                {"name": "latest", "image": "nginx:latest"},
                {"name": "latest-digest", "image": f"nginx:latest@{DIGEST}"},
                {"name": "registry-port", "image": "localhost:5000/app"},
                {"name": "upper-domain", "image": "Registry.Example.com/app"},
                {"name": "upper-path", "image": "team/App:latest"},
            ]
        },
    },
    "misc": {
        "metadata": {"labels": {"app": "misc"}, "annotations": {}, "creationTimestamp": None},
        "spec": {
            "serviceAccount": "robot",
            "hostNetwork": True,
            "automountServiceAccountToken": False,
            "nodeSelector": {"disk": "ssd"},
            "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}],
            "containers": [
                {
                    "name": "app",
                    "image": "nginx:1.27",
                    "args": [],
                    "ports": [{"containerPort": 80}],
                    "securityContext": {"runAsNonRoot": True},
                    "resources": {"limits": {"cpu": "0.0001", "memory": "1e3"}},
                    "env": [
                        {
                            "name": "FROM_FILE",
                            "valueFrom": {"fileKeyRef": {"path": "p.env", "volumeName": "cfg", "key": "K"}},
                        }
                    ],
                }
            ],
            "volumes": [{"name": "cfg", "emptyDir": {}}],
        },
    },
}


def _create_replica_set(cluster: Cluster, namespace: str, name: str, template: dict[str, Any]) -> dict[str, Any]:
    replica_set = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name},
        "spec": {"replicas": 0, "selector": {"matchLabels": template["metadata"]["labels"]}, "template": template},
    }
    cluster.apply(json.dumps(replica_set), namespace)
    return dict(cluster.get("replicaset", name, namespace)["spec"]["template"])


def test_replica_set_templates_read_back_match_their_source(cluster: Cluster, namespace: str) -> None:
    # Given realistic pod templates, as a Rollout stores them (not defaulted)
    # When each becomes a ReplicaSet and is read back from the API server
    read_back = {name: _create_replica_set(cluster, namespace, name, tpl) for name, tpl in TEMPLATES.items()}
    # Then every read-back template is the same template as its source
    for name, template in TEMPLATES.items():
        assert is_same_pod_template(read_back[name], template), name
        # ... and Ramp's defaults reproduce the server's, quantity formatting aside
        for container in read_back[name]["spec"].get("containers", []):
            assert container["imagePullPolicy"] == _pull_policy(apply_pod_template_defaults(template), container)
    # And the two defaults people expect but which are Pod-only are absent from templates
    assert "requests" not in read_back["web"]["spec"]["containers"][0]["resources"]
    assert all("enableServiceLinks" not in template["spec"] for template in read_back.values())


def _pull_policy(defaulted: dict[str, Any], container: dict[str, Any]) -> str:
    by_name = {c["name"]: c for c in defaulted["spec"]["containers"]}
    return str(by_name[container["name"]]["imagePullPolicy"])


def _set_image(template: dict[str, Any]) -> None:
    template["spec"]["containers"][0]["image"] = "nginx:1.28"


def _remove_env_var(template: dict[str, Any]) -> None:
    template["spec"]["containers"][0]["env"].pop(0)


def _remove_label(template: dict[str, Any]) -> None:
    del template["metadata"]["labels"]["tier"]


def _remove_port(template: dict[str, Any]) -> None:
    template["spec"]["containers"][0]["ports"].pop()


@pytest.mark.parametrize("change", [_set_image, _remove_env_var, _remove_label, _remove_port])
def test_a_changed_template_is_not_the_read_back_one(
    cluster: Cluster, namespace: str, change: Callable[[dict[str, Any]], None]
) -> None:
    # Given a ReplicaSet made from the "web" template
    read_back = _create_replica_set(cluster, namespace, "web", TEMPLATES["web"])
    # When the Rollout's template changes in one field
    changed = copy.deepcopy(TEMPLATES["web"])
    change(changed)
    # Then the ReplicaSet's template is no longer the Rollout's
    assert not is_same_pod_template(read_back, changed)
