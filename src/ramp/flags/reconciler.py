"""The FeatureFlag reconciler: read the flag and its AnalysisRuns from the informer caches, let
`ramp.flags.plan` decide, carry the run writes out, then write the status in one merge patch.

AnalysisRuns are built as a Rollout's are (`ramp.rollout.analysisruns.find_templates` and
`ramp.core.analysisruns.build_analysis_run`): the referenced templates, nested ones included, the flag's
arguments with `{{flag.key}}`, `{{flag.variant}}`, `{{flag.namespace}}` and `{{flag.name}}` filled in, owned by
the FeatureFlag (controller reference, so they go with it) and labelled with its controller instance id. A run
that cannot be built (a template missing, an argument without a value) aborts the rollout, naming the problem:
a flag is never opened further without the analysis it asks for.

The status goes to the status subresource guarded by the resourceVersion it was decided from, so a promote or
abort written meanwhile is never overwritten (the conflict is retried from the fresh object).

Built by `ramp.manager.wiring.build_feature_flag_reconciler`; adds its owner index to the AnalysisRuns
informer, so build it before the informers start.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from ramp.api.featureflag import RAMP_API_VERSION, FeatureFlag, FlagPhase, parse_feature_flag, validate_feature_flag
from ramp.api.meta import format_timestamp
from ramp.api.validation import ManifestError
from ramp.core.analysisruns import AnalysisTemplateError, build_analysis_run
from ramp.flags.plan import FlagPlan, RunRequest, plan_flag, plan_invalid
from ramp.kube.caches import Informers
from ramp.kube.client import KubeClient
from ramp.kube.events import NORMAL, WARNING, EventRecorder
from ramp.kube.informer import Informer
from ramp.kube.reconcile import Result
from ramp.kube.resources import FEATURE_FLAGS, object_key
from ramp.kube.selectors import inherited_instance_id
from ramp.rollout.analysisruns import RunCreationError, create_run, delete_runs, find_templates, terminate_runs

log = logging.getLogger("ramp.flags")
Obj = dict[str, Any]
OWNER_INDEX = "featureflag-owner"
FLAG_LABEL = "ramp.dev/featureflag"
_PLACEHOLDER = re.compile(r"\{\{\s*flag\.([A-Za-z]+)\s*\}\}")


def index_by_feature_flag(obj: Obj) -> list[str]:
    """Informer index: `namespace/name` of the FeatureFlag controlling the object."""
    meta = obj.get("metadata") or {}
    return [
        f"{meta.get('namespace')}/{ref.get('name')}"
        for ref in meta.get("ownerReferences") or []
        if ref.get("controller") and ref.get("kind") == "FeatureFlag"
    ]


def merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> Obj:
    """The JSON merge patch turning `old` into `new`: changed fields (objects recursively), null for removed ones.

    >>> merge_patch({"a": {"x": 1, "y": 2}, "b": 1}, {"a": {"x": 1}, "c": 3})
    {'a': {'y': None}, 'c': 3, 'b': None}
    """
    patch: Obj = {}
    for key, value in new.items():
        before = old.get(key)
        if before == value:
            continue
        if isinstance(value, Mapping) and isinstance(before, Mapping) and value:
            patch[key] = merge_patch(before, value)
        else:
            patch[key] = value
    patch.update({key: None for key in old if key not in new})
    return patch


def flag_values(flag: FeatureFlag) -> dict[str, str]:
    """What `{{flag.*}}` stands for in analysis arguments."""
    rollout = flag.spec.rollout
    return {
        "key": flag.flag_key,
        "variant": rollout.variant if rollout else flag.spec.default_variant,
        "defaultVariant": flag.spec.default_variant,
        "namespace": flag.metadata.namespace or "",
        "name": flag.metadata.name or "",
    }


def substitute_flag_values(text: str, values: Mapping[str, str], where: str) -> str:
    """`{{flag.key}}` and friends replaced; an unknown `{{flag.x}}` is refused naming the argument."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            known = ", ".join(f"{{{{flag.{n}}}}}" for n in values)
            raise RunCreationError(f"{where}: unknown placeholder {match.group(0)}; use one of {known}")
        return values[name]

    return _PLACEHOLDER.sub(replace, text)


