"""`ramp demo` (what `make demo` runs): the local cluster, Ramp's CRDs and the controller, ready to use.

Brings the cluster up (building it on first use, with progress), installs the CRDs generated from the
models, starts `ramp controller` and `ramp dashboard` (`ramp.cli.dashboard`) as child processes, waits until the
controller holds the Lease, and says what is running and how to reach it (the dashboard's URL and token
included). Ctrl-C stops what it started: the controller and the dashboard always, the cluster only if the
demo had to start it (its state stays, so the next start takes seconds).
"""

from __future__ import annotations

import json
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import typer
from rich.console import Console

from ramp.api.crds import render_crds_yaml
from ramp.cli.cluster import BuildDisplay
from ramp.localcluster.build import BuildError
from ramp.localcluster.cluster import ClusterError, LocalCluster

CONTROLLER_NAMESPACE = "argo-rollouts"
LEASE = "argo-rollouts-controller-lock"
CRD_PLURALS = ("rollouts", "analysistemplates", "clusteranalysistemplates", "analysisruns", "experiments")
DEMO_NAMESPACE = "ramp-demo"
DEMO_ROLLOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: demo
spec:
  replicas: 5
  revisionHistoryLimit: 3
  selector:
    matchLabels: {app: demo}
  template:
    metadata:
      labels: {app: demo}
    spec:
      containers:
        - name: app
          image: nginx:1.27
          ports: [{containerPort: 80}]
  strategy:
    canary:
      steps:
        - setWeight: 20
        - pause: {}
        - setWeight: 40
        - pause: {duration: 10s}
        - setWeight: 60
        - pause: {duration: 10s}
        - setWeight: 80
        - pause: {duration: 10s}
