"""The `ramp` command (also installed as `kubectl-ramp`): one typer app; each verb lives in its own module."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from ramp import __version__
from ramp.buildinfo import describe
from ramp.cli import analysis, cluster, create, experiments, flag_verbs, flags, get, notifications, rollouts
from ramp.cli.completion import completion, enable_completion
from ramp.cli.controller import controller
from ramp.cli.controller_flags import normalize_controller_bools
from ramp.cli.crds import crds
from ramp.cli.dashboard import dashboard
from ramp.cli.demo import demo
from ramp.cli.globalflags import set_global_flags, split_global_flags
from ramp.cli.install import install_manifests
from ramp.cli.lint import lint
from ramp.cli.status import status
from ramp.kube.errors import ConfigError

app = typer.Typer(
    name="ramp",
    help=(
        "Progressive delivery for Kubernetes, speaking the Argo Rollouts API.\n\n"
        "kubectl's global flags work on every command, before or after the verb: --server/-s, --token, --as, "
        "--as-group, --as-uid, --certificate-authority, --client-certificate, --client-key, "
        "--insecure-skip-tls-verify, --tls-server-name, --cluster, --user, --request-timeout, "
        "--disable-compression, -v."
    ),
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(cluster.app, name="cluster")
flag_verbs.register(flags.app)
app.add_typer(flags.app, name="flags")
app.add_typer(notifications.app, name="notifications")
app.command("demo")(demo)


@app.callback()
def root() -> None:
    """Progressive delivery for Kubernetes, speaking the Argo Rollouts API."""


@app.command()
def version(short: bool = typer.Option(False, "--short", help="Print just the version.")) -> None:
    """Print Ramp's version and the build's git commit, tree state and date."""
    typer.echo(__version__ if short else describe(program_name()))


def program_name() -> str:
    """`ramp` or `kubectl-ramp`, whichever was run."""
    invoked = Path(sys.argv[0]).name
    return invoked if invoked in ("ramp", "kubectl-ramp") else "ramp"


app.command("controller")(controller)
app.command("crds")(crds)
app.command("install-manifests")(install_manifests)
rollouts.register(app)
experiments.register()
get.register(app)
analysis.register(app)
create.register(analysis.create_app)
app.command("status")(status)
app.command("lint")(lint)
app.command("dashboard")(dashboard)
app.command("completion")(completion)


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


def command_options(args: list[str]) -> frozenset[str]:
    """The option names the command named by `args` defines itself (`ramp dashboard` has its own `--token`)."""
    command = typer.main.get_command(app)
    for arg in args:
        if arg.startswith("-"):
            continue
        subcommands: dict[str, Any] = getattr(command, "commands", {})  # a group's verbs
        if arg not in subcommands:
            break
        command = subcommands[arg]
    return frozenset(name for param in command.params for name in param.opts)


def prepare(args: list[str]) -> list[str]:
    """The command line typer parses: kubectl's global flags taken out (and recorded), Go-style booleans
    normalized. A bad global flag value exits 2 naming the flag."""
    try:
        rest, flags = split_global_flags(args, command_options(args))
    except ConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise SystemExit(2) from None
    set_global_flags(flags)
    if rest[:1] == ["controller"]:
        rest = ["controller", *normalize_controller_bools(rest[1:])]
    return normalize_bool_flags(rest)


def main() -> None:
    """Entry point of the console scripts."""
    enable_completion()
    app(args=prepare(sys.argv[1:]))


if __name__ == "__main__":
    main()
