"""The action verbs of upstream's kubectl plugin: promote, abort, retry, pause, restart, undo, set image,
terminate. Each parses its arguments, calls one function of `ramp.actions` and prints upstream's message
(`rollout 'web' promoted`). Cluster flags and error handling come from `ramp.cli.kubeargs`.

`register(app)` adds them to the `ramp` app (`ramp.cli.main`); `retry`, `set` and `terminate` are groups with
upstream's sub-commands and aliases (`retry ro`, `terminate ar`, ...).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

import typer

from ramp import actions
from ramp.api import parse_duration
from ramp.cli.kubeargs import Context, KubeArgs, Kubeconfig, Namespace, run_with_client
from ramp.kube.client import KubeClient

Names = Annotated[list[str], typer.Argument(help="One or more names.", metavar="NAME", show_default=False)]
Name = Annotated[str, typer.Argument(help="The Rollout's name.", metavar="NAME", show_default=False)]
NamedAction = Callable[[KubeClient, str, str], Awaitable[object]]

retry_app = typer.Typer(help="Retry an aborted rollout or a failed experiment.", no_args_is_help=True)
set_app = typer.Typer(help="Update fields of a rollout.", no_args_is_help=True)
terminate_app = typer.Typer(help="Terminate an AnalysisRun or Experiment.", no_args_is_help=True)


def promote(
    name: Name,
    full: Annotated[
        bool, typer.Option("--full", help="Go straight to the new version: skip steps, pauses, analysis.")
    ] = False,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Promote a rollout paused at a canary step or a blue-green pre-promotion (--full: all the way)."""
    run_with_client(
        KubeArgs(kubeconfig, context, namespace), lambda client, ns: actions.promote(client, ns, name, full=full)
    )
    typer.echo(f"rollout '{name}' {'fully promoted' if full else 'promoted'}")


def abort(names: Names, namespace: Namespace = None, kubeconfig: Kubeconfig = None, context: Context = None) -> None:
    """Abort a rollout: go back to the stable version (spec.template still holds the new one)."""
    _for_each(KubeArgs(kubeconfig, context, namespace), names, actions.abort, "rollout '{}' aborted")


def pause(names: Names, namespace: Namespace = None, kubeconfig: Kubeconfig = None, context: Context = None) -> None:
    """Pause a rollout (spec.paused: true) until it is promoted."""
    _for_each(KubeArgs(kubeconfig, context, namespace), names, actions.pause, "rollout '{}' paused")


