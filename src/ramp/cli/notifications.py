"""`ramp notifications template get|notify` and `ramp notifications trigger get|run`: upstream's
`kubectl argo rollouts notifications` tools, on Ramp's configuration (`ramp.notifications`).

As upstream's: the ConfigMap and Secret come from the namespace (`-n`), or from files (`--config-map`,
`--secret`; `--secret :empty` for none); RESOURCE_NAME is a Rollout of the namespace or a YAML file; `get`
prints a table (`-o wide`), names (`-o name`), or the definitions (`-o yaml|json`); `trigger run` prints each
condition and whether it holds; `template notify` renders the template for each `--recipient service:recipient`
and sends it through that service (`console:stdout`, the default, prints it). Ramp's built-in catalog sits under
the ConfigMap's own (`--no-catalog`: only the ConfigMap). Each ConfigMap key Ramp cannot use is a warning on stderr.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import yaml

from ramp.cli.kubeargs import Context, KubeArgs, Kubeconfig, Namespace, ObjectRef, fail, run_with_client
from ramp.kube.client import KubeClient
from ramp.kube.resources import ROLLOUTS
from ramp.notifications.config import Condition, NotificationConfig
from ramp.notifications.render import RenderError, render_notification
from ramp.notifications.services.base import Notification, SendError, ServiceConfigError, ServiceContext
from ramp.notifications.source import (
    CONFIG_MAPS,
    CONFIGMAP_NAME,
    SECRET_NAME,
    SECRETS,
    config_from_objects,
    get_optional,
)
from ramp.notifications.triggers import TriggerError, run_trigger, variables_for

app = typer.Typer(help="Notification triggers and templates: show, evaluate, send.", no_args_is_help=True)
template_app = typer.Typer(help="Notification templates related commands.", no_args_is_help=True)
trigger_app = typer.Typer(help="Notification triggers related commands.", no_args_is_help=True)
app.add_typer(template_app, name="template")
app.add_typer(trigger_app, name="trigger")

ConfigMapPath = Annotated[
    str | None, typer.Option("--config-map", help=f"{CONFIGMAP_NAME}.yaml file path (default: the namespace's).")
]
SecretPath = Annotated[
    str | None,
    typer.Option("--secret", help=f"{SECRET_NAME}.yaml file path. Use empty secret if provided value is ':empty'."),
]
NoCatalog = Annotated[bool, typer.Option("--no-catalog", help="Leave out Ramp's built-in triggers and templates.")]
Output = Annotated[str, typer.Option("--output", "-o", help="Output format. One of: json|yaml|wide|name.")]
OptionalName = Annotated[str | None, typer.Argument(help="Show only this one.", metavar="[NAME]", show_default=False)]
Name = Annotated[str, typer.Argument(help="The trigger or template name.", metavar="NAME", show_default=False)]
Resource = Annotated[
    str, typer.Argument(help="A Rollout of the namespace, or a YAML file.", metavar="RESOURCE_NAME", show_default=False)
]
Recipients = Annotated[
    list[str] | None,
    typer.Option("--recipient", help="List of recipients, service:recipient (default console:stdout)."),
]
OUTPUTS = ("wide", "name", "json", "yaml")


class _Sources:
    """The command's configuration sources and how to reach the cluster."""

    def __init__(self, args: KubeArgs, config_map: str | None, secret: str | None, *, with_catalog: bool) -> None:
        self.args = args
        self.config_map = config_map
        self.secret = secret
        self.with_catalog = with_catalog

    @property
    def needs_cluster(self) -> bool:
        return self.config_map is None or self.secret is None

    async def load(self, client: KubeClient | None, namespace: str) -> NotificationConfig:
        """The configuration from the files given, else from the namespace; warnings for its problems."""
        configmap: Mapping[str, Any] | None = None
        if self.config_map is not None:
            configmap = _read_object(self.config_map, "ConfigMap", CONFIGMAP_NAME)
        elif client is not None:
            configmap = await get_optional(client, CONFIG_MAPS, CONFIGMAP_NAME, namespace)
            if configmap is None:
                typer.echo(
                    f"warning: no ConfigMap {CONFIGMAP_NAME} in namespace {namespace}: Ramp's built-in catalog only",
                    err=True,
                )
        secret: Mapping[str, Any] | None = None
        if self.secret is not None and self.secret != ":empty":
            secret = _read_object(self.secret, "Secret", SECRET_NAME)
        elif self.secret is None and client is not None:
            secret = await get_optional(client, SECRETS, SECRET_NAME, namespace)
        config, problems = config_from_objects(configmap, secret, namespace=namespace, with_catalog=self.with_catalog)
        for problem in problems:
            typer.echo(f"warning: {problem}", err=True)
        return config


