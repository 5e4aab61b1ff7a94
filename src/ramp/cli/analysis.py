"""`ramp create analysisrun`: start an AnalysisRun by hand from an AnalysisTemplate, with upstream's flags.

```
ramp create analysisrun --from rate -a service=web          # AnalysisTemplate "rate" in the namespace
ramp create analysisrun --global --from rate                # ClusterAnalysisTemplate "rate"
ramp create analysisrun --from-file rate.yaml --name try-1  # a template in a local file
```
The flags are upstream's (`--from`, `--from-file`, `--global`, `-a/--argument NAME=VALUE`, `--name`,
`--generate-name`, `--instance-id`) so kubectl-argo-rollouts habits carry over; it prints
`analysisrun.argoproj.io/<name> created`. The work is `ramp.actions.analysis.create_analysis_run`;
`terminate analysisrun` lives with the other terminate verbs in `ramp.cli.rollouts`.
`register(app)` adds the `create` group to the `ramp` app (`ramp.cli.main`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ramp.actions import ActionError
from ramp.actions.analysis import TemplateSource, create_analysis_run, parse_argument_flags, parse_template_manifest
from ramp.cli.kubeargs import Context, KubeArgs, Kubeconfig, Namespace, fail, run_with_client
from ramp.kube.client import JSON, KubeClient

create_app = typer.Typer(
    help="Create a Rollout, Experiment, AnalysisTemplate, ClusterAnalysisTemplate, or AnalysisRun resource.",
    no_args_is_help=True,
)


def create_analysis_run_command(
    from_: Annotated[
        str,
        typer.Option(
            "--from", help="Create the run from this AnalysisTemplate (with --global: ClusterAnalysisTemplate)."
        ),
    ] = "",
    from_file: Annotated[
        str, typer.Option("--from-file", help="Create the run from an AnalysisTemplate in a local file.")
    ] = "",
    global_: Annotated[
        bool, typer.Option("--global", help="--from names a ClusterAnalysisTemplate instead of an AnalysisTemplate.")
    ] = False,
    argument: Annotated[
        list[str] | None,
        typer.Option(
            "--argument", "-a", help="A template argument, NAME=VALUE (repeat for more).", metavar="NAME=VALUE"
        ),
    ] = None,
    name: Annotated[str, typer.Option("--name", help="Use this name for the run.")] = "",
    generate_name: Annotated[
        str, typer.Option("--generate-name", help="Use this generateName for the run (default: <template>-).")
    ] = "",
    instance_id: Annotated[str, typer.Option("--instance-id", help="Controller instance-id label of the run.")] = "",
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Create an AnalysisRun from an AnalysisTemplate or a ClusterAnalysisTemplate (alias: ar)."""
    if bool(from_) == bool(from_file):
        fail("one of --from or --from-file must be specified", code=2)
    try:
        args = parse_argument_flags(argument or [])
    except ActionError as error:
        fail(str(error), code=2)
    try:
        source = TemplateSource(name=from_, cluster_scope=global_) if from_ else _read_template_file(from_file)
    except ActionError as error:
        fail(str(error))

    async def job(client: KubeClient, ns: str) -> JSON:
        return await create_analysis_run(
            client,
            ns,
            source,
            args=args,
            name=name or None,
            generate_name=generate_name or None,
            instance_id=instance_id,
        )

    created = run_with_client(KubeArgs(kubeconfig, context, namespace), job)
    typer.echo(f"analysisrun.argoproj.io/{(created.get('metadata') or {}).get('name', '')} created")


def _read_template_file(path: str) -> TemplateSource:
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise ActionError(f"{path}: cannot read: {error.strerror}") from error
    return TemplateSource(manifest=parse_template_manifest(text, path))


def register(app: typer.Typer) -> None:
    """Add `create analysisrun` (and its alias `ar`) to `app`."""
    create_app.command("analysisrun")(create_analysis_run_command)
    create_app.command("ar", hidden=True)(create_analysis_run_command)
    app.add_typer(create_app, name="create")
