"""Which provider measures a metric: a registry keyed by the metric's provider field, never an if-chain.

Keys are what `ramp.api.providers.configured_providers` returns for a metric ("prometheus", "web", "job",
"newRelic", "plugin/ramp/judge", ...). A metric whose provider has no entry (an unknown plugin) gets
an Error measurement saying "provider X is not supported" from the analysis reconciler.

`check_template_providers` names, for validation (`ramp lint`, and a Rollout's InvalidSpec when a template it
references measures with one), each metric whose provider Ramp does not have.

`build_providers(environment)` makes the providers with the settings upstream reads from the controller's
environment (a default Prometheus address, Datadog and AWS credentials); `PROVIDERS` is the same without them.
Used by `ramp.analysis.reconciler` and `ramp.manager.wiring`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ramp.api import Problem
from ramp.api.analysis import Metric
from ramp.api.providers import configured_providers
from ramp.providers.base import Provider
from ramp.providers.cloudwatch import CloudWatchProvider
from ramp.providers.datadog import DatadogProvider
from ramp.providers.graphite import GraphiteProvider
from ramp.providers.influxdb import InfluxdbProvider
from ramp.providers.job import JobProvider
from ramp.providers.judge import JudgeProvider
from ramp.providers.kayenta import KayentaProvider
from ramp.providers.newrelic import NewRelicProvider
from ramp.providers.prometheus import PrometheusProvider
from ramp.providers.skywalking import SkyWalkingProvider
from ramp.providers.wavefront import WavefrontProvider
from ramp.providers.web import WebProvider


def build_providers(environment: Mapping[str, str]) -> dict[str, Provider]:
    """Every supported provider by its key, configured from the controller's `environment`."""
    providers: list[Provider] = [
        PrometheusProvider.from_environment(environment),
        WebProvider(),
        JobProvider(),
        DatadogProvider.from_environment(environment),
        NewRelicProvider(),
        CloudWatchProvider.from_environment(environment),
        GraphiteProvider(),
        InfluxdbProvider(),
        WavefrontProvider(),
        KayentaProvider(),
        SkyWalkingProvider(),
        JudgeProvider(),
    ]
    return {provider.key: provider for provider in providers}


PROVIDERS: dict[str, Provider] = build_providers({})
"""The supported providers with no environment settings."""


def provider_key(metric: Metric) -> str | None:
    """The metric's provider key ("prometheus", "plugin/<name>", ...); None when it names none."""
    keys = configured_providers(metric.provider)
    return keys[0] if keys else None


def provider_for(metric: Metric, providers: Mapping[str, Provider] = PROVIDERS) -> Provider | None:
    """The provider that measures `metric`, or None when its provider is not supported."""
    key = provider_key(metric)
    return providers.get(key) if key is not None else None


def describe_unsupported(metric: Metric) -> str:
    """The Error measurement's message for a metric no registered provider measures."""
    key = provider_key(metric)
    return f"provider {key} is not supported" if key else "no provider specified"


def check_template_providers(template: Mapping[str, Any]) -> list[Problem]:
    """A problem for each metric of a stored AnalysisTemplate, ClusterAnalysisTemplate or AnalysisRun object
    (read as written: the metric need not parse to say which provider it names). Such a metric would only
    ever measure Error, so validation refuses it up front.."""
    problems: list[Problem] = []
    for index, raw in enumerate((template.get("spec") or {}).get("metrics") or []):
        provider = raw.get("provider") if isinstance(raw, Mapping) else None
        if not isinstance(provider, Mapping):
            continue
        for field_name, value in provider.items():
            plugins = value if field_name == "plugin" and isinstance(value, Mapping) else None
            keys = [f"plugin/{name}" for name in plugins] if plugins is not None else [str(field_name)]
            problems += [_unsupported(key, f"spec.metrics[{index}]") for key in keys if key not in PROVIDERS]
    return problems


def _unsupported(key: str, metric_path: str) -> Problem:
    supported = ", ".join(sorted(known.replace("plugin/", "plugin.", 1) for known in PROVIDERS))
    if key.startswith("plugin/"):
        name = key.removeprefix("plugin/")
        return Problem(
            f'{metric_path}.provider.plugin["{name}"]',
            f'metric plugin "{name}" is not supported by Ramp (it runs no metric plugins but its own); '
            f"use one of {supported}",
        )
    return Problem(
        f"{metric_path}.provider.{key}", f"metric provider {key} is not supported by Ramp; use one of {supported}"
    )
