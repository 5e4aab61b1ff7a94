"""The Rollout reconciler: read the snapshot from the caches, decide, then write the least the decision needs.

One reconcile: parse and validate the Rollout (an invalid spec only sets InvalidSpec); find or create the
ReplicaSet of the current template (matching templates, not names, so ReplicaSets made by Argo Rollouts are
kept) and give the Rollout its revision (RolloutUpdated, then NewReplicaSetCreated, as upstream); when the
template or the steps just changed, only write the reset status (RolloutNotCompleted) and come back at once,
so the events keep upstream's order; otherwise let `ramp.rollout.canary` or `ramp.rollout.bluegreen` decide
sizes and status; restart pods (`ramp.rollout.restart`); for blue-green, switch the Services' selectors
(`ramp.rollout.services`) and annotate scale-down deadlines; scale; clean up old ReplicaSets beyond
revisionHistoryLimit; scale a referenced Deployment down (`ramp.rollout.workload`); then write the status in one
merge patch, guarded by the resourceVersion it was decided from. Every write is put back into the informer cache
at once, so the next reconcile never decides from the version it replaced.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from ramp.api import ManifestError, Problem, Rollout, parse_rollout
from ramp.core import conditions as cond
from ramp.core.hashing import compute_pod_template_hash
from ramp.core.podtemplate import comparable_live_template, comparable_template, is_same_pod_template
from ramp.core.replicas import SurgeLimits
from ramp.kube.caches import Informers
from ramp.kube.client import KubeClient
from ramp.kube.errors import ApiError
from ramp.kube.events import EventRecorder
from ramp.kube.reconcile import Result, describe_spec_error, is_transient
from ramp.kube.resources import EXPERIMENTS, PODS, REPLICA_SETS, ROLLOUTS, object_key
from ramp.rollout import analysisruns, bluegreen, restart, services, workload
from ramp.rollout.antiaffinity import (
    affinity_patch,
    calculate_template_affinity,
    remove_injected_anti_affinity,
    template_for_new_set,
)
from ramp.rollout.bluegreen import BlueGreenPlan, plan_blue_green
from ramp.rollout.canary import (
    CanaryPlan,
    Event,
    is_canary_update_start,
    limits_of,
    plan_canary,
    plan_canary_update_start,
)
from ramp.rollout.replicasets import (
    EPHEMERAL_METADATA_ANNOTATION,
    HASH_LABEL,
    REVISION_ANNOTATION,
    SCALE_DOWN_DEADLINE_ANNOTATION,
    WORKLOAD_GENERATION_ANNOTATION,
    ReplicaSetView,
    build_replica_set,
    is_owned_by,
    next_revision,
    scale_patch,
)
from ramp.rollout.routing import ROUTING_ANNOTATION, TrafficRouting, routing_record
from ramp.rollout.snapshot import Snapshot
from ramp.rollout.status import StatusInputs, complete_status, invalid_spec_status, status_patch
from ramp.rollout.validation import validate_rollout
from ramp.rollout.validation_references import (
    BACKGROUND_ANALYSIS,
    analysis_references,
    check_analysis_templates,
    check_service_labels,
)
from ramp.traffic.base import RouterError

log = logging.getLogger("ramp.rollout")
Obj = dict[str, Any]
_V = TypeVar("_V")
OWNER_INDEX = "rollout-owner"
PODS_METADATA_ANNOTATION = "rollouts.ramp.dev/ephemeral-metadata-pods"
"""On a ReplicaSet: the active/preview metadata its running pods were last all given (see `_sync_pod_metadata`)."""
MEMO_SIZE = 1024
"""Versions of ReplicaSets (their comparable templates) and of Rollouts (their parsed models) kept, oldest
forgotten first: enough for a few hundred Rollouts updating at once, a few MiB at most."""
ROUTER_RETRY_SECONDS = 10.0
"""A routing object that is missing or malformed is looked at again this often (unless it is watched)."""


def _is_blue_green(rollout: Rollout) -> bool:
    strategy = rollout.spec.strategy
    return strategy is not None and strategy.blue_green is not None and strategy.canary is None


def _memoized(memo: dict[tuple[str, str], _V], key: tuple[str, str], work: Callable[[], _V]) -> _V:
    """`work()` once per key (an incomplete key, without uid or version: every time); the oldest entry goes when the
    memo holds more than MEMO_SIZE."""
    if not all(key):
        return work()
    found = memo.get(key)
    if found is None:
        found = memo[key] = work()
        if len(memo) > MEMO_SIZE:
            del memo[next(iter(memo))]
    return found


def _spec_key(raw: Mapping[str, Any]) -> tuple[str, str]:
    """(uid, generation): the API server bumps a Rollout's generation on every change of its spec, and only then
    (status writes and annotations leave it as is), so what is worked out from the spec alone keeps per this key."""
    meta = raw.get("metadata") or {}
    return str(meta.get("uid", "")), str(meta.get("generation", ""))


def index_by_owner(rs: Obj) -> list[str]:
    """ReplicaSets informer index: `namespace/name` of the Rollout controlling the ReplicaSet."""
    meta = rs.get("metadata") or {}
    return [
        f"{meta.get('namespace')}/{ref.get('name')}"
        for ref in meta.get("ownerReferences") or []
        if ref.get("controller") and ref.get("kind") == "Rollout"
    ]


def _service_fields(raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field path, Service name) of every Service the Rollout's strategy names."""
    strategy = (raw.get("spec") or {}).get("strategy") or {}
    canary = strategy.get("canary")
    blue_green = strategy.get("blueGreen")
    found: list[tuple[str, str]] = []
    if isinstance(canary, Mapping):
        for key in ("stableService", "canaryService"):
            if canary.get(key):
                found.append((f"spec.strategy.canary.{key}", str(canary[key])))
        ping_pong = canary.get("pingPong") or {}
        for key in ("pingService", "pongService"):
            if isinstance(ping_pong, Mapping) and ping_pong.get(key):
                found.append((f"spec.strategy.canary.pingPong.{key}", str(ping_pong[key])))
    elif isinstance(blue_green, Mapping):
        for key in ("activeService", "previewService"):
            if blue_green.get(key):
                found.append((f"spec.strategy.blueGreen.{key}", str(blue_green[key])))
    return found


