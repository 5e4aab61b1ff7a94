"""Ramp's built-in triggers and templates: the nine Argo Rollouts ships in `manifests/notifications`, with the same
messages (`message` and `email.subject`) and Slack attachments of the same content (title, colour, fields).

Every built-in trigger has one condition with no `when` (it fires whenever the controller records the event of
its name, `triggers.trigger_for_reason`) and sends the template of the same subject. `config.load_config` puts
these under the ConfigMap's own keys: a `trigger.<name>` or `template.<name>` in the ConfigMap replaces Ramp's.
"""

from __future__ import annotations

from typing import Any, Final

GREEN: Final = "#18be52"
RED: Final = "#E01E5A"
AMBER: Final = "#ECB22E"

_NAME: Final = "{{.rollout.metadata.name}}"
_STEP: Final = "{{add .rollout.status.currentStepIndex 1}}/{{len .rollout.spec.strategy.canary.steps}}"
_STRATEGY: Final = (
    "{{if .rollout.spec.strategy.blueGreen}}BlueGreen{{end}}{{if .rollout.spec.strategy.canary}}Canary{{end}}"
)

TRIGGERS: Final[dict[str, tuple[str, ...]]] = {
    "on-rollout-completed": ("rollout-completed",),
    "on-rollout-step-completed": ("rollout-step-completed",),
    "on-rollout-updated": ("rollout-updated",),
    "on-scaling-replica-set": ("scaling-replicaset",),
    "on-rollout-paused": ("rollout-paused",),
    "on-rollout-aborted": ("rollout-aborted",),
    "on-analysis-run-running": ("analysis-run-running",),
    "on-analysis-run-error": ("analysis-run-error",),
    "on-analysis-run-failed": ("analysis-run-failed",),
}
"""Trigger name -> the templates its one condition sends."""

DESCRIPTIONS: Final[dict[str, str]] = {
    "on-rollout-completed": "The rollout finished: all its steps are done",
    "on-rollout-step-completed": "One step of the rollout's definition is done",
    "on-rollout-updated": "The rollout's definition changed",
    "on-scaling-replica-set": "The number of replicas of the rollout changed",
    "on-rollout-paused": "The rollout paused",
    "on-rollout-aborted": "The rollout was aborted before it finished",
    "on-analysis-run-running": "An analysis run of the rollout is running",
    "on-analysis-run-error": "An analysis run of the rollout hit an error",
    "on-analysis-run-failed": "An analysis run of the rollout failed",
}


def _attachments(color: str, *extra: tuple[str, str]) -> str:
    """A Slack attachment: the rollout's name, `color`, its strategy, `extra` (title, value template) fields,
    and one field per container (name: image)."""
    fields = [f'{{"title": "Strategy", "value": "{_STRATEGY}", "short": true}}']
    fields += [f'{{"title": "{title}", "value": "{value}", "short": true}}' for title, value in extra]
    containers = (
        "{{range .rollout.spec.template.spec.containers}}, "
        '{"title": {{toJson .name}}, "value": {{toJson .image}}, "short": true}{{end}}'
    )
    return (
        f'[{{"title": {{{{toJson .rollout.metadata.name}}}}, "color": "{color}", "fields": ['
        + ", ".join(fields)
        + containers
        + "]}]"
    )


def _template(message: str, color: str, *extra: tuple[str, str]) -> dict[str, Any]:
    return {"message": message, "email": {"subject": message}, "slack": {"attachments": _attachments(color, *extra)}}


TEMPLATES: Final[dict[str, dict[str, Any]]] = {
    "rollout-completed": _template(f"Rollout {_NAME} has been completed.", GREEN),
    "rollout-step-completed": _template(
        f"Rollout {_NAME} step number {_STEP} has been completed.", GREEN, ("Step completed", _STEP)
    ),
    "rollout-updated": _template(f"Rollout {_NAME} has been updated.", GREEN),
    "scaling-replicaset": _template(
        f"Scaling Rollout {_NAME}'s replicaset to {{{{.rollout.spec.replicas}}}}.",
        GREEN,
        ("Desired replica", "{{.rollout.spec.replicas}}"),
        ("Updated replicas", "{{.rollout.status.updatedReplicas}}"),
    ),
    "rollout-paused": _template(f"Rollout {_NAME} has been paused.", GREEN),
    "rollout-aborted": _template(f"Rollout {_NAME} has been aborted.", RED),
    "analysis-run-running": _template(f"Rollout {_NAME}'s analysis run is running.", GREEN),
    "analysis-run-error": _template(f"Rollout {_NAME}'s analysis run is in error state.", AMBER),
    "analysis-run-failed": _template(f"Rollout {_NAME}'s analysis run failed.", RED),
}
"""Template name -> its source (as a `template.<name>` key's YAML would give it)."""
