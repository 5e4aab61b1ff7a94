"""Triggers: which trigger an event fires, what its conditions see, and which of them hold.

As Argo Rollouts does it (utils/record/record.go): the controller records an event with a reason such as
`RolloutCompleted`; the reason names the trigger (`on-rollout-completed`, `trigger_for_reason`); the trigger's
conditions run on `variables_for(...)` (`rollout`, `analysisRuns`, `time`, `secrets`); a condition with no `when`
always holds (Rollouts' own rule: its built-in triggers have none); each result carries the key upstream's
bookkeeping uses (`[<index>].<sha1 of when, base64url>`) and, with `oncePer`, the value that makes it fire once
per distinct value. `when` and `oncePer` run on Ramp's expression language (`ramp.analysis.expression`, bounded,
never eval), with host methods on (`time.Now().Sub(...)`).

Pure: time is passed in. Used by the delivery layer and the CLI (`ramp notifications trigger run`).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from ramp.analysis.expression import ExpressionError, compile_expression
from ramp.analysis.expression.hosts import time_namespace
from ramp.analysis.expression.values import format_value, name_type
from ramp.notifications.config import NotificationConfig
from ramp.notifications.subscriptions import Destination

_FIRST_CAPITAL: Final = re.compile(r"(.)([A-Z][a-z]+)")
_ALL_CAPITALS: Final = re.compile(r"([a-z0-9])([A-Z])")
POD_HASH_LABEL: Final = "rollouts-pod-template-hash"
REVISION_ANNOTATION: Final = "rollout.argoproj.io/revision"


class TriggerError(ValueError):
    """A trigger that cannot run (not configured); the message names it and the configured ones."""


@dataclass(frozen=True)
class TriggerResult:
    """One condition's outcome. `key` is upstream's `[<index>].<hash of when>`, stable across restarts;
    `error` says why a condition that could not be evaluated counts as not triggered."""

    key: str
    triggered: bool
    templates: tuple[str, ...]
    once_per: str | None = None
    error: str | None = None


def trigger_for_reason(reason: str) -> str:
    """The trigger an event reason fires, by upstream's rule (words split at capitals, lower case, `on-`).

    >>> trigger_for_reason("RolloutCompleted"), trigger_for_reason("ScalingReplicaSet")
    ('on-rollout-completed', 'on-scaling-replica-set')
    >>> trigger_for_reason("AnalysisRunFailed")
    'on-analysis-run-failed'
    """
    words = _FIRST_CAPITAL.sub(r"\1-\2", reason)
    words = _ALL_CAPITALS.sub(r"\1-\2", words)
    return "on-" + words.lower()


def hash_condition(when: str) -> str:
    """notifications-engine's condition hash: SHA-1 of the text, unpadded base64url."""
    return base64.urlsafe_b64encode(hashlib.sha1(when.encode()).digest()).decode().rstrip("=")


def condition_key(index: int, when: str) -> str:
    """`[<index>].<hash>`: the key of condition `index` of a trigger."""
    return f"[{index}].{hash_condition(when)}"


def run_trigger(config: NotificationConfig, trigger: str, variables: Mapping[str, Any]) -> list[TriggerResult]:
    """Every condition of `trigger` on `variables`; TriggerError if the trigger is not configured.

    A condition whose `when` fails to evaluate (or gives no bool) is not triggered and says why in `error`."""
    conditions = config.triggers.get(trigger)
    if conditions is None:
        known = ", ".join(sorted(config.triggers)) or "none"
        raise TriggerError(f"trigger {trigger!r} is not configured (configured: {known})")
    env = dict(variables)
    env.setdefault("secrets", dict(config.secrets))
    results: list[TriggerResult] = []
    for index, condition in enumerate(conditions):
        key = condition_key(index, condition.when)
        triggered, error = True, None
        if condition.when:
            triggered, error = _holds(condition.when, env)
        once_per = None
        if triggered and condition.once_per:
            once_per, error = _once_per(condition.once_per, env)
        results.append(TriggerResult(key, triggered, condition.send, once_per, error))
    return results


def _holds(when: str, env: Mapping[str, Any]) -> tuple[bool, str | None]:
    try:
        value = compile_expression(when, methods=True).evaluate(env)
    except ExpressionError as error:
        return False, f"when {when!r}: {error}"
    if value is True or value is False:
        return value, None
    return False, f"when {when!r} gave {name_type(value)}, not true or false"


def _once_per(source: str, env: Mapping[str, Any]) -> tuple[str | None, str | None]:
    try:
        value = compile_expression(source, methods=True).evaluate(env)
    except ExpressionError as error:
        return None, f"oncePer {source!r}: {error}"
    return format_value(value), None


def state_key(
    trigger: str, result: TriggerResult, destination: Destination, *, self_service_namespace: str | None = None
) -> str:
    """The key of one sent notification in the `notified.notifications.argoproj.io` annotation, as
    notifications-engine writes it: `[<oncePer>:][<namespace>:]<trigger>:<key>:<service>:<recipient>`
    (the namespace only for a self-service configuration in the object's own namespace)."""
    key = f"{trigger}:{result.key}:{destination.service}:{destination.recipient}"
    if self_service_namespace is not None:
        key = f"{self_service_namespace}:{key}"
    if result.once_per:
        key = f"{result.once_per}:{key}"
    return key


def variables_for(
    obj: Mapping[str, Any],
    *,
    kind: str = "Rollout",
    analysis_runs: Sequence[Mapping[str, Any]] | None = None,
    now: datetime,
) -> dict[str, Any]:
    """What conditions and templates see, as upstream gives them: `rollout` (the object; upstream names it so
    whatever its kind), `time` (`Now()` is `now`, `Parse(rfc3339)`), and, when the caller knows the analysis runs
    (None: it does not, as upstream's CLI), `analysisRuns`: the object's runs of its current pod hash and
    revision, newest first (None when none has the pod hash). An object of another kind is also under its own
    name (`analysisRun` for an AnalysisRun)."""
    variables: dict[str, Any] = {"rollout": obj, "time": time_namespace(now)}
    if kind != "Rollout":
        variables[kind[:1].lower() + kind[1:]] = obj
    if analysis_runs is not None:
        variables["analysisRuns"] = select_analysis_runs(obj, analysis_runs)
    return variables


def select_analysis_runs(
    rollout: Mapping[str, Any], analysis_runs: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]] | None:
    """The runs of the rollout's current pod hash and revision, newest first; None when none has the pod hash."""
    pod_hash = str((rollout.get("status") or {}).get("currentPodHash") or "")
    revision = _annotation(rollout, REVISION_ANNOTATION)
    same_hash = [run for run in analysis_runs if _label(run, POD_HASH_LABEL) == pod_hash]
    if not same_hash:
        return None
    chosen = [run for run in same_hash if _annotation(run, REVISION_ANNOTATION) == revision]
    return sorted(chosen, key=lambda run: str((run.get("metadata") or {}).get("creationTimestamp") or ""), reverse=True)


def _label(obj: Mapping[str, Any], key: str) -> str:
    return str(((obj.get("metadata") or {}).get("labels") or {}).get(key) or "")


def _annotation(obj: Mapping[str, Any], key: str) -> str:
    return str(((obj.get("metadata") or {}).get("annotations") or {}).get(key) or "")
