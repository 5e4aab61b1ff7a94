"""The notifications configuration: upstream's `argo-rollouts-notification-configmap` and its Secret, parsed once.

Keys, as notifications-engine reads them (and Argo Rollouts' docs write them):
- `trigger.<name>`: a YAML list of conditions `{when, send, oncePer, description}`; `when` is compiled with Ramp's
  expression language (`ramp.analysis.expression`, host methods on, for `time.Now()`), never eval;
- `template.<name>`: YAML with `message` and per-service fields (`email.subject`, `slack.attachments`,
  `webhook.<name>.body`, ...), every string leaf compiled as a Go template (`render.compile_template_spec`);
- `service.<type>[.<name>]`: the service's options; `$key` in any string is replaced by that key of the Secret;
- `defaultTriggers`, `defaultTriggers.<service>`: the triggers of `subscribe.<service>` annotations;
- `subscriptions`: global subscriptions `[{recipients: [service:recipient], triggers: [...], selector: ...}]`;
- `context`: a map of strings given to templates as `.context` (as Argo CD does).

`load_config` never raises for what a user wrote: a key it cannot use is left out and named in a `ConfigProblem`,
and so is every key Ramp does not act on (an unknown key, a service type Ramp lacks, a template field for a service
Ramp lacks, an unknown field of a condition). The delivery layer turns each problem into a Warning event.
Ramp's built-in triggers and templates (`catalog`) sit under the ConfigMap's own: a ConfigMap key wins.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ramp.analysis.expression import ExpressionError, compile_expression
from ramp.notifications import catalog
from ramp.notifications.render import TemplateSpec, compile_template_spec
from ramp.notifications.selectors import LabelSelector, SelectorError, parse_label_selector
from ramp.notifications.yamltext import YamlTextError, load_yaml_text

CONDITION_FIELDS: Final = {"when": "when", "send": "send", "oncePer": "once_per", "description": "description"}
TEMPLATE_SERVICE_FIELDS: Final = frozenset(
    {
        "awssqs",
        "gcppubsub",
        "email",
        "slack",
        "mattermost",
        "rocketchat",
        "teams",
        "teams-workflows",
        "webhook",
        "opsgenie",
        "github",
        "alertmanager",
        "googlechat",
        "pagerduty",
        "pagerdutyv2",
        "newrelic",
    }
)
"""The per-service parts of an upstream template (notifications-engine's Notification fields besides message)."""
_SECRET_REFERENCE: Final = re.compile(r"\$[\w-]+", re.ASCII)


@dataclass(frozen=True)
class Condition:
    """One condition of a trigger: send `send` templates when `when` holds (an empty `when` always holds)."""

    when: str
    send: tuple[str, ...]
    once_per: str | None = None
    description: str = ""


@dataclass(frozen=True)
class ServiceSpec:
    """`service.<type>[.<name>]`: options with `$secret` references replaced (never print them)."""

    type: str
    name: str
    options: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True)
class ConfigProblem:
    """A ConfigMap key Ramp left out or does not act on, and why."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


@dataclass(frozen=True)
class GlobalSubscription:
    """One entry of the `subscriptions` key: `recipients` (`service:recipient`) get `triggers` (the default
    triggers when empty) of every object whose labels `selector` matches."""

    recipients: tuple[str, ...]
    triggers: tuple[str, ...] = ()
    selector: LabelSelector = field(default_factory=lambda: LabelSelector(""))


@dataclass(frozen=True)
class NotificationConfig:
    namespace: str
    triggers: Mapping[str, tuple[Condition, ...]] = field(default_factory=dict)
    templates: Mapping[str, TemplateSpec] = field(default_factory=dict)
    services: Mapping[str, ServiceSpec] = field(default_factory=dict)
    default_triggers: tuple[str, ...] = ()
    service_default_triggers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    subscriptions: tuple[GlobalSubscription, ...] = ()
    context: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)
    """The Secret's values: templates read them as `.secrets.<key>`, as upstream's."""
    builtin: frozenset[str] = frozenset()
    """`trigger.<name>` and `template.<name>` keys that come from Ramp's catalog, not from the ConfigMap."""


