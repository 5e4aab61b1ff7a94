"""The `kayenta` metric provider: a Spinnaker Kayenta canary judgement, started and then polled.

Follows upstream Argo Rollouts' documented behaviour (features/kayenta.md, metricproviders/kayenta):
- measure: find the canary config's id by its name (`GET {address}/canaryConfig?application=...&
  configurationAccountName=...`), start a judgement (`POST {address}/canary/{configId}?application=...&
  metricsAccountName=...&configurationAccountName=...&storageAccountName=...` with the scopes and thresholds), and
  hand back a Running measurement whose metadata holds `canaryExecutionId`, to look at again in 15 seconds;
- resume: `GET {address}/canary/{canaryExecutionId}`; while `complete` is false the measurement stays Running; then
  the score (`result.judgeResult.score.score`, as a whole number) is the value, and the phase is Successful at or
  above `threshold.pass`, Inconclusive at or above `threshold.marginal`, Failed below.
Upstream looks the config up with the storage account's name as `configurationAccountName`; Ramp sends the
configuration account, which is what Kayenta's API reads there. A config name that matches nothing is an Error
naming it (upstream would start a judgement with an empty id).

Every call has a total deadline (15 s, upstream's client timeout); a password in `address` never reaches a message.
Works with `ramp.providers.base` (the contract) and `ramp.providers.prometheus_api` (transport error wording).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import httpx

from ramp.api.analysis_status import AnalysisPhase, Measurement
from ramp.api.providers import KayentaMetric, KayentaScopeDetail
from ramp.providers.base import MeasurementContext, Reading, redact_url
from ramp.providers.prometheus_api import describe_http_error

RESUME_DELAY = timedelta(seconds=15)
CALL_DEADLINE_SECONDS = 15.0
EXECUTION_ID = "canaryExecutionId"


class KayentaError(Exception):
    """A call that failed or an answer that cannot be read; the message says which."""


class KayentaProvider:
    """Starts a Kayenta canary judgement, then polls it until Kayenta says it is complete."""

    key: ClassVar[str] = "kayenta"

    async def measure(self, context: MeasurementContext) -> Reading:
        spec = context.metric.provider.kayenta
        if spec is None:
            return Reading.error("the metric has no provider.kayenta settings")
        try:
            config_id = await find_config_id(context.http, spec)
            execution_id = await start_judgement(context.http, spec, config_id)
        except KayentaError as problem:
            return Reading.error(str(problem))
        return Reading(
            AnalysisPhase.RUNNING, metadata={EXECUTION_ID: execution_id}, resume_at=context.now + RESUME_DELAY
        )

    async def resume(self, context: MeasurementContext, measurement: Measurement) -> Reading:
        spec = context.metric.provider.kayenta
        metadata = dict(measurement.metadata or {})
        if spec is None:
            return Reading.error("the metric has no provider.kayenta settings", metadata)
        execution_id = metadata.get(EXECUTION_ID, "")
        if not execution_id:
            return Reading.error(f"the measurement does not name its Kayenta judgement ({EXECUTION_ID})", metadata)
        try:
            answer = await call(context.http, "GET", canary_url(spec.address, execution_id))
            return read_judgement(answer, spec, metadata, context)
        except KayentaError as problem:
            return Reading.error(str(problem), metadata)

    async def terminate(self, context: MeasurementContext, measurement: Measurement) -> Reading:
        # Kayenta has no call to stop a judgement; the run simply stops waiting for it.
        return Reading(AnalysisPhase.SUCCESSFUL, value=measurement.value, metadata=dict(measurement.metadata or {}))

    async def garbage_collect(self, context: MeasurementContext, keep: int) -> None:
        return None


def canary_url(address: str, identifier: str) -> str:
    return f"{address.rstrip('/')}/canary/{identifier}"


async def find_config_id(http: httpx.AsyncClient, spec: KayentaMetric) -> str:
    """The id of the canary config named `spec.canaryConfigName` for the application."""
    url = f"{spec.address.rstrip('/')}/canaryConfig"
    params = {"application": spec.application, "configurationAccountName": spec.configuration_account_name}
    configs = await call(http, "GET", url, params=params)
    if not isinstance(configs, list):
        raise KayentaError(f"Kayenta's canary configs at {redact_url(url)} are not a list")
    for config in configs:
        if isinstance(config, dict) and config.get("name") == spec.canary_config_name and config.get("id"):
            return str(config["id"])
    raise KayentaError(
        f"Kayenta has no canary config named {spec.canary_config_name!r} for application {spec.application!r}: "
        "check provider.kayenta.canaryConfigName and application"
    )


def build_judgement_request(spec: KayentaMetric) -> dict[str, Any]:
    """The body that starts a judgement: scopes by name, and the thresholds."""
    return {
        "scopes": {
            scope.name: {
                "controlScope": describe_scope(scope.control_scope),
                "experimentScope": describe_scope(scope.experiment_scope),
            }
            for scope in spec.scopes
        },
        "thresholds": {"pass": spec.threshold.pass_, "marginal": spec.threshold.marginal},
    }


def describe_scope(detail: KayentaScopeDetail) -> dict[str, Any]:
    """A scope as upstream sends it: every field, empty text for a time not given."""
    return {
        "scope": detail.scope,
        "region": detail.region,
        "step": detail.step,
        "start": detail.start or "",
        "end": detail.end or "",
    }


async def start_judgement(http: httpx.AsyncClient, spec: KayentaMetric, config_id: str) -> str:
    """Start a judgement; its canaryExecutionId."""
    params = {
        "application": spec.application,
        "metricsAccountName": spec.metrics_account_name,
        "configurationAccountName": spec.configuration_account_name,
        "storageAccountName": spec.storage_account_name,
    }
    answer = await call(
        http, "POST", canary_url(spec.address, config_id), params=params, body=build_judgement_request(spec)
    )
    execution_id = answer.get(EXECUTION_ID) if isinstance(answer, dict) else None
    if not execution_id:
        raise KayentaError(f"Kayenta started no judgement: its answer has no {EXECUTION_ID}")
    return str(execution_id)


def read_judgement(
    answer: Any, spec: KayentaMetric, metadata: Mapping[str, str], context: MeasurementContext
) -> Reading:
    """Running while Kayenta works on it; then the score and the phase the thresholds give it."""
    if not isinstance(answer, dict) or not isinstance(answer.get("complete"), bool):
        raise KayentaError("Kayenta's answer about the judgement has no complete status")
    if not answer["complete"]:
        return Reading(AnalysisPhase.RUNNING, metadata=dict(metadata), resume_at=context.now + RESUME_DELAY)
    score = _dig(answer, "result", "judgeResult", "score", "score")
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        raise KayentaError("Kayenta's completed judgement has no score (result.judgeResult.score.score)")
    whole = int(score)
    return Reading(
        classify_score(whole, spec.threshold.pass_, spec.threshold.marginal), value=str(whole), metadata=dict(metadata)
    )


def classify_score(score: int, passing: int, marginal: int) -> AnalysisPhase:
    """Successful at or above `passing`, Inconclusive at or above `marginal`, Failed below.

    Examples: (95, 90, 75) -> Successful; (80, 90, 75) -> Inconclusive; (60, 90, 75) -> Failed.
    """
    if score >= passing:
        return AnalysisPhase.SUCCESSFUL
    if score >= marginal:
        return AnalysisPhase.INCONCLUSIVE
    return AnalysisPhase.FAILED


def _dig(document: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(document, dict):
            return None
        document = document.get(name)
    return document


async def call(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    params: Mapping[str, str] | None = None,
    body: Mapping[str, Any] | None = None,
) -> Any:
    """One call to Kayenta within the deadline; its JSON answer. Raises KayentaError saying what failed."""
    shown = redact_url(url)
    try:
        async with asyncio.timeout(CALL_DEADLINE_SECONDS):
            response = await http.request(
                method, url, params=params, json=body, timeout=httpx.Timeout(CALL_DEADLINE_SECONDS)
            )
    except (TimeoutError, httpx.TimeoutException):
        raise KayentaError(f"Kayenta at {shown} did not answer within {CALL_DEADLINE_SECONDS:g}s") from None
    except httpx.HTTPError as failure:
        raise KayentaError(f"cannot reach Kayenta at {shown}: {describe_http_error(failure)}") from None
    if response.status_code != httpx.codes.OK:
        detail = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        raise KayentaError(f"Kayenta at {shown} answered HTTP {response.status_code}{': ' + detail if detail else ''}")
    try:
        return response.json()
    except ValueError:
        raise KayentaError(f"Kayenta at {shown} answered with a body that is not JSON") from None
