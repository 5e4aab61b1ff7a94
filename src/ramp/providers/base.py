"""The contract every metric provider follows, and what a provider hands back.

A provider turns one metric (its arguments already substituted) into a `Reading`: either a value for the metric's
success and failure conditions to judge (`EVALUATE`), or a phase it decided itself (a Job that succeeded, a
judgement's score, a measurement still running, an error). Providers never raise: `measure_safely` and
`resume_safely` turn any exception into an Error reading that says what went wrong, so one broken backend cannot
stop the analysis reconciler.

Used by every module in `ramp.providers` and by `ramp.analysis`, which evaluates the conditions (`ramp.analysis`
owns the expression language) and records the measurement.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

import httpx

from ramp.api.analysis import Metric
from ramp.api.analysis_status import AnalysisPhase, Measurement
from ramp.kube.client import KubeClient

log = logging.getLogger(__name__)

EVALUATE = "Evaluate"
"""`Reading.phase` when the metric's conditions decide the measurement from `Reading.result`."""

SecretReader = Callable[[str, str], Awaitable[Mapping[str, str]]]
"""`(namespace, name)` → the Secret's data, decoded; raises if the Secret cannot be read."""


@dataclass(frozen=True)
class Reading:
    """What a provider observed.

    - phase EVALUATE: `result` is what the conditions see as `result` (a number, a list, a dict, ...) and
      `value` its text for the status (upstream's format for that provider).
    - phase Running: the measurement goes on (a Job); `resume_at` says when to look again, `metadata` how
      to find it (the Job's name).
    - phase Successful / Failed / Inconclusive: decided by the provider (a Job, the judge's score).
    - phase Error: `message` says what failed; never a guess at a value.
    """

    phase: str
    result: Any = None
    value: str | None = None
    message: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    resume_at: datetime | None = None

    @classmethod
    def evaluate(cls, result: Any, value: str, metadata: Mapping[str, str] | None = None) -> Reading:
        return cls(EVALUATE, result=result, value=value, metadata=dict(metadata or {}))

    @classmethod
    def error(cls, message: str, metadata: Mapping[str, str] | None = None) -> Reading:
        return cls(AnalysisPhase.ERROR, message=message, metadata=dict(metadata or {}))


@dataclass(frozen=True)
class MeasurementContext:
    """Everything a provider may use for one measurement of one metric of one AnalysisRun.

    `metric` has the run's arguments substituted. `run` is the AnalysisRun as read from the cache (for owner
    references and labels). `http` is a shared client: providers set timeouts per request, and make their own
    client only for what a shared one cannot do (skipping TLS verification). `client` is None outside a
    controller (unit tests of HTTP providers).
    """

    metric: Metric
    namespace: str
    run_name: str
    run_uid: str
    now: datetime
    http: httpx.AsyncClient
    client: KubeClient | None = None
    run: Mapping[str, Any] = field(default_factory=dict)
    controller_namespace: str = "argo-rollouts"
    read_secret: SecretReader | None = None


class Provider(Protocol):
    """One kind of metric backend, keyed by its field in `provider` (such as "prometheus" or "newRelic")."""

    key: ClassVar[str]

    async def measure(self, context: MeasurementContext) -> Reading:
        """Take a new measurement."""
        ...

    async def resume(self, context: MeasurementContext, measurement: Measurement) -> Reading:
        """Look again at a measurement that was Running (only providers that return Running need more than
        returning it unchanged)."""
        ...

    async def terminate(self, context: MeasurementContext, measurement: Measurement) -> Reading:
        """Stop a Running measurement because the run is terminated; returns its final reading."""
        ...

    async def garbage_collect(self, context: MeasurementContext, keep: int) -> None:
        """Delete what earlier measurements left behind (Jobs), keeping the newest `keep`."""
        ...


class SingleShotProvider:
    """Base for providers whose measurement completes in one call: resume, terminate and GC do nothing."""

    key: ClassVar[str] = ""

    async def measure(self, context: MeasurementContext) -> Reading:
        raise NotImplementedError

    async def resume(self, context: MeasurementContext, measurement: Measurement) -> Reading:
        return reading_of(measurement)

    async def terminate(self, context: MeasurementContext, measurement: Measurement) -> Reading:
        return Reading(AnalysisPhase.SUCCESSFUL, value=measurement.value, metadata=dict(measurement.metadata or {}))

    async def garbage_collect(self, context: MeasurementContext, keep: int) -> None:
        return None


def reading_of(measurement: Measurement) -> Reading:
    """A measurement as a reading again, unchanged (phase, value, message, metadata and resume time)."""
    return Reading(
        measurement.phase or AnalysisPhase.RUNNING,
        value=measurement.value,
        message=measurement.message,
        metadata=dict(measurement.metadata or {}),
        resume_at=measurement.resume_at,
    )


PROVIDER_CALL_DEADLINE_SECONDS = 120.0
"""The total time one provider call (measure, resume, terminate, garbage collection) may take, whatever it does
inside: per-request timeouts alone let a provider that makes several requests, or one that a backend answers a
byte at a time, hold a reconcile for much longer."""


def deadline_message(seconds: float) -> str:
    return f"the provider did not finish within {seconds:g}s (the total deadline of a provider call)"


async def measure_safely(
    provider: Provider, context: MeasurementContext, deadline_seconds: float = PROVIDER_CALL_DEADLINE_SECONDS
) -> Reading:
    """`provider.measure` within the total deadline, with any exception turned into an Error reading."""
    try:
        async with asyncio.timeout(deadline_seconds):
            return await provider.measure(context)
    except TimeoutError:
        return Reading.error(deadline_message(deadline_seconds))
    except Exception as problem:  # a provider must never stop the reconciler
        log.debug("provider %s failed", provider.key, exc_info=True)
        return Reading.error(describe_exception(problem))


async def resume_safely(
    provider: Provider,
    context: MeasurementContext,
    measurement: Measurement,
    deadline_seconds: float = PROVIDER_CALL_DEADLINE_SECONDS,
) -> Reading:
    """`provider.resume` within the total deadline, with any exception turned into an Error reading."""
    try:
        async with asyncio.timeout(deadline_seconds):
            return await provider.resume(context, measurement)
    except TimeoutError:
        return Reading.error(deadline_message(deadline_seconds), measurement.metadata)
    except Exception as problem:  # a provider must never stop the reconciler
        log.debug("provider %s failed to resume", provider.key, exc_info=True)
        return Reading.error(describe_exception(problem), measurement.metadata)


def describe_exception(problem: BaseException) -> str:
    """A one-line message for a measurement's status: the exception's text, or its type when it has none."""
    text = str(problem).strip().splitlines()[0] if str(problem).strip() else ""
    return text or type(problem).__name__


def redact_url(url: str) -> str:
    """`url` fit for a status message: a password in it (`https://user:secret@host`) becomes "*****"."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return url
    if not parsed.password:
        return url
    return str(parsed.copy_with(username=parsed.username, password="*****"))