"""
# No wrapping: the paths and commands printed must stay copyable when the output is piped.
out = Console(soft_wrap=True)


def _free_port(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])


def install_crds(cluster: LocalCluster) -> None:
    """Server-side apply of the generated CRDs, then wait until the API server serves them."""
    cluster.run_kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=render_crds_yaml())
    names = [f"crd/{plural}.argoproj.io" for plural in CRD_PLURALS]
    cluster.run_kubectl("wait", "--for=condition=Established", *names, "--timeout=60s")
    if not cluster.run_kubectl("get", "namespace", CONTROLLER_NAMESPACE, check=False):
        cluster.run_kubectl("create", "namespace", CONTROLLER_NAMESPACE)


def apply_sample_rollout(cluster: LocalCluster) -> None:
    """The sample canary Rollout `ramp-demo/demo` (kept as the user left it when it already exists)."""
    if not cluster.run_kubectl("get", "namespace", DEMO_NAMESPACE, check=False):
        cluster.run_kubectl("create", "namespace", DEMO_NAMESPACE)
    if not cluster.run_kubectl("get", "rollout", "demo", "-n", DEMO_NAMESPACE, check=False):
        cluster.run_kubectl("apply", "-n", DEMO_NAMESPACE, "-f", "-", stdin=DEMO_ROLLOUT)


def _lease_holder(cluster: LocalCluster) -> str:
    raw = cluster.run_kubectl("get", "lease", LEASE, "-n", CONTROLLER_NAMESPACE, "-o", "json", check=False)
    if not raw:
        return ""
    return str(json.loads(raw).get("spec", {}).get("holderIdentity") or "")


def _wait_for_leader(cluster: LocalCluster, controller: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if controller.poll() is not None:
            raise ClusterError(f"the controller exited with {controller.returncode}; its log: {log}")
        if "leader acquired" in log.read_text(errors="replace"):
            return _lease_holder(cluster)
        time.sleep(0.3)
    raise ClusterError(f"the controller did not take the Lease within 60s; its log: {log}")


def _start_dashboard(kubeconfig: Path, port: int, logs: Path) -> tuple[str, str, subprocess.Popen[bytes]]:
    """`ramp dashboard` for the demo namespace on 127.0.0.1: (its URL, its token, the process)."""
    token = secrets.token_urlsafe(24)
    command = [sys.executable, "-m", "ramp.cli.main", "dashboard", "--kubeconfig", str(kubeconfig)]
    command += ["-n", DEMO_NAMESPACE, "--port", str(port), "--token", token]
    with (logs / "demo-dashboard.log").open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    return f"http://127.0.0.1:{port}", token, process


def demo(
    healthz_port: int = typer.Option(8080, "--healthzPort", help="Controller health port (another if taken)."),
    metrics_port: int = typer.Option(8090, "--metricsport", help="Controller metrics port (another if taken)."),
    dashboard_port: int = typer.Option(3100, "--dashboard-port", help="Dashboard port (another if taken)."),
) -> None:
    """Bring up the local cluster with Ramp's CRDs and controller; Ctrl-C stops what it started."""
    cluster = LocalCluster()
    was_running = cluster.kubeconfig.exists() and cluster.is_ready()
    started = time.monotonic()
    try:
        with BuildDisplay() as display:
            kubeconfig = cluster.up(display)
        out.print(f"[green]✔[/green] local cluster at {cluster.server()} ({time.monotonic() - started:.0f}s)")
        install_crds(cluster)
        out.print(f"[green]✔[/green] CRDs installed: {', '.join(CRD_PLURALS)}")
    except (BuildError, ClusterError) as problem:
        out.print(f"[red]error:[/red] {problem}")
        raise typer.Exit(1) from problem

    healthz, metrics = _free_port(healthz_port), _free_port(metrics_port)
    log = cluster.paths.logs / "demo-controller.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "ramp.cli.main",
        "controller",
        "--kubeconfig",
        str(kubeconfig),
        "--healthzPort",
        str(healthz),
        "--metricsport",
        str(metrics),
        "--bind-address",
        "127.0.0.1",
    ]
    with log.open("wb") as sink:
        # Its own session: Ctrl-C reaches only the demo, which then stops the controller once, gracefully.
        controller = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )

    dashboard_url, token, dashboard = _start_dashboard(kubeconfig, _free_port(dashboard_port), cluster.paths.logs)

    def stop(signum: int = 0, frame: FrameType | None = None) -> None:
        out.print("\nstopping ...")
        if dashboard.poll() is None:
            dashboard.terminate()
            try:
                dashboard.wait(10)
            except subprocess.TimeoutExpired:
                dashboard.kill()
        if controller.poll() is None:
            controller.send_signal(signal.SIGTERM)
            try:
                controller.wait(30)
            except subprocess.TimeoutExpired:
                controller.kill()
        out.print("[green]✔[/green] controller stopped")
        if not was_running:
            cluster.stop()
            out.print("[green]✔[/green] local cluster stopped (`make demo` starts it again in seconds)")
        raise typer.Exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        holder = _wait_for_leader(cluster, controller, log)
        kubectl = cluster.paths.bin / "kubectl"
        out.print(f"[green]✔[/green] controller running, holding Lease {CONTROLLER_NAMESPACE}/{LEASE} as {holder}")
        apply_sample_rollout(cluster)
        out.print(f"[green]✔[/green] sample canary Rollout {DEMO_NAMESPACE}/demo (5 pods; 20% → 40% → 60% → 80%)")
        out.print()
        out.print("[bold]What is running[/bold]")
        components = ", ".join(cluster.status().running)
        out.print(f"  cluster          {cluster.server()}  ({components})")
        out.print(
            f"  controller       health http://127.0.0.1:{healthz}/healthz   metrics http://127.0.0.1:{metrics}/metrics"
        )
        out.print(f"  controller log   {log}")
        if dashboard.poll() is not None:
            out.print(f"[red]the dashboard exited with {dashboard.returncode}[/red]; its log: {cluster.paths.logs}")
        out.print(f"  dashboard        {dashboard_url}/#/ns/{DEMO_NAMESPACE}?token={token}")
        out.print(f"  dashboard token  {token}")
        out.print()
        out.print("[bold]Use it[/bold]")
        out.print(f"  export KUBECONFIG={kubeconfig}")
        plugin = Path(sys.executable).parent
        out.print(f"  export PATH={kubectl.parent}:{plugin}:$PATH   # the cluster's kubectl, and kubectl-ramp")
        out.print("  kubectl get rollouts,analysisruns,experiments -A")
        out.print()
        out.print("[bold]Try a canary release[/bold]")
        ns = f"-n {DEMO_NAMESPACE}"
        out.print(f"  kubectl ramp get rollout demo {ns} -w            # watch it (another terminal)")
        out.print(f"  kubectl ramp set image demo app=nginx:1.28 {ns}  # start a release: 20% and pause")
        out.print(f"  kubectl ramp promote demo {ns}                   # go on: 40%, 60%, 80% (10s each), 100%")
        out.print(f"  kubectl ramp abort demo {ns}                     # or back to the stable version")
        out.print(f"  kubectl ramp retry rollout demo {ns}             # and try again")
        out.print()
        out.print("Press Ctrl-C to stop.", style="dim")
        out.print("demo ready", style="dim")
        while controller.poll() is None:
            time.sleep(0.5)
        out.print(f"[red]the controller exited with {controller.returncode}[/red]; its log: {log}")
        raise typer.Exit(1)
    except KeyboardInterrupt:
        stop()
    except ClusterError as problem:
        out.print(f"[red]error:[/red] {problem}")
        for child in (controller, dashboard):
            if child.poll() is None:
                child.terminate()
        raise typer.Exit(1) from problem
