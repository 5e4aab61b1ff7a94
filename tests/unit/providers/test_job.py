"""The job provider's decisions: the Job it builds, what a Job's status means, when to look again, which Jobs
to collect. The calls to the API server are covered on the local cluster (tests/e2e/test_provider_job.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ramp.api.analysis import Metric
from ramp.api.analysis_status import AnalysisPhase, Measurement
from ramp.api.providers import JobMetric
from ramp.providers import job as job_module
from ramp.providers.base import MeasurementContext
from ramp.providers.job import (
    JobOutcome,
    JobProvider,
    assess_job,
    assess_pods,
    build_job,
    build_job_name,
    calculate_resume_at,
    count_measurements_taken,
    is_owned_by_run,
    read_job_reference,
    select_jobs_to_collect,
)

UID = "2b0b7c2e-3f1e-4a53-9d3c-0f5d8d6f9a11"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_doctests() -> None:
    import doctest

    assert doctest.testmod(job_module).failed == 0


@pytest.mark.parametrize(
    ("metric_name", "number", "expected"),
    [
        pytest.param("smoke", 1, f"{UID}.smoke.1", id="short_names_are_kept"),
        pytest.param("a" * 30, 7, f"{UID}.{'a' * 24}.7", id="long_metric_name_is_cut_to_fit_63"),
        pytest.param("a" * 30, 1234, f"{UID}.{'a' * 21}.1234", id="longer_number_cuts_more"),
    ],
)
def test_job_name(metric_name: str, number: int, expected: str) -> None:
    name = build_job_name(UID, metric_name, number)
    assert name == expected
    assert len(name) <= 63


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        pytest.param({}, 0, id="run_without_status"),
        pytest.param({"status": {"metricResults": [{"name": "other", "count": 5}]}}, 0, id="other_metric_only"),
        pytest.param(
            {"status": {"metricResults": [{"name": "smoke", "count": 3, "error": 2}]}}, 5, id="count_plus_errors"
        ),
        pytest.param({"status": {"metricResults": [{"name": "smoke"}]}}, 0, id="result_without_counters"),
    ],
)
def test_measurements_taken(run: dict[str, Any], expected: int) -> None:
    assert count_measurements_taken(run, "smoke") == expected


def test_job_carries_the_spec_the_run_labels_annotations_and_owner() -> None:
    spec = JobMetric.model_validate(
        {
            "metadata": {"labels": {"team": "a"}, "annotations": {"note": "x"}},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "metadata": {"labels": {"app": "check"}},
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]},
                },
            },
        }
    )
    job = build_job(spec, "smoke", run_name="run-1", run_namespace="ns", run_uid=UID, number=2)
    meta = job["metadata"]
    assert (job["apiVersion"], job["kind"], meta["name"], meta["namespace"]) == (
        "batch/v1",
        "Job",
        f"{UID}.smoke.2",
        "ns",
    )
    assert meta["labels"] == {"team": "a", "analysisrun.argoproj.io/uid": UID}
    assert meta["annotations"] == {
        "note": "x",
        "analysisrun.argoproj.io/name": "run-1",
        "analysisrun.argoproj.io/namespace": "ns",
        "analysisrun.argoproj.io/metric-name": "smoke",
    }
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AnalysisRun",
            "name": "run-1",
            "uid": UID,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["template"]["metadata"]["labels"] == {"app": "check", "analysisrun.argoproj.io/uid": UID}
    # The metric itself is left as written.
    assert "analysisrun.argoproj.io/uid" not in spec.spec["template"]["metadata"]["labels"]


@pytest.mark.parametrize(
    ("meta", "owned"),
    [
        pytest.param({"ownerReferences": [{"uid": UID, "controller": True}]}, True, id="controller_is_the_run"),
        pytest.param({"ownerReferences": [{"uid": "other", "controller": True}]}, False, id="controller_is_another"),
        pytest.param({"labels": {"analysisrun.argoproj.io/uid": UID}}, True, id="no_owner_but_run_label"),
        pytest.param({"labels": {"analysisrun.argoproj.io/uid": "other"}}, False, id="no_owner_other_label"),
    ],
)
def test_job_ownership(meta: dict[str, Any], owned: bool) -> None:
    assert is_owned_by_run({"metadata": meta}, UID) is owned


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        pytest.param({"job-name": "j", "job-namespace": "run-ns"}, ("run-ns", "j"), id="name_and_namespace"),
        pytest.param({"job-name": "j"}, ("run-ns", "j"), id="namespace_defaults_to_the_run"),
    ],
)
def test_job_reference(metadata: dict[str, str], expected: tuple[str, str]) -> None:
    assert read_job_reference(metadata, "run-ns") == expected


@pytest.mark.parametrize(
    ("metadata", "names"),
    [
        pytest.param({"job-name": "coredns", "job-namespace": "kube-system"}, "kube-system", id="another_namespace"),
        pytest.param({}, "job-name is missing", id="no_job_named"),
    ],
)
def test_a_job_reference_outside_the_runs_namespace_is_refused(metadata: dict[str, str], names: str) -> None:
    problem = read_job_reference(metadata, "run-ns")
    assert isinstance(problem, str) and names in problem


def condition(kind: str, status: str = "True", message: str | None = None) -> dict[str, Any]:
    return {"type": kind, "status": status, **({"message": message} if message else {})}


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        pytest.param([], JobOutcome(None), id="no_conditions_still_running"),
        pytest.param(
            [condition("SuccessCriteriaMet"), condition("Complete")],
            JobOutcome(AnalysisPhase.SUCCESSFUL),
            id="complete_is_successful",
        ),
        pytest.param(
            [condition("FailureTarget", message="limit"), condition("Failed", message="Job has reached the limit")],
            JobOutcome(AnalysisPhase.FAILED, "Job has reached the limit"),
            id="failed_with_its_message",
        ),
        pytest.param([condition("FailureTarget")], JobOutcome(None), id="failure_target_alone_still_running"),
        pytest.param([condition("Complete", "False")], JobOutcome(None), id="condition_false_is_ignored"),
        pytest.param([condition("Suspended")], JobOutcome(None), id="suspended_still_running"),
    ],
)
def test_job_outcome(conditions: list[dict[str, Any]], expected: JobOutcome) -> None:
    assert assess_job({"status": {"conditions": conditions}}) == expected


def pod(state: dict[str, Any], field: str = "containerStatuses") -> dict[str, Any]:
    return {"metadata": {"name": "p"}, "status": {field: [{"name": "c", "state": state}]}}


@pytest.mark.parametrize(
    ("pods", "phase"),
    [
        pytest.param([], None, id="no_pods_yet"),
        pytest.param([pod({"running": {}})], None, id="running_pod"),
        pytest.param([pod({"waiting": {"reason": "ContainerCreating"}})], None, id="pod_still_starting"),
        pytest.param(
            [pod({"waiting": {"reason": "ImagePullBackOff", "message": "no such image"}})],
            AnalysisPhase.INCONCLUSIVE,
            id="image_never_pulled_is_inconclusive",
        ),
        pytest.param(
            [pod({"waiting": {"reason": "InvalidImageName"}}, "initContainerStatuses")],
            AnalysisPhase.INCONCLUSIVE,
            id="init_container_counts_too",
        ),
    ],
)
def test_pod_outcome(pods: list[dict[str, Any]], phase: str | None) -> None:
    assert assess_pods(pods).phase == phase


def test_stuck_pod_message_names_pod_container_and_reason() -> None:
    outcome = assess_pods([pod({"waiting": {"reason": "ErrImagePull", "message": "not found"}})])
    assert outcome.message == "Pod p, container c has terminal error (ErrImagePull): not found"


@pytest.mark.parametrize(
    ("elapsed", "delay"),
    [
        pytest.param(None, 1.0, id="unknown_start_waits_the_minimum"),
        pytest.param(0.1, 1.0, id="new_job_waits_the_minimum"),
        pytest.param(8.0, 4.0, id="grows_with_the_square_root"),
        pytest.param(50.0, 10.0, id="fifty_seconds_in_waits_ten"),
    ],
)
def test_resume_delay(elapsed: float | None, delay: float) -> None:
    started = None if elapsed is None else NOW - timedelta(seconds=elapsed)
    assert (calculate_resume_at(started, NOW) - NOW).total_seconds() == pytest.approx(delay)


def listed_job(name: str, metric: str, created: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "ns",
            "creationTimestamp": created,
            "annotations": {"analysisrun.argoproj.io/metric-name": metric},
        }
    }


@pytest.mark.parametrize(
    ("keep", "expected"),
    [
        pytest.param(5, [], id="fewer_than_kept"),
        pytest.param(2, ["u.m.1", "u.m.2"], id="oldest_go_first"),
        pytest.param(0, ["u.m.1", "u.m.2", "u.m.10", "u.m.11"], id="keep_none"),
    ],
)
def test_jobs_to_collect(keep: int, expected: list[str]) -> None:
    jobs = [
        listed_job("u.m.11", "m", "2024-05-01T12:00:05Z"),
        listed_job("u.m.2", "m", "2024-05-01T12:00:01Z"),
        # Same second as u.m.2's successor: the number decides (10 after 2, although "10" < "2" as text).
        listed_job("u.m.10", "m", "2024-05-01T12:00:01Z"),
        listed_job("u.m.1", "m", "2024-05-01T12:00:00Z"),
        listed_job("u.other.1", "other", "2024-05-01T11:00:00Z"),
    ]
    assert [name for _, name in select_jobs_to_collect(jobs, "m", keep)] == expected


def context(metric: dict[str, Any], http: httpx.AsyncClient) -> MeasurementContext:
    return MeasurementContext(
        metric=Metric.model_validate(metric), namespace="ns", run_name="run", run_uid=UID, now=NOW, http=http
    )


JOB_METRIC = {"name": "m", "provider": {"job": {"spec": {"template": {"spec": {}}}}}}


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        pytest.param(JOB_METRIC, "the job provider needs a Kubernetes client", id="no_client"),
        pytest.param(
            {"name": "m", "provider": {"web": {"url": "http://x"}}},
            "the metric has no provider.job settings",
            id="not_a_job_metric",
        ),
    ],
)
async def test_measure_without_what_it_needs_is_an_error(metric: dict[str, Any], message: str) -> None:
    async with httpx.AsyncClient() as http:
        reading = await JobProvider().measure(context(metric, http))
    assert (reading.phase, reading.message) == (AnalysisPhase.ERROR, message)


async def test_resume_of_a_measurement_without_a_job_is_an_error() -> None:
    async with httpx.AsyncClient() as http:
        reading = await JobProvider().resume(context(JOB_METRIC, http), Measurement(phase="Running"))
    assert reading.phase == AnalysisPhase.ERROR
    assert "job-name" in (reading.message or "")
