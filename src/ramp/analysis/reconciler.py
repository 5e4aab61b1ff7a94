"""The AnalysisRun reconciler: take the measurements that are due, judge them, write the status once, and come
back exactly when the next one is due.

One reconcile of a run that is not finished (upstream's reconcileAnalysisRun):
1. parse the run; resolve its arguments without reading Secrets (`arguments`), check the metrics, dryRun and
   measurementRetention (`assessment`): a problem ends the run as Error with upstream's message
   ("Unable to resolve metric arguments: ...", "Analysis spec invalid: ...");
2. plan the measurements due now (`schedule`); only then read the Secrets the arguments name, substitute the real
   values, and call each metric's provider concurrently (`measure_safely`, `resume_safely`, or terminate for an
   in-flight measurement of a terminating run); a Reading becomes a Measurement (`conditions`);
3. record and assess (`assessment`): metric phases, the run's phase, message, runSummary and dryRunSummary;
   trim each metric to its newest measurements (asking the provider to clean up what the dropped ones left);
4. write the status in one merge patch of the run (its CRD has no status subresource, as upstream's), guarded
   by the resourceVersion it was decided from, put the written run into the informer cache, and only then emit
   the events (MetricSuccessful, MetricFailed, MetricError, MetricInconclusive; AnalysisRunSuccessful,
   AnalysisRunFailed, ... as upstream);
5. requeue for the earliest due time (`schedule.calculate_next_time`), exactly, so intervals never drift.
A finished run is only deleted, once its ttlStrategy says so (requeued for exactly that time).
Step 1 (`prepare_run`) and the judging of each reading run on a worker thread (`asyncio.to_thread`): their cost
grows with what the run's author wrote, and the event loop serves every other reconcile, the Lease and /healthz.

Works with `ramp.kube` (client, informer caches, events), `ramp.providers` (the providers and their registry)
and the pure modules `arguments`, `schedule`, `conditions` and `assessment` of this package.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import ValidationError

from ramp.analysis import schedule
from ramp.analysis.arguments import (
    ArgumentError,
    ResolvedArguments,
    list_secret_names,
    redact_secrets,
    resolve_arguments,
    substitute_arguments,
)
from ramp.analysis.assessment import (
    METRIC_TERMINATED,
    SpecError,
    assess_run,
    is_terminating,
    record_measurement,
    results_by_name,
    select_dry_run_metrics,
    select_measurement_limits,
    set_result,
    trim_measurements,
    validate_metrics,
)
from ramp.analysis.conditions import build_error_measurement, build_measurement
from ramp.api import ManifestError
from ramp.api.analysis import AnalysisRun, Metric, TTLStrategy, parse_analysis_run
from ramp.api.analysis_status import AnalysisPhase, AnalysisRunStatus, Measurement, MetricResult, is_completed_phase
from ramp.api.meta import format_timestamp
from ramp.kube.caches import Informers
from ramp.kube.client import KubeClient
from ramp.kube.errors import ApiError
from ramp.kube.events import NORMAL, WARNING, EventRecorder
from ramp.kube.reconcile import Result, describe_spec_error, is_transient
from ramp.kube.resources import ANALYSIS_RUNS, Resource, object_key
from ramp.providers.base import (
    PROVIDER_CALL_DEADLINE_SECONDS,
    MeasurementContext,
    Provider,
    Reading,
    deadline_message,
    describe_exception,
    measure_safely,
    resume_safely,
)
from ramp.providers.registry import describe_unsupported, provider_for

log = logging.getLogger("ramp.analysis")

SECRETS = Resource("", "v1", "secrets", "Secret")
DEFAULT_CONTROLLER_NAMESPACE = "argo-rollouts"
BAD_PHASES = frozenset({AnalysisPhase.ERROR, AnalysisPhase.FAILED})
"""Phases whose events are Warnings (upstream's choice)."""


PreparedRun = tuple[AnalysisRun, list[Metric], frozenset[str], Mapping[str, int]]
"""The parsed run, its metrics with arguments filled in, the dry-run metric names, the retention limits."""


def prepare_run(raw: Mapping[str, Any]) -> PreparedRun | str:
    """Parse `raw`, fill in its arguments (Secrets not read yet) and check its metrics, dryRun and
    measurementRetention; the status message ending the run in Error if any of it is wrong."""
    try:
        run = parse_analysis_run(raw)
    except ManifestError as problem:
        return f"Analysis spec invalid: {problem.summary()}"
    try:
        placeholders = resolve_arguments(run.spec.args, run=raw)
        metrics = [substitute_arguments(metric, placeholders.values) for metric in run.spec.metrics]
    except ArgumentError as problem:
        return f"Unable to resolve metric arguments: {problem}"
    names = [metric.name for metric in metrics]
    try:
        validate_metrics(metrics)
        dry_run = select_dry_run_metrics(run.spec.dry_run, names)
        limits = select_measurement_limits(run.spec.measurement_retention, names)
    except SpecError as problem:
        return f"Analysis spec invalid: {problem}"
    return run, metrics, dry_run, limits


def utc_now() -> datetime:
    return datetime.now(UTC)


class RedactedSpecError(Exception):
    """A spec problem met after the Secrets were read, its message already described and redacted."""


@dataclass(frozen=True)
class _Event:
    event_type: str
    reason: str
    message: str


class AnalysisRunReconciler:
    """Reconciles AnalysisRuns: `reconcile("namespace/name")` as `ramp.kube.reconcile.Reconciler` asks."""

    def __init__(
        self,
        client: KubeClient,
        informers: Informers,
        recorder: EventRecorder,
        providers: Mapping[str, Provider],
        http: httpx.AsyncClient,
        clock: Callable[[], datetime] = utc_now,
        *,
        controller_namespace: str = DEFAULT_CONTROLLER_NAMESPACE,
    ) -> None:
        self.client = client
        self.informers = informers
        self.recorder = recorder
        self.providers = providers
        self.http = http
        self.clock = clock
        self.controller_namespace = controller_namespace

    async def reconcile(self, key: str) -> Result:
        raw = self.informers.analysis_runs.get(key)
        if raw is None or (raw.get("metadata") or {}).get("deletionTimestamp"):
            return Result()
        # Times written to the status have whole seconds: deciding from the same values every reconcile reads
        # back keeps the schedule exact.
        now = self.clock().replace(microsecond=0)
        status = raw.get("status") or {}
        if is_completed_phase(status.get("phase")):
            return await self._collect_if_expired(raw, now)
        try:
            return await self._reconcile(raw, now)
        except Exception as problem:
            if is_transient(problem):
                raise  # the API server or the network: retried with backoff
            # Anything else raised while reading, measuring or judging this run is a problem of its spec: the run
            # ends as Error once (the traceback at debug), so no retry loop calls its providers again and again.
            log.debug("analysis run cannot be processed", exc_info=problem, extra={"analysisrun": key})
            text = str(problem) if isinstance(problem, RedactedSpecError) else describe_spec_error(problem)
            return await self._end_in_error(raw, f"Analysis spec invalid: {text}", now)

    async def _reconcile(self, raw: Mapping[str, Any], now: datetime) -> Result:
        # Parsing, argument substitution and compiling the conditions and patterns read what the run's author
        # wrote, at a cost that grows with it: done on a worker thread, so the event loop (every other
        # reconcile, the Lease, /healthz) keeps its turns while it runs (issue 13).
        prepared = await asyncio.to_thread(prepare_run, raw)
        if isinstance(prepared, str):
            return await self._end_in_error(raw, prepared, now)
        return await self._measure_and_assess(raw, *prepared, now)

    async def _measure_and_assess(
        self,
        raw: Mapping[str, Any],
        run: AnalysisRun,
        metrics: Sequence[Metric],
        dry_run: frozenset[str],
        limits: Mapping[str, int],
        now: datetime,
    ) -> Result:
        old = run.status or AnalysisRunStatus()
        started_at = old.started_at or now
        results = list(old.metric_results or [])
        terminating = is_terminating(bool(run.spec.terminate), results)
        tasks = schedule.plan_measurements(metrics, results_by_name(results), started_at, terminating, now)
        if tasks:
            try:
                arguments = await self._resolve_with_secrets(run, raw)
                originals = {metric.name: metric for metric in run.spec.metrics}
                measured = await asyncio.to_thread(
                    lambda: [substitute_arguments(originals[task.metric.name], arguments.values) for task in tasks]
                )
            except ArgumentError as problem:
                return await self._end_in_error(raw, f"Unable to resolve metric arguments: {problem}", now)
            try:
                measurements = await asyncio.gather(
                    *(
                        self._take(raw, metric, task.incomplete, terminating, started_at=now)
                        for metric, task in zip(measured, tasks, strict=True)
                    )
                )
            except Exception as problem:
                if is_transient(problem):
                    raise
                # The metrics now hold the Secrets' values: an error quoting one must not carry it to the status.
                text = redact_secrets(describe_spec_error(problem), arguments.secrets) or ""
                raise RedactedSpecError(text) from problem
            for task, taken in zip(tasks, measurements, strict=True):
                measurement = redact_measurement(taken, arguments.secrets)
                current = next((r for r in results if r.name == task.metric.name), None)
                recorded = record_measurement(
                    current,
                    task.metric.name,
                    measurement,
                    replaces_last=task.incomplete is not None,
                    dry_run=task.metric.name in dry_run,
                )
                results = set_result(results, recorded)
        assessment = assess_run(metrics, results, dry_run, bool(run.spec.terminate))
        results = [
            await self._trim(raw, result, metrics, limits.get(result.name or "", 0), now)
            for result in assessment.results
        ]
        update: dict[str, object] = {
            "metric_results": results,
            "started_at": started_at,
            "run_summary": assessment.run_summary,
            "dry_run_summary": assessment.dry_run_summary,
        }
        events = [
            _Event(
                WARNING if t.phase in BAD_PHASES else NORMAL,
                f"Metric{t.phase}",
                f"Metric '{t.name}' Completed. Result: {t.phase}",
            )
            for t in assessment.transitions
        ]
        completed = False
        if assessment.phase != old.phase:
            update["phase"] = assessment.phase
            update["message"] = assessment.message or None
            if is_completed_phase(assessment.phase):
                completed = True
                update["completed_at"] = old.completed_at or now
                events.append(_completion_event(assessment.phase))
        new = old.model_copy(update=update)
        if not await self._write_status(raw, new):
            return Result()
        self._emit(raw, events)
        if completed:
            log.info("analysis run completed", extra={"analysisrun": object_key(raw), "phase": assessment.phase})
            return self._requeue_for_deletion(run.spec.ttl_strategy, new, now)
        next_time = schedule.calculate_next_time(metrics, results_by_name(results), started_at)
        return _requeue_at(next_time, self.clock())

    # -- measurements -------------------------------------------------------------------------------------------

    async def _take(
        self,
        raw: Mapping[str, Any],
        metric: Metric,
        incomplete: Measurement | None,
        terminating: bool,
        *,
        started_at: datetime,
    ) -> Measurement:
        """One measurement of `metric`: a new one, or the in-flight one resumed (or terminated)."""
        provider = provider_for(metric, self.providers)
        if provider is None:
            return build_error_measurement(
                describe_unsupported(metric), started_at=started_at, now=started_at, previous=incomplete
            )
        context = self._context(raw, metric, started_at)
        if incomplete is None:
            reading = await measure_safely(provider, context)
        elif terminating:
            reading = await _terminate_safely(provider, context, incomplete)
            if reading.phase in (AnalysisPhase.SUCCESSFUL, AnalysisPhase.INCONCLUSIVE):
                reading = replace(reading, message=METRIC_TERMINATED)
        else:
            reading = await resume_safely(provider, context, incomplete)
        finished = self.clock().replace(microsecond=0)
        # Evaluating the author's conditions on the result: on a worker thread, as `_reconcile` explains.
        return await asyncio.to_thread(
            build_measurement, reading, metric, started_at=started_at, now=finished, previous=incomplete
        )

    def _context(self, raw: Mapping[str, Any], metric: Metric, now: datetime) -> MeasurementContext:
        meta = raw.get("metadata") or {}
        return MeasurementContext(
            metric=metric,
            namespace=str(meta.get("namespace") or ""),
            run_name=str(meta.get("name") or ""),
            run_uid=str(meta.get("uid") or ""),
            now=now,
            http=self.http,
            client=self.client,
            run=raw,
            controller_namespace=self.controller_namespace,
            read_secret=self._read_secret,
        )

    async def _resolve_with_secrets(self, run: AnalysisRun, raw: Mapping[str, Any]) -> ResolvedArguments:
        namespace = str((raw.get("metadata") or {}).get("namespace") or "")
        secrets: dict[str, Mapping[str, str]] = {}
        for name in list_secret_names(run.spec.args):
            try:
                secrets[name] = await self._read_secret(namespace, name)
            except ApiError as problem:
                if problem.is_retryable:
                    raise  # the API server is busy or down: try again with backoff
                if problem.is_not_found:
                    raise ArgumentError(f'secret "{name}" not found in namespace "{namespace}"') from None
                raise ArgumentError(f'cannot read secret "{name}": {problem}') from None
        return resolve_arguments(run.spec.args, run=raw, secrets=secrets)

    async def _read_secret(self, namespace: str, name: str) -> Mapping[str, str]:
        secret = await self.client.get(SECRETS, name, namespace)
        data = secret.get("data") or {}
        decoded = {key: base64.b64decode(value).decode("utf-8", "replace") for key, value in data.items()}
        decoded.update({str(k): str(v) for k, v in (secret.get("stringData") or {}).items()})
        return decoded

    async def _trim(
        self, raw: Mapping[str, Any], result: MetricResult, metrics: Sequence[Metric], limit: int, now: datetime
    ) -> MetricResult:
        """Keep the newest `limit` measurements; the provider deletes what the dropped ones left (Jobs)."""
        if limit <= 0 or len(result.measurements or []) <= limit:
            return result
        metric = next((m for m in metrics if m.name == result.name), None)
        provider = provider_for(metric, self.providers) if metric is not None else None
        if metric is not None and provider is not None:
            try:
                async with asyncio.timeout(PROVIDER_CALL_DEADLINE_SECONDS):
                    await provider.garbage_collect(self._context(raw, metric, now), limit)
            except Exception as problem:  # cleanup must not stop the run; the next trim tries again
                log.warning(
                    "failed to garbage collect measurements",
                    extra={"analysisrun": object_key(raw), "metric": result.name, "error": describe_exception(problem)},
                )
        return trim_measurements(result, limit)

    # -- status, events, deletion ---------------------------------------------------------------------------

    async def _end_in_error(self, raw: Mapping[str, Any], message: str, now: datetime) -> Result:
        """A run that cannot be measured at all ends as Error with `message` (upstream's wording)."""
        log.warning("analysis run cannot run", extra={"analysisrun": object_key(raw), "problem": message})
        status = dict(raw.get("status") or {})
        status.update({"phase": AnalysisPhase.ERROR.value, "message": message})
        status.setdefault("startedAt", format_timestamp(now))
        status.setdefault("completedAt", format_timestamp(now))
        if not await self._patch_status(raw, status):
            return Result()
        self._emit(raw, [_completion_event(AnalysisPhase.ERROR)])
        deletion = schedule.calculate_deletion_time(AnalysisPhase.ERROR, now, _ttl_of(raw))
        return _requeue_at(deletion, self.clock())

    async def _write_status(self, raw: Mapping[str, Any], status: AnalysisRunStatus) -> bool:
        return await self._patch_status(raw, status.model_dump(mode="json", by_alias=True, exclude_none=True))

    async def _patch_status(self, raw: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
        """Write what changed in the status, guarded by the resourceVersion it was decided from.

        False when the run changed meanwhile (or is gone): nothing was written, and the watch brings the newer
        version to decide again.
        """
        patch = diff_status(raw.get("status") or {}, status)
        if not patch:
            return True
        meta = raw["metadata"]
        body = {"metadata": {"resourceVersion": meta.get("resourceVersion")}, "status": patch}
        try:
            # The AnalysisRun CRD has no status subresource (as upstream's): the status is patched on the object.
            updated = await self.client.patch(ANALYSIS_RUNS, meta["name"], body, meta["namespace"])
        except ApiError as problem:
            if problem.is_conflict or problem.is_not_found:
                log.debug("status not written; the newer version decides", extra={"analysisrun": object_key(raw)})
                return False
            raise
        self.informers.analysis_runs.observe(updated)
        return True

    def _emit(self, raw: Mapping[str, Any], events: Sequence[_Event]) -> None:
        for event in events:
            self.recorder.record(raw, event.event_type, event.reason, event.message)

    async def _collect_if_expired(self, raw: Mapping[str, Any], now: datetime) -> Result:
        """Delete a finished run whose ttlStrategy has run out; else come back when it does."""
        status = raw.get("status") or {}
        try:
            parsed = AnalysisRunStatus.model_validate(status)
        except ValidationError:
            return Result()
        deletion = schedule.calculate_deletion_time(parsed.phase, parsed.completed_at, _ttl_of(raw))
        if deletion is None:
            return Result()
        if now < deletion:
            return _requeue_at(deletion, self.clock())
        meta = raw["metadata"]
        try:
            await self.client.delete(ANALYSIS_RUNS, meta["name"], meta["namespace"])
        except ApiError as problem:
            if not problem.is_not_found:
                raise
        self.informers.analysis_runs.forget(object_key(raw))
        log.info("deleted analysis run past its TTL", extra={"analysisrun": object_key(raw)})
        return Result()

    def _requeue_for_deletion(self, ttl: TTLStrategy | None, status: AnalysisRunStatus, now: datetime) -> Result:
        deletion = schedule.calculate_deletion_time(status.phase, status.completed_at, ttl)
        return _requeue_at(deletion, self.clock()) if deletion is not None else Result()


MIN_METADATA_SECRET_LENGTH = 4


def redact_measurement(measurement: Measurement, secrets: Collection[str]) -> Measurement:
    """The measurement with every secret value replaced by "*****" in its message, value and metadata (a
    provider may echo a query, a URL or a header in any of them)."""
    if not any(secrets):
        return measurement
    metadata = measurement.metadata
    # Metadata is read back by the provider (a Job's name): a secret too short to be one is not worth breaking it.
    long_secrets = [secret for secret in secrets if len(secret) >= MIN_METADATA_SECRET_LENGTH]
    return measurement.model_copy(
        update={
            "message": redact_secrets(measurement.message, secrets),
            "value": redact_secrets(measurement.value, secrets),
            "metadata": (
                {key: redact_secrets(value, long_secrets) or "" for key, value in metadata.items()}
                if metadata
                else metadata
            ),
        }
    )


def diff_status(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The merge patch turning status `old` into `new`: changed top-level fields, and null for removed ones."""
    patch: dict[str, Any] = {key: value for key, value in new.items() if old.get(key) != value}
    patch.update({key: None for key in old if key not in new})
    return patch


MIN_REQUEUE_SECONDS = 1.0
"""The wait when a due time has already passed without a measurement (a zero interval): never spin."""


def _requeue_at(when: datetime | None, now: datetime) -> Result:
    if when is None:
        return Result()
    seconds = (when - now).total_seconds()
    return Result.after(seconds if seconds > 0 else MIN_REQUEUE_SECONDS)


def _completion_event(phase: str) -> _Event:
    return _Event(
        WARNING if phase in BAD_PHASES else NORMAL, f"AnalysisRun{phase}", f"Analysis Completed. Result: {phase}"
    )


def _ttl_of(raw: Mapping[str, Any]) -> TTLStrategy | None:
    found = (raw.get("spec") or {}).get("ttlStrategy")
    if not isinstance(found, Mapping):
        return None
    try:
        return TTLStrategy.model_validate(found)
    except ValidationError:
        return None


async def _terminate_safely(provider: Provider, context: MeasurementContext, measurement: Measurement) -> Reading:
    """`provider.terminate`, with any exception turned into an Error reading (as measure_safely does)."""
    try:
        async with asyncio.timeout(PROVIDER_CALL_DEADLINE_SECONDS):
            return await provider.terminate(context, measurement)
    except TimeoutError:
        return Reading.error(deadline_message(PROVIDER_CALL_DEADLINE_SECONDS), measurement.metadata)
    except Exception as problem:  # a provider must never stop the reconciler
        log.debug("provider %s failed to terminate", provider.key, exc_info=True)
        return Reading.error(describe_exception(problem), measurement.metadata)
