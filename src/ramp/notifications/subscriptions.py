"""Subscriptions: who gets which trigger's notifications, from an object's annotations and the global
`subscriptions` of the ConfigMap, as notifications-engine reads them.

Annotation forms (prefix `notifications.argoproj.io`):
- `subscribe.<trigger>.<service>: "a;b"`: recipients a and b of the service get the trigger (an empty value is
  one destination with an empty recipient, for services that need none);
- `subscribe.<service>: "a;b"`: the same for the service's default triggers (`defaultTriggers.<service>`, else
  `defaultTriggers`);
- `subscriptions: |` a YAML list of `{trigger: [...], destinations: [{service, recipients: [...]}]}` (no
  `trigger`: the default triggers of each service).
Global subscriptions (`config.GlobalSubscription`) add `service:recipient` destinations to every object whose
labels match their selector.

`destinations_for` gives trigger -> destinations; `subscription_problems` names the annotations it could not use
(malformed keys, unknown triggers or services), which the delivery layer reports instead of ignoring them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from ramp.notifications.yamltext import YamlTextError, load_yaml_text

if TYPE_CHECKING:
    from ramp.notifications.config import NotificationConfig

ANNOTATION_PREFIX: Final = "notifications.argoproj.io"
SUBSCRIBE_PREFIX: Final = f"{ANNOTATION_PREFIX}/subscribe."
SUBSCRIPTIONS_KEY: Final = f"{ANNOTATION_PREFIX}/subscriptions"
NOTIFIED_ANNOTATION: Final = f"notified.{ANNOTATION_PREFIX}"


@dataclass(frozen=True, order=True)
class Destination:
    """One recipient of one service (by the service's name: `<name>` of `service.<type>.<name>`)."""

    service: str
    recipient: str


@dataclass(frozen=True)
class _Subscription:
    """One parsed subscription: `trigger` "" means the service's default triggers."""

    trigger: str
    service: str
    recipients: tuple[str, ...]
    annotation: str


def subscribe_annotation(trigger: str, service: str) -> str:
    """`notifications.argoproj.io/subscribe.<trigger>.<service>`."""
    return f"{SUBSCRIBE_PREFIX}{trigger}.{service}"


def parse_recipients(value: str) -> tuple[str, ...]:
    """`a; b;;` -> ("a", "b"); the empty value is one empty recipient.

    >>> parse_recipients("my-channel1;my-channel2"), parse_recipients("")
    (('my-channel1', 'my-channel2'), ('',))
    """
    if value == "":
        return ("",)
    return tuple(part.strip() for part in value.split(";") if part.strip())


def destinations_for(
    config: NotificationConfig, annotations: Mapping[str, str], labels: Mapping[str, str]
) -> dict[str, set[Destination]]:
    """Trigger name -> the destinations subscribed to it: global subscriptions matching `labels`, then the
    object's annotations."""
    found: dict[str, set[Destination]] = {}
    for subscription in config.subscriptions:
        if not subscription.selector.matches(labels):
            continue
        for trigger in subscription.triggers or config.default_triggers:
            for recipient in subscription.recipients:
                parts = recipient.split(":")
                found.setdefault(trigger, set()).add(Destination(parts[0], parts[1] if len(parts) > 1 else ""))
    for item in _subscriptions(annotations, lambda key, message: None):
        for trigger in _triggers_of(config, item):
            for recipient in item.recipients:
                found.setdefault(trigger, set()).add(Destination(item.service, recipient))
    return found


def subscription_problems(config: NotificationConfig, annotations: Mapping[str, str]) -> list[tuple[str, str]]:
    """(annotation, why) for each subscription annotation Ramp cannot honour as written."""
    problems: list[tuple[str, str]] = []
    for item in _subscriptions(annotations, lambda key, message: problems.append((key, message))):
        if item.service not in config.services:
            problems.append(
                (item.annotation, f"service {item.service!r} is not configured (add service.<type>.{item.service})")
            )
        if item.trigger and item.trigger not in config.triggers:
            problems.append((item.annotation, f"trigger {item.trigger!r} is not configured"))
        if not item.trigger and not _triggers_of(config, item):
            problems.append((item.annotation, f"no default triggers for service {item.service!r}: set defaultTriggers"))
    return problems


def _triggers_of(config: NotificationConfig, item: _Subscription) -> tuple[str, ...]:
    if item.trigger:
        return (item.trigger,)
    return config.service_default_triggers.get(item.service, config.default_triggers)


def _subscriptions(annotations: Mapping[str, str], report: Callable[[str, str], None]) -> Iterator[_Subscription]:
    for key in sorted(annotations):
        value = annotations[key]
        if key.startswith(SUBSCRIBE_PREFIX):
            parts = key[len(SUBSCRIBE_PREFIX) :].split(".")
            if len(parts) > 2 or not all(parts):
                report(key, "write notifications.argoproj.io/subscribe.<trigger>.<service> or subscribe.<service>")
                continue
            trigger, service = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
            yield _Subscription(trigger, service, parse_recipients(value), key)
        elif key.startswith(SUBSCRIPTIONS_KEY):
            yield from _parse_subscriptions_yaml(key, value, report)


def _parse_subscriptions_yaml(key: str, value: str, report: Callable[[str, str], None]) -> Iterator[_Subscription]:
    try:
        raw: Any = load_yaml_text(value) if value else None
    except YamlTextError as error:
        report(key, str(error))
        return
    if not isinstance(raw, list):
        report(key, "must be a YAML list of {trigger: [...], destinations: [{service, recipients: [...]}]}")
        return
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            report(key, f"[{index}] must be a map with trigger and destinations")
            continue
        triggers = entry.get("trigger") or []
        destinations = entry.get("destinations") or []
        if isinstance(triggers, str):
            triggers = [triggers]
        if not isinstance(triggers, list) or not isinstance(destinations, list):
            report(key, f"[{index}]: trigger and destinations must be lists")
            continue
        if not destinations:
            report(key, f"[{index}] has no destinations: it notifies nobody")
            continue
        for destination in destinations:
            if not isinstance(destination, dict) or not isinstance(destination.get("service"), str):
                report(key, f"[{index}]: each destination needs a service name")
                continue
            recipients = destination.get("recipients") or []
            if not isinstance(recipients, list):
                report(key, f"[{index}]: recipients must be a list")
                continue
            for trigger in triggers or [""]:
                yield _Subscription(str(trigger), destination["service"], tuple(map(str, recipients)), key)
