"""The `job` metric provider: a Kubernetes Job is the measurement; it passes if the Job completes, fails if it fails.

Follows upstream's documented behaviour (metricproviders/job):
- `measure` creates a Job from `provider.job` (its metadata and JobSpec as written) in the run's namespace,
  named `<run uid>.<metric name>.<n>` where n is the metric's measurements so far (count + error) plus one,
  the metric name shortened so that the name fits in 63 characters (the Job controller copies it into a pod
  label). The Job and its pods carry the label `analysisrun.argoproj.io/uid`; the Job the annotations
  `analysisrun.argoproj.io/name`, `.../namespace` and `.../metric-name`, and the AnalysisRun as its controller
  owner, so deleting the run deletes its Jobs. A Job of that name that already exists and belongs to the same
  run (a create whose answer was lost) is taken as this measurement's. The measurement is Running with the
  Job's name and namespace in its metadata (`job-name`, `job-namespace`), to be looked at again at once.
- `resume` reads the Job: condition Complete=True → Successful, Failed=True → Failed (with the condition's
  message, which upstream leaves out). While it runs, a pod stuck on an image it cannot pull makes the
  measurement Inconclusive, as upstream, so a person decides; otherwise it is looked at again after
  sqrt(2 * seconds since the measurement started) seconds (upstream's growing delay), at least `MIN_POLL`.
- Only Jobs in the run's namespace that the run controls are ever read or deleted: measurement metadata naming
  another namespace, or a Job the run does not own, is an Error measurement and nothing is touched.
- `terminate` deletes the Job (propagation Foreground, as upstream: the Job goes once its pods are gone) and
  the measurement is Inconclusive (upstream's choice; the reconciler adds the message "Metric Terminated").
- `garbage_collect` deletes the oldest of this metric's Jobs beyond `keep`. Upstream counts all the run's Jobs
  against each metric's limit; Ramp counts each metric's own (by the metric-name annotation), which is what
  the per-metric measurement limit means.

Ramp looks at a running Job again at `resume_at` (a poll); a Job informer that wakes the run when its Job
changes, as upstream has, would make that faster and is the analysis reconciler's to add.

Works with `ramp.providers.base` (the contract), `ramp.kube.client` (create, get, list, delete) and
`ramp.kube.resources` (JOBS, PODS).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from ramp.api.analysis_status import AnalysisPhase, Measurement
from ramp.api.providers import JobMetric
from ramp.kube.client import KubeClient
from ramp.kube.errors import ApiError
from ramp.kube.resources import ANALYSIS_RUNS, JOBS, PODS
from ramp.kube.selectors import format_label_selector
from ramp.providers.base import MeasurementContext, Reading, describe_exception

JOB_NAME_KEY = "job-name"
"""Measurement metadata: the Job's name."""
JOB_NAMESPACE_KEY = "job-namespace"
"""Measurement metadata: the Job's namespace."""
RUN_UID_LABEL = "analysisrun.argoproj.io/uid"
RUN_NAME_ANNOTATION = "analysisrun.argoproj.io/name"
RUN_NAMESPACE_ANNOTATION = "analysisrun.argoproj.io/namespace"
METRIC_NAME_ANNOTATION = "analysisrun.argoproj.io/metric-name"
NAME_LIMIT = 63
MIN_POLL = timedelta(seconds=1)
"""Upstream's delay starts near zero; a floor keeps the first looks at a new Job from hammering the API."""
TERMINAL_WAITING_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName"})
"""A container waiting for one of these never starts by itself (upstream's list)."""


@dataclass(frozen=True)
class JobOutcome:
    """What a Job's status says about the measurement: a final phase, or None while it runs."""

    phase: str | None
    message: str | None = None


