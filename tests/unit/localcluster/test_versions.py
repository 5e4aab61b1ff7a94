"""How the local cluster decides that a binary need not be rebuilt, and that Go is new enough."""

from __future__ import annotations

import doctest

import pytest

from ramp.localcluster import versions
from ramp.localcluster.versions import Binary, is_reported_version, parse_go_version


def test_doctests() -> None:
    assert doctest.testmod(versions).failed == 0


KUBECTL = Binary("kubectl", "v1.36.3", "flag")
ETCD = Binary("etcd", "v3.6.13", "buildinfo", "go.etcd.io/etcd/server/v3")
KWOK = Binary("kwok", "v0.8.0", "buildinfo", "sigs.k8s.io/kwok")


@pytest.mark.parametrize(
    ("name", "binary", "output", "expected"),
    [
        ("stamped kube binary", Binary("kube-apiserver", "v1.36.3", "flag"), "Kubernetes v1.36.3\n", True),
        (
            "unstamped kube binary is rebuilt",
            Binary("kube-apiserver", "v1.36.3", "flag"),
            "Kubernetes v0.0.0-master",
            False,
        ),
        ("kubectl client version", KUBECTL, "Client Version: v1.36.3\nKustomize Version: v5.8.1", True),
        ("older kubectl is rebuilt", KUBECTL, "Client Version: v1.35.4", False),
        ("missing binary prints nothing", KUBECTL, "", False),
        (
            "etcd built from its wrapper module",
            ETCD,
            "bin/etcd: go1.26.8\n\tpath\tgo.etcd.io/etcd/server/v3\n\tmod\tgo.etcd.io/etcd/server/v3\tv3.6.13\th1:x=\n",
            True,
        ),
        ("etcd of another version", ETCD, "\tmod\tgo.etcd.io/etcd/server/v3\tv3.6.10\th1:x=\n", False),
        (
            "kwok installed with go install",
            KWOK,
            "\tpath\tsigs.k8s.io/kwok/cmd/kwok\n\tmod\tsigs.k8s.io/kwok\tv0.8.0\th1:y=\n",
            True,
        ),
    ],
)
def test_is_reported_version(name: str, binary: Binary, output: str, expected: bool) -> None:
    assert is_reported_version(binary, output) is expected, name


@pytest.mark.parametrize(
    ("text", "expected"),
    [("go1.26.8", (1, 26)), ("go1.27rc1", (1, 27)), ("go1.9", (1, 9)), ("", None), ("devel go1.27-abc", None)],
)
def test_parse_go_version(text: str, expected: tuple[int, int] | None) -> None:
    assert parse_go_version(text) == expected


def test_every_binary_has_a_version_probe() -> None:
    for binary in versions.binaries():
        assert binary.probe in ("flag", "buildinfo")
        assert binary.probe == "flag" or binary.module


def test_helm_is_read_from_its_build_info() -> None:
    helm = versions.helm_binary()
    built = (
        "/cache/bin/helm: go1.26.8\n\tpath\thelm.sh/helm/v3/cmd/helm\n"
        f"\tmod\thelm.sh/helm/v3\t{versions.HELM_VERSION}\th1:x=\n"
    )
    assert is_reported_version(helm, built)
    assert not is_reported_version(helm, built.replace(versions.HELM_VERSION, "v3.18.4"))
    assert versions.HELM_PACKAGE.startswith(helm.module + "/")
