"""`ramp flags serve`: the OFREP server over a flagd-format file (local mode) or, later, the cluster's flags."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(name="flags", help="Feature flags: serve them to OpenFeature SDKs over OFREP.", no_args_is_help=True)

CLUSTER_STORE_MODULE = "ramp.flags.cluster_store"
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
) -> None:
    """Serve flags over OFREP (OpenFeature Remote Evaluation Protocol) to any OpenFeature SDK."""
    import uvicorn

    from ramp.flags.ofrep import build_app
    from ramp.flags.store import FileFlagStore, FlagFileError, FlagStore

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    store: FlagStore
    if file is None:
        if importlib.util.find_spec(CLUSTER_STORE_MODULE) is None:
            typer.echo(
                "error: ClusterModeUnavailable: cluster mode: not yet available; pass --file flags.json", err=True
            )
            raise typer.Exit(2)
        typer.echo("error: cluster mode is not wired into `ramp flags serve` yet; pass --file flags.json", err=True)
        raise typer.Exit(2)
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

    # proto IPPROTO_TCP (not 0): asyncio sets TCP_NODELAY on accepted sockets only then; without it a response
    # written as headers + body waits on the client's delayed ACK (~40 ms a request).
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        typer.echo(f"error: --port: cannot listen on {host}:{port}: {error.strerror}", err=True)
        raise typer.Exit(2) from None
    bound = sock.getsockname()[1]
    app_ = build_app(store, tokens=tokens)
    config = uvicorn.Config(app_, log_level="warning", access_log=False, timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    typer.echo(
        f"Ramp flags (OFREP): http://{host}:{bound}/ofrep/v1  file: {file}  flags: {len(store.snapshot().flags)}"
    )
    typer.echo(f"listening on port {bound}", err=True)
    sys.stdout.flush()
    asyncio.run(server.serve(sockets=[sock]))