class JobProvider:
    """Runs one Kubernetes Job per measurement."""

    key: ClassVar[str] = "job"

    async def measure(self, context: MeasurementContext) -> Reading:
        spec = context.metric.provider.job
        if spec is None:
            return Reading.error("the metric has no provider.job settings")
        if context.client is None:
            return Reading.error("the job provider needs a Kubernetes client")
        job = build_job(
            spec,
            context.metric.name,
            run_name=context.run_name,
            run_namespace=context.namespace,
            run_uid=context.run_uid,
            number=count_measurements_taken(context.run, context.metric.name) + 1,
        )
        try:
            created = await create_or_adopt_job(context.client, job, context.run_uid)
        except (ApiError, httpx.HTTPError, JobNotOursError) as problem:
            return Reading.error(describe_exception(problem))
        meta = created.get("metadata") or {}
        return Reading(
            AnalysisPhase.RUNNING,
            metadata={JOB_NAME_KEY: str(meta.get("name")), JOB_NAMESPACE_KEY: str(meta.get("namespace"))},
            # Look at once: a short Job may be over before the next reconcile would otherwise come.
            resume_at=context.now,
        )

    async def resume(self, context: MeasurementContext, measurement: Measurement) -> Reading:
        metadata = dict(measurement.metadata or {})
        reference = read_job_reference(metadata, context.namespace)
        if isinstance(reference, str):
            return Reading.error(reference, metadata)
        if context.client is None:
            return Reading.error("the job provider needs a Kubernetes client", metadata)
        namespace, name = reference
        try:
            job = await get_own_job(context.client, namespace, name, context.run_uid)
            outcome = assess_job(job)
            if outcome.phase is None:
                outcome = assess_pods(await list_job_pods(context.client, job))
        except (ApiError, httpx.HTTPError, JobNotOursError) as problem:
            return Reading.error(describe_exception(problem), metadata)
        if outcome.phase is not None:
            return Reading(outcome.phase, message=outcome.message, metadata=metadata)
        return Reading(
            AnalysisPhase.RUNNING,
            metadata=metadata,
            resume_at=calculate_resume_at(measurement.started_at, context.now),
        )

    async def terminate(self, context: MeasurementContext, measurement: Measurement) -> Reading:
        metadata = dict(measurement.metadata or {})
        reference = read_job_reference(metadata, context.namespace)
        if isinstance(reference, str):
            return Reading.error(reference, metadata)
        if context.client is None:
            return Reading.error("the job provider needs a Kubernetes client", metadata)
        namespace, name = reference
        try:
            await get_own_job(context.client, namespace, name, context.run_uid)
            await delete_job(context.client, namespace, name)
        except ApiError as problem:
            if problem.is_not_found:
                return Reading(AnalysisPhase.INCONCLUSIVE, metadata=metadata)  # already gone
            return Reading.error(describe_exception(problem), metadata)
        except (httpx.HTTPError, JobNotOursError) as problem:
            return Reading.error(describe_exception(problem), metadata)
        return Reading(AnalysisPhase.INCONCLUSIVE, metadata=metadata)

    async def garbage_collect(self, context: MeasurementContext, keep: int) -> None:
        if context.client is None:
            return
        listed = await context.client.list(JOBS, context.namespace, label_selector=f"{RUN_UID_LABEL}={context.run_uid}")
        # A label anyone in the namespace can set is not enough: only Jobs the run controls are deleted.
        own = [job for job in listed.get("items") or [] if is_controlled_by_run(job, context.run_uid)]
        for _, name in select_jobs_to_collect(own, context.metric.name, keep):
            await delete_job(context.client, context.namespace, name)


class JobNotOursError(RuntimeError):
    """A Job with the measurement's name exists but belongs to another AnalysisRun."""


# --- decisions (pure) -----------------------------------------------------------------------------------------


def build_job_name(run_uid: str, metric_name: str, number: int) -> str:
    """`<run uid>.<metric name>.<number>`, the metric name cut short so that the whole fits in 63 characters.

    >>> build_job_name("4f1c", "smoke", 3)
    '4f1c.smoke.3'
    >>> len(build_job_name("0" * 36, "m" * 40, 12))
    63
    """
    name = f"{run_uid}.{metric_name}.{number}"
    over = len(name) - NAME_LIMIT
    if over <= 0:
        return name
    return f"{run_uid}.{metric_name[: max(len(metric_name) - over, 0)]}.{number}"


