"""`ramp cluster up | down | status | kubeconfig`: the embedded local cluster from the command line.

Draws the build's progress (a cold build compiles a few thousand Go packages) with rich on a terminal,
and as plain lines when the output is piped. `up` prints the kubeconfig path as its last line.
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from ramp.localcluster.build import BuildError, BuildProgress
from ramp.localcluster.cluster import DEFAULT_NODES, ClusterError, LocalCluster

app = typer.Typer(help="The local cluster: a real kube-apiserver with kwok fake nodes, built on first use.")
err = Console(stderr=True)


class BuildDisplay:
    """Shows one line per build step: a spinner, packages compiled, the latest package, elapsed time."""

    def __init__(self) -> None:
        self.live = err.is_terminal
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=None, pulse_style="cyan"),
            TextColumn("{task.fields[packages]} packages"),
            TextColumn("[dim]{task.fields[last]}"),
            TimeElapsedColumn(),
            console=err,
            transient=False,
        )
        self.tasks: dict[str, tuple[TaskID, float]] = {}
        self.last_plain = 0.0

    def __enter__(self) -> BuildDisplay:
        if self.live:
            self.progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self.live:
            self.progress.stop()

    def __call__(self, update: BuildProgress) -> None:
        if update.step not in self.tasks:
            task = self.progress.add_task(update.step, total=None, packages=0, last="") if self.live else TaskID(0)
            self.tasks[update.step] = (task, time.monotonic())
            if not self.live:
                err.print(f"building {update.step} (a cold build takes several minutes) ...")
        task, started = self.tasks[update.step]
        if self.live:
            last = update.line[-60:] if not update.done else "done"
            self.progress.update(task, packages=update.packages, last=last)
            if update.done:
                self.progress.update(task, total=1, completed=1)
        elif update.done:
            err.print(f"built {update.step}: {update.packages} packages in {time.monotonic() - started:.0f}s")
        elif time.monotonic() - self.last_plain > 30:
            self.last_plain = time.monotonic()
            err.print(f"  ... {update.packages} packages compiled ({update.line[-70:]})")


def _port_from_env() -> int | None:
    value = os.environ.get("RAMP_CLUSTER_PORT", "").strip()
    return int(value) if value else None


@app.command()
def up(
    port: int | None = typer.Option(None, "--port", help="kube-apiserver port (default: a free one)."),
    nodes: int = typer.Option(DEFAULT_NODES, "--nodes", help="How many kwok nodes to have at least."),
) -> None:
    """Build (first time only) and start the local cluster; print the kubeconfig path last."""
    cluster = LocalCluster()
    started = time.monotonic()
    try:
        with BuildDisplay() as display:
            kubeconfig = cluster.up(display, port=port if port is not None else _port_from_env(), nodes=nodes)
    except (BuildError, ClusterError) as problem:
        err.print(f"[red]error:[/red] {problem}")
        raise typer.Exit(1) from problem
    err.print(f"local cluster ready at {cluster.server()} ({time.monotonic() - started:.1f}s)")
    typer.echo(str(kubeconfig))


@app.command()
def down() -> None:
    """Stop the local cluster and delete its state (built binaries stay in the cache)."""
    LocalCluster().down()
    err.print("local cluster deleted")


@app.command()
def status() -> None:
    """Say whether the local cluster is running, where, and with what."""
    state = LocalCluster().status()
    if not state.exists:
        typer.echo("local cluster: not created (run `ramp cluster up`)")
        raise typer.Exit(1)
    typer.echo(f"local cluster: {'ready' if state.ready else 'not ready'}")
    typer.echo(f"server:        {state.server}")
    typer.echo(f"components:    {', '.join(state.running) or 'none running'}")
    typer.echo(f"nodes:         {state.nodes}")
    typer.echo(f"kubeconfig:    {state.kubeconfig}")
    if not state.ready:
        raise typer.Exit(1)


@app.command()
def kubeconfig() -> None:
    """Print the path of the local cluster's kubeconfig."""
    cluster = LocalCluster()
    if not cluster.kubeconfig.exists():
        typer.echo("the local cluster has not been created: run `ramp cluster up`", err=True)
        raise typer.Exit(1)
    typer.echo(str(cluster.kubeconfig))


if __name__ == "__main__":  # pragma: no cover
    app(sys.argv[1:])
