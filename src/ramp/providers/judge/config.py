"""The judge's configuration: what a metric writes under `provider.plugin["ramp/judge"]`, read and checked.

`parse_judge_config` validates the plugin's JSON object into a `JudgeConfig` (camelCase on the wire, like
`ramp.api`), or raises a `ManifestError` whose problems name each bad field and say what it takes, such as
`metrics[0].tolerance: must be a number, got "high"`. Unknown keys are rejected (a misspelt `mustHaveData`
would otherwise quietly fall back to its default). Numbers and booleans may arrive as text, because templates
substitute "{{args.x}}" into them. `resolve_window` turns the window settings into the times of the range
queries, with `now` passed in.

Pure. Uses `ramp.api.meta` (ApiModel, Timestamp), `ramp.api.durations`, `ramp.api.validation` (error
wording) and the criteria and thresholds of `ramp.providers.judge.classify` and `ramp.providers.judge.score`.
Used by `ramp.providers.judge.provider`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from ramp.api.durations import parse_duration
from ramp.api.meta import ApiModel, Timestamp
from ramp.api.validation import ManifestError, Problem, describe_input, nested_error, problems_from
from ramp.providers.judge.classify import (
    DEFAULT_CONFIDENCE,
    DEFAULT_TOLERANCE,
    Direction,
    MetricCriteria,
    NanStrategy,
)
from ramp.providers.judge.score import DEFAULT_GROUP, Thresholds

PLUGIN_NAME = "ramp/judge"
"""The key under a metric's `provider.plugin` that selects the judge."""

DEFAULT_LOOKBACK = timedelta(minutes=5)
"""Window of a metric that sets no window and has no interval."""

DEFAULT_STEP = "15s"


def _check_positive_duration(text: str) -> str:
    try:
        length = parse_duration(text)
    except ValueError:
        raise PydanticCustomError("duration", 'must be a duration such as "30s", "5m" or "1h"') from None
    if length <= timedelta(0):
        raise PydanticCustomError("duration", "must be longer than 0")
    return text


PositiveDuration = Annotated[str, AfterValidator(_check_positive_duration)]
"""A Go-style duration ("15s", "5m", "1h30m") longer than zero."""


def _headers_from_mapping(value: object) -> object:
    # Both spellings are accepted: upstream's list of {key, value} and a plain {name: value} mapping.
    if isinstance(value, dict):
        return [{"key": key, "value": text} for key, text in value.items()]
    return value


class JudgeModel(ApiModel):
    """Base of the judge's settings: camelCase, unknown keys refused, text accepted for numbers."""

    model_config = ConfigDict(extra="forbid", strict=False)


class Header(JudgeModel):
    """One HTTP header sent with every query."""

    key: str
    """Header name, such as "Authorization"."""
    value: str
    """Header value."""


class PrometheusBackend(JudgeModel):
    """The Prometheus server both sides are queried from."""

    address: str = Field(min_length=1)
    """Base URL of the server, such as "http://prometheus.monitoring:9090"."""
    headers: Annotated[list[Header], BeforeValidator(_headers_from_mapping)] = Field(default_factory=list)
    """Extra headers (authentication): a list of {key, value}, or a mapping of name to value."""
    timeout: float = Field(default=30.0, gt=0)
    """Seconds each query may take."""
    insecure: bool = False
    """Skip TLS certificate verification."""

    @property
    def header_map(self) -> dict[str, str]:
        """The headers as a mapping of name to value."""
        return {header.key: header.value for header in self.headers}


class EffectSize(JudgeModel):
    """How large a change must be, as the ratio mean(canary)/mean(baseline), to count (1.0: any size)."""

    allowed_increase: float = Field(default=1.0, ge=1.0)
    """A significant rise is High only when the ratio is at least this (1.2: 20% higher)."""
    allowed_decrease: float = Field(default=1.0, gt=0, le=1.0)
    """A significant fall is Low only when the ratio is at most this (0.8: 20% lower)."""
    critical_increase: float = Field(default=1.0, ge=1.0)
    """A critical metric fails the whole judgement when High with a ratio at least this."""
    critical_decrease: float = Field(default=1.0, gt=0, le=1.0)
    """A critical metric fails the whole judgement when Low with a ratio at most this."""


