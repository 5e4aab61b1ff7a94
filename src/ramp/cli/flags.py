"""`ramp flags serve`: the OFREP server over the cluster's FeatureFlags (through an informer) or a flagd-format file
(local mode)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import typer

from ramp.cli.kubeargs import Context, KubeArgs, Kubeconfig, Namespace, load_cluster
from ramp.kube.client import KubeClient
from ramp.kube.config import ClusterConfig
from ramp.kube.errors import ApiError, CredentialError

if TYPE_CHECKING:
    from ramp.flags.store import FlagStore

app = typer.Typer(name="flags", help="Feature flags: serve them to OpenFeature SDKs over OFREP.", no_args_is_help=True)

TOKENS_ENV = "RAMP_FLAGS_AUTH_TOKENS"


def read_tokens(path: Path | None) -> list[str]:
    """Tokens, one a line ('#' comments and blank lines skipped), from the file and from $RAMP_FLAGS_AUTH_TOKENS."""
    tokens: list[str] = []
    if path is not None:
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                tokens.append(stripped)
    tokens.extend(token.strip() for token in os.environ.get(TOKENS_ENV, "").split(",") if token.strip())
    return tokens


LISTEN_BACKLOG = 2048


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port (0: a free port) and already listening.

    Listening before `listening on port N` is printed: a client that connects as soon as it reads the line
    waits in the backlog until the server accepts, instead of being refused while uvicorn starts.
    """
    # proto IPPROTO_TCP (not 0): asyncio sets TCP_NODELAY on accepted sockets only then; without it a response
    # written as headers + body waits on the client's delayed ACK (~40 ms a request).
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    return sock


@app.command("serve")
def serve(
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="A flagd-format JSON flag file (local mode), re-read on change.")
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", "-p", help="Port to listen on; 0 picks a free one and prints it.")
    ] = 8016,
    auth_tokens_file: Annotated[
        Path | None,
        typer.Option(
            "--auth-tokens-file",
            help=f"Accepted tokens, one a line (also ${TOKENS_ENV}, comma-separated); none = open.",
        ),
    ] = None,
    namespace: Namespace = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Cluster mode: serve the FeatureFlags of every namespace.")
    ] = False,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Serve flags over OFREP (OpenFeature Remote Evaluation Protocol) to any OpenFeature SDK: the FeatureFlags of
    a namespace (cluster mode, read through a watch: no API call per evaluation), or a flagd-format file."""
    from ramp.flags.store import FileFlagStore, FlagFileError

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    store: FlagStore
    cluster: tuple[ClusterConfig, str | None] | None = None
    if file is None:
        config, default_namespace = load_cluster(KubeArgs(kubeconfig, context, namespace))
        cluster = (config, None if all_namespaces else default_namespace)
    else:
        try:
            store = FileFlagStore(file)
        except FlagFileError as error:
            typer.echo(f"error: FlagFileInvalid: {error}", err=True)
            raise typer.Exit(2) from None
    try:
        tokens = read_tokens(auth_tokens_file)
    except OSError as error:
        typer.echo(f"error: --auth-tokens-file: cannot read {auth_tokens_file}: {error.strerror}", err=True)
        raise typer.Exit(2) from None

    try:
        sock = listening_socket(host, port)
    except OSError as error:
        typer.echo(f"error: --port: cannot listen on {host}:{port}: {error.strerror}", err=True)
        raise typer.Exit(2) from None
    bound = sock.getsockname()[1]
    if cluster is None:
        typer.echo(
            f"Ramp flags (OFREP): http://{host}:{bound}/ofrep/v1  file: {file}  flags: {len(store.snapshot().flags)}"
        )
        typer.echo(f"listening on port {bound}", err=True)
        sys.stdout.flush()
        _run(_serve(store, tokens, sock))
        return
    try:
        _run(_serve_cluster(cluster[0], cluster[1], tokens, sock, host))
    except (httpx.TransportError, ApiError, CredentialError) as error:
        typer.echo(
            f"error: cannot read FeatureFlags from {cluster[0].server}: {error or type(error).__name__}", err=True
        )
        raise typer.Exit(1) from None


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run the server on uvloop (libuv: a cheaper event loop per request than asyncio's selector loop)."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


async def _serve(store: FlagStore, tokens: list[str], sock: socket.socket) -> None:
    import uvicorn

    from ramp.flags.ofrep import build_app

    config = uvicorn.Config(
        build_app(store, tokens=tokens),
        http="httptools",
        proxy_headers=False,
        server_header=False,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    await uvicorn.Server(config).serve(sockets=[sock])


async def _serve_cluster(
    config: ClusterConfig, namespace: str | None, tokens: list[str], sock: socket.socket, host: str
) -> None:
    """Cluster mode: an informer on FeatureFlags feeds the store; serving starts once it has listed them."""
    from ramp.flags.cluster_store import ClusterFlagStore

    async with KubeClient(config) as client:
        store = ClusterFlagStore.for_cluster(client, namespace)
        informer = asyncio.create_task(store.run(), name="featureflags")
        try:
            async with asyncio.timeout(60):
                await store.wait_for_sync()
            bound = sock.getsockname()[1]
            where = f"namespace {namespace}" if namespace else "all namespaces"
            typer.echo(
                f"Ramp flags (OFREP): http://{host}:{bound}/ofrep/v1  FeatureFlags of {where}  "
                f"flags: {len(store.snapshot().flags)}"
            )
            typer.echo(f"listening on port {bound}", err=True)
            sys.stdout.flush()
            await _serve(store, tokens, sock)
        finally:
            informer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await informer
