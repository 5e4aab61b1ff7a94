"""Run the local cluster: a real etcd, kube-apiserver, controller-manager and scheduler with kwok fake nodes.

`LocalCluster.up()` builds what is missing (`build`), then creates the cluster with kwokctl's binary runtime
(127.0.0.1 only) or restarts one whose processes died with an earlier session. It is idempotent: a healthy
cluster is left alone. kwok makes pods bound to its nodes Running/Ready and Job pods Succeeded; Ramp's own
Stages (`localcluster.stages`) let an annotated pod fail or run for a while first.
Used by `ramp cluster ...` (cli/cluster.py), `ramp demo` and the e2e test fixtures.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ramp.localcluster.build import ProgressCallback, ensure_binaries
from ramp.localcluster.paths import CachePaths, cache_paths
from ramp.localcluster.stages import build_stages
from ramp.localcluster.versions import KUBERNETES_VERSION

CLUSTER_NAME = "ramp"
DEFAULT_NODES = 4
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok-controller")


class ClusterError(RuntimeError):
    """The local cluster could not be started or reached; the message says why and what to do."""


@dataclass(frozen=True)
class ClusterStatus:
    """What `ramp cluster status` shows."""

    exists: bool
    ready: bool
    server: str
    kubeconfig: Path
    running: tuple[str, ...]
    nodes: int


def is_port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on host:port (the kube-apiserver port asked for with --port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _pid_alive(pid: int) -> bool:
    """Whether the process runs (a zombie left by a killed component counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return True
    return fields[0] != "Z"


class LocalCluster:
    """One kwokctl cluster in the cache's workdir."""

    def __init__(self, paths: CachePaths | None = None, name: str = CLUSTER_NAME) -> None:
        self.paths = paths or cache_paths()
        self.name = name

    # -- locations -------------------------------------------------------------------------------
    @property
    def directory(self) -> Path:
        return self.paths.kwok_workdir / "clusters" / self.name

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig.yaml"

    @property
    def kubectl(self) -> Path:
        return self.paths.bin / "kubectl"

    def environment(self) -> dict[str, str]:
        """Environment for kwokctl and kubectl: our binaries first on PATH (kwokctl calls `kubectl`)."""
        env = dict(os.environ)
        env["PATH"] = f"{self.paths.bin}{os.pathsep}{env.get('PATH', '')}"
        env["KWOK_WORKDIR"] = str(self.paths.kwok_workdir)
        return env

    # -- lifecycle --------------------------------------------------------------------------------
    def up(self, report: ProgressCallback, port: int | None = None, nodes: int = DEFAULT_NODES) -> Path:
        """Build if needed, start the cluster if it is not healthy, and return the kubeconfig path."""
        ensure_binaries(self.paths, report)
        if self.kubeconfig.exists() and not self._is_current_config(port):
            # Made by an older Ramp with other component settings: start afresh rather than half-migrate.
            self.down()
        if self.kubeconfig.exists():
            if self.is_ready():
                self._ensure_nodes(nodes)
                return self.kubeconfig
            self._restart()
            if self.is_ready(wait_seconds=60):
                self._release_node_leases()
                self._ensure_nodes(nodes)
                return self.kubeconfig
            # A cluster that does not come back (a half-deleted workdir, say) is recreated.
            self.down()
        self._create(port)
        self._ensure_nodes(nodes)
        return self.kubeconfig

    def down(self) -> None:
        """Stop every component and delete the cluster's state (the built binaries stay)."""
        if self.directory.exists():
            self._kwokctl("delete", "cluster", check=False)

    def stop(self) -> None:
        """Stop every component but keep the state, so that `up` starts it again in seconds."""
        if self.directory.exists():
            self._kwokctl("stop", "cluster", check=False)

    def status(self) -> ClusterStatus:
        running = tuple(name for name in COMPONENTS if self.component_pid(name) is not None)
        ready = self.kubeconfig.exists() and self.is_ready()
        nodes = 0
        if ready:
            out = self.run_kubectl("get", "nodes", "-o", "name", check=False)
            nodes = len([line for line in out.splitlines() if line.strip()])
        return ClusterStatus(self.kubeconfig.exists(), ready, self.server(), self.kubeconfig, running, nodes)

    def server(self) -> str:
        if not self.kubeconfig.exists():
            return ""
        config: dict[str, Any] = yaml.safe_load(self.kubeconfig.read_text())
        clusters = config.get("clusters") or []
        return str(clusters[0]["cluster"]["server"]) if clusters else ""

    def is_ready(self, wait_seconds: float = 0) -> bool:
        """Whether kube-apiserver answers /readyz, waiting up to wait_seconds."""
        deadline = time.monotonic() + wait_seconds
        while True:
            result = subprocess.run(
                [
                    str(self.kubectl),
                    "--kubeconfig",
                    str(self.kubeconfig),
                    "get",
                    "--raw",
                    "/readyz",
                    "--request-timeout=5s",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode == 0 and result.stdout.strip() == "ok":
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.5)

    # -- components (used by tests that restart kube-apiserver) ------------------------------------
    def component_pid(self, name: str) -> int | None:
        pid_file = self.directory / "pids" / f"{name}.pid"
        if not pid_file.exists():
            return None
        try:
            pid = int(pid_file.read_text().strip())
        except ValueError:
            return None
        return pid if _pid_alive(pid) else None

    def stop_component(self, name: str, timeout: float = 5) -> None:
        """Stop one component (SIGTERM, then SIGKILL after `timeout`) and wait until it is gone."""
        pid = self.component_pid(name)
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _pid_alive(pid):
            # kube-apiserver drains watches for a long time after SIGTERM; tests want it gone now.
            os.kill(pid, signal.SIGKILL)
            while _pid_alive(pid):
                time.sleep(0.05)

    def start_component(self, name: str) -> int:
        """Start one stopped component again with the exact command line kwokctl gave it."""
        component = self._component_spec(name)
        log_dir = self.directory / "logs"
        log_dir.mkdir(exist_ok=True)
        with (log_dir / f"{name}.log").open("a") as log:
            process = subprocess.Popen(
                [component["binary"], *component.get("args", [])],
                cwd=component.get("workDir") or self.directory,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        (self.directory / "pids" / f"{name}.pid").write_text(str(process.pid))
        return process.pid

    # -- kubectl ----------------------------------------------------------------------------------
    def run_kubectl(self, *args: str, check: bool = True, stdin: str | None = None) -> str:
        result = subprocess.run(
            [str(self.kubectl), "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if check and result.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    # -- internals --------------------------------------------------------------------------------
    def _component_spec(self, name: str) -> dict[str, Any]:
        for document in yaml.safe_load_all((self.directory / "kwok.yaml").read_text()):
            for component in (document or {}).get("components") or []:
                if component.get("name") == name:
                    return dict(component)
        raise ClusterError(f"no component {name!r} in {self.directory / 'kwok.yaml'}")

    def _kwokctl(self, *args: str, check: bool = True, timeout: float = 300) -> str:
        command = [str(self.paths.bin / "kwokctl"), "--name", self.name, *args]
        result = subprocess.run(
            command, capture_output=True, text=True, env=self.environment(), timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-10:])
            raise ClusterError(f"`kwokctl {' '.join(args)}` failed (exit {result.returncode}):\n{tail}")
        return result.stdout

    @property
    def _created_config(self) -> Path:
        return self.directory / "ramp-config.yaml"

    @property
    def _stages_file(self) -> Path:
        """Ramp's kwok Stages, read by the kwok controller next to kwokctl's own configuration."""
        return self.paths.kwok_workdir / f"{self.name}.stages.yaml"

    def _recorded_settings(self, port: int | None) -> str:
        """What `ramp-config.yaml` holds for these settings: the kwokctl configuration, then the Stages.

        The Stages are part of it because the kwok controller reads them only when it starts: a cluster made
        with other Stages is recreated, like one made with other component settings.
        """
        return yaml.safe_dump_all([self._config(port), *build_stages()], sort_keys=False)

    def _is_current_config(self, port: int | None) -> bool:
        wanted = self._recorded_settings(port)
        if port is None and self._created_config.exists():
            # A cluster created on a free port keeps it; only the rest of the settings must match.
            recorded = [doc for doc in yaml.safe_load_all(self._created_config.read_text()) if doc]
            if recorded and isinstance(recorded[0], dict):
                recorded[0].get("options", {}).pop("kubeApiserverPort", None)
            return yaml.safe_dump_all(recorded, sort_keys=False) == wanted
        return self._created_config.exists() and self._created_config.read_text() == wanted

    def _write_stages(self) -> None:
        self.paths.kwok_workdir.mkdir(parents=True, exist_ok=True)
        self._stages_file.write_text(yaml.safe_dump_all(build_stages(), sort_keys=False))

    def _write_config(self, port: int | None) -> Path:
        self.paths.kwok_workdir.mkdir(parents=True, exist_ok=True)
        self._write_stages()
        path = self.paths.kwok_workdir / f"{self.name}.config.yaml"
        path.write_text(yaml.safe_dump(self._config(port), sort_keys=False))
        return path

    def _config(self, port: int | None) -> dict[str, Any]:
        bin_dir = self.paths.bin
        options: dict[str, Any] = {
            "kubeVersion": KUBERNETES_VERSION,
            "runtime": "binary",
            "bindAddress": "127.0.0.1",
            "kubeBinaryPrefix": str(bin_dir),
            "kubectlBinary": str(bin_dir / "kubectl"),
            "etcdBinary": str(bin_dir / "etcd"),
            "kwokControllerBinary": str(bin_dir / "kwok"),
            # kwokctl multiplies heartbeat settings by 5 by default: node Leases of 200 s, renewed every 50 s.
            # After a restart kwok takes the nodes over only at a renewal; unscaled (40 s Leases) that is within
            # 10 s (see `_release_node_leases`). Node status flaps cannot follow: kcm's grace period is an hour.
            "heartbeatFactor": 1,
        }
        if port is not None:
            options["kubeApiserverPort"] = port
        config = {
            "kind": "KwokctlConfiguration",
            "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
            "options": options,
            "componentsPatches": [
                # kube-apiserver >= 1.35 may fail to pick an address in a sandbox with no default route.
                {"name": "kube-apiserver", "extraArgs": [{"key": "advertise-address", "value": "127.0.0.1"}]},
                # The cluster is disposable test state: durability is not worth the fsync latency.
                {"name": "etcd", "extraArgs": [{"key": "unsafe-no-fsync", "value": "true"}]},
                # Alone in the cluster, they need no leader election; with it they exit when kube-apiserver
                # is away longer than their renew deadline (tests restart it on purpose).
                # Their default client limit (20 requests/s) is what throttles hundreds of rollouts updating at
                # once (bench/rollouts_update.py); production clusters at that scale raise it too.
                {
                    "name": "kube-controller-manager",
                    "extraArgs": [
                        {"key": "leader-elect", "value": "false"},
                        {"key": "kube-api-qps", "value": "100"},
                        {"key": "kube-api-burst", "value": "200"},
                        # v1.36's new (beta) check that its cache has seen its own last write fails ReplicaSet
                        # syncs under load and backs them off exponentially: a ReplicaSet's status then lags
                        # its pods by minutes (seen in bench/rollouts_update.py). Off, as before v1.36.
                        {"key": "feature-gates", "value": "StaleControllerConsistencyReplicaSet=false"},
                        # kwok renews the nodes' Leases; when it falls behind on a loaded machine (thousands of
                        # pods to delete after a benchmark, say) the node lifecycle controller marks every pod
                        # Ready=False, and kwok never sets them Ready again. Simulated nodes do not fail, so
                        # allow an hour rather than kwok's 3m20s. (The controller itself stays: it lifts the
                        # not-ready taint new nodes start with.)
                        {"key": "node-monitor-grace-period", "value": "1h"},
                    ],
                },
                {
                    "name": "kube-scheduler",
                    "extraArgs": [
                        {"key": "leader-elect", "value": "false"},
                        {"key": "kube-api-qps", "value": "100"},
                        {"key": "kube-api-burst", "value": "200"},
                    ],
                },
                # Ramp's Stages (localcluster.stages) as a second config file: named in kwokctl's own file,
                # any Stage would make kwokctl leave out all its default node and pod Stages.
                {"name": "kwok-controller", "extraArgs": [{"key": "config", "value": str(self._stages_file)}]},
            ],
        }
        return config

    def _create(self, port: int | None) -> None:
        if port is not None and not is_port_free(port):
            raise ClusterError(
                f"port {port} on 127.0.0.1 is taken by another process, so kube-apiserver cannot listen there: "
                "stop that process or choose another port with `ramp cluster up --port N` (or RAMP_CLUSTER_PORT)."
            )
        config = self._write_config(port)
        self._kwokctl("create", "cluster", "--config", str(config), "--kubeconfig", "", "--wait", "2m")
        self._created_config.write_text(self._recorded_settings(port))
        if not self.is_ready(wait_seconds=60):
            raise ClusterError(f"kube-apiserver did not become ready; see the logs in {self.directory / 'logs'}")

    def _restart(self) -> None:
        # After a session ends (or the machine restarts) the processes are gone but the state stays.
        # A pid file may by now name an unrelated process: forget those before `kwokctl stop`, which would
        # signal them; stop then ends any component still alive, and start runs them all again.
        self._forget_stale_pids()
        # The kwok controller reads Ramp's Stages from the cache on every start: bring them back if removed.
        self._write_stages()
        self._kwokctl("stop", "cluster", check=False)
        self._kwokctl("start", "cluster", check=False)

    def _release_node_leases(self) -> None:
        # A restarted kwok controller has a new identity, and leaves alone the nodes whose Leases the old one
        # still holds until they expire (200 s): their pods would stay Pending that long. The old controller
        # is gone, so its Leases are released; the new one takes the nodes over at once.
        self.run_kubectl("delete", "leases", "--all", "-n", "kube-node-lease", "--wait=false", check=False)

    def _forget_stale_pids(self) -> None:
        for pid_file in (self.directory / "pids").glob("*.pid"):
            try:
                cmdline = Path(f"/proc/{int(pid_file.read_text().strip())}/cmdline").read_bytes()
            except (OSError, ValueError):
                pid_file.unlink(missing_ok=True)
                continue
            if str(self.directory).encode() not in cmdline:
                pid_file.unlink(missing_ok=True)

    def _ensure_nodes(self, nodes: int) -> None:
        out = self.run_kubectl("get", "nodes", "-o", "name", check=False)
        if len([line for line in out.splitlines() if line.strip()]) < nodes:
            self._kwokctl("scale", "node", "--replicas", str(nodes))
