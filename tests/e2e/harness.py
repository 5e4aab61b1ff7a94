"""Test harness for scenarios on the local cluster: kubectl, namespaces, the controller as a real process.

Everything goes through real clients: kubectl (built with the cluster) and Ramp's own command line.
`Scenario` (scenario.py) builds the Given/When/Then steps on top of this.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml

from ramp.localcluster.cluster import LocalCluster
from tests.dockerfile import read_stages

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")
INSTANCE_ID_LABEL = "argo-rollouts.argoproj.io/controller-instance-id"
# The kinds a controller started with --instance-id watches only when they carry its id (upstream filters all of its
# argoproj.io informers by the id, templates included).
INSTANCE_LABELLED_KINDS = {"Rollout", "AnalysisRun", "Experiment", "AnalysisTemplate", "ClusterAnalysisTemplate"}


def instance_id_for(namespace: str) -> str:
    """The controller instance id of a test's namespace: scenarios run sharded, as large users do."""
    return f"e2e-{namespace.rsplit('-', 1)[-1]}"


def label_for_instance(manifest: str, namespace: str | None, instance_ids: dict[str, str]) -> str:
    """The manifest with each argoproj.io object labelled with its namespace's instance id (a cluster template
    with the id of the namespace it is applied for),
    as a user running sharded controllers writes them; documents that name an id already keep theirs."""
    documents = [doc for doc in yaml.safe_load_all(manifest) if doc]
    changed = False
    for doc in documents:
        if not isinstance(doc, dict) or doc.get("kind") not in INSTANCE_LABELLED_KINDS:
            continue
        if not str(doc.get("apiVersion", "")).startswith("argoproj.io/"):
            continue
        meta = doc.setdefault("metadata", {})
        instance_id = instance_ids.get(str(meta.get("namespace") or namespace or ""))
        labels = meta.get("labels") or {}
        if instance_id and INSTANCE_ID_LABEL not in labels:
            meta["labels"] = {**labels, INSTANCE_ID_LABEL: instance_id}
            changed = True
    return yaml.safe_dump_all(documents, sort_keys=False) if changed else manifest


