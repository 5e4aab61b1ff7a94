"""The rollout phase (Healthy, Degraded, Progressing, Paused) and its message, as Argo Rollouts reports it.

Role: `calculate_phase` is what the controller writes to `status.phase`/`status.message` after computing the
conditions; `client_phase` is what the CLI and dashboard show, which also accounts for a spec change or an
unpause the controller has not yet seen. Both follow upstream's CalculateRolloutPhase and GetRolloutPhase
(utils/rollout/rolloututil.go) check for check and message for message, so scripts that wait on a phase or
grep a message behave the same. Collaborators: `conditions` (the Degraded reasons), the rollout status
calculation (controller side), `views` and the dashboard (client side).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ramp.core.conditions import INVALID_SPEC, ROLLOUT_ABORTED_REASON, TIMED_OUT_REASON, parse_time

HEALTHY = "Healthy"
DEGRADED = "Degraded"
PROGRESSING = "Progressing"
PAUSED = "Paused"

CANARY = "canary"
BLUE_GREEN = "blueGreen"

MANUALLY_PAUSED_MESSAGE = "manually paused"
RESTARTING_MESSAGE = "rollout is restarting"
MORE_REPLICAS_NEED_UPDATE_MESSAGE = "more replicas need to be updated"
UPDATED_REPLICAS_BECOMING_AVAILABLE_MESSAGE = "updated replicas are still becoming available"
ACTIVE_SERVICE_CUTOVER_PENDING_MESSAGE = "active service cutover pending"
WAITING_FOR_ANALYSIS_MESSAGE = "waiting for analysis to complete"
WAITING_FOR_POST_PROMOTION_VERIFICATION_MESSAGE = "waiting for post-promotion verification to complete"
OLD_REPLICAS_PENDING_TERMINATION_MESSAGE = "old replicas are pending termination"
WAITING_FOR_STEPS_MESSAGE = "waiting for all steps to complete"
SPEC_UPDATE_NOT_OBSERVED_MESSAGE = "waiting for rollout spec update to be observed"
UNPAUSING_MESSAGE = "waiting for rollout to unpause"

_COMPLETED_ANALYSIS_PHASES = frozenset({"Successful", "Failed", "Error", "Inconclusive"})
_DEGRADED_REASONS = frozenset({ROLLOUT_ABORTED_REASON, TIMED_OUT_REASON})


@dataclass(frozen=True)
class PhaseInputs:
    """What the phase depends on, read from a Rollout's spec and (new) status.

    `strategy` is "canary", "blueGreen" or "" (none). `pause_reasons` are the reasons of status.pauseConditions
    in order. `awaiting_post_promotion_analysis` is true for blue-green with a postPromotionAnalysis whose run
    has not completed. Times are RFC 3339 strings as stored.
    """

    spec_replicas: int = 1
    replicas: int = 0
    updated_replicas: int = 0
    available_replicas: int = 0
    strategy: str = CANARY
    has_traffic_routing: bool = False
    paused: bool = False
    pause_reasons: tuple[str, ...] = ()
    conditions: tuple[Mapping[str, Any], ...] = ()
    current_pod_hash: str = ""
    stable_rs: str = ""
    active_selector: str = ""
    restart_at: str | None = None
    restarted_at: str | None = None
    awaiting_post_promotion_analysis: bool = False

    @property
    def is_basic_canary(self) -> bool:
        return self.strategy == CANARY and not self.has_traffic_routing


def calculate_phase(inputs: PhaseInputs) -> tuple[str, str]:
    """Return (phase, message) for the controller to write, checks in upstream's order.

    1. An InvalidSpec condition, or any condition with reason RolloutAborted or ProgressDeadlineExceeded →
       Degraded, "<type or reason>: <message>" (the first such condition in list order).
    2. spec.paused → Paused "manually paused"; 3. a pause condition → Paused, its reason.
    4. spec.restartAt not yet matched by status.restartedAt → Progressing "rollout is restarting".
    5. updated < spec replicas, 6. available < updated → Progressing.
    7. blue-green: active selector not the current hash → "active service cutover pending"; then stableRS not the
       current hash → waiting for post-promotion analysis / verification.
    8. basic canary with replicas > updated → "old replicas are pending termination"; any canary with stableRS
       not the current hash → "waiting for all steps to complete". 9. Otherwise Healthy "".
    """
    for condition in inputs.conditions:
        if condition.get("type") == INVALID_SPEC:
            return DEGRADED, f"{INVALID_SPEC}: {condition.get('message', '')}"
        reason = condition.get("reason")
        if reason in _DEGRADED_REASONS:
            return DEGRADED, f"{reason}: {condition.get('message', '')}"
    if inputs.paused:
        return PAUSED, MANUALLY_PAUSED_MESSAGE
    if inputs.pause_reasons:
        return PAUSED, inputs.pause_reasons[0]
    if is_restart_pending(inputs.restart_at, inputs.restarted_at):
        return PROGRESSING, RESTARTING_MESSAGE
    if inputs.updated_replicas < inputs.spec_replicas:
        return PROGRESSING, MORE_REPLICAS_NEED_UPDATE_MESSAGE
    if inputs.available_replicas < inputs.updated_replicas:
        return PROGRESSING, UPDATED_REPLICAS_BECOMING_AVAILABLE_MESSAGE
    is_promoted = inputs.stable_rs != "" and inputs.stable_rs == inputs.current_pod_hash
    if inputs.strategy == BLUE_GREEN:
        if inputs.active_selector == "" or inputs.active_selector != inputs.current_pod_hash:
            return PROGRESSING, ACTIVE_SERVICE_CUTOVER_PENDING_MESSAGE
        if not is_promoted:
            if inputs.awaiting_post_promotion_analysis:
                return PROGRESSING, WAITING_FOR_ANALYSIS_MESSAGE
            return PROGRESSING, WAITING_FOR_POST_PROMOTION_VERIFICATION_MESSAGE
    elif inputs.strategy == CANARY:
        # Only basic canary: blue-green and routed canary keep old replicas up on purpose (scaleDownDelay).
        if inputs.is_basic_canary and inputs.replicas > inputs.updated_replicas:
            return PROGRESSING, OLD_REPLICAS_PENDING_TERMINATION_MESSAGE
        if not is_promoted:
            return PROGRESSING, WAITING_FOR_STEPS_MESSAGE
    return HEALTHY, ""


def is_restart_pending(restart_at: str | None, restarted_at: str | None) -> bool:
    """Whether spec.restartAt asks for a restart that status.restartedAt does not yet record (same instant)."""
    if not restart_at:
        return False
    if not restarted_at:
        return True
    wanted, done = parse_time(restart_at), parse_time(restarted_at)
    if wanted is None or done is None:
        return restart_at != restarted_at
    return wanted != done


def read_phase_inputs(rollout: Mapping[str, Any], status: Mapping[str, Any] | None = None) -> PhaseInputs:
    """Read `PhaseInputs` from a Rollout object; `status` overrides its status (the controller's new status)."""
    spec = _mapping(rollout.get("spec"))
    status = _mapping(rollout.get("status")) if status is None else status
    strategy = _mapping(spec.get("strategy"))
    strategy_kind = ""
    if strategy.get("blueGreen") is not None:
        strategy_kind = BLUE_GREEN
    elif strategy.get("canary") is not None:
        strategy_kind = CANARY
    canary = _mapping(strategy.get("canary"))
    blue_green = _mapping(strategy.get("blueGreen"))
    blue_green_status = _mapping(status.get("blueGreen"))
    post_run = _mapping(blue_green_status.get("postPromotionAnalysisRunStatus"))
    replicas = spec.get("replicas")
    return PhaseInputs(
        spec_replicas=1 if replicas is None else int(replicas),
        replicas=int(status.get("replicas") or 0),
        updated_replicas=int(status.get("updatedReplicas") or 0),
        available_replicas=int(status.get("availableReplicas") or 0),
        strategy=strategy_kind,
        has_traffic_routing=canary.get("trafficRouting") is not None,
        paused=bool(spec.get("paused")),
        pause_reasons=tuple(str(_mapping(c).get("reason", "")) for c in status.get("pauseConditions") or ()),
        conditions=tuple(_mapping(c) for c in status.get("conditions") or ()),
        current_pod_hash=str(status.get("currentPodHash") or ""),
        stable_rs=str(status.get("stableRS") or ""),
        active_selector=str(blue_green_status.get("activeSelector") or ""),
        restart_at=spec.get("restartAt") or None,
        restarted_at=status.get("restartedAt") or None,
        awaiting_post_promotion_analysis=blue_green.get("postPromotionAnalysis") is not None
        and post_run.get("status") not in _COMPLETED_ANALYSIS_PHASES,
    )


def client_phase(rollout: Mapping[str, Any]) -> tuple[str, str]:
    """Return (phase, message) as clients report it (upstream's GetRolloutPhase).

    Progressing "waiting for rollout spec update to be observed" while a numeric status.observedGeneration is
    below metadata.generation (a missing or non-numeric one counts as observed, as upstream); Progressing
    "waiting for rollout to unpause" while controllerPause is true with no pause conditions; otherwise
    status.phase and status.message, computed here when the controller has not written a phase yet.
    """
    status = _mapping(rollout.get("status"))
    if not is_generation_observed(rollout):
        return PROGRESSING, SPEC_UPDATE_NOT_OBSERVED_MESSAGE
    if status.get("controllerPause") and not status.get("pauseConditions"):
        return PROGRESSING, UNPAUSING_MESSAGE
    phase = status.get("phase")
    if phase:
        return str(phase), str(status.get("message") or "")
    return calculate_phase(read_phase_inputs(rollout))


def is_generation_observed(rollout: Mapping[str, Any]) -> bool:
    """Whether the controller has seen the current spec: status.observedGeneration (a string) >= generation."""
    observed = _mapping(rollout.get("status")).get("observedGeneration")
    try:
        observed_generation = int(str(observed))
    except ValueError:
        # Absent, or a pre-v0.10 hash: nothing to compare, as upstream.
        return True
    generation = _mapping(rollout.get("metadata")).get("generation")
    if not isinstance(generation, int):
        return True
    # A larger number is an all-digit pre-v0.10 hash, not a generation from the future.
    return observed_generation >= generation


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
