"""The `ramp` command (also installed as `kubectl-ramp`): one typer app; each verb lives in its own module."""

from __future__ import annotations

import typer

from ramp import __version__
from ramp.cli import cluster
from ramp.cli.controller import controller
from ramp.cli.crds import crds
from ramp.cli.demo import demo

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


def main() -> None:
    """Entry point of the console scripts."""
    app()


if __name__ == "__main__":
    main()
