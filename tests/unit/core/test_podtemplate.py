"""Pod templates: the API server's defaults for a ReplicaSet's template, and matching a Rollout to its ReplicaSet.

The *_READ_BACK fixtures are ReplicaSet templates as kube-apiserver v1.36.3 returned them for the *_TEMPLATE
fixtures (recorded by tests/e2e/test_podtemplate_defaults.py), so these tests cover real defaults without a cluster.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ramp.core.podtemplate import apply_pod_template_defaults, is_same_pod_template, strip_hash_label

WEB_TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"app": "web"}, "annotations": {"team": "checkout"}},
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
}

WEB_READ_BACK: dict[str, Any] = {
    "metadata": {"annotations": {"team": "checkout"}, "labels": {"app": "web"}},
    "spec": {
        "containers": [
            {
                "env": [
                    {"name": "PLAIN", "value": "1"},
                    {"name": "POD", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
                    {"name": "CPU", "valueFrom": {"resourceFieldRef": {"divisor": "0", "resource": "limits.cpu"}}},
                    {"name": "PASS", "valueFrom": {"secretKeyRef": {"key": "k", "name": "s"}}},
                    {"name": "CONF", "valueFrom": {"configMapKeyRef": {"key": "k", "name": "c"}}},
                ],
                "image": "nginx:1.27",
                "imagePullPolicy": "IfNotPresent",
                "livenessProbe": {
                    "failureThreshold": 3,
                    "initialDelaySeconds": 5,
                    "periodSeconds": 10,
                    "successThreshold": 1,
                    "tcpSocket": {"port": 8080},
                    "timeoutSeconds": 1,
                },
                "name": "web",
                "ports": [
                    {"containerPort": 8080, "name": "http", "protocol": "TCP"},
                    {"containerPort": 9090, "protocol": "UDP"},
                ],
                "readinessProbe": {
                    "failureThreshold": 3,
                    "httpGet": {"path": "/", "port": "http", "scheme": "HTTP"},
                    "periodSeconds": 10,
                    "successThreshold": 1,
                    "timeoutSeconds": 1,
                },
                "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
                "startupProbe": {
                    "exec": {"command": ["true"]},
                    "failureThreshold": 30,
                    "periodSeconds": 10,
                    "successThreshold": 1,
                    "timeoutSeconds": 1,
                },
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "volumeMounts": [{"mountPath": "/etc/app", "name": "config"}],
            }
        ],
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "terminationGracePeriodSeconds": 30,
        "volumes": [{"configMap": {"defaultMode": 420, "name": "app-config"}, "name": "config"}],
    },
}

INIT_TEMPLATE: dict[str, Any] = {
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
                "image": "ghcr.io/org/app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "readinessProbe": {"grpc": {"port": 9000}},
                "lifecycle": {"preStop": {"httpGet": {"port": 8080}}},
                "resources": {"limits": {"cpu": "1000m", "memory": "1Gi"}, "requests": {"cpu": "250m"}},
            },
            {
                "name": "pinned",
                "image": "nginx:1.27@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                "imagePullPolicy": "Always",
            },
        ],
        "terminationGracePeriodSeconds": 10,
    },
}

INIT_READ_BACK: dict[str, Any] = {
    "metadata": {"labels": {"app": "init", "tier": "backend"}},
    "spec": {
        "containers": [
            {
                "image": "ghcr.io/org/app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "imagePullPolicy": "IfNotPresent",
                "lifecycle": {"preStop": {"httpGet": {"path": "/", "port": 8080, "scheme": "HTTP"}}},
                "name": "app",
                "readinessProbe": {
                    "failureThreshold": 3,
                    "grpc": {"port": 9000, "service": ""},
                    "periodSeconds": 10,
                    "successThreshold": 1,
                    "timeoutSeconds": 1,
                },
                "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "250m"}},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            },
            {
                "image": "nginx:1.27@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
                "imagePullPolicy": "Always",
                "name": "pinned",
                "resources": {},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            },
        ],
        "dnsPolicy": "ClusterFirst",
        "initContainers": [
            {
                "command": ["sh", "-c", "true"],
                "image": "busybox",
                "imagePullPolicy": "Always",
                "name": "migrate",
                "resources": {"requests": {"cpu": "500m", "memory": "1000Mi"}},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            },
            {
                "image": "envoyproxy/envoy:latest",
                "imagePullPolicy": "Always",
                "name": "proxy",
                "ports": [{"containerPort": 15000, "protocol": "TCP"}],
                "resources": {},
                "restartPolicy": "Always",
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            },
        ],
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "terminationGracePeriodSeconds": 10,
    },
}

VOLUMES_TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"app": "volumes"}},
    "spec": {
        "containers": [{"name": "app", "image": "registry.example.com:5000/team/app:v2"}],
        "volumes": [
            {"name": "cm", "configMap": {"name": "c", "items": [{"key": "a", "path": "a"}]}},
            {"name": "sec", "secret": {"secretName": "s"}},
            {
                "name": "down",
                "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]},
            },
            {
                "name": "proj",
                "projected": {
                    "sources": [
                        {"configMap": {"name": "c"}},
                        {"secret": {"name": "s"}},
                        {"downwardAPI": {"items": [{"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}},
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
        ],
    },
}

VOLUMES_READ_BACK: dict[str, Any] = {
    "metadata": {"labels": {"app": "volumes"}},
    "spec": {
        "containers": [
            {
                "image": "registry.example.com:5000/team/app:v2",
                "imagePullPolicy": "IfNotPresent",
                "name": "app",
                "resources": {},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            }
        ],
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "terminationGracePeriodSeconds": 30,
        "volumes": [
            {"configMap": {"defaultMode": 420, "items": [{"key": "a", "path": "a"}], "name": "c"}, "name": "cm"},
            {"name": "sec", "secret": {"defaultMode": 420, "secretName": "s"}},
            {
                "downwardAPI": {
                    "defaultMode": 420,
                    "items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.labels"}, "path": "labels"}],
                },
                "name": "down",
            },
            {
                "name": "proj",
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {"configMap": {"name": "c"}},
                        {"secret": {"name": "s"}},
                        {
                            "downwardAPI": {
                                "items": [
                                    {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}, "path": "name"}
                                ]
                            }
                        },
                        {"serviceAccountToken": {"audience": "api", "expirationSeconds": 3600, "path": "token"}},
                    ],
                },
            },
            {"emptyDir": {}, "name": "scratch"},
            {"emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}, "name": "mem"},
            {"emptyDir": {}, "name": "bare"},
            {"hostPath": {"path": "/var/log", "type": ""}, "name": "host"},
            {"name": "claim", "persistentVolumeClaim": {"claimName": "data"}},
            {
                "ephemeral": {
                    "volumeClaimTemplate": {
                        "metadata": {},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}},
                            "volumeMode": "Filesystem",
                        },
                    }
                },
                "name": "eph",
            },
        ],
    },
}


def _container(template: dict[str, Any], index: int = 0) -> dict[str, Any]:
    container: dict[str, Any] = template["spec"]["containers"][index]
    return container


def _minimal(**container: Any) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": "a"}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27", **container}]},
    }


@pytest.mark.parametrize(
    ("read_back", "template"),
    [(WEB_READ_BACK, WEB_TEMPLATE), (INIT_READ_BACK, INIT_TEMPLATE), (VOLUMES_READ_BACK, VOLUMES_TEMPLATE)],
    ids=["web", "init", "volumes"],
)
def test_read_back_replica_set_template_is_the_rollout_template(read_back, template):
    assert is_same_pod_template(read_back, template)
    assert is_same_pod_template(read_back, read_back)


@pytest.mark.parametrize(
    ("read_back", "template"),
    [(WEB_READ_BACK, WEB_TEMPLATE), (VOLUMES_READ_BACK, VOLUMES_TEMPLATE)],
    ids=["web", "volumes"],
)
def test_defaults_reproduce_what_the_server_stores(read_back, template):
    assert apply_pod_template_defaults(template) == read_back


def test_defaults_leave_quantities_as_written_but_they_compare_by_value():
    defaulted = apply_pod_template_defaults(INIT_TEMPLATE)
    assert _container(defaulted)["resources"]["limits"]["cpu"] == "1000m"
    assert _container(INIT_READ_BACK)["resources"]["limits"]["cpu"] == "1"
    assert is_same_pod_template(INIT_READ_BACK, INIT_TEMPLATE)


def test_defaulting_is_idempotent_and_does_not_touch_its_input():
    original = copy.deepcopy(WEB_TEMPLATE)
    once = apply_pod_template_defaults(WEB_TEMPLATE)
    assert apply_pod_template_defaults(once) == once
    assert original == WEB_TEMPLATE


def _drop_env(template: dict[str, Any]) -> None:
    _container(template)["env"].pop()


def _drop_label(template: dict[str, Any]) -> None:
    template["metadata"]["labels"].pop("app")


def _drop_port(template: dict[str, Any]) -> None:
    _container(template)["ports"].pop()


def _set_image(template: dict[str, Any]) -> None:
    _container(template)["image"] = "nginx:1.28"


def _set_probe_period(template: dict[str, Any]) -> None:
    _container(template)["readinessProbe"]["periodSeconds"] = 5


def _set_cpu_limit(template: dict[str, Any]) -> None:
    _container(template)["resources"]["limits"]["cpu"] = "600m"


def _drop_volume(template: dict[str, Any]) -> None:
    template["spec"]["volumes"].pop()


def _disable_token(template: dict[str, Any]) -> None:
    template["spec"]["automountServiceAccountToken"] = False


def _add_annotation(template: dict[str, Any]) -> None:
    template["metadata"].setdefault("annotations", {})["new"] = "x"


@pytest.mark.parametrize(
    "change",
    [
        _set_image,
        _drop_env,
        _drop_label,
        _drop_port,
        _set_probe_period,
        _set_cpu_limit,
        _drop_volume,
        _disable_token,
        _add_annotation,
    ],
)
def test_any_real_change_makes_a_different_template(change):
    changed = copy.deepcopy(WEB_TEMPLATE)
    change(changed)
    assert not is_same_pod_template(WEB_READ_BACK, changed)
    assert not is_same_pod_template(changed, WEB_TEMPLATE)


def test_hash_label_is_ignored_on_either_side():
    live = copy.deepcopy(WEB_READ_BACK)
    live["metadata"]["labels"]["rollouts-pod-template-hash"] = "5d7f8b9c4"
    desired = copy.deepcopy(WEB_TEMPLATE)
    desired["metadata"]["labels"]["rollouts-pod-template-hash"] = "687b4b8d6f"
    assert is_same_pod_template(live, WEB_TEMPLATE)
    assert is_same_pod_template(live, desired)


def test_strip_hash_label_returns_a_copy_without_it():
    live = copy.deepcopy(WEB_READ_BACK)
    live["metadata"]["labels"]["rollouts-pod-template-hash"] = "5d7f8b9c4"
    stripped = strip_hash_label(live)
    assert "rollouts-pod-template-hash" not in stripped["metadata"]["labels"]
    assert live["metadata"]["labels"]["rollouts-pod-template-hash"] == "5d7f8b9c4"
    assert stripped == WEB_READ_BACK


@pytest.mark.parametrize(
    "desired",
    [
        {"metadata": {"labels": {"app": "a"}, "annotations": {}, "creationTimestamp": None}, "spec": {}},
        {"metadata": {"labels": {"app": "a"}}, "spec": {"nodeSelector": {}, "tolerations": [], "hostNetwork": False}},
        {"metadata": {"labels": {"app": "a"}}, "spec": {"volumes": None, "securityContext": {}}},
    ],
    ids=["empty-metadata-maps", "empty-spec-fields", "null-and-empty-objects"],
)
def test_missing_empty_and_zero_values_are_the_same(desired):
    container = {"name": "app", "image": "nginx:1.27", "args": [], "env": [{"name": "E", "value": ""}]}
    desired = copy.deepcopy(desired)
    desired["spec"]["containers"] = [container]
    live = apply_pod_template_defaults(
        {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}
    )
    _container(live)["env"] = [{"name": "E"}]
    assert is_same_pod_template(live, desired)


def test_false_in_a_pointer_field_is_not_the_same_as_unset():
    # automountServiceAccountToken: nil means "yes"; false is a real choice the server keeps.
    plain = _minimal()
    disabled = _minimal()
    disabled["spec"]["automountServiceAccountToken"] = False
    assert not is_same_pod_template(apply_pod_template_defaults(disabled), plain)


@pytest.mark.parametrize(
    ("written", "stored"),
    [("1000m", "1"), ("0.5", "500m"), ("1024Mi", "1Gi"), ("0.0001", "1m"), ("1e3", "1k"), ("128974848", "123Mi")],
)
def test_resource_quantities_compare_by_value(written, stored):
    live = apply_pod_template_defaults(_minimal(resources={"limits": {"memory": stored}}))
    assert is_same_pod_template(live, _minimal(resources={"limits": {"memory": written}}))


def test_quantities_written_as_numbers_compare_by_value():
    live = apply_pod_template_defaults(_minimal(resources={"limits": {"cpu": "100m", "memory": "1"}}))
    assert is_same_pod_template(live, _minimal(resources={"limits": {"cpu": 0.1, "memory": 1}}))


def test_different_quantities_are_different():
    live = apply_pod_template_defaults(_minimal(resources={"requests": {"cpu": "1"}}))
    assert not is_same_pod_template(live, _minimal(resources={"requests": {"cpu": "2"}}))
    assert not is_same_pod_template(live, _minimal(resources={"requests": {"cpu": "0"}}))


def test_limits_are_not_copied_to_requests_in_a_template():
    # Requests default to limits for Pods only (SetDefaults_Pod), never for pod templates.
    defaulted = apply_pod_template_defaults(_minimal(resources={"limits": {"cpu": "1"}}))
    assert _container(defaulted)["resources"] == {"limits": {"cpu": "1"}}
    assert "requests" not in _container(WEB_READ_BACK)["resources"]


def test_enable_service_links_is_not_defaulted_in_a_template():
    assert "enableServiceLinks" not in apply_pod_template_defaults(_minimal())["spec"]


def test_pod_spec_defaults():
    spec = apply_pod_template_defaults(_minimal())["spec"]
    assert spec["dnsPolicy"] == "ClusterFirst"
    assert spec["restartPolicy"] == "Always"
    assert spec["schedulerName"] == "default-scheduler"
    assert spec["securityContext"] == {}
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["containers"][0] == {
        "name": "app",
        "image": "nginx:1.27",
        "imagePullPolicy": "IfNotPresent",
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.27", "IfNotPresent"),
        ("ghcr.io/org/app@sha256:" + "a" * 64, "IfNotPresent"),
        ("nginx:latest@sha256:" + "a" * 64, "Always"),
        ("registry.example.com:5000/team/app", "Always"),
        ("localhost:5000/app:v1", "IfNotPresent"),
        ("Registry.Example.com/app", "Always"),
        ("team/App:latest", "IfNotPresent"),
        ("", "IfNotPresent"),
    ],
)
def test_image_pull_policy_follows_the_tag(image, policy):
    assert _container(apply_pod_template_defaults(_minimal(image=image)))["imagePullPolicy"] == policy


def test_explicit_image_pull_policy_is_kept():
    defaulted = apply_pod_template_defaults(_minimal(image="nginx", imagePullPolicy="IfNotPresent"))
    assert _container(defaulted)["imagePullPolicy"] == "IfNotPresent"


def test_probe_and_hook_defaults():
    container = _container(
        apply_pod_template_defaults(
            _minimal(
                livenessProbe={"grpc": {"port": 9000}},
                readinessProbe={"httpGet": {"port": 80}, "failureThreshold": 5},
                lifecycle={"preStop": {"httpGet": {"port": 80, "path": "/stop"}}},
            )
        )
    )
    assert container["livenessProbe"] == {
        "grpc": {"port": 9000, "service": ""},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert container["readinessProbe"]["failureThreshold"] == 5
    assert container["readinessProbe"]["httpGet"] == {"port": 80, "path": "/", "scheme": "HTTP"}
    assert container["lifecycle"]["preStop"]["httpGet"] == {"port": 80, "path": "/stop", "scheme": "HTTP"}


def test_env_sources_are_defaulted():
    env = [
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
        {"name": "F", "valueFrom": {"fileKeyRef": {"path": "p.env", "volumeName": "v", "key": "K"}}},
    ]
    defaulted = _container(apply_pod_template_defaults(_minimal(env=env)))["env"]
    assert defaulted[0]["valueFrom"]["fieldRef"] == {"fieldPath": "metadata.name", "apiVersion": "v1"}
    assert defaulted[1]["valueFrom"]["resourceFieldRef"] == {"resource": "limits.cpu", "divisor": "0"}
    assert defaulted[2]["valueFrom"]["fileKeyRef"]["optional"] is False


def test_volume_defaults():
    template = _minimal()
    template["spec"]["volumes"] = [
        {"name": "bare"},
        {"name": "img", "image": {"reference": "quay.io/x/y"}},
        {"name": "rbd", "rbd": {"monitors": ["m"], "image": "i"}},
    ]
    volumes = apply_pod_template_defaults(template)["spec"]["volumes"]
    assert volumes[0] == {"name": "bare", "emptyDir": {}}
    assert volumes[1]["image"]["pullPolicy"] == "Always"
    assert volumes[2]["rbd"] == {
        "monitors": ["m"],
        "image": "i",
        "pool": "rbd",
        "user": "admin",
        "keyring": "/etc/ceph/keyring",
    }


def test_deprecated_service_account_is_an_alias():
    live = apply_pod_template_defaults(_minimal())
    live["spec"]["serviceAccount"] = live["spec"]["serviceAccountName"] = "robot"
    only_alias = _minimal()
    only_alias["spec"]["serviceAccount"] = "robot"
    only_name = _minimal()
    only_name["spec"]["serviceAccountName"] = "robot"
    other = _minimal()
    other["spec"]["serviceAccount"] = "someone-else"
    assert is_same_pod_template(live, only_alias)
    assert is_same_pod_template(live, only_name)
    assert not is_same_pod_template(live, other)


def test_metadata_injected_by_the_controller_is_ignored():
    live = copy.deepcopy(WEB_READ_BACK)
    live["metadata"]["labels"]["role"] = "canary"
    ephemeral = {"labels": {"role": "canary"}}
    assert not is_same_pod_template(live, WEB_TEMPLATE)
    assert is_same_pod_template(live, WEB_TEMPLATE, ephemeral_metadata=ephemeral)