def owner_reference(raw: Mapping[str, Any]) -> Obj:
    meta = raw["metadata"]
    return {
        "apiVersion": RAMP_API_VERSION,
        "kind": "FeatureFlag",
        "name": meta["name"],
        "uid": meta.get("uid", ""),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FeatureFlagReconciler:
    """Reconciles FeatureFlags: `reconcile("namespace/name")` as `ramp.kube.reconcile.Reconciler` asks."""

    def __init__(
        self,
        client: KubeClient,
        informers: Informers,
        flags: Informer,
        recorder: EventRecorder | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.client = client
        self.informers = informers
        self.flags = flags
        self.recorder = recorder
        self.clock = clock
        informers.analysis_runs.add_index(OWNER_INDEX, index_by_feature_flag)

    async def reconcile(self, key: str) -> Result:
        raw = self.flags.get(key)
        if raw is None or (raw.get("metadata") or {}).get("deletionTimestamp"):
            return Result()
        now = self.clock()
        try:
            flag = parse_feature_flag(raw)
        except ManifestError as error:
            message = "; ".join(str(problem) for problem in error.problems)
            await self._write_status(raw, {**(raw.get("status") or {}), "message": f"InvalidSpec: {message}"})
            return Result()
        problems = validate_feature_flag(flag)
        if problems:
            await self._write_status(raw, plan_invalid(flag, problems, now).status)
            return Result()
        uid = (raw.get("metadata") or {}).get("uid")
        runs = {
            str(run["metadata"]["name"]): run
            for run in self.informers.analysis_runs.by_index(OWNER_INDEX, object_key(raw))
            if any(r.get("controller") and r.get("uid") == uid for r in run["metadata"].get("ownerReferences") or [])
        }
        plan = plan_flag(flag, runs, now)
        await self._carry_out(raw, flag, plan, now)
        await self._write_status(raw, plan.status)
        self._record(raw, raw.get("status") or {}, plan.status)
        return Result.after(plan.requeue_after) if plan.requeue_after else Result()

    async def _carry_out(self, raw: Obj, flag: FeatureFlag, plan: FlagPlan, now: datetime) -> None:
        namespace = str(raw["metadata"]["namespace"])
        if plan.delete:
            await delete_runs(self.client, self.informers, namespace, plan.delete)
        if plan.terminate:
            await terminate_runs(self.client, self.informers, namespace, plan.terminate)
        for request in plan.create:
            try:
                run = self.build_run(raw, flag, request)
            except RunCreationError as error:
                _abort_for(plan, f'aborted: cannot create AnalysisRun "{request.name}": {error}', now)
                return
            await create_run(self.client, self.informers, run)
            log.info("created AnalysisRun", extra={"featureflag": object_key(raw), "analysisrun": request.name})

    def build_run(self, raw: Mapping[str, Any], flag: FeatureFlag, request: RunRequest) -> Obj:
        """The AnalysisRun manifest of a request; raises RunCreationError naming what is missing."""
        namespace = str(raw["metadata"]["namespace"])
        refs = [ref.model_dump(by_alias=True, exclude_none=True) for ref in request.analysis.templates]
        templates, cluster_templates = find_templates(self.informers, namespace, refs)
        values = flag_values(flag)
        args = [
            {"name": arg.name, "value": substitute_flag_values(arg.value or "", values, f"args {arg.name}")}
            for arg in request.analysis.args or []
        ]
        labels = {FLAG_LABEL: str(raw["metadata"]["name"]), "ramp.dev/analysis": request.slot}
        labels.update(inherited_instance_id(raw))
        try:
            return build_analysis_run(
                name=request.name,
                namespace=namespace,
                templates=templates,
                cluster_templates=cluster_templates,
                args=args,
                labels=labels,
                owner_reference=owner_reference(raw),
            )
        except AnalysisTemplateError as error:
            raise RunCreationError(str(error)) from error

    def _record(self, raw: Mapping[str, Any], old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        """Events for what changed: the weight, a pause, an abort, the end of the rollout."""
        if self.recorder is None:
            return
        for event_type, reason, message in flag_events(old, new):
            self.recorder.record(raw, event_type, reason, message)

    async def _write_status(self, raw: Mapping[str, Any], status: Mapping[str, Any]) -> None:
        old = raw.get("status") or {}
        diff = merge_patch(old, status)
        if not diff:
            return
        meta = raw["metadata"]
        patch = {"metadata": {"resourceVersion": meta.get("resourceVersion")}, "status": diff}
        updated = await self.client.patch(
            FEATURE_FLAGS, str(meta["name"]), patch, str(meta["namespace"]), subresource="status"
        )
        self.flags.observe(updated)


def flag_events(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(type, reason, message) of the events a status change deserves, in a Rollout's reasons where they fit.

    >>> flag_events({"weight": 10}, {"weight": 50, "phase": "Progressing"})
    [('Normal', 'WeightUpdated', 'weight of the new variant: 10% -> 50%')]
    """
    events: list[tuple[str, str, str]] = []
    phase, before = new.get("phase"), old.get("phase")
    if old.get("weight") != new.get("weight") and new.get("weight") is not None:
        message = f"weight of the new variant: {old.get('weight') or 0}% -> {new.get('weight')}%"
        events.append((NORMAL, "WeightUpdated", message))
    if phase != before:
        message = str(new.get("message") or "")
        if phase == FlagPhase.DEGRADED:
            events.append((WARNING, "RolloutAborted", message))
        elif phase == FlagPhase.PAUSED:
            events.append((NORMAL, "RolloutPaused", message))
        elif phase == FlagPhase.HEALTHY:
            events.append((NORMAL, "RolloutCompleted", message))
    return events


def _abort_for(plan: FlagPlan, message: str, now: datetime) -> None:
    status = plan.status
    status.update(abort=True, weight=0, phase=FlagPhase.DEGRADED, abortedAt=format_timestamp(now), message=message)
    status.pop("pauseConditions", None)
    status.pop("controllerPause", None)
