"""The versions of the local control plane's parts, and how to tell that a built binary has the right one.

Used by `build` (which builds only what is missing or wrong) and `cluster` (which passes them to kwokctl).
The versions were chosen because they build from the Go module proxy with the Go on this machine; see
shared/reference/local-cluster.md for the recipe and its fallbacks.
"""

from __future__ import annotations

from dataclasses import dataclass

KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.13"
KWOK_VERSION = "v0.8.0"
# Not part of the cluster: built on demand (`build.ensure_helm`) for the Helm chart's tests and `make helm`.
HELM_VERSION = "v3.21.4"
HELM_PACKAGE = "helm.sh/helm/v3/cmd/helm"
# go.mod of Kubernetes v1.36 says `go 1.26.0`; kwok v0.8.0 the same.
MINIMUM_GO = (1, 26)

KUBE_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
KWOK_COMMANDS = ("kwok", "kwokctl")


@dataclass(frozen=True)
class Binary:
    """One executable of the local cluster and the version it must report."""

    name: str
    version: str
    # How the version is read: "flag" runs `<bin> --version`; "buildinfo" reads `go version -m <bin>`
    # for the module path in `module` (used for binaries that do not stamp a version themselves).
    probe: str
    module: str = ""


def binaries() -> tuple[Binary, ...]:
    """Every binary the local cluster needs, in build order."""
    kube = tuple(Binary(name, KUBERNETES_VERSION, "flag") for name in KUBE_COMMANDS)
    etcd = (Binary("etcd", ETCD_VERSION, "buildinfo", "go.etcd.io/etcd/server/v3"),)
    kwok = tuple(Binary(name, KWOK_VERSION, "buildinfo", "sigs.k8s.io/kwok") for name in KWOK_COMMANDS)
    return kube + etcd + kwok


def helm_binary() -> Binary:
    """Helm, read from its build info (its `version` command needs a writable home)."""
    return Binary("helm", HELM_VERSION, "buildinfo", "helm.sh/helm/v3")


def is_reported_version(binary: Binary, output: str) -> bool:
    """Whether a probe's output shows the wanted version.

    `--version` prints e.g. "Kubernetes v1.36.3"; `go version -m` prints lines such as
    "\tdep\tgo.etcd.io/etcd/server/v3\tv3.6.13\th1:..." or "\tmod\tsigs.k8s.io/kwok\tv0.8.0\t...".

    >>> is_reported_version(Binary("kubectl", "v1.36.3", "flag"), "Client Version: v1.36.3")
    True
    >>> is_reported_version(Binary("kube-apiserver", "v1.36.3", "flag"), "Kubernetes v0.0.0-master+$Format")
    False
    """
    if binary.probe == "flag":
        return binary.version in output.split() or f"v{binary.version.lstrip('v')}" in output.split()
    for line in output.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0] in ("mod", "dep") and fields[1] == binary.module:
            return fields[2] == binary.version
    return False


def parse_go_version(text: str) -> tuple[int, int] | None:
    """Major and minor from `go env GOVERSION` output ("go1.26.8") or None when unreadable.

    >>> parse_go_version("go1.26.8")
    (1, 26)
    >>> parse_go_version("devel +abc") is None
    True
    """
    text = text.strip()
    if not text.startswith("go"):
        return None
    parts = text[2:].split(".")
    try:
        return int(parts[0]), int(parts[1].split("rc")[0].split("beta")[0])
    except (IndexError, ValueError):
        return None