class QueryWindowSettings(JudgeModel):
    """When the samples are taken: the last `lookback`, or from `start` to `end` (default now)."""

    lookback: PositiveDuration | None = None
    """Length of the window ending at `end` (or now), such as "5m". Default: the metric's interval, else 5m."""
    start: Timestamp | None = None
    """Fixed start of the window (RFC 3339); instead of `lookback`."""
    end: Timestamp | None = None
    """Fixed end of the window (RFC 3339); default: the time of the measurement."""
    step: PositiveDuration | None = None
    """Resolution of the range queries, such as "15s": one sample per series per step (default 15s)."""

    @property
    def has_window(self) -> bool:
        """True when lookback, start or end is set."""
        return self.lookback is not None or self.start is not None or self.end is not None

    @model_validator(mode="after")
    def _check_window(self) -> QueryWindowSettings:
        if self.lookback is not None and self.start is not None:
            raise nested_error("start", "set either lookback or start, not both")
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise nested_error("end", "must be later than start")
        return self


class JudgeMetric(QueryWindowSettings):
    """One metric compared between canary and baseline. Window settings here replace the judge's own."""

    name: str = Field(min_length=1)
    """Metric name, unique in the judge; names the metric in the result."""
    canary_query: str = Field(min_length=1)
    """PromQL range query for the canary, such as `sum(rate(http_errors{pod=~"app-canary.*"}[1m]))`."""
    baseline_query: str = Field(min_length=1)
    """PromQL range query for the baseline."""
    direction: Direction = Direction.EITHER
    """Which change is a problem: "increase", "decrease" or "either"."""
    tolerance: float = Field(default=DEFAULT_TOLERANCE, ge=0)
    """Shifts within tolerance x |estimate| of zero are ignored: the interval must lie beyond it."""
    confidence: float = Field(default=DEFAULT_CONFIDENCE, gt=0, lt=1)
    """Confidence level of the interval around the estimated shift."""
    effect_size: EffectSize = Field(default_factory=EffectSize)
    """Minimum size of a change that counts, and of one that fails a critical metric."""
    critical: bool = False
    """High/Low beyond the critical effect size, or no data, fails the whole judgement (score 0)."""
    must_have_data: bool = False
    """No data counts as a failure in the metric's groups (NodataFailure) instead of being left out."""
    muted: bool = False
    """Classified and reported, but left out of the score."""
    nan_strategy: NanStrategy = NanStrategy.REMOVE
    """NaN and infinite samples: "remove" them, or "replace" them with 0."""
    groups: list[str] = Field(default_factory=list)
    """Groups the metric scores in; none: the group "default"."""

    @property
    def criteria(self) -> MetricCriteria:
        """The settings the classifier takes."""
        return MetricCriteria(
            direction=self.direction,
            tolerance=self.tolerance,
            confidence=self.confidence,
            allowed_increase=self.effect_size.allowed_increase,
            allowed_decrease=self.effect_size.allowed_decrease,
            critical_increase=self.effect_size.critical_increase,
            critical_decrease=self.effect_size.critical_decrease,
            critical=self.critical,
            must_have_data=self.must_have_data,
            nan_strategy=self.nan_strategy,
        )

    @property
    def effective_groups(self) -> tuple[str, ...]:
        """The metric's groups; the default group when it names none."""
        return tuple(self.groups) or (DEFAULT_GROUP,)


class ScoreThresholds(JudgeModel):
    """Where the score (0-100) passes and where it is marginal."""

    pass_: float = Field(default=95.0, alias="pass", ge=0, le=100)
    """At or above: the canary passes (Successful)."""
    marginal: float = Field(default=75.0, ge=0, le=100)
    """At or above, below pass: marginal (Inconclusive when the analysis has one interval)."""

    @model_validator(mode="after")
    def _check_order(self) -> ScoreThresholds:
        if self.marginal > self.pass_:
            raise nested_error("marginal", f"must not be above pass ({self.pass_:g})")
        return self

    @property
    def thresholds(self) -> Thresholds:
        """The thresholds the scorer takes."""
        return Thresholds(pass_=self.pass_, marginal=self.marginal)