class _Problems(list[ConfigProblem]):
    def add(self, key: str, message: str) -> None:
        self.append(ConfigProblem(key, message))


def load_config(
    configmap: Mapping[str, str] | None,
    secret: Mapping[str, str] | None,
    *,
    namespace: str,
    with_catalog: bool = True,
    service_types: Collection[str] | None = None,
) -> tuple[NotificationConfig, list[ConfigProblem]]:
    """The configuration of a ConfigMap's `data` and a Secret's decoded `data` (either may be None: absent).

    `service_types`: the service types Ramp can send to (default: `services.registry.service_types()`).
    """
    if service_types is None:
        from ramp.notifications.services.registry import service_types as registered

        service_types = registered()
    data = dict(configmap or {})
    secrets = {str(key): str(value) for key, value in (secret or {}).items()}
    problems = _Problems()
    triggers: dict[str, tuple[Condition, ...]] = {}
    templates: dict[str, TemplateSpec] = {}
    services: dict[str, ServiceSpec] = {}
    service_defaults: dict[str, tuple[str, ...]] = {}
    default_triggers: tuple[str, ...] = ()
    subscriptions: tuple[GlobalSubscription, ...] = ()
    context: dict[str, str] = {}
    default_keys: dict[str, tuple[str, ...]] = {}
    for key in sorted(data):
        value = data[key]
        if not isinstance(value, str):
            problems.add(key, "the value must be a string (YAML text)")
            continue
        if key.startswith("trigger.") and len(key) > len("trigger."):
            trigger = _parse_trigger(key, value, problems)
            if trigger is not None:
                triggers[key[len("trigger.") :]] = trigger
        elif key.startswith("template.") and len(key) > len("template."):
            template = _parse_template(key, value, problems, service_types)
            if template is not None:
                templates[template.name] = template
        elif key.startswith("service."):
            service = _parse_service(key, value, secrets, problems, service_types)
            if service is not None:
                if service.name in services:
                    problems.add(
                        key,
                        f"another service key is also named {service.name!r} ({services[service.name].type}); "
                        "subscriptions could not tell them apart: rename one (service.<type>.<name>)",
                    )
                    continue
                services[service.name] = service
        elif key == "defaultTriggers" or (key.startswith("defaultTriggers.") and len(key) > len("defaultTriggers.")):
            names = _parse_names(key, value, problems)
            if names is not None:
                default_keys[key] = names
        elif key == "subscriptions":
            subscriptions = _parse_subscriptions(key, value, problems)
        elif key == "context":
            context = _parse_context(key, value, problems)
        else:
            problems.add(
                key,
                "Ramp does not know this key; it reads trigger.<name>, template.<name>, service.<type>[.<name>], "
                "defaultTriggers[.<service>], subscriptions and context",
            )
    builtin: set[str] = set()
    if with_catalog:
        for name, sends in catalog.TRIGGERS.items():
            if name not in triggers:
                triggers[name] = (Condition(when="", send=sends, description=catalog.DESCRIPTIONS[name]),)
                builtin.add(f"trigger.{name}")
        for name, source in catalog.TEMPLATES.items():
            if name not in templates:
                templates[name] = compile_template_spec(name, source)
                builtin.add(f"template.{name}")
    for key, names in default_keys.items():
        known = tuple(name for name in names if _is_known_trigger(key, name, triggers, problems))
        if key == "defaultTriggers":
            default_triggers = known
        else:
            service_defaults[key[len("defaultTriggers.") :]] = known
    for name, conditions in triggers.items():
        for index, condition in enumerate(conditions):
            for sent in condition.send:
                if sent not in templates:
                    problems.add(
                        f"trigger.{name}",
                        f"condition [{index}] sends template {sent!r}, which is not configured: add "
                        f"template.{sent} or fix the name",
                    )
    for index, subscription in enumerate(subscriptions):
        for name in subscription.triggers:
            if name not in triggers:
                problems.add("subscriptions", f"[{index}] names trigger {name!r}, which is not configured")
    config = NotificationConfig(
        namespace=namespace,
        triggers=triggers,
        templates=templates,
        services=services,
        default_triggers=default_triggers,
        service_default_triggers=service_defaults,
        subscriptions=subscriptions,
        context=context,
        secrets=secrets,
        builtin=frozenset(builtin),
    )
    return config, list(problems)