class RolloutReconciler:
    """Reconciles Rollouts (canary in `ramp.rollout.canary`, blue-green in `ramp.rollout.bluegreen`). Adds the
    ReplicaSet owner index it reads, so build it before the informers start."""

    def __init__(self, client: KubeClient, informers: Informers, recorder: EventRecorder) -> None:
        self.client = client
        self.informers = informers
        self.recorder = recorder
        self._announced: dict[str, str] = {}
        self._comparable_sets: dict[tuple[str, str], Any] = {}
        self._parsed: dict[tuple[str, str], Rollout] = {}
        self._validated: dict[tuple[str, str], list[Problem]] = {}
        self._wanted: dict[tuple[str, str], Any] = {}
        self.routing = TrafficRouting(client, informers)
        informers.replica_sets.add_index(OWNER_INDEX, index_by_owner)
        informers.analysis_runs.add_index(analysisruns.OWNER_INDEX, index_by_owner)
        informers.experiments.add_index(OWNER_INDEX, index_by_owner)

    async def reconcile(self, key: str) -> Result:
        raw = self.informers.rollouts.get(key)
        if raw is None:
            self._announced.pop(key, None)
            self.routing.forget(key)
            return Result()
        if raw["metadata"].get("deletionTimestamp"):
            return Result()
        self._announce(key, raw)
        now = datetime.now(UTC)
        try:
            return await self._reconcile(raw, now)
        except Exception as err:
            if is_transient(err):
                raise  # the API server or the network: retried with backoff
            # Anything else raised while reading or deciding on this Rollout is a problem of its spec: reported
            # once as InvalidSpec (the traceback at debug), never a retry loop.
            log.debug("spec cannot be processed", exc_info=err, extra={"rollout": key})
            return await self._write_invalid(raw, describe_spec_error(err), now)

    async def _reconcile(self, raw: Obj, now: datetime) -> Result:
        try:
            rollout = self._parse(raw)
        except ManifestError as err:
            return await self._write_invalid(raw, "; ".join(str(p) for p in err.problems), now)
        found = workload.resolve(raw, rollout, self.informers)
        if found.problem is not None:
            return await self._write_invalid(raw, found.problem, now)
        problems = self._validate(raw, rollout, found.template)
        if problems or found.template is None:
            return await self._write_invalid(raw, "; ".join(str(p) for p in problems), now)
        missing = self._missing_templates(raw) or self._missing_services(raw, found.template)
        if missing:
            return await self._write_invalid(raw, missing, now)
        sets = self._owned_sets(raw)
        new, created = await self._ensure_new_set(raw, rollout, found.template, found.selector, sets, found)
        if new is None:
            return Result.after(1.0)  # a name collision was recorded; the status change brings us back
        # Upstream's order: the Rollout takes the new revision (RolloutUpdated), then NewReplicaSetCreated.
        current, updated = await self._sync_revision(raw, new, created)
        if created:
            self.recorder.normal(
                raw, "NewReplicaSetCreated", f"Created ReplicaSet {new.name} (revision {new.revision})"
            )
        if not current:
            return Result()  # the Rollout changed meanwhile: the newer version is reconciled next
        if updated is not None:
            raw = updated
        sets = [*(rs for rs in sets if rs.name != new.name), new]
        runs = analysisruns.owned_runs(self.informers, raw)
        services = self._referenced_services(raw)
        experiments = self._owned_experiments(raw)
        snapshot = Snapshot(raw, rollout, found.template, found.selector, sets, new, now, runs, services, experiments)
        return await self._carry_out(snapshot, created, found)

    async def _carry_out(self, snapshot: Snapshot, created: bool, found: workload.Workload) -> Result:
        raw = snapshot.raw
        is_blue_green = _is_blue_green(snapshot.rollout)
        starting = bluegreen.is_update_start(snapshot) if is_blue_green else is_canary_update_start(snapshot)
        if starting:
            # A new template (or new steps): first only the reset status is written, as upstream does (its
            # RolloutNotCompleted comes before any scaling); the next reconcile, at once, carries the update out.
            start = bluegreen.plan_update_start(snapshot) if is_blue_green else plan_canary_update_start(snapshot)
            return await self._write_plan_status(snapshot, start, created, found, requeue_after=0.05, annotate=False)
        plan: CanaryPlan | BlueGreenPlan = plan_blue_green(snapshot) if is_blue_green else plan_canary(snapshot)
        limits = bluegreen.limits_of(snapshot) if is_blue_green else limits_of(snapshot)
        try:
            await self._carry_out_analysis(snapshot, plan)
        except analysisruns.RunCreationError as err:
            return await self._write_invalid(raw, str(err), snapshot.now)
        if isinstance(plan, CanaryPlan):
            if plan.experiments.problem:
                return await self._write_invalid(raw, plan.experiments.problem, snapshot.now)
            await self._carry_out_experiments(snapshot, plan)
        requeues: list[float] = []
        if plan.requeue_after is not None:
            requeues.append(plan.requeue_after)
        restart_state = await restart.reconcile_restart(self.client, self.recorder, snapshot, limits)
        if restart_state.restarted_at:
            plan.status["restartedAt"] = restart_state.restarted_at
        if restart_state.requeue_after is not None:
            requeues.append(restart_state.requeue_after)
        if isinstance(plan, BlueGreenPlan):
            await self._switch_services(snapshot, plan)
            await self._annotate_deadlines(snapshot, plan.deadlines)
            await self._sync_pod_metadata(snapshot, plan.pod_metadata)
        else:
            try:
                await self._route_traffic(snapshot, plan)
            except RouterError as err:
                await self._write_invalid(raw, str(err), snapshot.now)
                # A missing Ingress is watched: its creation reconciles the Rollout again, no polling needed.
                return Result() if err.watched else Result.after(ROUTER_RETRY_SECONDS)
            await self._annotate_deadlines(snapshot, plan.deadlines)
            await self._sync_pod_metadata(snapshot, plan.pod_metadata)
        await self._sync_anti_affinity(snapshot, str(plan.status.get("stableRS") or ""))
        await self._scale(snapshot, plan.scales)
        await self._clean_up_history(snapshot)
        wl_requeue = await workload.scale_down(self.client, self.recorder, raw, snapshot, found, plan.status)
        if wl_requeue is not None:
            requeues.append(wl_requeue)
        return await self._write_plan_status(snapshot, plan, created, found, requeues=requeues, limits=limits)

    async def _write_plan_status(
        self,
        snapshot: Snapshot,
        plan: CanaryPlan | BlueGreenPlan,
        created: bool,
        found: workload.Workload,
        *,
        requeues: list[float] | None = None,
        limits: SurgeLimits | None = None,
        requeue_after: float | None = None,
        annotate: bool = True,
    ) -> Result:
        """Annotate the Rollout (not before the routers were restored: the routing record says what to restore),
        write the plan's status with the conditions and phase, then record the events."""
        raw = snapshot.raw
        is_blue_green = isinstance(plan, BlueGreenPlan)
        if limits is None:
            limits = bluegreen.limits_of(snapshot) if is_blue_green else limits_of(snapshot)
        requeues = list(requeues or [])
        if requeue_after is not None:
            requeues.append(requeue_after)
        version = await self._sync_annotations(raw, snapshot.new, found.generation) if annotate else None
        result = complete_status(
            plan.status,
            StatusInputs(
                raw=raw,
                sets=snapshot.sets,
                new=snapshot.new,
                replicas=snapshot.replicas,
                max_unavailable=limits.max_unavailable,
                abort_message=plan.abort_message,
                progress_deadline_seconds=snapshot.rollout.spec.effective_progress_deadline_seconds,
                progress_deadline_abort=bool(snapshot.rollout.spec.progress_deadline_abort),
                paused_by_spec=bool(snapshot.rollout.spec.paused),
                selector=snapshot.selector,
                now=snapshot.now,
                new_set_created=created,
                blue_green=is_blue_green,
            ),
        )
        if result.requeue_after is not None:
            requeues.append(result.requeue_after)
        if await self._write_status(raw, result.status, version):
            # Only once the status that goes with them is written: a conflict means deciding again.
            for event in plan.events:
                self.recorder.record(raw, event.type, event.reason, event.message)
            if result.not_completed_now:
                message = cond.ROLLOUT_NOT_COMPLETED_MESSAGE.format(
                    revision=snapshot.new.revision, pod_hash=snapshot.new.pod_hash
                )
                self.recorder.normal(raw, cond.ROLLOUT_NOT_COMPLETED_REASON, message)
            if result.resumed_now:
                self.recorder.normal(raw, "RolloutResumed", "Rollout is resumed")
            if result.aborted_now:
                message = f"Rollout aborted update to revision {snapshot.new.revision}: progress deadline exceeded"
                self.recorder.warning(raw, "RolloutAborted", message)
            if result.timed_out_now:
                message = f"Rollout {snapshot.name} has timed out progressing"
                self.recorder.warning(raw, "ProgressDeadlineExceeded", message)
        return Result.after(min(requeues)) if requeues else Result()

    # -- AnalysisRuns ----------------------------------------------------------------------------------

    def _missing_templates(self, raw: Mapping[str, Any]) -> str | None:
        """A message naming each referenced analysis template that does not exist (as upstream's InvalidSpec), and
        what `check_analysis_templates` finds in the ones that do (a metric plugin, an endless metric, ...)."""
        namespace = str(raw["metadata"]["namespace"])
        problems = []
        for path, analysis in analysis_references(raw):
            try:
                found = analysisruns.find_templates(self.informers, namespace, analysis.get("templates") or [])
            except analysisruns.RunCreationError as err:
                problems.append(f"{path}.templates: {err}; create it or fix templateName")
                continue
            kinds = ("AnalysisTemplate", "ClusterAnalysisTemplate")
            templates = [(kind, template) for kind, group in zip(kinds, found, strict=True) for template in group]
            problems += check_analysis_templates(
                path,
                templates,
                background=path == BACKGROUND_ANALYSIS,
                arguments=analysis.get("args") or [],
            )
        return "; ".join(problems) or None

    async def _carry_out_analysis(self, snapshot: Snapshot, plan: CanaryPlan | BlueGreenPlan) -> None:
        """Create, cancel and delete the runs the plan asks for; created runs become current in the status."""
        raw = snapshot.raw
        namespace = str(raw["metadata"]["namespace"])
        decided = plan.analysis
        stable_hash = snapshot.stable_hash or snapshot.new.pod_hash
        built = [
            (
                request,
                analysisruns.build_rollout_run(
                    self.informers, raw, request, snapshot.new.revision, stable_hash, snapshot.new.pod_hash
                ),
            )
            for request in decided.create
        ]
        created_names: set[str] = set()
        for request, body in built:
            run = await analysisruns.create_run(self.client, self.informers, body, request.replaces)
            created_names.add(str(run["metadata"]["name"]))
            plan.record_created_run(request, run)
            log.info("created AnalysisRun", extra={"rollout": object_key(raw), "analysisrun": run["metadata"]["name"]})
        # Never cancel or delete a run just created (or found) under a collision-counted name.
        await analysisruns.terminate_runs(
            self.client, self.informers, namespace, [n for n in decided.terminate if n not in created_names]
        )
        await analysisruns.delete_runs(
            self.client, self.informers, namespace, [n for n in decided.delete if n not in created_names]
        )

    # -- Experiments (canary experiment steps) ------------------------------------------------------------

    def _owned_experiments(self, raw: Mapping[str, Any]) -> list[Obj]:
        uid = raw["metadata"].get("uid")
        return [
            experiment
            for experiment in self.informers.experiments.by_index(OWNER_INDEX, object_key(raw))
            if any(
                ref.get("controller") and ref.get("uid") == uid
                for ref in experiment["metadata"].get("ownerReferences") or []
            )
        ]

    async def _carry_out_experiments(self, snapshot: Snapshot, plan: CanaryPlan) -> None:
        """Create the step's Experiment and terminate the ones no longer current."""
        namespace = str(snapshot.raw["metadata"]["namespace"])
        decided = plan.experiments
        if decided.create is not None:
            try:
                created = await self.client.create(EXPERIMENTS, decided.create, namespace)
            except ApiError as err:
                if not err.is_already_exists:
                    raise
            else:
                self.informers.experiments.observe(created)
                name = created["metadata"]["name"]
                self.recorder.normal(snapshot.raw, "ExperimentCreated", f"Created Experiment '{name}'")
        for name in decided.terminate:
            try:
                updated = await self.client.patch(EXPERIMENTS, name, {"spec": {"terminate": True}}, namespace)
            except ApiError as err:
                if not err.is_not_found:
                    raise
                continue
            self.informers.experiments.observe(updated)

    # -- traffic (canary) ------------------------------------------------------------------------------

    async def _route_traffic(self, snapshot: Snapshot, plan: CanaryPlan) -> None:
        """Services, then routers (restoring the objects of routers that left the spec); before any scaling."""
        raw = snapshot.raw
        await self.routing.restore(raw)
        traffic = plan.traffic
        if traffic is None:
            return
        for service, before, after in await self.routing.switch_services(raw, traffic):
            self.recorder.normal(
                raw, "SwitchService", f"Switched selector for service '{service}' from '{before}' to '{after}'"
            )
        if not plan.routed:
            return
        weights = traffic.weights
        outcome = await self.routing.route(raw, traffic, weights.stable.service, weights.canary.service)
        plan.status["canary"] = {**(plan.status.get("canary") or {}), "weights": traffic.status(outcome.verified)}
        previous = ((snapshot.status.get("canary") or {}).get("weights") or {}).get("canary") or {}
        before = previous.get("weight", 0)
        if before != weights.canary.weight:
            plan.events.append(
                Event(
                    "Normal", "TrafficWeightUpdated", f"Traffic weight updated from {before} to {weights.canary.weight}"
                )
            )

    # -- Services (blue-green) -----------------------------------------------------------------------------

    def _referenced_services(self, raw: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
        namespace = str(raw["metadata"]["namespace"])
        found: dict[str, Mapping[str, Any]] = {}
        for _, wanted in _service_fields(raw):
            service = services.find_service(self.informers, namespace, wanted)
            if service is not None:
                found[wanted] = service
        return found

    def _missing_services(self, raw: Mapping[str, Any], template: Mapping[str, Any]) -> str | None:
        """A message naming each referenced Service that does not exist, is another Rollout's, or selects labels
        the pod template lacks (upstream's InvalidSpec); nothing is written then."""
        found = self._referenced_services(raw)
        name = str(raw["metadata"]["name"])
        problems = []
        for path, wanted in _service_fields(raw):
            service = found.get(wanted)
            if service is None:
                problems.append(f'{path}: Service "{wanted}" not found; create it or fix the name')
                continue
            owner = services.managing_rollout(service)
            if owner is not None and owner != name:
                problems.append(f'{path}: Service "{wanted}" is managed by Rollout "{owner}"; use another')
            problems += check_service_labels(path, service, (template.get("metadata") or {}).get("labels") or {})
        return "; ".join(problems) or None

    async def _switch_services(self, snapshot: Snapshot, plan: BlueGreenPlan) -> None:
        """Preview first, then active: the plan only ever points the active Service at fully available pods."""
        bg = bluegreen.strategy_of(snapshot)
        for name, pod_hash in ((bg.preview_service, plan.preview_hash), (bg.active_service, plan.active_hash)):
            service = snapshot.services.get(name or "")
            if service is None or not pod_hash:
                continue
            if await services.switch_selector(self.client, self.informers, service, snapshot.name, pod_hash):
                self.recorder.normal(
                    snapshot.raw,
                    "SwitchService",
                    f"Switched selector for service '{name}' from '{services.selected_hash(service)}' to '{pod_hash}'",
                )

    async def _annotate_deadlines(self, snapshot: Snapshot, deadlines: Mapping[str, str | None]) -> None:
        by_name = {rs.name: rs for rs in snapshot.sets}
        namespace = snapshot.raw["metadata"]["namespace"]
        for name, deadline in deadlines.items():
            rs = by_name.get(name)
            current = ((rs.raw.get("metadata") or {}).get("annotations") or {}) if rs is not None else {}
            if rs is None or current.get(SCALE_DOWN_DEADLINE_ANNOTATION) == deadline:
                continue
            patch = {"metadata": {"annotations": {SCALE_DOWN_DEADLINE_ANNOTATION: deadline}}}
            updated = await self.client.patch(REPLICA_SETS, name, patch, namespace)
            self.informers.replica_sets.observe(updated)

    async def _sync_pod_metadata(
        self, snapshot: Snapshot, wanted_by_name: Mapping[str, Mapping[str, Mapping[str, str]]]
    ) -> None:
        """Put the wanted ephemeral labels and annotations (blue-green active/preview, canary canary/stable) on a
        ReplicaSet's template and its running pods, removing the ones injected before; the annotation records
        them so template matching ignores them. Pods are patched, never restarted."""
        by_name = {rs.name: rs for rs in snapshot.sets}
        namespace = str(snapshot.raw["metadata"]["namespace"])
        for name, wanted in wanted_by_name.items():
            rs = by_name.get(name)
            record = json.dumps(wanted, sort_keys=True) if wanted else None
            annotations = (rs.raw.get("metadata") or {}).get("annotations") or {} if rs is not None else {}
            if rs is None or (rs.ephemeral_metadata == wanted and annotations.get(PODS_METADATA_ANNOTATION) == record):
                continue
            previous = rs.ephemeral_metadata
            changes: dict[str, dict[str, str | None]] = {}
            for kind in ("labels", "annotations"):
                change: dict[str, str | None] = {
                    k: None for k in previous.get(kind, {}) if k not in wanted.get(kind, {})
                }
                change.update(wanted.get(kind, {}))
                if change:
                    changes[kind] = change
            rs_patch = {
                "metadata": {"annotations": {EPHEMERAL_METADATA_ANNOTATION: record}},
                "spec": {"template": {"metadata": changes}},
            }
            updated = await self.client.patch(REPLICA_SETS, name, rs_patch, namespace)
            self.informers.replica_sets.observe(updated)
            pods = await self.client.list(PODS, namespace, label_selector=f"{HASH_LABEL}={rs.pod_hash}")
            for pod in pods.get("items") or []:
                if pod["metadata"].get("deletionTimestamp"):
                    continue
                try:
                    await self.client.patch(PODS, pod["metadata"]["name"], {"metadata": changes}, namespace)
                except ApiError as err:
                    if not err.is_not_found:
                        raise
            # Only now are the running pods known to carry it: a reconcile cut short before this point (or a pod
            # that could not be patched) patches them again next time, as upstream re-syncs pods every time.
            done = {"metadata": {"annotations": {PODS_METADATA_ANNOTATION: record}}}
            updated = await self.client.patch(REPLICA_SETS, name, done, namespace)
            self.informers.replica_sets.observe(updated)

    # -- ReplicaSets -----------------------------------------------------------------------------------

    def _comparable_set(self, rs: ReplicaSetView) -> Any:
        """The ReplicaSet's template as compared with the Rollout's, worked out once per generation of the
        ReplicaSet and its ephemeral-metadata annotation (its template is in its spec, whose every change bumps the
        generation; kube-controller-manager's status writes, many per update, do not): most reconciles find the same
        sets again."""
        meta = rs.raw.get("metadata") or {}
        annotation = str((meta.get("annotations") or {}).get(EPHEMERAL_METADATA_ANNOTATION, ""))
        generation = meta.get("generation")
        key = (str(meta.get("uid", "")), f"{generation}/{annotation}" if generation else "")
        return _memoized(
            self._comparable_sets,
            key,
            lambda: comparable_live_template(remove_injected_anti_affinity(rs.template), rs.ephemeral_metadata),
        )

    def _wanted_template(self, raw: Mapping[str, Any], rollout: Rollout, template: Mapping[str, Any]) -> Any:
        """The Rollout's template as ReplicaSets' are compared with it, once per generation of the Rollout when the
        template is its own."""
        key = _spec_key(raw) if rollout.spec.workload_ref is None else ("", "")
        return _memoized(self._wanted, key, lambda: comparable_template(template))

    def _parse(self, raw: Mapping[str, Any]) -> Rollout:
        """The Rollout's model, parsed once per resourceVersion (models are frozen, so sharing one is safe): an
        update wave reconciles each Rollout several times at the same version. A bad spec raises every time."""
        meta = raw.get("metadata") or {}
        key = (str(meta.get("uid", "")), str(meta.get("resourceVersion", "")))
        return _memoized(self._parsed, key, lambda: parse_rollout(raw))

    def _validate(self, raw: Mapping[str, Any], rollout: Rollout, template: Mapping[str, Any] | None) -> list[Problem]:
        """`validate_rollout` (which reads the spec alone), worked out once per generation when the template is the
        Rollout's own (a workloadRef's template lives in another object, whose changes leave the Rollout as is)."""
        key = _spec_key(raw) if rollout.spec.workload_ref is None else ("", "")
        return _memoized(self._validated, key, lambda: list(validate_rollout(rollout, template)))

    def _owned_sets(self, raw: Mapping[str, Any]) -> list[ReplicaSetView]:
        owned = self.informers.replica_sets.by_index(OWNER_INDEX, object_key(raw))
        return [
            ReplicaSetView.of(rs)
            for rs in owned
            if is_owned_by(rs, raw) and not rs["metadata"].get("deletionTimestamp")
        ]

    async def _ensure_new_set(
        self,
        raw: Mapping[str, Any],
        rollout: Rollout,
        template: Mapping[str, Any],
        selector: Mapping[str, Any],
        sets: list[ReplicaSetView],
        found: workload.Workload,
    ) -> tuple[ReplicaSetView | None, bool]:
        """The ReplicaSet of the current template: found by comparing templates (oldest first, as upstream),
        else created as `<rollout>-<hash>`."""
        wanted = self._wanted_template(raw, rollout, template)
        matching = [rs for rs in sorted(sets, key=lambda r: r.created) if self._comparable_set(rs) == wanted]
        min_ready = rollout.spec.effective_min_ready_seconds
        if matching:
            found_set = matching[0]
            newest = max((rs.revision for rs in sets if rs.name != found_set.name), default=0)
            if found_set.revision <= newest:
                # Back to an earlier template (undo, rollback): it becomes the newest revision, as upstream.
                found_set = await self._set_revision(raw, found_set, newest + 1)
            return found_set, False
        status = raw.get("status") or {}
        collisions = status.get("collisionCount")
        pod_hash = compute_pod_template_hash(template, collisions)
        revision = next_revision(sets)
        body = build_replica_set(
            raw,
            template_for_new_set(raw, template, pod_hash),
            selector,
            pod_hash,
            revision,
            min_ready,
            found.generation,
        )
        namespace = raw["metadata"]["namespace"]
        try:
            created = await self.client.create(REPLICA_SETS, body, namespace)
        except ApiError as err:
            if not err.is_already_exists:
                raise
            existing = await self.client.get(REPLICA_SETS, body["metadata"]["name"], namespace)
            seen = ReplicaSetView.of(existing)
            if is_owned_by(existing, raw) and is_same_pod_template(
                remove_injected_anti_affinity(seen.template), template, seen.ephemeral_metadata
            ):
                self.informers.replica_sets.observe(existing)
                return ReplicaSetView.of(existing), False
            count = int(collisions or 0) + 1
            await self._patch_status(raw, {"collisionCount": count})
            log.info("pod template hash collision", extra={"rollout": object_key(raw), "collisionCount": count})
            return None, False
        self.informers.replica_sets.observe(created)
        return ReplicaSetView.of(created), True

    async def _sync_anti_affinity(self, snapshot: Snapshot, stable_hash: str) -> None:
        """Keep the new ReplicaSet's injected anti-affinity term on the current stable pods, and take it off once
        the new ReplicaSet is stable (`ramp.rollout.antiaffinity`); running pods are not restarted."""
        new = snapshot.new
        wanted = calculate_template_affinity(snapshot.raw, new.template, new.pod_hash, stable_hash)
        operations = affinity_patch(new.raw, wanted)
        if not operations:
            return
        namespace = snapshot.raw["metadata"]["namespace"]
        updated = await self.client.patch(REPLICA_SETS, new.name, operations, namespace, patch_type="json")
        self.informers.replica_sets.observe(updated)

    async def _set_revision(self, raw: Mapping[str, Any], rs: ReplicaSetView, revision: int) -> ReplicaSetView:
        patch = {"metadata": {"annotations": {REVISION_ANNOTATION: str(revision)}}}
        updated = await self.client.patch(REPLICA_SETS, rs.name, patch, raw["metadata"]["namespace"])
        self.informers.replica_sets.observe(updated)
        return ReplicaSetView.of(updated)

    async def _scale(self, snapshot: Snapshot, scales: Mapping[str, int]) -> None:
        # Scale-downs first: they free the room scale-ups were computed to use.
        by_name = {rs.name: rs for rs in snapshot.sets}
        ordered = sorted(scales.items(), key=lambda item: item[1] >= by_name[item[0]].replicas)
        min_ready = snapshot.rollout.spec.effective_min_ready_seconds
        for name, count in ordered:
            rs = by_name[name]
            current_min_ready = (rs.raw.get("spec") or {}).get("minReadySeconds") or 0
            patch = scale_patch(count, snapshot.replicas, min_ready if current_min_ready != min_ready else None)
            updated = await self.client.patch(REPLICA_SETS, name, patch, snapshot.raw["metadata"]["namespace"])
            self.informers.replica_sets.observe(updated)
            direction = "up" if count > rs.replicas else "down"
            self.recorder.normal(
                snapshot.raw,
                "ScalingReplicaSet",
                f"Scaled {direction} ReplicaSet {name} (revision {rs.revision}) from {rs.replicas} to {count}",
            )

    async def _clean_up_history(self, snapshot: Snapshot) -> None:
        """Delete the oldest scaled-down ReplicaSets beyond revisionHistoryLimit (never the new or stable one)."""
        limit = snapshot.rollout.spec.effective_revision_history_limit
        keep = {snapshot.new.name, *(rs.name for rs in [snapshot.stable] if rs is not None)}
        idle = [rs for rs in snapshot.sets if rs.name not in keep and rs.replicas == 0 and rs.status_replicas == 0]
        excess = len(idle) - limit
        if excess <= 0:
            return
        namespace = snapshot.raw["metadata"]["namespace"]
        for rs in sorted(idle, key=lambda r: (r.revision, r.created))[:excess]:
            try:
                await self.client.delete(REPLICA_SETS, rs.name, namespace)
            except ApiError as err:
                if not err.is_not_found:
                    raise
            self.informers.replica_sets.forget(f"{namespace}/{rs.name}")

    async def _sync_revision(
        self, raw: Mapping[str, Any], new: ReplicaSetView, created: bool
    ) -> tuple[bool, Obj | None]:
        """Give the Rollout the revision of its current ReplicaSet: (False when the Rollout changed meanwhile, the
        Rollout as written or None when there was nothing to write). A new revision is announced with
        RolloutUpdated, as upstream does (not when an annotation merely missing is filled in for a revision that
        was already current, as on a takeover)."""
        annotations = raw["metadata"].get("annotations") or {}
        before = annotations.get(REVISION_ANNOTATION)
        if before == str(new.revision):
            return True, None
        patch = {
            "metadata": {
                "resourceVersion": raw["metadata"].get("resourceVersion"),
                "annotations": {REVISION_ANNOTATION: str(new.revision)},
            }
        }
        try:
            updated = await self.client.patch(ROLLOUTS, raw["metadata"]["name"], patch, raw["metadata"]["namespace"])
        except ApiError as err:
            if err.is_conflict:
                return False, None
            raise
        self.informers.rollouts.observe(updated)
        if before is not None or created:
            self.recorder.normal(updated, "RolloutUpdated", f"Rollout updated to revision {new.revision}")
        return True, dict(updated)

    async def _sync_annotations(
        self, raw: Mapping[str, Any], new: ReplicaSetView, workload_generation: int | None
    ) -> str | None:
        """Annotate the Rollout with its current revision (and the generation of its workload, as upstream);
        returns the resourceVersion after the write (the status patch that follows must be guarded by it, not
        by the one the snapshot was read at)."""
        annotations = raw["metadata"].get("annotations") or {}
        wanted: dict[str, str | None] = {REVISION_ANNOTATION: str(new.revision)}
        wanted[ROUTING_ANNOTATION] = routing_record(raw)
        if workload_generation is not None:
            wanted[WORKLOAD_GENERATION_ANNOTATION] = str(workload_generation)
        changed = {key: value for key, value in wanted.items() if annotations.get(key) != value}
        if not changed:
            return None
        # Guarded too: a Rollout changed since the snapshot must be decided again, not annotated.
        patch = {"metadata": {"resourceVersion": raw["metadata"].get("resourceVersion"), "annotations": changed}}
        try:
            updated = await self.client.patch(ROLLOUTS, raw["metadata"]["name"], patch, raw["metadata"]["namespace"])
        except ApiError as err:
            if err.is_conflict:
                return None  # the status patch will conflict too, and the newer version is reconciled next
            raise
        self.informers.rollouts.observe(updated)
        return str(updated["metadata"]["resourceVersion"])

    # -- status ----------------------------------------------------------------------------------------

    async def _write_invalid(self, raw: Mapping[str, Any], message: str, now: datetime) -> Result:
        status = invalid_spec_status(raw, message, now)
        if (raw.get("status") or {}).get("message") != status["message"]:
            log.info("invalid spec", extra={"rollout": object_key(raw), "problem": message})
            self.recorder.warning(raw, "InvalidSpec", message)
        else:
            log.debug("invalid spec, already reported", extra={"rollout": object_key(raw)})
        await self._write_status(raw, status)
        return Result()

    async def _write_status(
        self, raw: Mapping[str, Any], status: Mapping[str, Any], version: str | None = None
    ) -> bool:
        """Write the status if it changed; False when the Rollout had changed meanwhile (nothing written)."""
        patch = status_patch(raw.get("status") or {}, status)
        if patch is None:
            return True
        return await self._patch_status(raw, patch, version)

    async def _patch_status(self, raw: Mapping[str, Any], patch: Mapping[str, Any], version: str | None = None) -> bool:
        meta = raw["metadata"]
        body = {"metadata": {"resourceVersion": version or meta.get("resourceVersion")}, "status": patch}
        try:
            updated = await self.client.patch(ROLLOUTS, meta["name"], body, meta["namespace"], subresource="status")
        except ApiError as err:
            if err.is_conflict:
                # Decided from an old version: the watch brings the new one and another reconcile.
                log.debug("status conflict; will reconcile the newer version", extra={"rollout": object_key(raw)})
                return False
            raise
        # One line per status write, with the version it made: sharded replicas' logs are checked against
        # the objects' own history with it (docs/sharding.md).
        log.debug(
            "rollout status written",
            extra={
                "rollout": object_key(raw),
                "resourceVersion": (updated.get("metadata") or {}).get("resourceVersion"),
            },
        )
        self.informers.rollouts.observe(updated)
        return True

    def _announce(self, key: str, raw: Mapping[str, Any]) -> None:
        uid = str(raw["metadata"].get("uid", ""))
        if self._announced.get(key) != uid:
            self._announced[key] = uid
            self.recorder.normal(raw, "RolloutAddedToInformer", f"Rollout resource added to informer: {key}")