def wait_until(check: Callable[[], T], timeout: float, what: str, interval: float = 0.25) -> T:
    """Poll `check` until it returns something truthy; fail naming `what` and the last value seen."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = check()
        except (subprocess.CalledProcessError, KubectlError) as problem:
            last = problem
        else:
            if last:
                return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last seen: {last!r}")
        time.sleep(interval)


class KubectlError(RuntimeError):
    pass


@dataclass
class Cluster:
    """The running local cluster as tests see it."""

    local: LocalCluster
    kubeconfig: Path
    instance_ids: dict[str, str] = field(default_factory=dict)
    """namespace -> the controller instance id its scenario runs with (set by the `namespace` fixture)."""

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        result = subprocess.run(
            [str(self.local.kubectl), "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise KubectlError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout if check else result.stdout + result.stderr

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        args = ["get", kind, name, "-o", "json"]
        if namespace:
            args += ["-n", namespace]
        return dict(json.loads(self.kubectl(*args)))

    def list(self, kind: str, namespace: str | None = None, selector: str | None = None) -> list[dict[str, Any]]:
        args = ["get", kind, "-o", "json"]
        args += ["-n", namespace] if namespace else ["-A"]
        if selector:
            args += ["-l", selector]
        return list(json.loads(self.kubectl(*args))["items"])

    def apply(self, manifest: str, namespace: str | None = None, server_side: bool = False) -> str:
        args = ["apply", "-f", "-"]
        if namespace:
            args += ["-n", namespace]
        if server_side:
            args += ["--server-side"]
        return self.kubectl(*args, stdin=label_for_instance(manifest, namespace, self.instance_ids))

    def create_namespace(self, prefix: str = "t") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.kubectl("create", "namespace", name)
        # Pods are refused until the namespace's default ServiceAccount exists.
        wait_until(
            lambda: self.kubectl("get", "serviceaccount", "default", "-n", name, check=False).startswith("NAME"),
            90,
            f"ServiceAccount default in {name}",
        )
        return name

    def sweep_namespaces(self, prefixes: tuple[str, ...], older_than: float = 900, timeout: float = 600) -> list[str]:
        """Delete namespaces that earlier runs left behind and wait until they are gone.

        Their pods are deleted by kwok; a run that starts while it still works through thousands of them
        (a benchmark's, say) would see its own pods wait behind them. Namespaces younger than `older_than`
        seconds and still active may belong to a run going on now, and are left alone.
        """
        now = datetime.now(UTC)

        def is_leftover(namespace: dict[str, Any]) -> bool:
            meta = namespace["metadata"]
            if not str(meta["name"]).startswith(prefixes):
                return False
            created = datetime.fromisoformat(str(meta["creationTimestamp"]).replace("Z", "+00:00"))
            terminating = namespace.get("status", {}).get("phase") == "Terminating"
            return terminating or (now - created).total_seconds() > older_than

        leftovers = [str(n["metadata"]["name"]) for n in self.list("namespaces") if is_leftover(n)]
        if leftovers:
            print(f"deleting {len(leftovers)} namespaces left by earlier runs", file=sys.stderr)
            self.kubectl("delete", "namespace", *leftovers, "--wait=false", check=False)
            wait_until(
                lambda: (
                    not any(
                        n.split("/", 1)[-1] in leftovers
                        for n in self.kubectl("get", "namespaces", "-o", "name").split()
                    )
                ),
                timeout,
                f"namespaces left by earlier runs to be deleted ({len(leftovers)})",
                interval=2,
            )
        return leftovers

    def events(self, namespace: str, name: str | None = None) -> list[dict[str, Any]]:
        events = self.list("events", namespace)
        if name is not None:
            events = [event for event in events if event.get("involvedObject", {}).get("name") == name]
        return events


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ramp_command() -> list[str]:
    """The installed `ramp` console script of this virtualenv (falls back to `python -m`)."""
    script = Path(sys.executable).parent / "ramp"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ramp.cli.main"]


def image_command(venv: Path, home: Path) -> list[str]:
    """The controller image's ENTRYPOINT as its runtime stage starts it, on a virtualenv standing in for the image's
    /venv: only the Dockerfile's ENV (its /venv paths pointed at `venv`), HOME at `home`, and the entrypoint found
    on that PATH. `controller_args` appends the `controller ...` arguments a pod spec gives it."""
    runtime = read_stages()[-1]
    variables = {key: value.replace("/venv", str(venv)) for key, value in runtime.env().items()}
    variables["HOME"] = str(home)
    return ["env", "-i", *(f"{key}={value}" for key, value in variables.items()), *runtime.exec_form("ENTRYPOINT")]


@dataclass
class ControllerProcess:
    """`ramp controller` running as its own process against the local cluster."""

    args: list[str]
    log_path: Path
    healthz_port: int
    metrics_port: int
    process: subprocess.Popen[bytes] = field(init=False)
    kubeconfig_is_service_account: bool = False
    """Runs on deploy/rbac.yaml's ServiceAccount (the `start_controller` default)."""
    refusals_expected: bool = False
    """The test checks forbidden requests itself (the `start_controller` fixture then does not)."""
    forbidden_seen: list[str] = field(default_factory=list)
    """Forbidden API requests read from the metrics before the process was stopped (see `forbidden_requests`)."""

    def start(self, env: dict[str, str] | None = None) -> ControllerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
            )
        return self

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        compiled = re.compile(pattern)

        def found() -> re.Match[str] | None:
            if not self.alive and not compiled.search(self.log()):
                raise AssertionError(f"controller exited ({self.process.returncode}); log:\n{self.log()[-3000:]}")
            return compiled.search(self.log())

        return wait_until(found, timeout, f"controller log line /{pattern}/")

    def metrics(self) -> str:
        """The controller's Prometheus exposition text."""
        return httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10).text

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to release anything (a crash)."""
        if self.alive:
            self._note_forbidden()
            self.process.kill()
        self.process.wait(10)

    def terminate(self, timeout: float = 30) -> int:
        if self.alive:
            self._note_forbidden()
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def _note_forbidden(self) -> None:
        """Keep the forbidden requests the metrics count: they go with the process."""
        try:
            text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        except httpx.HTTPError:
            return  # not serving (yet, or any more): the log still tells
        self.forbidden_seen = sorted({*self.forbidden_seen, *forbidden_requests(text)})

    def forbidden(self, cluster: Cluster) -> list[str]:
        """Requests the API server refused this controller for lack of a permission (RBAC), from its metrics and
        its log. A create refused because its namespace is being deleted (the test's teardown) is not one."""
        if self.alive:
            self._note_forbidden()
        namespaces = {str(n["metadata"]["name"]): n.get("status", {}).get("phase") for n in cluster.list("namespaces")}
        problems = [series for series in self.forbidden_seen if not _is_refused_for_teardown(series, namespaces)]
        problems += [line.strip()[:400] for line in self.log().splitlines() if RBAC_DENIAL.search(line)]
        return problems


RBAC_DENIAL = re.compile(r'cannot [a-z]+ resource \\?"')
"""The API server's wording when RBAC refuses a request (`User "..." cannot list resource "pods" in API group ...`)."""
_FORBIDDEN_SERIES = re.compile(r'^controller_clientset_k8s_request_total\{(?P<labels>[^}]*status_code="403"[^}]*)\}')


def forbidden_requests(metrics: str) -> list[str]:
    """The request-count series of answers 403 in a controller's metrics (`kind=..,namespace=..,verb=..`)."""
    found = []
    for line in metrics.splitlines():
        match = _FORBIDDEN_SERIES.match(line)
        if match and not line.rstrip().endswith(" 0.0"):
            found.append(match.group("labels"))
    return found


def _is_refused_for_teardown(series: str, namespaces: dict[str, Any]) -> bool:
    """A create in a namespace that is being deleted (or gone): refused by the namespace's lifecycle, not by RBAC."""
    namespace = _label(series, "namespace")
    return (
        _label(series, "verb") == "Create"
        and bool(namespace)
        and namespaces.get(namespace, "Terminating") == "Terminating"
    )


def _label(series: str, name: str) -> str:
    match = re.search(rf'{name}="([^"]*)"', series)
    return match.group(1) if match else ""


def _cluster_role_of(manifest: Path) -> dict[str, Any]:
    return next(d for d in yaml.safe_load_all(manifest.read_text()) if d and d.get("kind") == "ClusterRole")


def cluster_role_matches(cluster: Cluster, manifest: Path) -> bool:
    """Whether the cluster's ClusterRole of that name has the rules `manifest` (deploy/rbac.yaml) gives it."""
    wanted = _cluster_role_of(manifest)
    live = cluster.kubectl("get", "clusterrole", wanted["metadata"]["name"], "-o", "json", check=False)
    return live.startswith("{") and json.loads(live).get("rules") == wanted["rules"]


def ensure_cluster_role(cluster: Cluster, manifest: Path) -> None:
    """Apply `manifest` (server-side) unless the cluster's ClusterRole already has its rules.

    The cluster is shared: a session on another branch may have applied another version of the file meanwhile.
    """
    if not cluster_role_matches(cluster, manifest):
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(manifest))