def count_measurements_taken(run: Mapping[str, Any], metric_name: str) -> int:
    """Measurements of the metric so far, as upstream numbers Jobs: its result's count plus its errors."""
    results = (run.get("status") or {}).get("metricResults") or []
    for result in results:
        if isinstance(result, Mapping) and result.get("name") == metric_name:
            return int(result.get("count") or 0) + int(result.get("error") or 0)
    return 0


def build_job(
    spec: JobMetric, metric_name: str, *, run_name: str, run_namespace: str, run_uid: str, number: int
) -> dict[str, Any]:
    """The Job to create for one measurement: the metric's JobSpec as written, plus the run's labels,
    annotations and controller owner reference (see the module docstring)."""
    labels = dict((spec.metadata.labels if spec.metadata else None) or {})
    annotations = dict((spec.metadata.annotations if spec.metadata else None) or {})
    labels[RUN_UID_LABEL] = run_uid
    annotations[RUN_NAME_ANNOTATION] = run_name
    annotations[RUN_NAMESPACE_ANNOTATION] = run_namespace
    annotations[METRIC_NAME_ANNOTATION] = metric_name
    job_spec = copy.deepcopy(dict(spec.spec))
    template = job_spec.setdefault("template", {})
    pod_meta = template.setdefault("metadata", {})
    # Upstream caches a measurement's pods by this label.
    pod_meta["labels"] = {**(pod_meta.get("labels") or {}), RUN_UID_LABEL: run_uid}
    return {
        "apiVersion": JOBS.api_version,
        "kind": JOBS.kind,
        "metadata": {
            "name": build_job_name(run_uid, metric_name, number),
            "namespace": run_namespace,
            "labels": labels,
            "annotations": annotations,
            "ownerReferences": [
                {
                    "apiVersion": ANALYSIS_RUNS.api_version,
                    "kind": ANALYSIS_RUNS.kind,
                    "name": run_name,
                    "uid": run_uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": job_spec,
    }


def is_owned_by_run(job: Mapping[str, Any], run_uid: str) -> bool:
    """Whether the Job belongs to the run: its controller owner, or else its run-uid label, is the run."""
    meta = job.get("metadata") or {}
    for owner in meta.get("ownerReferences") or []:
        if owner.get("controller"):
            return bool(owner.get("uid") == run_uid)
    return bool((meta.get("labels") or {}).get(RUN_UID_LABEL) == run_uid)


def is_controlled_by_run(job: Mapping[str, Any], run_uid: str) -> bool:
    """Whether the run is the Job's controller owner (what Ramp's own Jobs always have)."""
    owners = (job.get("metadata") or {}).get("ownerReferences") or []
    return any(owner.get("controller") and owner.get("uid") == run_uid for owner in owners)


def read_job_reference(metadata: Mapping[str, str], run_namespace: str) -> tuple[str, str] | str:
    """(namespace, name) of the measurement's Job, from its metadata, or why it cannot be used.

    The metadata is part of the run's status, which the run's author can write: a `job-namespace` other than
    the run's own is refused, so a run never reads or deletes a Job in another namespace (kube-system, say).
    """
    name = metadata.get(JOB_NAME_KEY)
    if not name:
        return "the measurement does not name its Job (metadata job-name is missing)"
    namespace = metadata.get(JOB_NAMESPACE_KEY) or run_namespace
    if namespace != run_namespace:
        return (
            f"measurement metadata job-namespace {namespace[:63]!r} is not the run's namespace {run_namespace!r}: "
            "the job provider only uses Jobs in the run's own namespace"
        )
    return namespace, name


def assess_job(job: Mapping[str, Any]) -> JobOutcome:
    """Successful once Complete=True, Failed once Failed=True (with its message); else still running."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Complete":
            return JobOutcome(AnalysisPhase.SUCCESSFUL)
        if condition.get("type") == "Failed":
            return JobOutcome(AnalysisPhase.FAILED, condition.get("message") or condition.get("reason") or None)
    return JobOutcome(None)


def assess_pods(pods: Sequence[Mapping[str, Any]]) -> JobOutcome:
    """Inconclusive when a pod's container waits for something that never comes by itself (an image it
    cannot pull); else still running."""
    for pod in pods:
        status = pod.get("status") or {}
        for container in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
            waiting = (container.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in TERMINAL_WAITING_REASONS:
                pod_name = (pod.get("metadata") or {}).get("name")
                return JobOutcome(
                    AnalysisPhase.INCONCLUSIVE,
                    f"Pod {pod_name}, container {container.get('name')} has terminal error "
                    f"({waiting.get('reason')}): {waiting.get('message') or ''}".rstrip(),
                )
    return JobOutcome(None)


def calculate_resume_at(started_at: datetime | None, now: datetime) -> datetime:
    """When to look at a running Job again: after sqrt(2 * seconds it has run), at least `MIN_POLL`.

    >>> from datetime import UTC
    >>> start = datetime(2024, 5, 1, tzinfo=UTC)
    >>> calculate_resume_at(start, start + timedelta(seconds=50)) - start
    datetime.timedelta(seconds=60)
    >>> calculate_resume_at(None, start) - start
    datetime.timedelta(seconds=1)
    """
    elapsed = max((now - started_at).total_seconds(), 0.0) if started_at else 0.0
    return now + max(timedelta(seconds=math.sqrt(2 * elapsed)), MIN_POLL)


def select_jobs_to_collect(jobs: Sequence[Mapping[str, Any]], metric_name: str, keep: int) -> list[tuple[str, str]]:
    """(namespace, name) of the metric's Jobs beyond the newest `keep`, oldest first.

    Newest by creation time, then by the measurement number that ends the name (creation times have whole
    seconds, and Jobs of quick measurements share them).
    """
    own = [job for job in jobs if _annotations(job).get(METRIC_NAME_ANNOTATION) == metric_name]
    own.sort(key=_age_order)
    surplus = own[: max(len(own) - max(keep, 0), 0)]
    return [(str(job["metadata"].get("namespace", "")), str(job["metadata"]["name"])) for job in surplus]


def _age_order(job: Mapping[str, Any]) -> tuple[str, int]:
    meta = job.get("metadata") or {}
    suffix = str(meta.get("name", "")).rsplit(".", 1)[-1]
    return str(meta.get("creationTimestamp", "")), int(suffix) if suffix.isdigit() else 0


def _annotations(job: Mapping[str, Any]) -> Mapping[str, str]:
    return (job.get("metadata") or {}).get("annotations") or {}


# --- API calls ------------------------------------------------------------------------------------------------


async def create_or_adopt_job(client: KubeClient, job: Mapping[str, Any], run_uid: str) -> dict[str, Any]:
    """Create the Job; if one of that name exists and is the run's (an earlier create whose answer was lost),
    take it. Raises JobNotOursError if it belongs to another run, ApiError for any other refusal."""
    try:
        return await client.create(JOBS, job)
    except ApiError as problem:
        if problem.code != 409:
            raise
        meta = job["metadata"]
        existing = await client.get(JOBS, meta["name"], meta["namespace"])
        if not is_owned_by_run(existing, run_uid):
            raise JobNotOursError(f"job {meta['namespace']}/{meta['name']} exists and belongs to another run") from None
        return existing


async def get_own_job(client: KubeClient, namespace: str, name: str, run_uid: str) -> dict[str, Any]:
    """The measurement's Job, if the run controls it; JobNotOursError for a Job of someone else's (a name
    written into the measurement's metadata by hand)."""
    job = await client.get(JOBS, name, namespace)
    if not is_controlled_by_run(job, run_uid):
        raise JobNotOursError(f"job {namespace}/{name} is not controlled by this AnalysisRun; it is left alone")
    return job


async def list_job_pods(client: KubeClient, job: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Job's pods, found by its selector (none if it has none: an empty selector would match every pod)."""
    selector = format_label_selector((job.get("spec") or {}).get("selector"))
    if not selector:
        return []
    namespace = (job.get("metadata") or {}).get("namespace")
    listed = await client.list(PODS, namespace, label_selector=selector)
    return list(listed.get("items") or [])


async def delete_job(client: KubeClient, namespace: str, name: str) -> None:
    """Delete a Job and, before it goes, its pods; a Job already gone is fine."""
    try:
        await client.delete(JOBS, name, namespace, propagation_policy="Foreground")
    except ApiError as problem:
        if not problem.is_not_found:
            raise
