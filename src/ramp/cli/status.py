"""`status NAME`: print a rollout's phase, and by default follow it until it is Healthy or Degraded.

As upstream: each change of "Phase - message" is printed once; the exit code is 0 for Healthy, 1 for Degraded
("The rollout is in a degraded state ...") and 1 when `--timeout` passes first. A Paused rollout is followed
until promoted or aborted. `--watch=false` prints the phase once (exit 0 unless Degraded). The phase is the
client rule of `ramp.views.phase`; changes come from a watch on the one Rollout (`ramp.views.fetch`).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer

from ramp.actions import ActionError
from ramp.api import parse_duration
from ramp.cli.kubeargs import Context, KubeArgs, Kubeconfig, Namespace, ObjectRef, fail, run_with_client
from ramp.kube.client import JSON, KubeClient
from ramp.kube.resources import ROLLOUTS
from ramp.views import client_phase
from ramp.views.fetch import follow_rollouts

FINAL_PHASES = ("Healthy", "Degraded")


def describe_status(phase: str, message: str) -> str:
    """`Healthy`, or `Paused - CanaryPauseStep` when there is a message."""
    return f"{phase} - {message}" if message else phase


def status(
    name: Annotated[str, typer.Argument(help="The Rollout's name.", metavar="NAME", show_default=False)],
    watch: Annotated[
        bool,
        typer.Option(
            "--watch/--no-watch",
            "-w",
            help="Follow the rollout until it is done (--watch=false or --no-watch: print once).",
        ),
    ] = True,
    timeout: Annotated[
        str, typer.Option("--timeout", "-t", help="Give up after this long (1s, 2m, 3h); 0 waits for ever.")
    ] = "0",
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Show the status of a rollout; by default watch it until it is Healthy or Degraded."""
    following = watch
    try:
        limit = parse_duration(timeout).total_seconds()
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--timeout") from None

    async def job(client: KubeClient, ns: str) -> tuple[str, str]:
        rollout = await client.get(ROLLOUTS, name, ns)
        phase, message = client_phase(rollout)
        if not following:
            typer.echo(phase if phase in FINAL_PHASES else describe_status(phase, message))
            return phase, message
        return await _follow(client, ns, name, rollout, limit)

    phase, message = run_with_client(KubeArgs(kubeconfig, context, namespace), job, ObjectRef("Rollout", name))
    if phase == "Degraded":
        fail(f"The rollout is in a degraded state with message: {message}")
    if phase != "Healthy" and following:
        fail("Rollout status watch exceeded timeout")


async def _follow(client: KubeClient, namespace: str, name: str, rollout: JSON, limit: float) -> tuple[str, str]:
    phase, message = client_phase(rollout)
    shown = describe_status(phase, message)
    typer.echo(shown)
    if phase in FINAL_PHASES:
        return phase, message
    version = str((rollout.get("metadata") or {}).get("resourceVersion") or "") or None
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(limit or None):
            changes = follow_rollouts(client, namespace, name=name, resource_version=version)
            async with contextlib.aclosing(changes):
                async for kind, obj in changes:
                    if kind == "DELETED":
                        raise ActionError(f'Rollout "{name}" in namespace "{namespace}" was deleted')
                    phase, message = client_phase(obj)
                    if describe_status(phase, message) != shown:
                        shown = describe_status(phase, message)
                        typer.echo(shown)
                    if phase in FINAL_PHASES:
                        return phase, message
    return phase, message
