"""What the delivery side needs from the configuration side, as Protocols: load a ConfigMap, find an object's
destinations, run a trigger, give the variables templates see, render a template.

`ramp.notifications.notifier` and `ramp.notifications.watch` are written against `Engine`, so they are tested
with small stand-ins; `UpstreamEngine` (below) binds the real modules (`config`, `subscriptions`, `triggers`,
`render`), which implement upstream's notifications-engine behaviour.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from ramp.notifications.services.base import Notification

EMPTY_WHEN = "2jmj7l5rSw0yVb_vlWAYkK_YBwk"
"""The condition-key hash of an empty `when` (base64url of sha1("")): upstream's record.go sends these on every
event of the trigger (`emptyCondition`), as the built-in catalog's triggers have no `when`."""


class DestinationLike(Protocol):
    @property
    def service(self) -> str: ...
    @property
    def recipient(self) -> str: ...


class ConditionResultLike(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def triggered(self) -> bool: ...
    @property
    def templates(self) -> Sequence[str]: ...
    @property
    def once_per(self) -> str | None: ...


class ServiceSpecLike(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def options(self) -> Mapping[str, Any]: ...


class ConfigLike(Protocol):
    @property
    def namespace(self) -> str: ...
    @property
    def services(self) -> Mapping[str, ServiceSpecLike]: ...


class ProblemLike(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def message(self) -> str: ...


class Engine(Protocol):
    def load(
        self, configmap: Mapping[str, str] | None, secret: Mapping[str, str] | None, namespace: str
    ) -> tuple[ConfigLike, Sequence[ProblemLike]]: ...

    def destinations(
        self, config: ConfigLike, annotations: Mapping[str, str], labels: Mapping[str, str]
    ) -> Mapping[str, Collection[DestinationLike]]: ...

    def subscription_problems(self, config: ConfigLike, annotations: Mapping[str, str]) -> Sequence[tuple[str, str]]:
        """(annotation, why) for each subscription annotation this configuration cannot honour as written."""
        ...

    def trigger_for_reason(self, reason: str) -> str: ...

    def run_trigger(
        self, config: ConfigLike, trigger: str, variables: Mapping[str, Any]
    ) -> Sequence[ConditionResultLike]: ...

    def variables(
        self, obj: Mapping[str, Any], *, kind: str, analysis_runs: Sequence[Mapping[str, Any]], now: datetime
    ) -> dict[str, Any]:
        """What conditions and templates see; `analysis_runs`: the namespace's (the engine picks the object's)."""
        ...

    def render(
        self,
        config: ConfigLike,
        templates: Sequence[str],
        variables: Mapping[str, Any],
        *,
        service_type: str | None,
        service: str,
        recipient: str,
    ) -> Notification:
        """The templates rendered for one destination and merged in order."""
        ...


def has_when(result: ConditionResultLike) -> bool:
    """True for a condition with a `when`: sent when the condition comes to hold (the state path), not on events.

    Upstream sends a condition without `when` on every event of its trigger (record.go's `emptyCondition`), and
    one with a `when` both on an event where it holds (record.go) and when it comes to hold (notifications-engine's
    controller), which can send the same news twice; Ramp sends the latter only when it comes to hold."""
    return not result.key.endswith(EMPTY_WHEN)
