"""The `ramp` command (also installed as `kubectl-ramp`): one typer app; each verb lives in its own module."""

from __future__ import annotations

import sys

import typer

from ramp import __version__
from ramp.cli import analysis, cluster, experiments, get, rollouts
from ramp.cli.controller import controller
from ramp.cli.crds import crds
from ramp.cli.dashboard import dashboard
from ramp.cli.demo import demo
from ramp.cli.lint import lint
from ramp.cli.status import status

app = typer.Typer(
    name="ramp",
    help="Progressive delivery for Kubernetes, speaking the Argo Rollouts API.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(cluster.app, name="cluster")
app.command("demo")(demo)


@app.callback()
def root() -> None:
    """Progressive delivery for Kubernetes, speaking the Argo Rollouts API."""


@app.command()
def version(short: bool = typer.Option(False, "--short", help="Print just the version.")) -> None:
    """Print Ramp's version."""
    typer.echo(__version__ if short else f"ramp: v{__version__}")


app.command("controller")(controller)
app.command("crds")(crds)
rollouts.register(app)
experiments.register()
get.register(app)
analysis.register(app)
app.command("status")(status)
app.command("lint")(lint)
app.command("dashboard")(dashboard)


_TRUE, _FALSE = ("1", "t", "true", "yes"), ("0", "f", "false", "no")
_GO_BOOL_FLAGS = ("--watch", "-w")


def normalize_bool_flags(args: list[str]) -> list[str]:
    """Accept upstream's Go-style `--watch=false` / `-w=true` as `--no-watch` / `--watch`.

    >>> normalize_bool_flags(["status", "web", "--watch=false"])
    ['status', 'web', '--no-watch']
    """
    normalized: list[str] = []
    for arg in args:
        flag, sep, value = arg.partition("=")
        if sep and flag in _GO_BOOL_FLAGS and value.lower() in (*_TRUE, *_FALSE):
            normalized.append("--watch" if value.lower() in _TRUE else "--no-watch")
        else:
            normalized.append(arg)
    return normalized


def main() -> None:
    """Entry point of the console scripts."""
    app(args=normalize_bool_flags(sys.argv[1:]))


if __name__ == "__main__":
    main()
