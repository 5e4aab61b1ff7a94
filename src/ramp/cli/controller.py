"""`ramp controller`: run the Rollout controller, with upstream's flag names.

Accepts every flag of upstream's rollouts-controller (v1.10) so an upstream Deployment's args start Ramp
unchanged: the leader-election durations and `--controllers=analysis` are honoured, `--metricsport` is the
deprecated spelling of `--metricsPort`, and the flags with no meaning for Ramp are named in one log line
(`ramp.cli.controller_flags`). kubectl's global flags (`--server`, `--token`, `--as`, ...) come from
`ramp.cli.globalflags`, as upstream binds client-go's override flags.

Parses flags, configures logging (`ramp.cli.logformat`), loads the cluster settings (`ramp.kube.config`),
installs SIGTERM/SIGINT handlers (first signal: graceful shutdown; second: stop now) and runs
`ramp.manager.Manager`. Exit codes: 0 after a graceful shutdown, 1 when the controller failed (or lost
the Lease, with --exit-on-lost-lease), 2 for bad flags or an unusable kubeconfig.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import signal
from collections.abc import Mapping
from typing import Annotated

import typer

from ramp.api import parse_duration
from ramp.buildinfo import describe
from ramp.cli.controller_flags import ignored_flags_notice, parse_controllers
from ramp.cli.globalflags import global_flags
from ramp.cli.logformat import configure_logging
from ramp.kube.client import KubeClient
from ramp.kube.config import ClusterConfig, load_config, service_account_namespace
from ramp.kube.errors import ConfigError
from ramp.kube.lease import lease_namespace
from ramp.manager import DEFAULT_RECONCILERS, Manager, ManagerOptions, ReconcilerFactory

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


_NO_VALUE = "\x00unset"
"""Default of the ignored string flags, so a flag given with an empty value still counts as given."""


def controller(
    *,
    kubeconfig: str = typer.Option(None, "--kubeconfig", help="Path to a kubeconfig. Only required if out-of-cluster."),
    namespaced: bool = typer.Option(
        False,
        "--namespaced",
        help="Watch only one namespace (--namespace, else the kubeconfig's); no cluster RBAC.",
    ),
    namespace: str = typer.Option(None, "--namespace", "-n", help="The namespace watched with --namespaced."),
    context: str = typer.Option(None, "--context", help="The kubeconfig context to use."),
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
    lease_duration: str = typer.Option(
        "15s", "--leader-election-lease-duration", help="How long a standby waits before taking an unrenewed Lease."
    ),
    renew_deadline: str = typer.Option(
        "10s", "--leader-election-renew-deadline", help="How long the leader retries renewing before it stops leading."
    ),
    retry_period: str = typer.Option(
        "2s", "--leader-election-retry-period", help="Pause between attempts to acquire or renew the Lease."
    ),
    controllers: Annotated[
        list[str] | None,
        typer.Option("--controllers", help="Run only these controllers (upstream supports `analysis`); default: all."),
    ] = None,
    healthz_port: int = typer.Option(8080, "--healthzPort", help="Port of the /healthz endpoint."),
    metrics_port: int = typer.Option(
        8090, "--metricsPort", "--metricsport", help="Port of the /metrics endpoint (--metricsport: deprecated)."
    ),
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
    qps: float = typer.Option(
        40.0,
        "--qps",
        help="API requests per second of each of upstream's three clients; Ramp pools them (3x for every kind) "
        "and gives events 1x more of their own (0 for no limit).",
    ),
    burst: int = typer.Option(80, "--burst", help="Requests allowed above --qps in a burst."),
    shutdown_timeout: float = typer.Option(
        20.0, "--shutdown-timeout", help="Seconds to let in-flight reconciles finish on SIGTERM."
    ),
    shards: int = typer.Option(
        1,
        "--shards",
        help="Split the Rollouts into N shards, one Lease each, spread over every replica run with the same "
        "--shards and --instance-id (docs/sharding.md). 1: one leader reconciles all.",
    ),
    exit_on_lost_lease: bool = typer.Option(
        False,
        "--exit-on-lost-lease",
        help="Exit 1 when the Lease is lost (upstream's way, for a supervisor) instead of standing by.",
    ),
    print_version: bool = typer.Option(False, "--version", help="Print the version and exit."),
    # Upstream flags with no meaning for Ramp: accepted, and named in one notice (`ramp.cli.controller_flags`).
    kloglevel: int = typer.Option(None, "--kloglevel", hidden=True),
    service_threads: int = typer.Option(None, "--service-threads", hidden=True),
    ingress_threads: int = typer.Option(None, "--ingress-threads", hidden=True),
    ephemeral_metadata_threads: int = typer.Option(None, "--ephemeral-metadata-threads", hidden=True),
    ephemeral_metadata_retries: int = typer.Option(None, "--ephemeral-metadata-update-pod-retries", hidden=True),
    target_group_binding_version: str = typer.Option(_NO_VALUE, "--aws-target-group-binding-api-version", hidden=True),
    alb_tag_key_resource_id: str = typer.Option(_NO_VALUE, "--alb-tag-key-resource-id", hidden=True),
    aws_verify_target_group: bool = typer.Option(False, "--aws-verify-target-group", hidden=True),
    alb_verify_weight: bool = typer.Option(False, "--alb-verify-weight", hidden=True),
    istio_api_version: str = typer.Option(_NO_VALUE, "--istio-api-version", hidden=True),
    ambassador_api_version: str = typer.Option(_NO_VALUE, "--ambassador-api-version", hidden=True),
    traffic_split_api_version: str = typer.Option(_NO_VALUE, "--traffic-split-api-version", hidden=True),
    traefik_api_group: str = typer.Option(_NO_VALUE, "--traefik-api-group", hidden=True),
    traefik_api_version: str = typer.Option(_NO_VALUE, "--traefik-api-version", hidden=True),
    apisix_api_version: str = typer.Option(_NO_VALUE, "--apisix-api-version", hidden=True),
    ingress_api_version: str = typer.Option(_NO_VALUE, "--ingress-api-version", hidden=True),
    appmesh_crd_version: str = typer.Option(_NO_VALUE, "--appmesh-crd-version", hidden=True),
    alb_ingress_classes: Annotated[list[str] | None, typer.Option("--alb-ingress-classes", hidden=True)] = None,
    nginx_ingress_classes: Annotated[list[str] | None, typer.Option("--nginx-ingress-classes", hidden=True)] = None,
    self_service_notifications: bool = typer.Option(
        False,
        "--self-service-notification-enabled",
        help="Also read the notifications ConfigMap and Secret from each Rollout's own namespace (upstream's flag).",
    ),
    pprof_address: str = typer.Option(_NO_VALUE, "--enable-pprof-address", hidden=True),
) -> None:
    """Run the Rollout controller (Argo Rollouts compatible) against a cluster.

    Every flag of upstream's rollouts-controller is accepted (and kubectl's --server, --token, --as, ...);
    those with no meaning for Ramp are named in one log line at start-up.
    """
    if print_version:
        typer.echo(describe("ramp"))
        raise typer.Exit(0)
    try:
        configure_logging(loglevel, logformat)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from err
    ignored = {
        "--kloglevel": kloglevel is not None,
        "--service-threads": service_threads is not None,
        "--ingress-threads": ingress_threads is not None,
        "--ephemeral-metadata-threads": ephemeral_metadata_threads is not None,
        "--ephemeral-metadata-update-pod-retries": ephemeral_metadata_retries is not None,
        "--aws-target-group-binding-api-version": target_group_binding_version != _NO_VALUE,
        "--alb-tag-key-resource-id": alb_tag_key_resource_id != _NO_VALUE,
        "--aws-verify-target-group": aws_verify_target_group,
        "--alb-verify-weight": alb_verify_weight,
        "--istio-api-version": istio_api_version != _NO_VALUE,
        "--ambassador-api-version": ambassador_api_version != _NO_VALUE,
        "--traffic-split-api-version": traffic_split_api_version != _NO_VALUE,
        "--traefik-api-group": traefik_api_group != _NO_VALUE,
        "--traefik-api-version": traefik_api_version != _NO_VALUE,
        "--apisix-api-version": apisix_api_version != _NO_VALUE,
        "--ingress-api-version": ingress_api_version != _NO_VALUE,
        "--appmesh-crd-version": appmesh_crd_version != _NO_VALUE,
        "--alb-ingress-classes": bool(alb_ingress_classes),
        "--nginx-ingress-classes": bool(nginx_ingress_classes),
        "--enable-pprof-address": pprof_address != _NO_VALUE,
    }
    notice = ignored_flags_notice(flag for flag, given in ignored.items() if given)
    if notice:
        log.warning(notice)
    elect = parse_bool("--leader-elect", leader_elect) and not no_leader_elect
    for flag, value in (
        ("--rollout-threads", rollout_threads),
        ("--analysis-threads", analysis_threads),
        ("--experiment-threads", experiment_threads),
    ):
        if value < 1:
            raise typer.BadParameter(f"{flag} must be at least 1, got {value}")
    if shards < 1:
        raise typer.BadParameter(f"--shards must be at least 1, got {shards}")
    if shards > 1 and not elect:
        raise typer.BadParameter(
            "--shards takes one Lease per shard: it needs leader election; drop --leader-elect=false"
        )
    timings = _leader_election_timings(lease_duration, renew_deadline, retry_period)
    try:
        enabled = parse_controllers(controllers or [])
    except ValueError as err:
        raise typer.BadParameter(str(err)) from err
    flags = global_flags()
    try:
        cluster = load_config(
            kubeconfig or flags.kubeconfig, context=context or flags.context, overrides=flags.overrides
        )
    except ConfigError as err:
        log.error("cannot load cluster configuration", extra={"error": str(err)})
        raise typer.Exit(2) from err
    if namespace and not namespaced:
        log.warning("--namespace has no effect without --namespaced; watching all namespaces")
    controller_namespace = lease_namespace(os.environ.get("POD_NAMESPACE"), service_account_namespace())
    options = ManagerOptions(
        namespace=(namespace or cluster.namespace) if namespaced else None,
        instance_id=instance_id or None,
        leader_elect=elect,
        lease_namespace=controller_namespace,
        notifications_namespace=controller_namespace,
        self_service_notifications=self_service_notifications,
        lease_duration=timings[0],
        renew_deadline=timings[1],
        retry_period=timings[2],
        bind_address=bind_address,
        healthz_port=healthz_port,
        metrics_port=metrics_port,
        rollout_threads=rollout_threads,
        analysis_threads=analysis_threads,
        experiment_threads=experiment_threads,
        rollout_resync=float(rollout_resync),
        shutdown_timeout=shutdown_timeout,
        shards=shards,
        exit_on_lost_lease=exit_on_lost_lease,
    )
    reconcilers = DEFAULT_RECONCILERS
    if "analysis" in enabled:
        log.info("running only the analysis controller (--controllers=analysis)")
        reconcilers = {"analysisruns": DEFAULT_RECONCILERS["analysisruns"]}
    raise typer.Exit(asyncio.run(run_controller(cluster, options, qps=qps, burst=burst, reconcilers=reconcilers)))


def _leader_election_timings(lease_duration: str, renew_deadline: str, retry_period: str) -> tuple[int, float, float]:
    """The three leader-election durations (Go syntax, as upstream's flags), checked as client-go checks them."""
    values = []
    for flag, text in (
        ("--leader-election-lease-duration", lease_duration),
        ("--leader-election-renew-deadline", renew_deadline),
        ("--leader-election-retry-period", retry_period),
    ):
        try:
            values.append(parse_duration(text).total_seconds())
        except ValueError as err:
            raise typer.BadParameter(f"{flag}: {err}") from err
    lease, renew, retry = values
    if not lease > renew > retry * 1.2 or retry <= 0:
        raise typer.BadParameter(
            "leader election needs --leader-election-lease-duration > --leader-election-renew-deadline > "
            f"1.2 x --leader-election-retry-period (got {lease_duration}, {renew_deadline}, {retry_period})"
        )
    # The Lease records whole seconds; round up so a standby never waits less than asked.
    return math.ceil(lease), renew, retry


async def run_controller(
    cluster: ClusterConfig,
    options: ManagerOptions,
    *,
    qps: float,
    burst: int,
    reconcilers: Mapping[str, ReconcilerFactory] = DEFAULT_RECONCILERS,
) -> int:
    """Run the manager until a signal stops it; returns the process exit code."""
    from ramp.notifications.upstream import UpstreamEngine

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
            engine = UpstreamEngine()
            return await Manager(options, client, reconcilers, notifications=engine).run(stop)
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
