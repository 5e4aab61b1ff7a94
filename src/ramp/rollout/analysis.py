"""A canary's analysis as one decision: which AnalysisRuns to create, terminate and delete, what their phases mean
for the rollout (a step completed, an abort, an inconclusive pause) and the run statuses to show.

Follows upstream's documented behaviour: an `analysis` step runs one AnalysisRun for that step — Successful moves
to the next step, Failed or Error aborts, Inconclusive pauses (InconclusiveAnalysisRun) until promote or abort;
background analysis (`strategy.canary.analysis`) runs from `startingStep` until the rollout is promoted and aborts
it on failure. Runs are cancelled (`spec.terminate`) when the rollout is aborted, fully promoted, promoted with
`--full`, rolled back fast, or first deployed; runs of other revisions are cancelled and kept within the history
limits while their ReplicaSet exists. Run names are `<rollout>-<pod hash>-<revision>[-<step index>]`.

Blue-green's pre- and post-promotion runs (`<rollout>-<hash>-<revision>-pre|-post`, rollout-type PrePromotion /
PostPromotion) are decided one at a time by `plan_promotion_run`.

Pure: `ramp.rollout.canary` calls `plan_analysis`, `ramp.rollout.bluegreen` calls `plan_promotion_run`;
`ramp.rollout.analysisruns` creates, terminates and deletes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ramp.api.analysis_status import is_completed_phase
from ramp.core.steps import current_step
from ramp.rollout.pauses import BLUE_GREEN_PAUSE, CANARY_PAUSE, INCONCLUSIVE_PAUSE, has_pause

Obj = dict[str, Any]

POD_HASH_LABEL = "rollouts-pod-template-hash"
TYPE_LABEL = "rollout-type"
STEP_INDEX_LABEL = "step-index"
STEP_TYPE = "Step"
BACKGROUND_TYPE = "Background"
STEP_RUN_STATUS = "currentStepAnalysisRunStatus"
BACKGROUND_RUN_STATUS = "currentBackgroundAnalysisRunStatus"


@dataclass(frozen=True)
class RunRequest:
    """An AnalysisRun to create: from `analysis` (the step's or the background's spec, as written)."""

    kind: str
    analysis: Mapping[str, Any]
    name: str
    labels: Mapping[str, str]
    step_index: int | None = None
    replaces: str | None = None
    """The current run this one replaces (an inconclusive run promoted, a run aborted and retried): never adopted
    in its place when the name is taken (see `may_adopt_run`)."""


@dataclass
class AnalysisPlan:
    """What the analysis of one reconcile asks for."""

    step_run: Mapping[str, Any] | None = None
    background_run: Mapping[str, Any] | None = None
    create: list[RunRequest] = field(default_factory=list)
    terminate: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    abort_message: str | None = None
    pause_inconclusive: bool = False

    @property
    def is_step_successful(self) -> bool:
        return phase_of(self.step_run) == "Successful"


@dataclass(frozen=True)
class AnalysisInputs:
    """What the decision reads. `status` is the status being decided (after resets); `previous` as it was read."""

    rollout_name: str
    revision: int
    pod_hash: str
    steps: Sequence[Mapping[str, Any]]
    background: Mapping[str, Any] | None
    status: Mapping[str, Any]
    previous: Mapping[str, Any]
    runs: Sequence[Mapping[str, Any]]
    live_hashes: Mapping[str, bool]
    """Pod hash of each ReplicaSet of the rollout → True when it is being deleted."""
    successful_limit: int
    unsuccessful_limit: int
    cancel_all: bool
    """Aborted, fully promoted, promoted in full, rolled back fast, or first deployed."""
    selector_labels: Mapping[str, str] = field(default_factory=dict)


def phase_of(run: Mapping[str, Any] | None) -> str:
    return str(((run or {}).get("status") or {}).get("phase") or "")


def is_running(run: Mapping[str, Any]) -> bool:
    """Not finished, and not asked to stop."""
    return not is_completed_phase(phase_of(run)) and not (run.get("spec") or {}).get("terminate")


def name_of(run: Mapping[str, Any]) -> str:
    return str(run["metadata"]["name"])


def plan_analysis(inputs: AnalysisInputs) -> AnalysisPlan:
    """Decide the analysis of one canary reconcile."""
    plan = AnalysisPlan()
    canary = inputs.status.get("canary") or {}
    by_name = {name_of(run): run for run in inputs.runs}
    current_step_run = _current(by_name, canary.get(STEP_RUN_STATUS))
    current_background = _current(by_name, canary.get(BACKGROUND_RUN_STATUS))
    if inputs.cancel_all:
        _cancel(plan, current_step_run, inputs.pod_hash)
        _cancel(plan, current_background, inputs.pod_hash)
    else:
        plan.step_run = _plan_step(inputs, plan, current_step_run)
        plan.background_run = _plan_background(inputs, plan, current_background)
    current_names = {name_of(r) for r in (plan.step_run, plan.background_run) if r is not None}
    current_names |= {request.name for request in plan.create}
    others = [run for run in inputs.runs if name_of(run) not in current_names]
    for run in others:
        _cancel(plan, run, inputs.pod_hash)
    plan.delete = select_runs_to_delete(others, inputs.live_hashes, inputs.successful_limit, inputs.unsuccessful_limit)
    return plan


def _current(by_name: Mapping[str, Mapping[str, Any]], status: Any) -> Mapping[str, Any] | None:
    name = (status or {}).get("name") if isinstance(status, Mapping) else None
    return by_name.get(str(name)) if name else None


def _cancel(plan: AnalysisPlan, run: Mapping[str, Any] | None, pod_hash: str | None = None) -> None:
    if run is None or not should_cancel(run, pod_hash):
        return
    if name_of(run) not in plan.terminate:
        plan.terminate.append(name_of(run))


def should_cancel(run: Mapping[str, Any], pod_hash: str | None) -> bool:
    """Whether a run that is no longer current gets `spec.terminate`: a running one always (upstream's cancel); a
    finished one too when it belongs to the update `pod_hash` names, so that it is marked as done with and never
    taken for a run this update still has to make (see `may_adopt_run`). Each run is patched once.

    >>> done = {"metadata": {"name": "r", "labels": {"rollouts-pod-template-hash": "abc"}}, "spec": {},
    ...         "status": {"phase": "Successful"}}
    >>> should_cancel(done, "abc"), should_cancel(done, "def")
    (True, False)
    """
    meta = run.get("metadata") or {}
    if (run.get("spec") or {}).get("terminate") or meta.get("deletionTimestamp"):
        return False
    if is_running(run):
        return True
    return pod_hash is not None and (meta.get("labels") or {}).get(POD_HASH_LABEL) == pod_hash


def may_adopt_run(existing: Mapping[str, Any], wanted: Mapping[str, Any], replaces: str | None = None) -> bool:
    """Creating `wanted` found `existing` under its name: is it this very run, created by an earlier reconcile
    whose status write never landed (the controller was killed in between, or the write met a conflict)?

    Then the rollout takes it as its current run whatever its phase, instead of creating `<name>.1` and measuring
    again (a duplicate run, and a failed analysis forgotten). It is ours when the same Rollout controls it, its spec
    is the one wanted, and it was never put aside: not terminated (a run stops being current by being cancelled,
    finished ones of the update included, see `should_cancel`) and not the run being replaced. Upstream adopts only
    unfinished runs, so a crash between its create and its status write repeats a finished analysis.

    >>> owner = [{"uid": "u1", "controller": True}]
    >>> wanted = {"metadata": {"name": "r", "ownerReferences": owner}, "spec": {"metrics": []}}
    >>> failed = {**wanted, "status": {"phase": "Failed"}}
    >>> may_adopt_run(failed, wanted), may_adopt_run(failed, wanted, replaces="r")
    (True, False)
    >>> may_adopt_run({**failed, "spec": {"metrics": [], "terminate": True}}, wanted)
    False
    """
    meta = existing.get("metadata") or {}
    if meta.get("deletionTimestamp") or name_of(existing) == replaces:
        return False
    if (existing.get("spec") or {}).get("terminate"):
        return False
    owners = [ref.get("uid") for ref in wanted["metadata"].get("ownerReferences") or [] if ref.get("controller")]
    same_owner = any(ref.get("controller") and ref.get("uid") in owners for ref in meta.get("ownerReferences") or [])
    return bool(owners) and same_owner and existing.get("spec") == wanted.get("spec")


def _plan_step(inputs: AnalysisInputs, plan: AnalysisPlan, current: Mapping[str, Any] | None) -> Any:
    status = inputs.status
    if status.get("pauseConditions") or status.get("abort"):
        return current
    index = status.get("currentStepIndex")
    step = current_step(list(inputs.steps), index)
    analysis = (step or {}).get("analysis")
    from_previous_step = (
        current is not None
        and analysis is not None
        and ((current.get("metadata") or {}).get("labels") or {}).get(STEP_INDEX_LABEL) != str(index)
    )
    if not analysis or not analysis.get("templates") or index is None or from_previous_step:
        _cancel(plan, current, inputs.pod_hash)
        return None
    if _needs_new_run(current, inputs.previous):
        labels = {POD_HASH_LABEL: inputs.pod_hash, TYPE_LABEL: STEP_TYPE, STEP_INDEX_LABEL: str(index)}
        name = run_name(inputs.rollout_name, inputs.pod_hash, inputs.revision, str(index))
        replaces = name_of(current) if current is not None else None
        _cancel(plan, current, inputs.pod_hash)  # put aside at once: never taken back for a later request
        plan.create.append(RunRequest(STEP_TYPE, analysis, name, labels, index, replaces))
        return None
    _react_to_phase(plan, current, "Step-based analysis phase error/failed")
    return current


def _plan_background(inputs: AnalysisInputs, plan: AnalysisPlan, current: Mapping[str, Any] | None) -> Any:
    background = inputs.background
    status = inputs.status
    if not background or not background.get("templates"):
        _cancel(plan, current, inputs.pod_hash)
        return None
    starting = int(background.get("startingStep") or 0)
    index = status.get("currentStepIndex")
    before_start = bool(inputs.steps) and index is not None and int(index) < starting
    promoted = status.get("stableRS") == inputs.pod_hash
    if promoted or not status.get("stableRS") or not inputs.pod_hash or before_start:
        _cancel(plan, current, inputs.pod_hash)
        return None
    if has_pause(status, INCONCLUSIVE_PAUSE):
        return current
    if _needs_new_run(current, inputs.previous):
        labels = {POD_HASH_LABEL: inputs.pod_hash, TYPE_LABEL: BACKGROUND_TYPE}
        name = run_name(inputs.rollout_name, inputs.pod_hash, inputs.revision, None)
        replaces = name_of(current) if current is not None else None
        _cancel(plan, current, inputs.pod_hash)
        plan.create.append(RunRequest(BACKGROUND_TYPE, background, name, labels, replaces=replaces))
        return None
    _react_to_phase(plan, current, "Background analysis phase error/failed")
    return current


def _react_to_phase(plan: AnalysisPlan, run: Mapping[str, Any] | None, failure: str) -> None:
    phase = phase_of(run)
    if phase == "Inconclusive":
        plan.pause_inconclusive = True
    elif phase in ("Error", "Failed"):
        message = str(((run or {}).get("status") or {}).get("message") or "")
        text = f"{failure}: {message}" if message else failure
        plan.abort_message = plan.abort_message or text


def _needs_new_run(current: Mapping[str, Any] | None, previous: Mapping[str, Any]) -> bool:
    """As upstream: a first run; a new one after an inconclusive run was promoted; a new one after a retry."""
    if current is None:
        return True
    if (
        previous.get("controllerPause")
        and not has_pause(previous, CANARY_PAUSE)
        and not has_pause(previous, BLUE_GREEN_PAUSE)
    ):
        return phase_of(current) == "Inconclusive"
    return bool(previous.get("abortedAt"))


def run_name(rollout: str, pod_hash: str, revision: int, infix: str | None) -> str:
    """`<rollout>-<pod hash>-<revision>[-<infix>]`, as upstream names a Rollout's AnalysisRuns."""
    parts = [rollout, pod_hash, str(revision)]
    if infix:
        parts.append(infix)
    return "-".join(parts)


def run_status(run: Mapping[str, Any] | None) -> Obj | None:
    """A run as `status.canary.current*AnalysisRunStatus` shows it: name, status (its phase), message."""
    if run is None:
        return None
    shown: Obj = {"name": name_of(run), "status": phase_of(run)}
    message = ((run.get("status") or {}).get("message")) or ""
    if message:
        shown["message"] = message
    return shown


def select_runs_to_delete(
    runs: Sequence[Mapping[str, Any]], live_hashes: Mapping[str, bool], successful_limit: int, unsuccessful_limit: int
) -> list[str]:
    """Runs of ReplicaSets that are gone (or going), and finished runs beyond the history limits, newest kept.

    >>> run = lambda name, phase, t: {"metadata": {"name": name, "creationTimestamp": t,
    ...     "labels": {"rollouts-pod-template-hash": "abc"}}, "status": {"phase": phase}}
    >>> select_runs_to_delete([run("a", "Successful", "1"), run("b", "Successful", "2")], {"abc": False}, 1, 1)
    ['a']
    """
    ordered = sorted(runs, key=lambda r: str((r.get("metadata") or {}).get("creationTimestamp") or ""), reverse=True)
    kept_successful = kept_unsuccessful = 0
    doomed: list[str] = []
    for run in ordered:
        meta = run.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue
        pod_hash = (meta.get("labels") or {}).get(POD_HASH_LABEL)
        if pod_hash is None or pod_hash not in live_hashes or live_hashes[pod_hash]:
            doomed.append(name_of(run))
            continue
        phase = phase_of(run)
        if phase == "Successful":
            if kept_successful < successful_limit:
                kept_successful += 1
            else:
                doomed.append(name_of(run))
        elif phase in ("Failed", "Error", "Inconclusive"):
            if kept_unsuccessful < unsuccessful_limit:
                kept_unsuccessful += 1
            else:
                doomed.append(name_of(run))
    return doomed


# -- blue-green: pre- and post-promotion analysis ------------------------------------------------------------

PRE_PROMOTION_TYPE = "PrePromotion"
POST_PROMOTION_TYPE = "PostPromotion"
PRE_RUN_STATUS = "prePromotionAnalysisRunStatus"
POST_RUN_STATUS = "postPromotionAnalysisRunStatus"


@dataclass(frozen=True)
class PromotionRunInputs:
    """One of a blue-green rollout's promotion analyses. `wanted`: the run should exist now (the preview is
    ready, or the active Service has just switched); `skipped`: this update needs none (first deploy, a fast
    rollback, promote --full, already promoted), so a running one is cancelled and none is shown."""

    kind: str
    analysis: Mapping[str, Any] | None
    rollout_name: str
    revision: int
    pod_hash: str
    shown: Any
    """The run as status.blueGreen shows it (name, status), or None."""
    previous: Mapping[str, Any]
    runs: Sequence[Mapping[str, Any]]
    wanted: bool
    skipped: bool
    aborted: bool


@dataclass
class PromotionRunPlan:
    run: Mapping[str, Any] | None = None
    create: RunRequest | None = None
    terminate: list[str] = field(default_factory=list)
    abort_message: str | None = None
    pause_inconclusive: bool = False

    @property
    def is_successful(self) -> bool:
        return phase_of(self.run) == "Successful"


def plan_promotion_run(inputs: PromotionRunInputs) -> PromotionRunPlan:
    """Decide a pre- or post-promotion run (upstream's reconcilePre/PostPromotionAnalysisRun): created once
    wanted, named `<rollout>-<hash>-<revision>-pre|-post`; Failed or Error aborts, Inconclusive pauses; an abort
    cancels it (still shown, as the reason); a new one after a retry."""
    plan = PromotionRunPlan()
    by_name = {name_of(run): run for run in inputs.runs}
    current = _current(by_name, inputs.shown)
    if (
        current is not None
        and ((current.get("metadata") or {}).get("labels") or {}).get(POD_HASH_LABEL) != inputs.pod_hash
    ):
        current = None  # a run of an earlier update
    holder = AnalysisPlan()
    analysis = inputs.analysis
    if inputs.skipped or not analysis or not analysis.get("templates"):
        _cancel(holder, current, inputs.pod_hash)
        plan.terminate = holder.terminate
        if current is not None and is_completed_phase(phase_of(current)):
            plan.run = current  # the verdict of this update stays shown after the promotion it allowed
        return plan
    if inputs.aborted:
        _cancel(holder, current, inputs.pod_hash)
        plan.terminate = holder.terminate
        plan.run = current
        return plan
    if not inputs.wanted and current is None:
        return plan
    if _needs_new_run(current, inputs.previous):
        suffix = "pre" if inputs.kind == PRE_PROMOTION_TYPE else "post"
        labels = {POD_HASH_LABEL: inputs.pod_hash, TYPE_LABEL: inputs.kind}
        name = run_name(inputs.rollout_name, inputs.pod_hash, inputs.revision, suffix)
        replaces = name_of(current) if current is not None else None
        _cancel(holder, current, inputs.pod_hash)
        plan.terminate = holder.terminate
        plan.create = RunRequest(inputs.kind, analysis, name, labels, replaces=replaces)
        return plan
    reacted = AnalysisPlan()
    stage = "pre-promotion" if inputs.kind == PRE_PROMOTION_TYPE else "post-promotion"
    _react_to_phase(reacted, current, f"Blue/green {stage} analysis phase error/failed")  # upstream's words
    plan.abort_message = reacted.abort_message
    plan.pause_inconclusive = reacted.pause_inconclusive
    plan.run = current
    return plan