class JudgeConfig(QueryWindowSettings):
    """Everything under `provider.plugin["ramp/judge"]`."""

    prometheus: PrometheusBackend
    """The metrics backend (Prometheus for now)."""
    metrics: list[JudgeMetric] = Field(min_length=1)
    """The metrics to compare."""
    score_thresholds: ScoreThresholds = Field(default_factory=ScoreThresholds)
    """Pass and marginal scores (default 95 and 75)."""
    group_weights: dict[str, float] = Field(default_factory=dict)
    """Weight (percent) of each group in the score; groups left out share what remains of 100 equally."""

    @model_validator(mode="after")
    def _check_metrics_and_groups(self) -> JudgeConfig:
        seen: set[str] = set()
        for index, metric in enumerate(self.metrics):
            if metric.name in seen:
                raise nested_error(f"metrics[{index}].name", f'"{metric.name}" names another metric too')
            seen.add(metric.name)
        if all(metric.muted for metric in self.metrics):
            raise nested_error("metrics", "at least one metric must not be muted")
        groups = {group for metric in self.metrics for group in metric.effective_groups}
        for group, weight in self.group_weights.items():
            if group not in groups:
                known = ", ".join(sorted(groups))
                raise nested_error(f'groupWeights["{group}"]', f"no metric is in this group (groups: {known})")
            if not (0 <= weight <= 100 and math.isfinite(weight)):
                raise nested_error(f'groupWeights["{group}"]', f"must be between 0 and 100, got {weight:g}")
        total = sum(self.group_weights.values())
        if total > 100 + 1e-9:
            raise nested_error("groupWeights", f"must add up to 100 at most, not {total:g}")
        if groups <= set(self.group_weights) and abs(total - 100) > 1e-9:
            raise nested_error("groupWeights", f"give every group a weight, so must add up to 100, not {total:g}")
        return self


@dataclass(frozen=True)
class QueryWindow:
    """The times of a metric's two range queries."""

    start: datetime
    end: datetime
    step_seconds: float


def resolve_window(config: JudgeConfig, metric: JudgeMetric, now: datetime, interval: str | None) -> QueryWindow:
    """Start, end and step of `metric`'s queries at time `now`.

    The metric's own lookback/start/end replace the judge's when it sets any; its step replaces the judge's.
    Without lookback or start, the window is the metric's `interval` (the time since the last measurement)
    if it has one, else 5 minutes. Raises ValueError when the window would end before it starts.

    Example: lookback "5m" at 12:00 -> 11:55 to 12:00, step 15 s.
    """
    source: QueryWindowSettings = metric if metric.has_window else config
    end = source.end or now
    if source.start is not None:
        start = source.start
    else:
        length = source.lookback or interval
        start = end - (parse_duration(length) if length else DEFAULT_LOOKBACK)
    if start >= end:
        raise ValueError(f"the window of metric {metric.name} starts at {start.isoformat()}, after its end")
    step = parse_duration(metric.step or config.step or DEFAULT_STEP).total_seconds()
    return QueryWindow(start=start, end=end, step_seconds=step)


def parse_judge_config(obj: Any) -> JudgeConfig:
    """Validate the plugin's config; raises ManifestError listing every problem, each naming its field."""
    subject = f'provider.plugin["{PLUGIN_NAME}"]'
    if not isinstance(obj, dict):
        raise ManifestError(subject, None, [Problem("", "must be an object with prometheus and metrics")])
    try:
        return JudgeConfig.model_validate(obj)
    except ValidationError as error:
        problems = [
            _reword(detail["type"], detail.get("input"), problem)
            for detail, problem in zip(error.errors(), problems_from(error), strict=True)
        ]
        raise ManifestError(subject, None, problems) from None


_PARSING_MESSAGES = {"float_parsing": "must be a number", "bool_parsing": "must be true or false"}


def _reword(kind: str, value: object, problem: Problem) -> Problem:
    """Plainer words than pydantic's for the mistakes people make in this config."""
    if kind == "extra_forbidden":
        return Problem(problem.path, "is not a setting of the judge (misspelt?)")
    if kind in _PARSING_MESSAGES:
        return Problem(problem.path, f"{_PARSING_MESSAGES[kind]}, got {describe_input(value)}")
    return problem
