"""`ramp create -f FILE`: create a Rollout, Experiment, AnalysisTemplate, ClusterAnalysisTemplate or AnalysisRun
from a file, as upstream's `kubectl argo rollouts create -f`.

Every file (`-f` repeats) holds one object, YAML or JSON. All files are read and checked first, with the schema
and the unknown-field check of `ramp lint` (upstream unmarshals strictly too), so a bad file creates nothing.
Each object is created in its own `metadata.namespace`, else `-n`, else the context's namespace, and reported
as `<kind>.argoproj.io/<name> created`. With `-w/--watch` (one file, a Rollout or an Experiment), the object's
view (`ramp.views`) is printed again each time it changes, until the Rollout is Healthy or Degraded or the
Experiment has completed, `--timeout-seconds` passes, or Ctrl-C. Upstream watches until Ctrl-C; stopping
when the object has settled lets a script wait for it.

`register(create_app)` makes these flags the `create` group's own, beside `create analysisrun`
(`ramp.cli.analysis`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from ramp.api import GROUP
from ramp.cli.experiments import fetch_experiment_view
from ramp.cli.kubeargs import Context, KubeArgs, Kubeconfig, Namespace, fail, run_with_client
from ramp.cli.lint import describe_document, lint_document
from ramp.kube.client import KubeClient
from ramp.kube.resources import (
    ANALYSIS_RUNS,
    ANALYSIS_TEMPLATES,
    CLUSTER_ANALYSIS_TEMPLATES,
    EXPERIMENTS,
    ROLLOUTS,
    Resource,
)
from ramp.views import render_rollout
from ramp.views.experiment import render_experiment
from ramp.views.fetch import fetch_rollout_view

REFRESH_SECONDS = 1.0
CREATABLE: Mapping[str, Resource] = {
    "Rollout": ROLLOUTS,
    "Experiment": EXPERIMENTS,
    "AnalysisTemplate": ANALYSIS_TEMPLATES,
    "ClusterAnalysisTemplate": CLUSTER_ANALYSIS_TEMPLATES,
    "AnalysisRun": ANALYSIS_RUNS,
}
"""The kinds `create -f` takes, as upstream."""
ROLLOUT_SETTLED: tuple[str, ...] = ("Healthy", "Degraded")
EXPERIMENT_DONE: tuple[str, ...] = ("Successful", "Failed", "Error", "Inconclusive")


@dataclass(frozen=True)
class Manifest:
    """One checked object of a file."""

    path: str
    body: dict[str, Any]
    resource: Resource

    @property
    def kind(self) -> str:
        return str(self.body["kind"])


def read_manifest(path: str) -> Manifest:
    """Read and check the one object of `path`; raises ValueError naming the file and the problem."""
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise ValueError(f"{path}: cannot read: {error.strerror}") from error
    try:
        documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError as error:  # JSON is YAML too
        raise ValueError(f"{path}: not valid YAML or JSON: {error}".replace("\n", " ")) from error
    if len(documents) != 1:
        raise ValueError(f"{path}: holds {len(documents)} objects; put one object in each file and pass -f per file")
    body = documents[0]
    if not isinstance(body, dict):
        raise ValueError(f"{path}: must be an object (a mapping of keys to values)")
    api_group = str(body.get("apiVersion", "")).split("/")[0]
    kind = body.get("kind")
    if api_group != GROUP or kind not in CREATABLE:
        raise ValueError(
            f"{path}: creates of {api_group}/{kind} unsupported; use one of {', '.join(CREATABLE)} ({GROUP})"
        )
    problems = lint_document(body)
    if problems:
        listed = "; ".join(str(problem) for problem in problems)
        raise ValueError(f"{path}: {describe_document(body)}: {listed} (check it with `ramp lint -f {path}`)")
    return Manifest(path, body, CREATABLE[str(kind)])


def create(
    ctx: typer.Context,
    filename: Annotated[
        list[str] | None,
        typer.Option("--filename", "-f", help="File to create the object from (repeat for more).", metavar="FILE"),
    ] = None,
    watch: Annotated[
        bool, typer.Option("--watch/--no-watch", "-w", help="Watch the Rollout or Experiment after creating it.")
    ] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="Do not colorize output.")] = False,
    timeout_seconds: Annotated[int, typer.Option("--timeout-seconds", help="Stop watching after this long.")] = 0,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Create a Rollout, Experiment, AnalysisTemplate, ClusterAnalysisTemplate, or AnalysisRun from a file."""
    if ctx.invoked_subcommand is not None:
        if filename:
            fail("-f/--filename is not used with a sub-command; pass it to `create` alone", code=2)
        return
    if not filename:
        fail("pass the file to create with -f FILE (or use `create analysisrun`)", code=2)
    if watch and len(filename) > 1:
        fail("Cannot watch multiple resources", code=2)
    try:
        manifests = [read_manifest(path) for path in filename]
    except ValueError as error:
        fail(str(error), code=2)
    if watch and manifests[0].kind not in ("Rollout", "Experiment"):
        fail("Can only watch resources of type Rollout or Experiment", code=2)
    args = KubeArgs(kubeconfig, context, namespace)
    color = sys.stdout.isatty() and not no_color

    async def job(client: KubeClient, ns: str) -> None:
        for manifest in manifests:
            target = None if not manifest.resource.namespaced else _namespace_of(manifest.body) or ns
            created = await client.create(manifest.resource, manifest.body, target)
            name = (created.get("metadata") or {}).get("name", "")
            typer.echo(f"{manifest.kind.lower()}.{GROUP}/{name} created")
        if watch:
            created_ns = _namespace_of(manifests[0].body) or ns
            name = str((manifests[0].body.get("metadata") or {}).get("name", ""))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout_seconds or None):
                    await _watch(client, manifests[0].kind, created_ns, name, color=color)

    run_with_client(args, job)


async def _watch(client: KubeClient, kind: str, namespace: str, name: str, *, color: bool) -> None:
    """Print the view each time it changes, until the object has settled (see the module docstring)."""
    render: Callable[[], Awaitable[tuple[object, str, str]]]
    if kind == "Rollout":

        async def render() -> tuple[object, str, str]:
            view = await fetch_rollout_view(client, namespace, name)
            return view, view.phase, render_rollout(view, datetime.now(UTC), color=color)

        done = ROLLOUT_SETTLED
    else:

        async def render() -> tuple[object, str, str]:
            view = await fetch_experiment_view(client, namespace, name)
            return view, view.phase, render_experiment(view, datetime.now(UTC), color=color)

        done = EXPERIMENT_DONE
    shown: object = None
    while True:
        view, phase, text = await render()
        if view != shown:
            typer.echo("")
            typer.echo(text)
            shown = view
        if phase in done:
            return
        await asyncio.sleep(REFRESH_SECONDS)


def _namespace_of(body: Mapping[str, Any]) -> str | None:
    return (body.get("metadata") or {}).get("namespace") or None


def register(create_app: typer.Typer) -> None:
    """Make `create -f FILE` the `create` group's own command (its sub-command `analysisrun` stays)."""
    create_app.callback(invoke_without_command=True)(create)