def _load_yaml(key: str, text: str, problems: _Problems) -> tuple[bool, Any]:
    try:
        return True, load_yaml_text(text)
    except YamlTextError as error:
        problems.add(key, str(error))
        return False, None


def _parse_trigger(key: str, text: str, problems: _Problems) -> tuple[Condition, ...] | None:
    ok, raw = _load_yaml(key, text, problems)
    if not ok:
        return None
    if not isinstance(raw, list) or not raw:
        problems.add(key, "a trigger must be a YAML list of conditions such as `- when: ...\\n  send: [template]`")
        return None
    conditions: list[Condition] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            problems.add(key, f"condition [{index}] must be a map with when, send, oncePer and description")
            return None
        for unknown in sorted(set(map(str, item)) - set(CONDITION_FIELDS)):
            problems.add(key, f"condition [{index}]: field {unknown!r} is not a condition field; Ramp ignores it")
        send = item.get("send")
        if send is None:
            send = []
        if not isinstance(send, list) or not all(isinstance(name, str) for name in send):
            problems.add(key, f"condition [{index}]: send must be a list of template names")
            return None
        when, once_per, description = item.get("when"), item.get("oncePer"), item.get("description")
        for name, value in (("when", when), ("oncePer", once_per), ("description", description)):
            if value is not None and not isinstance(value, str):
                problems.add(key, f"condition [{index}]: {name} must be a string")
                return None
        for name, source in (("when", when), ("oncePer", once_per)):
            if source:
                try:
                    compile_expression(source, methods=True)
                except ExpressionError as error:
                    problems.add(key, f"condition [{index}]: {name} does not compile: {error}")
                    return None
        if not send:
            problems.add(key, f"condition [{index}] sends no template (send is empty): it can never notify anyone")
        conditions.append(Condition(when or "", tuple(send), once_per or None, description or ""))
    return tuple(conditions)


def _parse_template(key: str, text: str, problems: _Problems, service_types: Collection[str]) -> TemplateSpec | None:
    from ramp.notifications.render import RenderError

    ok, raw = _load_yaml(key, text, problems)
    if not ok:
        return None
    if not isinstance(raw, dict):
        problems.add(key, "a template must be a YAML map with message and per-service fields")
        return None
    source: dict[str, Any] = {}
    for key_part, value in raw.items():
        part = str(key_part)
        if part == "message":
            if not isinstance(value, str):
                problems.add(key, "message must be a string")
                return None
        elif part not in TEMPLATE_SERVICE_FIELDS:
            problems.add(
                key,
                f"field {part!r} is not a template field (message, or a service: "
                f"{', '.join(sorted(TEMPLATE_SERVICE_FIELDS))}); Ramp leaves it out",
            )
            continue
        elif not isinstance(value, dict):
            problems.add(key, f"field {part!r} must be a map of the {part} service's fields; Ramp leaves it out")
            continue
        elif part not in service_types:
            problems.add(key, f"field {part!r}: Ramp has no {part} service, so this part is never sent")
        source[part] = value
    name = key[len("template.") :]
    try:
        return compile_template_spec(name, source)
    except RenderError as error:
        problems.add(key, str(error))
        return None


