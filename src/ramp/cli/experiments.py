"""`get experiment NAME` and `list experiments`: upstream's read-only views of Experiments.

`get experiment` prints the summary and tree of `ramp.views.experiment` (its ReplicaSets with their pods, its
AnalysisRuns); with `-w` it prints it again each second when it changed, until `--timeout-seconds` (0: Ctrl-C).
`list experiments` prints NAME STATUS DURATION REMAINING AGE (NAMESPACE first with `-A`). Aliases as upstream:
`exp`, `experiments` for get; `exp`, `experiment` for list. `register(app)` adds them to the `get` and `list`
groups of `ramp.cli.get`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from ramp.cli.get import get_app, list_app
from ramp.cli.kubeargs import Context, KubeArgs, Kubeconfig, Namespace, ObjectRef, run_with_client
from ramp.kube.client import KubeClient
from ramp.kube.resources import ANALYSIS_RUNS, EXPERIMENTS, PODS, REPLICA_SETS
from ramp.views.experiment import (
    ExperimentTreeView,
    build_experiment_row,
    build_experiment_view,
    render_experiment,
    render_experiment_list,
)

REFRESH_SECONDS = 1.0


async def fetch_experiment_view(client: KubeClient, namespace: str, name: str) -> ExperimentTreeView:
    """The Experiment `name` and the ReplicaSets, pods and runs of its namespace (only its own are shown)."""
    experiment = await client.get(EXPERIMENTS, name, namespace)
    replica_sets, pods, runs = await asyncio.gather(
        client.list(REPLICA_SETS, namespace, label_selector="rollouts-pod-template-hash"),
        client.list(PODS, namespace, label_selector="rollouts-pod-template-hash"),
        client.list(ANALYSIS_RUNS, namespace),
    )
    return build_experiment_view(
        experiment, replica_sets.get("items") or [], pods.get("items") or [], runs.get("items") or []
    )


def get_experiment(
    name: Annotated[str, typer.Argument(help="The Experiment's name.", metavar="NAME", show_default=False)],
    watch: Annotated[bool, typer.Option("--watch/--no-watch", "-w", help="Watch live updates.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="Do not colorize output.")] = False,
    timeout_seconds: Annotated[int, typer.Option("--timeout-seconds", help="Stop watching after this long.")] = 0,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Details and the tree (ReplicaSets, pods, analysis runs) of an experiment (aliases: exp, experiments)."""
    color = sys.stdout.isatty() and not no_color

    async def show(client: KubeClient, ns: str) -> None:
        view = await fetch_experiment_view(client, ns, name)
        typer.echo(render_experiment(view, datetime.now(UTC), color=color))
        if not watch:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_seconds or None):
                shown = view
                while True:
                    await asyncio.sleep(REFRESH_SECONDS)
                    view = await fetch_experiment_view(client, ns, name)
                    if view != shown:
                        typer.echo("")
                        typer.echo(render_experiment(view, datetime.now(UTC), color=color))
                        shown = view

    run_with_client(KubeArgs(kubeconfig, context, namespace), show, ObjectRef("Experiment", name))


def list_experiments(
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A", help="Include all namespaces.")] = False,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """List the experiments of a namespace (-A: of all namespaces) (aliases: exp, experiment)."""

    async def show(client: KubeClient, ns: str) -> None:
        listed = await client.list(EXPERIMENTS, None if all_namespaces else ns)
        now = datetime.now(UTC)
        rows = [build_experiment_row(item, now) for item in listed.get("items") or []]
        if not rows:
            typer.echo("No resources found.", err=True)
            return
        typer.echo(render_experiment_list(rows, all_namespaces=all_namespaces))

    run_with_client(KubeArgs(kubeconfig, context, namespace), show)


def register() -> None:
    """Add `get experiment` and `list experiments` (with upstream's aliases) to the get and list groups."""
    for index, alias in enumerate(("experiment", "exp", "experiments")):
        get_app.command(alias, hidden=index > 0)(get_experiment)
    for index, alias in enumerate(("experiments", "exp", "experiment")):
        list_app.command(alias, hidden=index > 0)(list_experiments)
