"""The Experiment reconciler: read the Experiment and what it owns from the informer caches, let
`ramp.experiments.plan` decide, carry the writes out, then write the status in one merge patch.

One reconcile (upstream's syncHandler): an invalid spec only sets the InvalidSpec condition; otherwise the owned
ReplicaSets and Services are matched to their templates (controller UID and the experiment annotations), the
owned AnalysisRuns and the analyses' AnalysisTemplates are read, and the plan is carried out in order:
ReplicaSets created, scale-down deadlines annotated, ReplicaSets scaled, Services created and deleted, runs
created (`<experiment>-<analysis>`, or `.1`, `.2`... when the name is taken, as the Rollout's runs) and
terminated. A write that fails for good (not a conflict or an unavailable server, which are retried with
backoff) is reported back to the plan, which decides the status again with it (the template or analysis then
shows Error with upstream's message). The status is patched on the object — the Experiment CRD has no status
subresource, as upstream's — guarded by the resourceVersion it was decided from; events follow the write.

Built by `ramp.manager.wiring.build_experiment_reconciler`; adds its owner indexes to the ReplicaSets,
AnalysisRuns and Services informers, so build it before the informers start.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from ramp.analysis.reconciler import diff_status
from ramp.api import ManifestError
from ramp.api.experiment import parse_experiment
from ramp.experiments.assessment import plan_invalid_spec, verify_spec
from ramp.experiments.objects import TemplatesFound, is_owned, map_by_template, template_of
from ramp.experiments.plan import Event, Inputs, Plan, plan_experiment
from ramp.kube.caches import Informers
from ramp.kube.client import KubeClient
from ramp.kube.errors import ApiError
from ramp.kube.events import EventRecorder
from ramp.kube.informer import Informer
from ramp.kube.reconcile import Result, describe_spec_error, is_transient
from ramp.kube.resources import EXPERIMENTS, REPLICA_SETS, SERVICES, Resource, object_key
from ramp.rollout.analysisruns import RunCreationError, create_run, find_templates, terminate_runs

log = logging.getLogger("ramp.experiments")
Obj = dict[str, Any]
OWNER_INDEX = "experiment-owner"
SCALE_DOWN_DEADLINE_ANNOTATION = "scale-down-deadline"


def index_by_experiment(obj: Obj) -> list[str]:
    """Informer index: `namespace/name` of the Experiment controlling the object."""
    meta = obj.get("metadata") or {}
    return [
        f"{meta.get('namespace')}/{ref.get('name')}"
        for ref in meta.get("ownerReferences") or []
        if ref.get("controller") and ref.get("kind") == "Experiment"
    ]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ExperimentReconciler:
    """Reconciles Experiments: `reconcile("namespace/name")` as `ramp.kube.reconcile.Reconciler` asks."""

    def __init__(
        self,
        client: KubeClient,
        informers: Informers,
        recorder: EventRecorder,
        clock: Callable[[], datetime] = _utc_now,
    ):
        self.client = client
        self.informers = informers
        self.recorder = recorder
        self.clock = clock
        informers.replica_sets.add_index(OWNER_INDEX, index_by_experiment)
        informers.analysis_runs.add_index(OWNER_INDEX, index_by_experiment)
        informers.services.add_index(OWNER_INDEX, index_by_experiment)

    async def reconcile(self, key: str) -> Result:
        raw = self.informers.experiments.get(key)
        if raw is None or (raw.get("metadata") or {}).get("deletionTimestamp"):
            return Result()
        now = self.clock().replace(microsecond=0)
        try:
            return await self._reconcile(key, raw, now)
        except Exception as error:
            if is_transient(error):
                raise  # the API server or the network: retried with backoff
            # Anything else raised while reading or deciding on this Experiment is a problem of its spec: reported
            # once as InvalidSpec (the traceback at debug), never a retry loop.
            log.debug("experiment cannot be processed", exc_info=error, extra={"experiment": key})
            return await self._write_invalid(key, raw, describe_spec_error(error), now)

    async def _reconcile(self, key: str, raw: Mapping[str, Any], now: datetime) -> Result:
        try:
            parse_experiment(raw)
            problem = verify_spec(raw)
        except ManifestError as error:
            problem = "; ".join(str(p) for p in error.problems)
        if problem is not None:
            return await self._write_invalid(key, raw, problem, now)
        inputs = self._read(raw, now)
        plan = plan_experiment(inputs)
        failures, run_names = await self._carry_out(raw, plan)
        if failures or run_names:
            plan = replace(plan_experiment(replace(inputs, failures=failures, run_names=run_names)), create_runs=[])
        if not await self._write_status(raw, plan.status):
            return Result()
        self._emit(raw, plan.events)
        return Result.after(plan.requeue_after) if plan.requeue_after is not None else Result()

    async def _write_invalid(self, key: str, raw: Mapping[str, Any], problem: str, now: datetime) -> Result:
        status = plan_invalid_spec(raw, problem, now)
        if diff_status(raw.get("status") or {}, status):
            log.warning("experiment spec is invalid", extra={"experiment": key, "problem": problem})
        await self._write_status(raw, status)
        return Result()

    # -- reading ------------------------------------------------------------------------------------------

    def _read(self, raw: Mapping[str, Any], now: datetime) -> Inputs:
        key = object_key(raw)
        spec = raw.get("spec") or {}
        namespace = str(raw["metadata"].get("namespace") or "")
        names = [str(t.get("name")) for t in spec.get("templates") or []]
        replica_sets = map_by_template(self.informers.replica_sets.by_index(OWNER_INDEX, key), raw, names)
        services = map_by_template(self.informers.services.by_index(OWNER_INDEX, key), raw, names)
        uid = raw["metadata"].get("uid")
        runs = {
            str(run["metadata"]["name"]): run
            for run in self.informers.analysis_runs.by_index(OWNER_INDEX, key)
            if any(
                ref.get("controller") and ref.get("uid") == uid for ref in run["metadata"].get("ownerReferences") or []
            )
        }
        templates: dict[str, TemplatesFound] = {}
        for analysis in spec.get("analyses") or []:
            ref = {"templateName": analysis.get("templateName"), "clusterScope": analysis.get("clusterScope")}
            try:
                found, cluster_found = find_templates(self.informers, namespace, [ref])
            except RunCreationError as error:
                templates[str(analysis.get("name"))] = TemplatesFound(error=str(error))
                continue
            templates[str(analysis.get("name"))] = TemplatesFound(found, cluster_found)
        return Inputs(raw, replica_sets, services, runs, templates, now)

    # -- writing ------------------------------------------------------------------------------------------

    async def _carry_out(self, raw: Mapping[str, Any], plan: Plan) -> tuple[dict[str, str], dict[str, str]]:
        """Send the plan's writes; return the writes that failed for good (by `kind:name`) and the names runs
        were created under when not the planned one."""
        namespace = str(raw["metadata"]["namespace"])
        failures: dict[str, str] = {}
        run_names: dict[str, str] = {}
        for template, body in plan.create_replica_sets:
            problem = await self._create_owned(REPLICA_SETS, raw, body, self.informers.replica_sets)
            if problem is not None:
                failures[f"template:{template}"] = problem
        for name, deadline in plan.set_deadlines:
            patch = {"metadata": {"annotations": {SCALE_DOWN_DEADLINE_ANNOTATION: deadline}}}
            await self._patch_replica_set(name, namespace, patch)
        for scale in plan.scale:
            await self._patch_replica_set(scale.name, namespace, {"spec": {"replicas": scale.replicas}})
        for template, body in plan.create_services:
            problem = await self._create_owned(SERVICES, raw, body, self.informers.services)
            if problem is not None:
                failures[f"service:{template}"] = problem
        for _, name in plan.delete_services:
            try:
                await self.client.delete(SERVICES, name, namespace)
            except ApiError as error:
                if not error.is_not_found:
                    raise
            self.informers.services.forget(f"{namespace}/{name}")
        for analysis, body in plan.create_runs:
            planned = str(body["metadata"]["name"])
            try:
                created = await create_run(self.client, self.informers, body)
            except (ApiError, RunCreationError) as error:
                if isinstance(error, ApiError) and (error.is_retryable or error.is_conflict):
                    raise
                failures[f"analysis:{analysis}"] = str(error)
                continue
            if created["metadata"]["name"] != planned:
                run_names[analysis] = str(created["metadata"]["name"])
        await terminate_runs(self.client, self.informers, namespace, [name for _, name in plan.terminate_runs])
        return failures, run_names

    async def _create_owned(self, resource: Resource, raw: Mapping[str, Any], body: Obj, cache: Informer) -> str | None:
        """Create an object; one of the same name already owned by this Experiment for the same template counts
        as created (a stale cache). Returns why it could not be created, or None."""
        namespace = str(raw["metadata"]["namespace"])
        name = str(body["metadata"]["name"])
        try:
            cache.observe(await self.client.create(resource, body, namespace))
            return None
        except ApiError as error:
            if not error.is_already_exists:
                if error.is_retryable or error.is_conflict:
                    raise
                return str(error)
        existing = await self.client.get(resource, name, namespace)
        if is_owned(existing, raw) and template_of(existing) == template_of(body):
            cache.observe(existing)
            return None
        kind = resource.kind
        return f"{kind} {name} already exists and is not owned by experiment template {template_of(body)}"

    async def _patch_replica_set(self, name: str, namespace: str, patch: Obj) -> None:
        try:
            updated = await self.client.patch(REPLICA_SETS, name, patch, namespace)
        except ApiError as error:
            if error.is_not_found:
                return
            raise
        self.informers.replica_sets.observe(updated)

    async def _write_status(self, raw: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
        """Patch what changed in the status; False when the Experiment changed meanwhile (the newer version
        decides again) or is gone."""
        patch = diff_status(raw.get("status") or {}, status)
        if not patch:
            return True
        meta = raw["metadata"]
        body = {"metadata": {"resourceVersion": meta.get("resourceVersion")}, "status": patch}
        try:
            updated = await self.client.patch(EXPERIMENTS, meta["name"], body, meta["namespace"])
        except ApiError as error:
            if error.is_conflict or error.is_not_found:
                return False
            raise
        self.informers.experiments.observe(updated)
        return True

    def _emit(self, raw: Mapping[str, Any], events: Sequence[Event]) -> None:
        rollout = _owning_rollout(raw)
        for event in events:
            self.recorder.record(raw, event.event_type, event.reason, event.message)
            if event.on_rollout and rollout is not None:
                self.recorder.record(rollout, event.event_type, event.reason, event.message)


def _owning_rollout(raw: Mapping[str, Any]) -> Obj | None:
    """A reference to the Rollout that owns the Experiment (an experiment step), for its events."""
    meta = raw.get("metadata") or {}
    for ref in meta.get("ownerReferences") or []:
        if ref.get("kind") == "Rollout":
            return {
                "apiVersion": ref.get("apiVersion"),
                "kind": "Rollout",
                "metadata": {"name": ref.get("name"), "namespace": meta.get("namespace"), "uid": ref.get("uid")},
            }
    return None
