"""`ramp flags promote|abort|retry|get NAME`: the FeatureFlag rollout verbs, on the same actions the dashboard
uses (`ramp.actions.flags`).

`register(app)` adds them to a typer app: `ramp.cli.main` passes its `flags` group (which also holds `serve`).
Cluster flags and error handling come from `ramp.cli.kubeargs`, as for the Rollout verbs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

import typer

from ramp import actions
from ramp.api.featureflag import parse_feature_flag
from ramp.api.validation import ManifestError
from ramp.cli.kubeargs import Context, KubeArgs, Kubeconfig, Namespace, run_with_client
from ramp.flags.definition import flag_definition, rollout_weight

Name = Annotated[str, typer.Argument(help="The FeatureFlag's name.", metavar="NAME", show_default=False)]


def promote(
    name: Name,
    full: Annotated[
        bool, typer.Option("--full", help="Skip every step left: the new variant goes to everyone.")
    ] = False,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Promote a flag's rollout: past its pause, or past the step it is at (--full: all the way)."""
    run_with_client(
        KubeArgs(kubeconfig, context, namespace), lambda client, ns: actions.promote_flag(client, ns, name, full=full)
    )
    typer.echo(f"featureflag '{name}' {'fully promoted' if full else 'promoted'}")


def abort(name: Name, namespace: Namespace = None, kubeconfig: Kubeconfig = None, context: Context = None) -> None:
    """Abort a flag's rollout: everyone gets the default variant at once."""
    run_with_client(KubeArgs(kubeconfig, context, namespace), lambda client, ns: actions.abort_flag(client, ns, name))
    typer.echo(f"featureflag '{name}' aborted")


def retry(name: Name, namespace: Namespace = None, kubeconfig: Kubeconfig = None, context: Context = None) -> None:
    """Retry an aborted flag rollout: its steps start again."""
    run_with_client(KubeArgs(kubeconfig, context, namespace), lambda client, ns: actions.retry_flag(client, ns, name))
    typer.echo(f"featureflag '{name}' retried")


def describe_flag(raw: Mapping[str, Any]) -> str:
    """The lines `ramp flags get` prints: key, phase, weight, step, message, and the definition served now."""
    meta = raw.get("metadata") or {}
    status = raw.get("status") or {}
    lines = [f"Name:       {meta.get('name')}", f"Namespace:  {meta.get('namespace')}"]
    try:
        flag = parse_feature_flag(raw)
    except ManifestError as error:
        return "\n".join([*lines, f"Invalid:    {error.summary()}"])
    rollout = flag.spec.rollout
    steps = (rollout.steps or []) if rollout else []
    weight = rollout_weight(flag)
    lines += [
        f"Key:        {flag.flag_key}",
        f"Default:    {flag.spec.default_variant}",
        f"Variant:    {rollout.variant if rollout else '-'}",
        f"Status:     {status.get('phase') or '-'}",
        f"Weight:     {'-' if weight is None else f'{weight}%'}",
        f"Step:       {status.get('currentStepIndex', 0)}/{len(steps)}",
        f"Message:    {status.get('message') or ''}",
    ]
    for label, key in (
        ("Step run", "currentStepAnalysisRunStatus"),
        ("Background", "currentBackgroundAnalysisRunStatus"),
    ):
        run = status.get(key) or {}
        if run:
            lines.append(f"{label + ':':<12}{run.get('name')} ({run.get('status')})")
    lines.append("Definition: " + json.dumps(flag_definition(flag), sort_keys=True))
    return "\n".join(lines)


def get(
    name: Name,
    output: Annotated[str, typer.Option("--output", "-o", help="text or json.")] = "text",
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Show a flag's rollout: phase, weight, step, analysis runs, and the definition clients get now."""
    raw = run_with_client(
        KubeArgs(kubeconfig, context, namespace), lambda client, ns: actions.get_flag(client, ns, name)
    )
    typer.echo(json.dumps(raw, indent=2) if output == "json" else describe_flag(raw))


def register(app: typer.Typer) -> None:
    """Add promote, abort, retry and get to `app` (the `ramp flags` group)."""
    app.command("promote")(promote)
    app.command("abort")(abort)
    app.command("retry")(retry)
    app.command("get")(get)


def main() -> None:
    """`python -m ramp.cli.flag_verbs VERB NAME`: the verbs on their own, before `ramp flags` registers them."""
    app = typer.Typer(help="FeatureFlag rollout verbs.", no_args_is_help=True)
    register(app)
    app()


if __name__ == "__main__":
    main()
