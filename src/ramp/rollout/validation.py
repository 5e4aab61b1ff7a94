"""Checks on a Rollout beyond its schema: the rules that make a spec impossible (or unsafe) to carry out.

`ramp.api` parses a manifest field by field; this module looks at fields together (selector against template
labels, the two strategies, the spec's counts and deadlines, blue-green's services). The canary strategy's
rules live in `ramp.rollout.validation_canary`, its steps' in `ramp.rollout.validation_steps`. The rules follow
upstream's pkg/apis/rollouts/validation (one rule each); where upstream's message is a known string it starts
Ramp's message, and the fix follows. Each problem names the field.

One shared validation: the reconciler turns problems into the InvalidSpec condition and changes nothing else;
`ramp lint` prints the same problems (`check_rollout` is what both run on a manifest). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ramp.api import ManifestError, Problem, Rollout, parse_rollout
from ramp.api.meta import resolve_int_or_percent
from ramp.rollout.validation_canary import check_canary
from ramp.rollout.validation_pods import (
    MISSING_FIELD,
    NON_NEGATIVE,
    check_anti_affinity,
    check_selector,
    check_template,
    check_template_shape,
)

MULTIPLE_STRATEGIES = "Multiple Strategies can not be listed"
WORKLOAD_REF_TEMPLATE = "template must be empty for workload reference rollout"
DUPLICATE_BLUE_GREEN_SERVICES = (
    "This rollout uses the same service for the active and preview services, but two different services are required."
)
SCALE_DOWN_LIMIT_ABOVE_HISTORY = (
    "This rollout's revision history limit can not be smaller than the rollout's scale down limit"
)


def check_rollout(manifest: Any) -> list[Problem]:
    """Every problem of a Rollout manifest: its schema (`ramp.api`), then `validate_rollout`. Empty when valid."""
    try:
        rollout = parse_rollout(manifest)
    except ManifestError as error:
        return list(error.problems)
    except (ArithmeticError, ValueError, TypeError, RecursionError) as error:
        # A parser that fails in another way (an overflowing duration, say) still makes a problem, not a crash.
        return [Problem("spec", f"cannot be read: {error} ({type(error).__name__}); fix the value it names")]
    return validate_rollout(rollout)


def validate_rollout(rollout: Rollout, template: Mapping[str, Any] | None = None) -> list[Problem]:
    """Every semantic problem of a parsed Rollout. `template` is the pod template in effect (the workload's
    when `spec.workloadRef` is used); by default the Rollout's own."""
    spec = rollout.spec
    problems: list[Problem] = []
    raw_template = spec.template
    if spec.workload_ref is not None and raw_template:
        problems.append(Problem("spec.template", f"{WORKLOAD_REF_TEMPLATE}; remove spec.template or spec.workloadRef"))
    if spec.workload_ref is None and not raw_template:
        problems.append(Problem("spec.template", "required: give a pod template (or spec.workloadRef)"))
    effective = template if template is not None else raw_template
    shape = check_template_shape(effective)
    if shape:
        return problems + shape
    problems += check_selector(rollout, effective)
    problems += check_template(effective)
    problems += _check_counts(rollout)
    problems += _check_strategy(rollout)
    return problems


def _check_counts(rollout: Rollout) -> list[Problem]:
    spec = rollout.spec
    problems = [
        Problem(f"spec.{name}", f"{NON_NEGATIVE}, got {value}; use 0 or more")
        for name, value in (
            ("replicas", spec.replicas),
            ("minReadySeconds", spec.min_ready_seconds),
            ("revisionHistoryLimit", spec.revision_history_limit),
            ("progressDeadlineSeconds", spec.progress_deadline_seconds),
        )
        if value is not None and value < 0
    ]
    deadline = spec.effective_progress_deadline_seconds
    if deadline <= spec.effective_min_ready_seconds:
        problems.append(
            Problem(
                "spec.progressDeadlineSeconds",
                f"must be greater than minReadySeconds ({deadline} <= {spec.effective_min_ready_seconds}, "
                "progressDeadlineSeconds defaults to 600); raise spec.progressDeadlineSeconds or lower "
                "spec.minReadySeconds",
            )
        )
    return problems


def _check_strategy(rollout: Rollout) -> list[Problem]:
    strategy = rollout.spec.strategy
    if strategy is None or (strategy.canary is None and strategy.blue_green is None):
        missing = MISSING_FIELD.format(".spec.strategy.canary or .spec.strategy.blueGreen")
        return [Problem("spec.strategy", f"{missing}; set one of them")]
    if strategy.canary is not None and strategy.blue_green is not None:
        return [
            Problem(
                "spec.strategy",
                f"{MULTIPLE_STRATEGIES}: both canary and blueGreen are set; keep only spec.strategy.canary "
                "or spec.strategy.blueGreen",
            )
        ]
    if strategy.canary is not None:
        limits = [
            ("canary.maxSurge", strategy.canary.max_surge),
            ("canary.maxUnavailable", strategy.canary.max_unavailable),
        ]
        return _check_limits(limits) + check_canary(rollout, strategy.canary)
    blue_green = strategy.blue_green
    limits = [("blueGreen.maxUnavailable", blue_green.max_unavailable if blue_green is not None else None)]
    return _check_limits(limits) + _check_blue_green(rollout)


def _check_limits(limits: list[tuple[str, int | str | None]]) -> list[Problem]:
    """maxSurge and maxUnavailable must be a count or a percentage of 0 or more (upstream's
    ValidatePositiveIntOrPercent), or the replica arithmetic cannot use them."""
    problems: list[Problem] = []
    for field, value in limits:
        if value is None:
            continue
        shown = repr(value) if len(str(value)) <= 40 else repr(f"{str(value)[:40]}...")
        try:
            count = resolve_int_or_percent(value, 100, round_up=False)
        except (ValueError, ArithmeticError):  # ArithmeticError: a percentage too large for a float
            problems.append(
                Problem(
                    f"spec.strategy.{field}",
                    f'{shown} is neither a count nor a percentage; use a count such as 1 or a percentage such as "25%"',
                )
            )
            continue
        if count < 0:
            problems.append(Problem(f"spec.strategy.{field}", f"{shown} is negative; use 0 or more"))
    return problems


def _check_blue_green(rollout: Rollout) -> list[Problem]:
    strategy = rollout.spec.strategy
    blue_green = strategy.blue_green if strategy is not None else None
    if blue_green is None:
        return []
    where = "spec.strategy.blueGreen"
    problems: list[Problem] = []
    if not blue_green.active_service:
        problems.append(Problem(f"{where}.activeService", "required: the Service that serves traffic"))
    elif blue_green.preview_service == blue_green.active_service:
        problems.append(
            Problem(
                f"{where}.activeService",
                f"{DUPLICATE_BLUE_GREEN_SERVICES} Use another Service for {where}.previewService",
            )
        )
    count = blue_green.preview_replica_count
    if count is not None and count < 0:
        problems.append(Problem(f"{where}.previewReplicaCount", f"{NON_NEGATIVE}, got {count}; use 0 or more"))
    limit = blue_green.scale_down_delay_revision_limit
    history = rollout.spec.effective_revision_history_limit
    if limit is not None and history < limit:
        problems.append(
            Problem(
                f"{where}.scaleDownDelayRevisionLimit",
                f"{SCALE_DOWN_LIMIT_ABOVE_HISTORY} ({limit} > {history}); lower it or raise spec.revisionHistoryLimit",
            )
        )
    problems += check_anti_affinity(blue_green.anti_affinity, f"{where}.antiAffinity")
    return problems
