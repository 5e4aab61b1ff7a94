"""`UpstreamEngine`: the `notifications.engine.Engine` the controller runs, binding the configuration side
(`config.load_config`, `subscriptions.destinations_for`, `triggers.trigger_for_reason` / `run_trigger` /
`variables_for`, `render.render_notification`), which behaves as upstream's notifications-engine.

Kept apart from `engine` so the delivery side (`notifier`, `watch`) is written and tested against the Protocol.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from ramp.notifications.config import ConfigProblem, NotificationConfig, load_config
from ramp.notifications.engine import ConfigLike
from ramp.notifications.render import render_notification
from ramp.notifications.services.base import Notification
from ramp.notifications.subscriptions import Destination, destinations_for, subscription_problems
from ramp.notifications.triggers import TriggerResult, run_trigger, trigger_for_reason, variables_for


def _config(config: ConfigLike) -> NotificationConfig:
    if not isinstance(config, NotificationConfig):
        raise TypeError(f"UpstreamEngine works on NotificationConfig, got {type(config).__name__}")
    return config


class UpstreamEngine:
    def load(
        self, configmap: Mapping[str, str] | None, secret: Mapping[str, str] | None, namespace: str
    ) -> tuple[NotificationConfig, Sequence[ConfigProblem]]:
        return load_config(configmap, secret, namespace=namespace)

    def destinations(
        self, config: ConfigLike, annotations: Mapping[str, str], labels: Mapping[str, str]
    ) -> Mapping[str, Collection[Destination]]:
        return destinations_for(_config(config), annotations, labels)

    def subscription_problems(self, config: ConfigLike, annotations: Mapping[str, str]) -> Sequence[tuple[str, str]]:
        return subscription_problems(_config(config), annotations)

    def trigger_for_reason(self, reason: str) -> str:
        return trigger_for_reason(reason)

    def run_trigger(self, config: ConfigLike, trigger: str, variables: Mapping[str, Any]) -> Sequence[TriggerResult]:
        return run_trigger(_config(config), trigger, variables)

    def variables(
        self, obj: Mapping[str, Any], *, kind: str, analysis_runs: Sequence[Mapping[str, Any]], now: datetime
    ) -> dict[str, Any]:
        return variables_for(obj, kind=kind, analysis_runs=analysis_runs, now=now)

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
        return render_notification(
            _config(config), templates, variables, service_type=service_type, service=service, recipient=recipient
        )
