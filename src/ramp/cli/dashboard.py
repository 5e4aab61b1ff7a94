"""`ramp dashboard` (also `kubectl ramp dashboard`): serve the web dashboard (`ramp.dashboard.app`) on
127.0.0.1 with uvicorn, and print its address and the token that actions need.

Cluster flags are the other verbs' (`ramp.cli.kubeargs`). The token is generated unless given (`--token` or
$RAMP_DASHBOARD_TOKEN); `--insecure-read-only` lets anyone who reaches the port read, never act.
"""

from __future__ import annotations

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
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Serve the web dashboard: rollouts live, with promote, abort, retry, restart, pause, set image, rollback."""
    import uvicorn

    from ramp.dashboard.app import create_app
    from ramp.dashboard.auth import generate_token
    from ramp.kube.client import KubeClient

    config, default_namespace = load_cluster(KubeArgs(kubeconfig, context, namespace))
    secret = token or generate_token()
    app = create_app(
        lambda: KubeClient(config),
        token=secret,
        default_namespace=default_namespace,
        insecure_read_only=insecure_read_only,
    )
    host = f"[{address}]" if ":" in address else address
    typer.echo(f"Ramp dashboard: http://{host}:{port}/#/ns/{default_namespace}")
    typer.echo(f"  with the token: http://{host}:{port}/?token={secret}#/ns/{default_namespace}")
    typer.echo(f"  token: {secret}")
    if insecure_read_only:
        typer.echo("  read-only access without the token is on (--insecure-read-only)")
    typer.echo("dashboard ready", err=True)
    # Open event streams never end by themselves: give them a moment on Ctrl-C, then close them.
    uvicorn.run(app, host=address, port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=2)