def restart(
    name: Name,
    in_: Annotated[str, typer.Option("--in", "-i", help="Wait this long before the restart (30s, 5m, 1h).")] = "",
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Restart the pods of a rollout, now or after --in."""
    delay = _parse_delay(in_)
    run_with_client(
        KubeArgs(kubeconfig, context, namespace), lambda client, ns: actions.restart(client, ns, name, in_=delay)
    )
    typer.echo(f"rollout '{name}' restarts in {in_ or '0s'}")


def undo(
    name: Name,
    to_revision: Annotated[
        int, typer.Option("--to-revision", help="The revision to go back to (0: the previous).")
    ] = 0,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Roll a rollout back to an earlier revision's pod template."""
    if to_revision < 0:
        raise typer.BadParameter("must be 0 (the previous revision) or a revision number", param_hint="--to-revision")
    result = run_with_client(
        KubeArgs(kubeconfig, context, namespace),
        lambda client, ns: actions.undo(client, ns, name, to_revision=to_revision),
    )
    if result.changed:
        typer.echo(f"rollout '{name}' undo")
    else:
        typer.echo(f"skipped rollback (current template already matches revision {result.revision})")


@retry_app.command("rollout")
def retry_rollout(
    names: Names, namespace: Namespace = None, kubeconfig: Kubeconfig = None, context: Context = None
) -> None:
    """Retry an aborted rollout (aliases: ro, rollouts)."""
    _for_each(KubeArgs(kubeconfig, context, namespace), names, actions.retry_rollout, "rollout '{}' retried")


@retry_app.command("experiment")
def retry_experiment(
    names: Names, namespace: Namespace = None, kubeconfig: Kubeconfig = None, context: Context = None
) -> None:
    """Retry a failed experiment (aliases: exp, experiments)."""
    _for_each(KubeArgs(kubeconfig, context, namespace), names, actions.retry_experiment, "experiment '{}' retried")


@terminate_app.command("analysisrun")
def terminate_analysis_run(
    names: Names, namespace: Namespace = None, kubeconfig: Kubeconfig = None, context: Context = None
) -> None:
    """Terminate an AnalysisRun (aliases: ar, analysisruns)."""
    args = KubeArgs(kubeconfig, context, namespace)
    _for_each(args, names, actions.terminate_analysis_run, "analysisRun '{}' terminated")


@terminate_app.command("experiment")
def terminate_experiment(
    names: Names, namespace: Namespace = None, kubeconfig: Kubeconfig = None, context: Context = None
) -> None:
    """Terminate an Experiment (aliases: exp, experiments)."""
    _for_each(
        KubeArgs(kubeconfig, context, namespace), names, actions.terminate_experiment, "experiment '{}' terminated"
    )


@set_app.command("image")
def set_image(
    name: Name,
    images: Annotated[
        list[str], typer.Argument(help="CONTAINER=IMAGE, or *=IMAGE for every container.", metavar="CONTAINER=IMAGE")
    ],
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Update the image of one or more containers of a rollout."""
    wanted = parse_image_assignments(images)
    updated = run_with_client(
        KubeArgs(kubeconfig, context, namespace), lambda client, ns: actions.set_image(client, ns, name, wanted)
    )
    typer.echo(f'{updated.kind.lower()} "{updated.name}" image updated')


def parse_image_assignments(values: list[str]) -> dict[str, str]:
    """`["app=nginx:1.27", "*=busybox"]` -> {"app": "nginx:1.27", "*": "busybox"}; exits 2 on a bad one."""
    wanted: dict[str, str] = {}
    for value in values:
        container, sep, image = value.partition("=")
        if not sep or not container or not image or "=" in image:
            raise typer.BadParameter(f"{value!r} is not CONTAINER=IMAGE (such as app=nginx:1.27, or *=nginx:1.27)")
        wanted[container] = image
    return wanted


def _parse_delay(text: str) -> timedelta:
    if not text:
        return timedelta(0)
    try:
        delay = parse_duration(text)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--in") from None
    if delay < timedelta(0):
        raise typer.BadParameter("must not be negative", param_hint="--in")
    return delay


def _for_each(args: KubeArgs, names: list[str], action: NamedAction, message: str) -> None:
    """Apply `action` to each name in turn, printing `message` after each; stop at the first failure."""

    async def job(client: KubeClient, namespace: str) -> None:
        for name in names:
            await action(client, namespace, name)
            typer.echo(message.format(name))

    run_with_client(args, job)


def register(app: typer.Typer) -> None:
    """Add the action verbs and groups to `app`."""
    for command, verb in ((promote, "promote"), (abort, "abort"), (pause, "pause"), (restart, "restart")):
        app.command(verb)(command)
    app.command("undo")(undo)
    for alias in ("ro", "rollouts"):
        retry_app.command(alias, hidden=True)(retry_rollout)
    for alias in ("exp", "experiments"):
        retry_app.command(alias, hidden=True)(retry_experiment)
        terminate_app.command(alias, hidden=True)(terminate_experiment)
    for alias in ("ar", "analysisruns"):
        terminate_app.command(alias, hidden=True)(terminate_analysis_run)
    app.add_typer(retry_app, name="retry")
    app.add_typer(set_app, name="set")
    app.add_typer(terminate_app, name="terminate")