@app.callback()
def notifications(
    ctx: typer.Context,
    config_map: ConfigMapPath = None,
    secret: SecretPath = None,
    no_catalog: NoCatalog = False,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Notification triggers and templates: show, evaluate, send."""
    # Upstream's flags are persistent: they may come before `template`/`trigger` too.
    ctx.obj = _Sources(KubeArgs(kubeconfig, context, namespace), config_map, secret, with_catalog=not no_catalog)


def _sources(
    ctx: typer.Context, config_map: str | None, secret: str | None, no_catalog: bool, args: KubeArgs
) -> _Sources:
    """The leaf command's flags, each defaulting to the one given before `template`/`trigger`."""
    group = ctx.obj if isinstance(ctx.obj, _Sources) else _Sources(KubeArgs(), None, None, with_catalog=True)
    return _Sources(
        KubeArgs(
            args.kubeconfig or group.args.kubeconfig,
            args.context or group.args.context,
            args.namespace or group.args.namespace,
        ),
        config_map if config_map is not None else group.config_map,
        secret if secret is not None else group.secret,
        with_catalog=group.with_catalog and not no_catalog,
    )


def _read_object(path: str, kind: str, name: str) -> dict[str, Any]:
    """The object of `kind` named `name` in a YAML file of one or more documents (`-` is stdin)."""
    try:
        text = typer.get_text_stream("stdin").read() if path == "-" else Path(path).read_text()
        documents = [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]
    except (OSError, yaml.YAMLError) as error:
        fail(f"{path}: {error}")
    for document in documents:
        if document.get("kind") == kind and (document.get("metadata") or {}).get("name") == name:
            return document
    fail(f"file '{path}' does not have '{kind}/{name}'")


def _resource_file(resource: str) -> dict[str, Any] | None:
    """The object of the YAML file `resource` names, or None when it names no file (then: a Rollout)."""
    path = Path(resource)
    if not path.is_file():
        return None
    try:
        loaded = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        fail(f"failed to load resource: {path}: {error}")
    if not isinstance(loaded, dict):
        fail(f"failed to load resource: {path} holds no object")
    return loaded


async def _load_resource(client: KubeClient, namespace: str, resource: str, from_file: dict[str, Any] | None) -> Any:
    return from_file if from_file is not None else await client.get(ROLLOUTS, resource, namespace)


def _print_formatted(items: Mapping[str, Any], output: str) -> None:
    if output == "json":
        typer.echo(json.dumps(items, indent=2, sort_keys=True))
    elif output == "yaml":
        typer.echo(yaml.safe_dump(dict(items), sort_keys=True, default_flow_style=False, width=1000).rstrip("\n"))
    else:
        fail(f"output '{output}' is not supported (one of: {', '.join(OUTPUTS)})")


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " + row[-1] for row in [header, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)


def _preview(source: Mapping[str, Any]) -> str:
    """upstream's Preview: the message's first line (else the JSON of the template), at most 100 characters."""
    message = source.get("message")
    text = message if isinstance(message, str) and message else json.dumps(source, sort_keys=True)
    first = text.split("\n")[0]
    return first[:99] + "..." if len(first) > 100 else first


def template_get(
    ctx: typer.Context,
    name: OptionalName = None,
    output: Output = "wide",
    config_map: ConfigMapPath = None,
    secret: SecretPath = None,
    no_catalog: NoCatalog = False,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Prints information about configured templates."""
    config = _load_config(_sources(ctx, config_map, secret, no_catalog, KubeArgs(kubeconfig, context, namespace)))
    items = {key: dict(spec.source) for key, spec in sorted(config.templates.items()) if name in (None, key)}
    if output == "name":
        for key in items:
            typer.echo(key)
    elif output == "wide":
        typer.echo(_table(("NAME", "PREVIEW"), [(key, _preview(source)) for key, source in items.items()]))
    else:
        _print_formatted(items, output)


def trigger_get(
    ctx: typer.Context,
    name: OptionalName = None,
    output: Output = "wide",
    config_map: ConfigMapPath = None,
    secret: SecretPath = None,
    no_catalog: NoCatalog = False,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Prints information about configured triggers."""
    config = _load_config(_sources(ctx, config_map, secret, no_catalog, KubeArgs(kubeconfig, context, namespace)))
    items = {key: conditions for key, conditions in sorted(config.triggers.items()) if name in (None, key)}
    if output == "name":
        for key in items:
            typer.echo(key)
    elif output == "wide":
        rows = [
            (key if index == 0 else "", ", ".join(condition.send), condition.when)
            for key, conditions in items.items()
            for index, condition in enumerate(conditions)
        ]
        typer.echo(_table(("NAME", "TEMPLATE", "CONDITION"), rows))
    else:
        _print_formatted({key: [_condition_source(c) for c in conditions] for key, conditions in items.items()}, output)


def _condition_source(condition: Condition) -> dict[str, Any]:
    source: dict[str, Any] = {}
    if condition.description:
        source["description"] = condition.description
    if condition.once_per:
        source["oncePer"] = condition.once_per
    if condition.send:
        source["send"] = list(condition.send)
    if condition.when:
        source["when"] = condition.when
    return source


def trigger_run(
    ctx: typer.Context,
    name: Name,
    resource: Resource,
    config_map: ConfigMapPath = None,
    secret: SecretPath = None,
    no_catalog: NoCatalog = False,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Evaluates specified trigger condition and prints the result."""
    sources = _sources(ctx, config_map, secret, no_catalog, KubeArgs(kubeconfig, context, namespace))
    args = sources.args
    from_file = _resource_file(resource)

    async def job(client: KubeClient, ns: str) -> None:
        config = await sources.load(client, ns)
        if name not in config.triggers:
            fail(f"trigger with name '{name}' does not exist (found {', '.join(sorted(config.triggers))})")
        obj = await _load_resource(client, ns, resource, from_file)
        try:
            results = run_trigger(config, name, variables_for(obj, kind=str(obj.get("kind") or "Rollout"), now=_now()))
        except TriggerError as error:
            fail(f"failed to execute trigger {name}: {error}")
        rows = []
        for condition, result in zip(config.triggers[name], results, strict=True):
            rows.append((condition.when, "true" if result.triggered else "false"))
            if result.error:
                typer.echo(f"warning: {result.error}", err=True)
        typer.echo(_table(("CONDITION", "RESULT"), rows))

    run_with_client(args, job, ObjectRef("Rollout", resource))


def template_notify(
    ctx: typer.Context,
    name: Name,
    resource: Resource,
    recipient: Recipients = None,
    config_map: ConfigMapPath = None,
    secret: SecretPath = None,
    no_catalog: NoCatalog = False,
    namespace: Namespace = None,
    kubeconfig: Kubeconfig = None,
    context: Context = None,
) -> None:
    """Generates notification using the specified template and send it to specified recipients."""
    sources = _sources(ctx, config_map, secret, no_catalog, KubeArgs(kubeconfig, context, namespace))
    args = sources.args
    recipients = recipient or ["console:stdout"]
    from_file = _resource_file(resource)

    async def job(client: KubeClient, ns: str) -> None:
        config = await sources.load(client, ns)
        if name not in config.templates:
            fail(f"template with name '{name}' does not exist (found {', '.join(sorted(config.templates))})")
        obj = await _load_resource(client, ns, resource, from_file)
        variables = variables_for(obj, kind=str(obj.get("kind") or "Rollout"), now=_now())
        for each in recipients:
            parts = each.split(":")
            service, target = parts[0], parts[1] if len(parts) > 1 else ""
            try:
                await _notify(config, name, variables, service, target)
            except (RenderError, SendError, ServiceConfigError) as error:
                fail(f"failed to notify '{each}': {error}")

    run_with_client(args, job, ObjectRef("Rollout", resource))


async def _notify(
    config: NotificationConfig, template: str, variables: Mapping[str, Any], service: str, recipient: str
) -> None:
    if service == "console" and "console" not in config.services:
        notification = render_notification(config, template, variables, service="console", recipient=recipient)
        typer.echo(_console_text(notification))
        return
    spec = config.services.get(service)
    if spec is None:
        raise ServiceConfigError(
            f"notification service '{service}' is not supported (configured: {', '.join(sorted(config.services))})"
        )
    notification = render_notification(
        config, template, variables, service_type=spec.type, service=spec.name, recipient=recipient
    )
    timeout = httpx.Timeout(30.0)
    made: list[httpx.AsyncClient] = []

    def client_for(*, insecure: bool = False) -> httpx.AsyncClient:
        client = httpx.AsyncClient(timeout=timeout, verify=not insecure)
        made.append(client)
        return client

    # Imported here: the service modules (SMTP, ...) load only when a command sends.
    from ramp.notifications.services.registry import build_service

    async with httpx.AsyncClient(timeout=timeout) as http:
        try:
            built = build_service(spec.type, spec.name, spec.options, ServiceContext(http=http, client_for=client_for))
            await built.send(notification, recipient)
        finally:
            for client in made:
                await client.aclose()


def _console_text(notification: Notification) -> str:
    """The notification as upstream's console service prints it: YAML, keys sorted."""
    body: dict[str, Any] = {"message": notification.message} if notification.message else {}
    body.update(notification.fields)
    return yaml.safe_dump(body, sort_keys=True, default_flow_style=False, width=1000, allow_unicode=True).rstrip("\n")


def _load_config(sources: _Sources) -> NotificationConfig:
    if not sources.needs_cluster:
        return asyncio.run(sources.load(None, sources.args.namespace or "default"))
    return run_with_client(sources.args, sources.load)


def _now() -> datetime:
    return datetime.now(UTC)


template_app.command("get")(template_get)
template_app.command("notify")(template_notify)
trigger_app.command("get")(trigger_get)
trigger_app.command("run")(trigger_run)
