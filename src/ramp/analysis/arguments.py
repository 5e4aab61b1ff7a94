"""An AnalysisRun's arguments: their values, and the metrics with every "{{args.name}}" replaced by them.

Follows upstream's documented behaviour (utils/template, utils/analysis ResolveMetricArgs, analysis.resolveArgs):
- an argument's value is `value`, or `valueFrom.secretKeyRef` (the key of a Secret in the run's namespace; the
  caller reads the Secrets and passes their data in), or `valueFrom.fieldRef` (a field of the AnalysisRun itself,
  such as `metadata.labels['app']`: a run made by a Rollout already carries its Rollout's fields as values);
- an argument with neither is an error naming it, even if no metric uses it (upstream refuses such a run too);
- every string of a metric is searched for `{{ ... }}`: the text between the braces, with surrounding whitespace
  trimmed (`{{ args.x }}` works as upstream's template engine allows), must be `args.<name>` of a known argument,
  else it is an error naming the placeholder and where it is. Dict keys are searched as well (upstream substitutes
  in the metric's whole JSON text). Substitution is of text into text, so a value with quotes or newlines cannot
  break the metric's structure. IntOrString fields (count, failureLimit, ...) hold "{{args.x}}" as strings and
  become the argument's text, which `ramp.api.analysis.Metric.effective_*` reads as a number.
- Secret values are secrets: `redact_secrets` hides them in measurement messages ("*****", as upstream).

Pure. Used by `ramp.analysis.reconciler`; works with `ramp.api.analysis` (Argument, Metric).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ramp.api.analysis import Argument, Metric

OPEN, CLOSE = "{{", "}}"
ARGS_PREFIX = "args."
SECRET_PLACEHOLDER = "temp-for-secret"
"""What a secret argument stands for while the run is only checked and scheduled (upstream's placeholder), so
the Secret is read only when a measurement is taken."""
REDACTED = "*****"


class ArgumentError(ValueError):
    """Arguments that cannot be resolved, or a placeholder no argument fills; the message names which."""


@dataclass(frozen=True)
class ResolvedArguments:
    """Argument values by name, and the values that came from Secrets (to redact)."""

    values: Mapping[str, str]
    secrets: frozenset[str] = frozenset()


def list_secret_names(args: Sequence[Argument] | None) -> list[str]:
    """Names of the Secrets the arguments read, each once, in order."""
    names: list[str] = []
    for arg in args or []:
        ref = arg.value_from.secret_key_ref if arg.value_from is not None else None
        if ref is not None and ref.name not in names:
            names.append(ref.name)
    return names


def resolve_arguments(
    args: Sequence[Argument] | None,
    *,
    run: Mapping[str, Any],
    secrets: Mapping[str, Mapping[str, str]] | None = None,
) -> ResolvedArguments:
    """The value of every argument. `secrets` maps Secret name → its decoded data; None means "not read yet",
    and secret arguments get `SECRET_PLACEHOLDER`.

    >>> resolve_arguments([Argument(name="app", value="web")], run={}).values
    {'app': 'web'}
    """
    values: dict[str, str] = {}
    secret_values: set[str] = set()
    for index, arg in enumerate(args or []):
        source = arg.value_from
        if source is not None and source.secret_key_ref is not None:
            ref = source.secret_key_ref
            if secrets is None:
                values[arg.name] = SECRET_PLACEHOLDER
                continue
            data = secrets.get(ref.name)
            if data is None:
                raise ArgumentError(f'argument "{arg.name}": secret "{ref.name}" was not found')
            if ref.key not in data:
                raise ArgumentError(f"key '{ref.key}' does not exist in secret '{ref.name}'")
            values[arg.name] = data[ref.key]
            secret_values.add(data[ref.key])
        elif source is not None and source.field_ref is not None:
            found = read_field(run, source.field_ref.field_path)
            if found is None:
                raise ArgumentError(
                    f'argument "{arg.name}": field "{source.field_ref.field_path}" of the AnalysisRun is not set'
                )
            values[arg.name] = found
        elif arg.value is not None:
            values[arg.name] = arg.value
        else:
            raise ArgumentError(f'argument "{arg.name}" was not supplied: give spec.args[{index}] a value or valueFrom')
    return ResolvedArguments(values, frozenset(v for v in secret_values if v))


def substitute_arguments(metric: Metric, values: Mapping[str, str]) -> Metric:
    """A new metric with every "{{args.name}}" in every string replaced by the argument's value.

    Raises ArgumentError naming the placeholder and the field holding it when no argument fills it.
    """
    manifest = metric.model_dump(mode="json", by_alias=True, exclude_none=True)
    try:
        substituted = _substitute_node(manifest, values, "")
    except ArgumentError as problem:
        raise ArgumentError(f'metric "{metric.name}": {problem}') from None
    if substituted == manifest:
        return metric
    try:
        return Metric.model_validate(substituted)
    except ValidationError as problem:
        first = problem.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ArgumentError(f'metric "{metric.name}": {where}: {first["msg"]} after substituting arguments') from None


def substitute_text(text: str, values: Mapping[str, str], where: str = "") -> str:
    """`text` with its placeholders filled in (upstream's `{{` ... `}}` tags, whitespace inside trimmed).

    >>> substitute_text("up{app='{{ args.app }}'}", {"app": "web"})
    "up{app='web'}"
    """
    if OPEN not in text:
        return text
    parts: list[str] = []
    position = 0
    while (start := text.find(OPEN, position)) >= 0:
        end = text.find(CLOSE, start + len(OPEN))
        if end < 0:
            raise ArgumentError(f'{_place(where)}"{OPEN}" at character {start + 1} is never closed with "{CLOSE}"')
        tag = text[start + len(OPEN) : end]
        parts.append(text[position:start])
        parts.append(_value_of(tag, values, where))
        position = end + len(CLOSE)
    parts.append(text[position:])
    return "".join(parts)


def redact_secrets(text: str | None, secrets: Iterable[str]) -> str | None:
    """`text` with every secret value replaced by "*****" (a provider's error may echo a query or a URL)."""
    if not text:
        return text
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def read_field(obj: Mapping[str, Any], path: str) -> str | None:
    """A field of an object by a fieldRef path (`metadata.name`, `metadata.labels['app']`, `spec.x[0].y`) as
    text; None when absent or not a plain value.

    >>> read_field({"metadata": {"labels": {"app": "web"}}}, "metadata.labels['app']")
    'web'
    """
    current: Any = obj
    for key, index, quoted, double_quoted in _FIELD_SEGMENT.findall(path):
        if index:
            if not isinstance(current, list) or int(index) >= len(current):
                return None
            current = current[int(index)]
            continue
        name = key or quoted or double_quoted
        if not isinstance(current, Mapping) or name not in current:
            return None
        current = current[name]
    if current is None or isinstance(current, dict | list):
        return None
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


_FIELD_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


def _substitute_node(node: Any, values: Mapping[str, str], where: str) -> Any:
    if isinstance(node, str):
        return substitute_text(node, values, where)
    if isinstance(node, list):
        return [_substitute_node(item, values, f"{where}[{i}]") for i, item in enumerate(node)]
    if isinstance(node, dict):
        return {
            substitute_text(key, values, where): _substitute_node(value, values, f"{where}.{key}" if where else key)
            for key, value in node.items()
        }
    return node


def _value_of(tag: str, values: Mapping[str, str], where: str) -> str:
    name = tag.strip()
    if name.startswith(ARGS_PREFIX) and name[len(ARGS_PREFIX) :] in values:
        return values[name[len(ARGS_PREFIX) :]]
    shown = tag if len(tag) <= 80 else tag[:80] + "..."  # a status message, not a copy of a huge field
    if name.startswith(ARGS_PREFIX):
        argument = name[len(ARGS_PREFIX) :]
        argument = argument if len(argument) <= 80 else argument[:80] + "..."
        raise ArgumentError(f'{_place(where)}failed to resolve {{{{{shown}}}}}: no argument "{argument}" in spec.args')
    raise ArgumentError(f"{_place(where)}failed to resolve {{{{{shown}}}}}: only {{{{args.<name>}}}} is known")


def _place(where: str) -> str:
    return f"{where}: " if where else ""
