"""`ramp dashboard` (also `kubectl ramp dashboard`): serve the web dashboard (`ramp.dashboard.app`) on
127.0.0.1 with uvicorn, and print its address and the token that actions need.

Cluster flags are the other verbs' (`ramp.cli.kubeargs`). The token is generated unless given (`--token` or
$RAMP_DASHBOARD_TOKEN, at least 32 characters); `--insecure-read-only` lets anyone who reaches the port read,
never act. Requests must name the bind address or localhost as their Host, or one given with `--allowed-host`.
The audit record of every action goes to stderr (logger `ramp.dashboard.audit`).
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer

from ramp.cli.kubeargs import Context, KubeArgs, Kubeconfig, Namespace, load_cluster

DEFAULT_PORT = 3100


def dashboard(
    port: Annotated[int, typer.Option("--port", "-p", help="Port to serve on.")] = DEFAULT_PORT,
    address: Annotated[
        str, typer.Option("--address", help="Address to bind (anything but 127.0.0.1 exposes the dashboard).")
    ] = "127.0.0.1",
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="RAMP_DASHBOARD_TOKEN", help="Bearer token to require (default: a new one)."),
    ] = None,
    insecure_read_only: Annotated[
        bool, typer.Option("--insecure-read-only", help="Let anyone read without the token (actions still need it).")
    ] = False,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="Another Host name the dashboard answers to (repeatable); the bind address and localhost always.",
        ),
    ] = None,
    max_namespaces: Annotated[
        int,
        typer.Option("--max-watched-namespaces", min=1, help="Namespaces watched at once (least recently used go)."),
    ] = 16,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Serve the web dashboard: rollouts live, with promote, abort, retry, restart, pause, set image, rollback."""
    import uvicorn

    from ramp.dashboard.app import create_app, default_allowed_hosts
    from ramp.dashboard.auth import check_token, generate_token
    from ramp.kube.client import KubeClient

    if token is not None and (problem := check_token(token)) is not None:
        typer.echo(f"error: --token: {problem}", err=True)
        raise typer.Exit(2)
    config, default_namespace = load_cluster(KubeArgs(kubeconfig, context, namespace))
    secret = token or generate_token()
    allowed_hosts = default_allowed_hosts(address, allowed_host or ())
    app = create_app(
        lambda: KubeClient(config),
        token=secret,
        default_namespace=default_namespace,
        insecure_read_only=insecure_read_only,
        allowed_hosts=allowed_hosts,
        max_watches=max_namespaces,
    )
    _log_audit_to_stderr()
    host = f"[{address}]" if ":" in address else address
    typer.echo(f"Ramp dashboard: http://{host}:{port}/#/ns/{default_namespace}")
    # After the `#`, the token stays in the browser: it is never sent to the server as part of a URL.
    typer.echo(f"  with the token: http://{host}:{port}/#/ns/{default_namespace}?token={secret}")
    typer.echo(f"  token: {secret}")
    if address in ("0.0.0.0", "::"):
        typer.echo(f"  answering Host: {', '.join(allowed_hosts)} (add the names clients use with --allowed-host)")
    if insecure_read_only:
        typer.echo("  read-only access without the token is on (--insecure-read-only)")
    typer.echo("dashboard ready", err=True)
    # Open event streams never end by themselves: give them a moment on Ctrl-C, then close them.
    uvicorn.run(app, host=address, port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=2)


def _log_audit_to_stderr() -> None:
    """Each action's audit record as one line on stderr (uvicorn's own logging stays at warnings)."""
    audit = logging.getLogger("ramp.dashboard.audit")
    if not any(getattr(handler, "ramp_audit", False) for handler in audit.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s audit: %(message)s"))
        handler.ramp_audit = True  # type: ignore[attr-defined]
        audit.addHandler(handler)
    audit.setLevel(logging.INFO)
    audit.propagate = False
