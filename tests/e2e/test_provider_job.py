"""The `job` metric provider against the local cluster's real Job controller, called directly (no Ramp controller).

Given an AnalysisRun made by hand (only so the Jobs have an owner; it carries a controller instance id no test
controller uses, so no controller acts on it), When the provider measures, resumes, terminates and collects,
Then the Jobs it leaves and the readings it returns are what upstream's job provider gives: a Job whose pod
succeeds makes the measurement Successful, one whose pod fails (kwok Stage `ramp.dev/simulate: fail`, see
docs/local-cluster.md) Failed, terminate deletes the Job, and garbage collection keeps the newest N.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest

from ramp.api.analysis import Metric
from ramp.api.analysis_status import AnalysisPhase, Measurement
from ramp.kube.client import KubeClient
from ramp.kube.config import load_kubeconfig
from ramp.kube.errors import ApiError
from ramp.kube.resources import ANALYSIS_RUNS, JOBS
from ramp.providers.base import MeasurementContext, Reading
from ramp.providers.job import JobProvider
from tests.e2e.harness import Cluster

pytestmark = pytest.mark.cluster

T = TypeVar("T")
# No controller watches objects with an instance id nobody runs with.
UNWATCHED = {"argo-rollouts.argoproj.io/controller-instance-id": "provider-job-e2e"}


@pytest.fixture
async def client(cluster: Cluster) -> AsyncIterator[KubeClient]:
    async with KubeClient(load_kubeconfig([cluster.kubeconfig])) as kube:
        yield kube


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as shared:
        yield shared


def job_metric(name: str, pod_annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """A job metric whose one pod ends as its annotations say (no annotation: it succeeds at once)."""
    return {
        "name": name,
        "provider": {
            "job": {
                "metadata": {"labels": {"purpose": "smoke"}},
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "metadata": {"annotations": pod_annotations or {}},
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "check", "image": "busybox", "command": ["true"]}],
                        },
                    },
                },
            }
        },
    }


async def given_run(client: KubeClient, namespace: str, *metrics: dict[str, Any]) -> dict[str, Any]:
    body = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {"name": "run", "namespace": namespace, "labels": UNWATCHED},
        "spec": {"metrics": list(metrics)},
    }
    return await client.create(ANALYSIS_RUNS, body)


def context_for(
    run: dict[str, Any], metric: dict[str, Any], client: KubeClient, http: httpx.AsyncClient, taken: int = 0
) -> MeasurementContext:
    """The context the analysis reconciler would pass; `taken` is how many measurements the metric has had."""
    status = {"metricResults": [{"name": metric["name"], "count": taken}]} if taken else {}
    return MeasurementContext(
        metric=Metric.model_validate(metric),
        namespace=run["metadata"]["namespace"],
        run_name=run["metadata"]["name"],
        run_uid=run["metadata"]["uid"],
        now=datetime.now(UTC),
        http=http,
        client=client,
        run={**run, "status": status},
    )


def as_measurement(reading: Reading, started_at: datetime) -> Measurement:
    return Measurement(
        phase=reading.phase, metadata=dict(reading.metadata), started_at=started_at, resume_at=reading.resume_at
    )


async def eventually(check: Callable[[], Awaitable[T | None]], what: str, seconds: float = 60) -> T:
    last: T | None = None
    try:
        async with asyncio.timeout(seconds):
            while True:
                last = await check()
                if last:
                    return last
                await asyncio.sleep(0.5)
    except TimeoutError:
        raise AssertionError(f"timed out after {seconds:.0f}s waiting for {what}; last seen: {last!r}") from None


async def measure_until_done(provider: JobProvider, context: MeasurementContext) -> Reading:
    """Measure, then resume as the reconciler would until the measurement is no longer Running."""
    started = datetime.now(UTC)
    reading = await provider.measure(context)
    assert reading.phase == AnalysisPhase.RUNNING, reading

    async def resumed() -> Reading | None:
        nonlocal reading
        reading = await provider.resume(context, as_measurement(reading, started))
        return None if reading.phase == AnalysisPhase.RUNNING else reading

    return await eventually(resumed, f"job {reading.metadata.get('job-name')} to finish")


async def job_names(client: KubeClient, namespace: str) -> set[str]:
    listed = await client.list(JOBS, namespace)
    return {str(job["metadata"]["name"]) for job in listed.get("items") or []}


async def test_a_job_that_succeeds_is_a_successful_measurement(
    cluster: Cluster, namespace: str, client: KubeClient, http: httpx.AsyncClient
) -> None:
    # Given an AnalysisRun with a job metric whose pod succeeds
    metric = job_metric("smoke")
    run = await given_run(client, namespace, metric)
    uid = run["metadata"]["uid"]
    # When the provider measures and resumes until the Job is done
    reading = await measure_until_done(JobProvider(), context_for(run, metric, client, http))
    # Then the measurement is Successful and names its Job
    assert reading.phase == AnalysisPhase.SUCCESSFUL
    assert reading.metadata == {"job-name": f"{uid}.smoke.1", "job-namespace": namespace}
    # And the Job is the run's: labelled, annotated and owned by it, its pods labelled too
    job = await client.get(JOBS, f"{uid}.smoke.1", namespace)
    assert job["metadata"]["labels"] == {"purpose": "smoke", "analysisrun.argoproj.io/uid": uid}
    assert {key: value for key, value in job["metadata"]["annotations"].items() if key.startswith("analysisrun.")} == {
        "analysisrun.argoproj.io/name": "run",
        "analysisrun.argoproj.io/namespace": namespace,
        "analysisrun.argoproj.io/metric-name": "smoke",
    }
    [owner] = job["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == ("AnalysisRun", "run", uid, True)
    pods = cluster.list("pods", namespace, selector=f"analysisrun.argoproj.io/uid={uid}")
    assert [pod["status"]["phase"] for pod in pods] == ["Succeeded"]


async def test_a_job_that_fails_is_a_failed_measurement(
    namespace: str, client: KubeClient, http: httpx.AsyncClient
) -> None:
    # Given a job metric whose pod fails (the local cluster's simulate annotation) and no retries
    metric = job_metric("doomed", {"ramp.dev/simulate": "fail"})
    run = await given_run(client, namespace, metric)
    # When the provider measures and resumes until the Job is done
    reading = await measure_until_done(JobProvider(), context_for(run, metric, client, http))
    # Then the measurement is Failed, with the Job's own reason
    assert reading.phase == AnalysisPhase.FAILED
    assert reading.message == "Job has reached the specified backoff limit"


async def test_a_second_create_of_the_same_measurement_takes_the_existing_job(
    namespace: str, client: KubeClient, http: httpx.AsyncClient
) -> None:
    # Given a measurement whose Job was created (its answer lost, say)
    metric = job_metric("smoke")
    run = await given_run(client, namespace, metric)
    context = context_for(run, metric, client, http)
    first = await JobProvider().measure(context)
    # When the same measurement is taken again
    second = await JobProvider().measure(context)
    # Then it is the same Job, and there is only that one
    assert (second.phase, second.metadata) == (AnalysisPhase.RUNNING, first.metadata)
    assert await job_names(client, namespace) == {first.metadata["job-name"]}


async def test_terminate_deletes_a_running_job(namespace: str, client: KubeClient, http: httpx.AsyncClient) -> None:
    # Given a measurement whose Job runs for an hour
    metric = job_metric("long", {"ramp.dev/simulate-duration": "1h"})
    run = await given_run(client, namespace, metric)
    context = context_for(run, metric, client, http)
    provider = JobProvider()
    started = datetime.now(UTC)
    measured = await provider.measure(context)
    await asyncio.sleep(2)
    still = await provider.resume(context, as_measurement(measured, started))
    assert still.phase == AnalysisPhase.RUNNING
    assert still.resume_at is not None and still.resume_at > context.now
    # When the run is terminated
    reading = await provider.terminate(context, as_measurement(still, started))
    # Then the measurement is Inconclusive (upstream's terminate) and the Job goes away
    assert reading.phase == AnalysisPhase.INCONCLUSIVE
    name = measured.metadata["job-name"]

    async def is_gone() -> bool:
        try:
            await client.get(JOBS, name, namespace)
        except ApiError as problem:
            return problem.is_not_found
        return False

    await eventually(is_gone, f"job {name} to be deleted")
    # And terminating again (the Job already gone) is fine
    again = await provider.terminate(context, as_measurement(still, started))
    assert again.phase == AnalysisPhase.INCONCLUSIVE


async def test_garbage_collection_keeps_the_newest_jobs_of_the_metric(
    namespace: str, client: KubeClient, http: httpx.AsyncClient
) -> None:
    # Given four measurements of one metric and one of another, each with its Job
    metric, other = job_metric("smoke"), job_metric("other")
    run = await given_run(client, namespace, metric, other)
    uid = run["metadata"]["uid"]
    provider = JobProvider()
    for taken in range(4):
        await provider.measure(context_for(run, metric, client, http, taken))
    await provider.measure(context_for(run, other, client, http))
    # When the metric's Jobs are collected keeping two
    await provider.garbage_collect(context_for(run, metric, client, http, 4), keep=2)
    # Then the two newest of the metric remain, and the other metric's Job is untouched
    expected = {f"{uid}.smoke.3", f"{uid}.smoke.4", f"{uid}.other.1"}

    async def only_kept() -> set[str] | None:
        names = await job_names(client, namespace)
        return names if names == expected else None

    await eventually(only_kept, f"only {sorted(expected)} to remain")
