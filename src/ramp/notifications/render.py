"""Templates: compile a `template.<name>` once, render it into a `Notification` for one destination.

A template is upstream's shape: `message` and per-service parts (`email.subject`, `slack.attachments`,
`webhook.<name>.body`, ...). Every string leaf is a Go text/template (`ramp.notifications.gotemplate`, bounded);
other leaves (`slack.notifyBroadcast: true`) are kept as written. Rendering gives the data upstream gives:
the trigger variables (`rollout`, `analysisRuns`, `secrets`, ... from `triggers.variables_for`), plus
`serviceType` and `recipient` of the destination and the ConfigMap's `context`. Several templates sent by one
condition render into one notification, later ones over earlier ones, as notifications-engine merges them.

Used by `config` (compile at load) and by the delivery layer and the CLI (render per destination).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ramp.analysis.expression.hosts import HostFunction, HostObject, Time
from ramp.notifications.gotemplate import Template, TemplateError, compile_template, time_variables
from ramp.notifications.services.base import Notification

if TYPE_CHECKING:
    from ramp.notifications.config import NotificationConfig

_NOTIFICATION_HAS_TEMPLATE = "template" in {each.name for each in dataclasses.fields(Notification)}
MAX_STEPS = 200_000
MAX_OUTPUT = 1_000_000


class RenderError(ValueError):
    """A template that does not compile or render; the message names the template and the field."""


@dataclass(frozen=True)
class TemplateSpec:
    """A compiled `template.<name>`: `source` as written, `compiled` of the same shape with every string leaf a
    compiled Go template."""

    name: str
    source: Mapping[str, Any] = field(repr=False)
    compiled: Mapping[str, Any] = field(repr=False, compare=False)


def compile_template_spec(name: str, source: Mapping[str, Any]) -> TemplateSpec:
    """Compile every string leaf of `source`; RenderError naming `template.<name>`, the field and Go's words."""
    return TemplateSpec(name, dict(source), _compile_leaves(source, name, ()))


def _compile_leaves(value: Any, name: str, path: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        where = ".".join(path)
        try:
            return compile_template(value, name=f"{name}.{where}" if where else name)
        except TemplateError as error:
            raise RenderError(f"{where or 'template'} does not compile: {error}") from None
    if isinstance(value, Mapping):
        return {str(key): _compile_leaves(item, name, (*path, str(key))) for key, item in value.items()}
    if isinstance(value, list):
        return [_compile_leaves(item, name, (*path, f"[{index}]")) for index, item in enumerate(value)]
    return value


def template_data(
    config: NotificationConfig,
    variables: Mapping[str, Any],
    *,
    service: str = "",
    recipient: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """What a template sees as dot: the trigger variables that are plain data, upstream's `time` (`{{ call
    .time.Now }}`, `{{ call .time.Parse "..." }}`, at `now`), the Secret as `secrets` (bytes), the ConfigMap's
    `context`, and the destination's `serviceType` and `recipient`."""
    # As upstream, templates get the Secret's data as bytes ({{ .secrets.key | toString }}; printed raw: [97 98]).
    secrets = {key: value.encode() for key, value in config.secrets.items()}
    data: dict[str, Any] = {"secrets": secrets, "context": dict(config.context)}
    for key, value in variables.items():
        if _is_plain(value):
            data[key] = value
    if now is not None:
        data["time"] = time_variables(lambda: now)
    data["serviceType"] = service
    data["recipient"] = recipient
    return data


def moment_of(variables: Mapping[str, Any]) -> datetime | None:
    """The `now` the trigger variables were made at (`triggers.variables_for`'s `time.Now()`), if they hold it."""
    clock = variables.get("time")
    now = clock.get("Now") if isinstance(clock, Mapping) else None
    if isinstance(now, HostFunction):
        value = now.call([])
        if isinstance(value, Time):
            return value.moment
    return None


def _is_plain(value: Any) -> bool:
    """Not one of the expression language's host values (the `time` functions of trigger conditions), which
    Go templates get in their own form. Looks one level down only: objects from the API server are JSON."""
    if isinstance(value, (HostFunction, HostObject)):
        return False
    if isinstance(value, Mapping):
        return not any(isinstance(item, (HostFunction, HostObject)) for item in value.values())
    return True


def render_notification(
    config: NotificationConfig,
    template_name: str | Sequence[str],
    variables: Mapping[str, Any],
    *,
    service_type: str | None = None,
    service: str = "",
    recipient: str = "",
    now: datetime | None = None,
) -> Notification:
    """The notification `template_name` (or several, merged in order) renders for one destination.

    `service_type`: render only `message` and that service type's part (a Slack attachment that fails to
    render then never blocks an email); None renders every part. `service`/`recipient`: the destination, seen
    by templates as `.serviceType` (upstream gives the service's name there) and `.recipient`. `now`: the time
    `.time.Now` and sprig's `now` give (default: the one `variables` were made at).
    """
    names = [template_name] if isinstance(template_name, str) else list(template_name)
    moment = now if now is not None else moment_of(variables)
    data = template_data(config, variables, service=service, recipient=recipient, now=moment)
    message = ""
    fields: dict[str, Any] = {}
    for name in names:
        spec = config.templates.get(name)
        if spec is None:
            known = ", ".join(sorted(config.templates)) or "none"
            raise RenderError(f"template {name!r} is not configured (configured: {known})")
        for part, compiled in spec.compiled.items():
            if part != "message" and service_type is not None and part != service_type:
                continue
            rendered = _render_leaves(compiled, data, name, (part,), moment)
            if part == "message":
                message = rendered
            elif isinstance(rendered, dict) and isinstance(fields.get(part), dict):
                fields[part] = _merge(fields[part], rendered)
            else:
                fields[part] = rendered
    # The template's name travels with the notification where the services' contract has the field (upstream's
    # alertmanager names the alert after it); with several templates, the first names it.
    named: dict[str, Any] = {"template": names[0]} if names and _NOTIFICATION_HAS_TEMPLATE else {}
    return Notification(message=message, fields=fields, **named)


def _render_leaves(value: Any, data: Mapping[str, Any], name: str, path: tuple[str, ...], now: datetime | None) -> Any:
    if isinstance(value, Template):
        try:
            return value.render(data, max_steps=MAX_STEPS, max_output=MAX_OUTPUT, now=now)
        except TemplateError as error:
            raise RenderError(f"template {name!r}, field {'.'.join(path)}: {error}") from None
    if isinstance(value, Mapping):
        return {key: _render_leaves(item, data, name, (*path, key), now) for key, item in value.items()}
    if isinstance(value, list):
        return [_render_leaves(item, data, name, (*path, f"[{index}]"), now) for index, item in enumerate(value)]
    return value


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
