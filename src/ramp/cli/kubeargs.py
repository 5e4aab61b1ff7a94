"""What every cluster-facing verb shares: the kubectl-style flags, the client, and turning failures into one
clear line on stderr.

`--kubeconfig`, `--context` and `-n/--namespace` read the cluster settings as kubectl does
(`ramp.kube.config.load_config`: the flag, else $KUBECONFIG, else ~/.kube/config); the namespace defaults to the
context's. kubectl's other global flags (`--as`, `--token`, `--server`, ...) come from `ramp.cli.globalflags`.
`run_with_client` runs one async job with a `KubeClient` and exits 1 with `error: <sentence>` when an
action is refused (`ramp.actions.ActionError`), the API server says no, or it cannot be reached.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, NoReturn, TypeVar

import httpx
import typer

from ramp.actions.errors import ActionError, describe_api_error
from ramp.cli.globalflags import global_flags
from ramp.kube.client import KubeClient
from ramp.kube.config import ClusterConfig, load_config
from ramp.kube.errors import ApiError, ConfigError, CredentialError

T = TypeVar("T")

Namespace = Annotated[
    str | None, typer.Option("--namespace", "-n", help="Namespace (default: the kubeconfig context's).")
]
Kubeconfig = Annotated[str | None, typer.Option("--kubeconfig", help="Path to the kubeconfig file to use.")]
Context = Annotated[str | None, typer.Option("--context", help="The kubeconfig context to use.")]


@dataclass(frozen=True)
class KubeArgs:
    """The cluster flags of one command line."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None


@dataclass(frozen=True)
class ObjectRef:
    """Which object an API error is about, for wording it."""

    kind: str
    name: str
    verb: str = "get"


def fail(message: str, code: int = 1) -> NoReturn:
    """Print `error: message` on stderr and exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def load_cluster(args: KubeArgs) -> tuple[ClusterConfig, str]:
    """The cluster settings and the namespace to use, with kubectl's global flags (`ramp.cli.globalflags`)
    applied; exits 1 on an unusable kubeconfig."""
    flags = global_flags()
    try:
        config = load_config(
            args.kubeconfig or flags.kubeconfig, context=args.context or flags.context, overrides=flags.overrides
        )
    except ConfigError as error:
        fail(str(error))
    return config, args.namespace or config.namespace


def run_with_client(
    args: KubeArgs, job: Callable[[KubeClient, str], Awaitable[T]], about: ObjectRef | None = None
) -> T:
    """Run `job(client, namespace)` to completion; failures become one line on stderr and exit code 1."""
    config, namespace = load_cluster(args)

    async def main() -> T:
        async with KubeClient(config) as client:
            return await job(client, namespace)

    try:
        return asyncio.run(main())
    except ActionError as error:
        fail(str(error))
    except ApiError as error:
        if about is None:
            fail(str(error))
        fail(describe_api_error(error, about.kind, namespace, about.name, about.verb))
    except CredentialError as error:
        fail(f"{config.source}: {error}")
    except httpx.TransportError as error:
        fail(f"cannot reach the API server at {config.server} ({config.source}): {error or type(error).__name__}")
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
