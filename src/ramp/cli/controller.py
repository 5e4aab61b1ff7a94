"""`ramp controller`: run the Rollout controller, with upstream's flag names.

Parses flags, configures logging (`ramp.cli.logformat`), loads the cluster settings (`ramp.kube.config`),
installs SIGTERM/SIGINT handlers (first signal: graceful shutdown; second: stop now) and runs
`ramp.manager.Manager`. Exit codes: 0 after a graceful shutdown, 1 when the controller failed (or lost
the Lease, with --exit-on-lost-lease), 2 for bad flags or an unusable kubeconfig.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import typer

from ramp.cli.logformat import configure_logging
from ramp.kube.client import KubeClient
from ramp.kube.config import ClusterConfig, load_config, service_account_namespace
from ramp.kube.errors import ConfigError
from ramp.kube.lease import lease_namespace
from ramp.manager import Manager, ManagerOptions

log = logging.getLogger("ramp.controller")

_TRUE = ("1", "t", "true", "yes")
_FALSE = ("0", "f", "false", "no")


def parse_bool(flag: str, value: str) -> bool:
    """Go-style boolean flag values (`--leader-elect=false`), as upstream's flags accept."""
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise typer.BadParameter(f"{value!r} is not a boolean; use {flag}=true or {flag}=false")


def controller(
    *,
    kubeconfig: str = typer.Option(None, "--kubeconfig", help="Path to a kubeconfig. Only required if out-of-cluster."),
    namespaced: bool = typer.Option(
        False,
        "--namespaced",
        help="Watch only one namespace (--namespace, else the kubeconfig's); no cluster RBAC.",
    ),
    namespace: str = typer.Option(None, "--namespace", "-n", help="The namespace watched with --namespaced."),
    instance_id: str = typer.Option(
        "", "--instance-id", help="Operate only on objects labelled controller-instance-id=<this>."
    ),
    leader_elect: str = typer.Option(
        "true",
        "--leader-elect",
        metavar="BOOL",
        help="Elect a leader via a Lease (--leader-elect=false to disable).",
    ),
    no_leader_elect: bool = typer.Option(False, "--no-leader-elect", help="Same as --leader-elect=false."),
    healthz_port: int = typer.Option(8080, "--healthzPort", help="Port of the /healthz endpoint."),
    metrics_port: int = typer.Option(8090, "--metricsport", help="Port of the /metrics endpoint."),
    bind_address: str = typer.Option(
        "0.0.0.0",  # as upstream: kubelet probes and Prometheus reach the pod on its IP
        "--bind-address",
        help="Address the healthz and metrics endpoints listen on (127.0.0.1 for a local-only controller).",
    ),
    loglevel: str = typer.Option("info", "--loglevel", help="debug, info, warn or error."),
    logformat: str = typer.Option("text", "--logformat", help="text or json."),
    rollout_threads: int = typer.Option(10, "--rollout-threads", help="Workers reconciling Rollouts."),
    analysis_threads: int = typer.Option(30, "--analysis-threads", help="Workers reconciling AnalysisRuns."),
    experiment_threads: int = typer.Option(10, "--experiment-threads", help="Workers reconciling Experiments."),
    rollout_resync: int = typer.Option(
        900, "--rollout-resync", help="Seconds between full resyncs of every informer (as upstream)."
    ),
    qps: float = typer.Option(40.0, "--qps", help="Maximum API requests per second (0 for no limit)."),
    burst: int = typer.Option(80, "--burst", help="Requests allowed above --qps in a burst."),
    shutdown_timeout: float = typer.Option(
        20.0, "--shutdown-timeout", help="Seconds to let in-flight reconciles finish on SIGTERM."
    ),
    exit_on_lost_lease: bool = typer.Option(
        False,
        "--exit-on-lost-lease",
        help="Exit 1 when the Lease is lost (upstream's way, for a supervisor) instead of standing by.",
    ),
) -> None:
    """Run the Rollout controller (Argo Rollouts compatible) against a cluster."""
    try:
        configure_logging(loglevel, logformat)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from err
    elect = parse_bool("--leader-elect", leader_elect) and not no_leader_elect
    for flag, value in (
        ("--rollout-threads", rollout_threads),
        ("--analysis-threads", analysis_threads),
        ("--experiment-threads", experiment_threads),
    ):
        if value < 1:
            raise typer.BadParameter(f"{flag} must be at least 1, got {value}")
    try:
        cluster = load_config(kubeconfig)
    except ConfigError as err:
        log.error("cannot load cluster configuration", extra={"error": str(err)})
        raise typer.Exit(2) from err
    if namespace and not namespaced:
        log.warning("--namespace has no effect without --namespaced; watching all namespaces")
    options = ManagerOptions(
        namespace=(namespace or cluster.namespace) if namespaced else None,
        instance_id=instance_id or None,
        leader_elect=elect,
        lease_namespace=lease_namespace(os.environ.get("POD_NAMESPACE"), service_account_namespace()),
        bind_address=bind_address,
        healthz_port=healthz_port,
        metrics_port=metrics_port,
        rollout_threads=rollout_threads,
        analysis_threads=analysis_threads,
        experiment_threads=experiment_threads,
        rollout_resync=float(rollout_resync),
        shutdown_timeout=shutdown_timeout,
        exit_on_lost_lease=exit_on_lost_lease,
    )
    raise typer.Exit(asyncio.run(run_controller(cluster, options, qps=qps, burst=burst)))


async def run_controller(cluster: ClusterConfig, options: ManagerOptions, *, qps: float, burst: int) -> int:
    """Run the manager until a signal stops it; returns the process exit code."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    main = asyncio.current_task()
    received: list[signal.Signals] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig)
        if len(received) == 1:
            log.info("signal received; shutting down", extra={"signal": sig.name})
            stop.set()
        elif main is not None:
            log.warning("second signal; stopping now", extra={"signal": sig.name})
            main.cancel()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    log.info("cluster configuration loaded", extra={"source": cluster.source, "server": cluster.server})
    try:
        async with KubeClient(cluster, qps=qps, burst=burst) as client:
            return await Manager(options, client).run(stop)
    except asyncio.CancelledError:
        return 1
    except OSError as err:
        log.error("controller failed", extra={"error": err.strerror or str(err)})
        return 1
    except Exception:
        log.exception("controller failed")
        return 1
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