class ServiceAccountKubeconfig:
    """A kubeconfig holding only a token of a ServiceAccount (deploy/rbac.yaml's `argo-rollouts`): the identity
    controllers run with in the e2e suite, as in a real install. The token is minted again once less than
    `min_life` seconds of it are left, so a long session never starts a controller on a token about to expire."""

    def __init__(
        self,
        cluster: Cluster,
        name: str = "argo-rollouts",
        namespace: str = "argo-rollouts",
        duration: str = "3h",
        min_life: float = 3600,
    ) -> None:
        self.cluster = cluster
        self.name = name
        self.namespace = namespace
        self.duration = duration
        self.min_life = min_life
        self._path: Path | None = None
        self._expires = 0.0

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.name}"

    def path(self) -> Path:
        if self._path is None or self._expires - time.time() < self.min_life:
            self._path, self._expires = self._mint()
        return self._path

    def _mint(self) -> tuple[Path, float]:
        token = self.cluster.kubectl(
            "create", "token", self.name, "-n", self.namespace, f"--duration={self.duration}"
        ).strip()
        payload = token.split(".")[1]
        expires = float(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"])
        admin = yaml.safe_load(self.cluster.kubeconfig.read_text())
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "local", "cluster": admin["clusters"][0]["cluster"]}],
            "users": [{"name": self.name, "user": {"token": token}}],
            "contexts": [{"name": "sa", "context": {"cluster": "local", "user": self.name}}],
            "current-context": "sa",
        }
        path = build_dir() / f"sa-{self.name}-{uuid.uuid4().hex[:6]}.kubeconfig"
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)
        return path, expires


def controller_args(kubeconfig: Path, healthz_port: int, metrics_port: int, *extra: str) -> list[str]:
    return [
        *ramp_command(),
        "controller",
        "--kubeconfig",
        str(kubeconfig),
        "--healthzPort",
        str(healthz_port),
        "--metricsport",
        str(metrics_port),
        "--loglevel",
        "debug",
        *extra,
    ]


def build_dir() -> Path:
    path = ROOT / "build" / "e2e"
    path.mkdir(parents=True, exist_ok=True)
    return path


def kubectl_on_path() -> dict[str, str]:
    """Environment with the cluster's kubectl first on PATH (for commands that call `kubectl`)."""
    env = dict(os.environ)
    bin_dir = LocalCluster().paths.bin
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    assert shutil.which("kubectl", path=env["PATH"])
    return env
