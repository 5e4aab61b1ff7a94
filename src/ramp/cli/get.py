"""`get rollout NAME` and `list rollouts`: upstream's read-only views, once or live.

`get rollout` prints the summary and tree of `ramp.views`; with `-w` it redraws in place every second in a
terminal (rich Live) and, when stdout is piped, prints the whole view again each time it changes; it stops
after `--timeout-seconds` (0: on Ctrl-C). `list rollouts` prints upstream's table; with `-w` it then prints a
row each time a Rollout changes in a way the table shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

from ramp.cli.kubeargs import Context, KubeArgs, Kubeconfig, Namespace, ObjectRef, run_with_client
from ramp.kube.client import KubeClient
from ramp.views import build_list_row, render_list, render_rollout
from ramp.views.fetch import fetch_rollout_view, follow_rollouts
from ramp.views.fetch import list_rollouts as fetch_rollouts
from ramp.views.listing import ListRow

REFRESH_SECONDS = 1.0

get_app = typer.Typer(help="Get details about rollouts.", no_args_is_help=True)
list_app = typer.Typer(help="List rollouts.", no_args_is_help=True)


def get_rollout(
    name: Annotated[str, typer.Argument(help="The Rollout's name.", metavar="NAME", show_default=False)],
    watch: Annotated[bool, typer.Option("--watch/--no-watch", "-w", help="Watch live updates to the rollout.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="Do not colorize output.")] = False,
    timeout_seconds: Annotated[int, typer.Option("--timeout-seconds", help="Stop watching after this long.")] = 0,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Details and the tree (revisions, ReplicaSets, pods, analysis runs) of a rollout (aliases: ro, rollouts)."""
    terminal = sys.stdout.isatty()
    color = terminal and not no_color

    async def show(client: KubeClient, ns: str) -> None:
        view = await fetch_rollout_view(client, ns, name)
        if not watch:
            typer.echo(render_rollout(view, datetime.now(UTC), color=color))
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_seconds or None):
                if terminal:
                    await _watch_live(client, ns, name, color)
                else:
                    await _watch_plain(client, ns, name)

    run_with_client(KubeArgs(kubeconfig, context, namespace), show, ObjectRef("Rollout", name))


async def _watch_live(client: KubeClient, namespace: str, name: str, color: bool) -> None:
    console = Console(highlight=False)
    with Live(console=console, auto_refresh=False, transient=False) as live:
        while True:
            view = await fetch_rollout_view(client, namespace, name)
            live.update(Text.from_ansi(render_rollout(view, datetime.now(UTC), color=color)), refresh=True)
            await asyncio.sleep(REFRESH_SECONDS)


async def _watch_plain(client: KubeClient, namespace: str, name: str) -> None:
    shown = None
    while True:
        view = await fetch_rollout_view(client, namespace, name)
        if view != shown:
            if shown is not None:
                typer.echo("")
            typer.echo(render_rollout(view, datetime.now(UTC)))
            shown = view
        await asyncio.sleep(REFRESH_SECONDS)


def list_rollouts(
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A", help="Include all namespaces.")] = False,
    watch: Annotated[bool, typer.Option("--watch/--no-watch", "-w", help="Watch for changes.")] = False,
    name: Annotated[str, typer.Option("--name", help="Only show the rollout with this name.")] = "",
    timestamps: Annotated[bool, typer.Option("--timestamps", help="Print timestamps on updates.")] = False,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """List the rollouts of a namespace (-A: of all namespaces) (aliases: ro, rollout)."""

    def render(rows: list[ListRow], header: bool) -> str:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if timestamps else None
        return render_list(rows, all_namespaces=all_namespaces, header=header, timestamp=stamp)

    async def show(client: KubeClient, ns: str) -> None:
        scope = None if all_namespaces else ns
        items, version = await fetch_rollouts(client, scope, name=name or None)
        rows = [build_list_row(rollout) for rollout in items]
        if not rows and not watch:
            typer.echo("No resources found.", err=True)
            return
        typer.echo(render(rows, header=True))
        if watch:
            await _print_row_changes(client, scope, name, version, rows, render)

    run_with_client(KubeArgs(kubeconfig, context, namespace), show)


async def _print_row_changes(
    client: KubeClient,
    namespace: str | None,
    name: str,
    version: str | None,
    rows: list[ListRow],
    render: Callable[[list[ListRow], bool], str],
) -> None:
    """Print a row for each Rollout change that alters what the table shows."""
    shown = {(row.namespace, row.name): row for row in rows}
    async with contextlib.aclosing(
        follow_rollouts(client, namespace, name=name or None, resource_version=version)
    ) as changes:
        async for kind, rollout in changes:
            row = build_list_row(rollout)
            key = (row.namespace, row.name)
            if kind != "DELETED" and shown.get(key) != row:
                shown[key] = row
                typer.echo(render([row], False))


def register(app: typer.Typer) -> None:
    """Add `get rollout` and `list rollouts` (with upstream's aliases) to `app`."""
    for index, alias in enumerate(("rollout", "ro", "rollouts")):
        get_app.command(alias, hidden=index > 0)(get_rollout)
    for index, alias in enumerate(("rollouts", "ro", "rollout")):
        list_app.command(alias, hidden=index > 0)(list_rollouts)
    app.add_typer(get_app, name="get")
    app.add_typer(list_app, name="list")