def _parse_service(
    key: str, text: str, secrets: Mapping[str, str], problems: _Problems, service_types: Collection[str]
) -> ServiceSpec | None:
    parts = key.split(".")
    if len(parts) not in (2, 3) or not all(parts[1:]):
        problems.add(key, "a service key is service.<type> or service.<type>.<name>")
        return None
    service_type = parts[1]
    name = parts[2] if len(parts) == 3 else service_type
    if service_type not in service_types:
        known = ", ".join(sorted(service_types)) or "none yet"
        problems.add(key, f"Ramp has no notification service of type {service_type!r} (it has: {known})")
        return None
    ok, raw = _load_yaml(key, text, problems)
    if not ok:
        return None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.add(key, "service options must be a YAML map")
        return None
    missing: set[str] = set()
    options = _replace_secrets(raw, secrets, missing)
    for reference in sorted(missing):
        problems.add(
            key,
            f"{reference} names no key of the Secret argo-rollouts-notification-secret; the text is used as "
            f"written: add the key {reference[1:]!r} to the Secret",
        )
    return ServiceSpec(service_type, name, options)


def _replace_secrets(value: Any, secrets: Mapping[str, str], missing: set[str]) -> Any:
    """Every `$key` in every string of `value` replaced by the Secret's value (as notifications-engine does)."""
    if isinstance(value, str):

        def swap(match: re.Match[str]) -> str:
            reference = match.group(0)
            found = secrets.get(reference[1:])
            if found is None:
                missing.add(reference)
                return reference
            return found

        return _SECRET_REFERENCE.sub(swap, value)
    if isinstance(value, dict):
        return {str(key): _replace_secrets(item, secrets, missing) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace_secrets(item, secrets, missing) for item in value]
    return value


def _parse_names(key: str, text: str, problems: _Problems) -> tuple[str, ...] | None:
    ok, raw = _load_yaml(key, text, problems)
    if not ok:
        return None
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        problems.add(key, "must be a YAML list of trigger names")
        return None
    return tuple(raw)


def _is_known_trigger(key: str, name: str, triggers: Mapping[str, Any], problems: _Problems) -> bool:
    if name in triggers:
        return True
    problems.add(key, f"trigger {name!r} is not configured; Ramp leaves it out of the default triggers")
    return False


def _parse_subscriptions(key: str, text: str, problems: _Problems) -> tuple[GlobalSubscription, ...]:
    ok, raw = _load_yaml(key, text, problems)
    if not ok or raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add(key, "must be a YAML list of {recipients, triggers, selector}")
        return ()
    found: list[GlobalSubscription] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            problems.add(key, f"[{index}] must be a map with recipients, triggers and selector")
            continue
        for unknown in sorted(set(map(str, item)) - {"recipients", "triggers", "selector"}):
            problems.add(key, f"[{index}]: field {unknown!r} is not a subscription field; Ramp ignores it")
        recipients, triggers, selector = item.get("recipients") or [], item.get("triggers") or [], item.get("selector")
        if not isinstance(recipients, list) or not all(isinstance(r, str) and r for r in recipients):
            problems.add(key, f"[{index}]: recipients must be a list of service:recipient strings; left out")
            continue
        if not isinstance(triggers, list) or not all(isinstance(t, str) for t in triggers):
            problems.add(key, f"[{index}]: triggers must be a list of trigger names; left out")
            continue
        try:
            parsed = parse_label_selector(selector or "") if isinstance(selector, (str, type(None))) else None
        except SelectorError as error:
            problems.add(key, f"[{index}]: selector: {error}; left out")
            continue
        if parsed is None:
            problems.add(key, f"[{index}]: selector must be a label selector string such as app=web; left out")
            continue
        if not recipients:
            problems.add(key, f"[{index}] has no recipients: it notifies nobody")
        found.append(GlobalSubscription(tuple(recipients), tuple(triggers), parsed))
    return tuple(found)


def _parse_context(key: str, text: str, problems: _Problems) -> dict[str, str]:
    ok, raw = _load_yaml(key, text, problems)
    if not ok or raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add(key, "must be a YAML map of strings, such as `argocdUrl: https://...`")
        return {}
    context: dict[str, str] = {}
    for name, value in raw.items():
        if isinstance(value, (dict, list)):
            problems.add(key, f"{name!r} must be a string; left out")
            continue
        context[str(name)] = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return context
