"""Metric provider settings: which backend an analysis metric queries, and how (one model per provider).

A metric names exactly one provider (prometheus, kayenta, web, datadog, wavefront, newRelic, job, cloudWatch,
graphite, influxdb, skywalking, plugin). `PROVIDER_FIELDS` lists them by their spec key, so the provider
registry in `ramp.analysis.providers` can check it has an entry for every one; `configured_provider` says
which one a metric uses. String fields may hold "{{args.name}}" until the AnalysisRun resolves them.

Used by `ramp.api.analysis` (Metric.provider) and the analysis providers.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ramp.api.meta import ApiModel, IntOrString, LabelsAndAnnotations, OpaqueObject, PodTemplate


class WebMetricHeader(ApiModel):
    """One HTTP request header."""

    key: str
    """Header name."""
    value: str
    """Header value."""


class Sigv4Config(ApiModel):
    """AWS SigV4 request signing (Amazon Managed Prometheus)."""

    region: str | None = None
    """AWS region to sign for."""
    profile: str | None = None
    """AWS credentials profile."""
    role_arn: str | None = None
    """IAM role to assume for signing."""


class OAuth2Config(ApiModel):
    """OAuth2 client-credentials authentication."""

    token_url: str | None = None
    """Token endpoint."""
    client_id: str | None = None
    """Client id."""
    client_secret: str | None = None
    """Client secret."""
    scopes: list[str] | None = None
    """Scopes to request."""


class BasicAuthConfig(ApiModel):
    """HTTP basic authentication."""

    username: str | None = None
    """User name."""
    password: str | None = None
    """Password or access token."""


class Authentication(ApiModel):
    """How to authenticate to a metrics endpoint."""

    sigv4: Sigv4Config | None = None
    """AWS SigV4 signing."""
    oauth2: OAuth2Config | None = None
    """OAuth2 client credentials."""
    basic_auth: BasicAuthConfig | None = None
    """Basic authentication."""


class PrometheusRangeQueryArgs(ApiModel):
    """Turns a Prometheus query into a range query."""

    start: str | None = None
    """Start time as an expression, such as `now() - duration("1h")`."""
    end: str | None = None
    """End time as an expression, such as `now()`."""
    step: str | None = None
    """Resolution step, a duration such as "1m"."""


class PrometheusMetric(ApiModel):
    """A PromQL query."""

    address: str | None = None
    """Prometheus server URL."""
    query: str | None = None
    """The PromQL query."""
    authentication: Authentication | None = None
    """Authentication to the server."""
    timeout: int | None = None
    """Query timeout in seconds."""
    insecure: bool | None = None
    """Skip TLS certificate verification."""
    headers: list[WebMetricHeader] | None = None
    """Extra HTTP headers."""
    range_query: PrometheusRangeQueryArgs | None = None
    """Run as a range query."""


class KayentaThreshold(ApiModel):
    """Canary score thresholds."""

    pass_: int = Field(alias="pass")
    """Score at or above which the canary passes."""
    marginal: int
    """Score at or above which the canary is marginal."""


class KayentaScopeDetail(ApiModel):
    """Where and when Kayenta reads the metrics of one side of the comparison."""

    scope: str
    """Scope name, such as the server group."""
    region: str
    """Region."""
    step: int
    """Step in seconds."""
    start: str | None = None
    """Start time."""
    end: str | None = None
    """End time."""


class KayentaScope(ApiModel):
    """A named pair of control and experiment scopes."""

    name: str
    """Scope name."""
    control_scope: KayentaScopeDetail
    """The baseline side."""
    experiment_scope: KayentaScopeDetail
    """The canary side."""


class KayentaMetric(ApiModel):
    """A Kayenta canary judgement."""

    address: str
    """Kayenta URL."""
    application: str
    """Application name."""
    canary_config_name: str
    """Name of the canary config."""
    metrics_account_name: str
    """Metrics account."""
    configuration_account_name: str
    """Configuration account."""
    storage_account_name: str
    """Storage account."""
    threshold: KayentaThreshold
    """Pass and marginal scores."""
    scopes: list[KayentaScope]
    """Scopes to compare."""


class WebMetric(ApiModel):
    """An HTTP request whose JSON response is the measurement."""

    method: str | None = None
    """HTTP method: GET (default), POST or PUT."""
    url: str
    """URL to call."""
    headers: list[WebMetricHeader] | None = None
    """Request headers."""
    body: str | None = None
    """Request body as text (POST/PUT)."""
    timeout_seconds: int | None = None
    """Request timeout in seconds (default 10)."""
    json_path: str | None = None
    """JSONPath selecting the result in the response (default "{$}")."""
    insecure: bool | None = None
    """Skip TLS certificate verification."""
    json_body: OpaqueObject | None = None
    """Request body as JSON (POST/PUT)."""
    authentication: Authentication | None = None
    """Authentication to the endpoint."""

    @property
    def effective_method(self) -> str:
        """GET unless set."""
        return self.method or "GET"

    @property
    def effective_timeout_seconds(self) -> int:
        """10 unless set."""
        return self.timeout_seconds or 10

    @property
    def effective_json_path(self) -> str:
        """The whole response ("{$}") unless set."""
        return self.json_path or "{$}"


class SecretRef(ApiModel):
    """The secret holding a provider's credentials."""

    name: str | None = None
    """Secret name."""
    namespaced: bool | None = None
    """True: the secret is in the analysis' namespace; false: in the controller's namespace."""


class DatadogMetric(ApiModel):
    """A Datadog metrics query (API v1) or a set of queries combined by a formula (API v2)."""

    interval: str | None = None
    """Time window the query covers (default 5m); not the polling interval."""
    query: str | None = None
    """A single query."""
    queries: dict[str, str] | None = None
    """Named queries for a formula (v2)."""
    formula: str | None = None
    """Formula over the named queries (v2)."""
    api_version: Literal["v1", "v2"] | None = None
    """Datadog API version (default v1)."""
    aggregator: Literal["avg", "min", "max", "sum", "last", "percentile", "mean", "l2norm", "area"] | None = None
    """Aggregation for metric queries (v2)."""
    secret_ref: SecretRef | None = None
    """Secret holding the API and application keys."""
    request_timeout: str | None = None
    """HTTP timeout for Datadog API calls (default 10s)."""

    @property
    def effective_interval(self) -> str:
        """5m unless set."""
        return self.interval or "5m"

    @property
    def effective_api_version(self) -> str:
        """v1 unless set."""
        return self.api_version or "v1"

    @property
    def effective_request_timeout(self) -> str:
        """10s unless set."""
        return self.request_timeout or "10s"


class WavefrontMetric(ApiModel):
    """A Wavefront query."""

    address: str | None = None
    """Wavefront server."""
    query: str | None = None
    """The query."""


class NewRelicMetric(ApiModel):
    """A New Relic NRQL query."""

    profile: str | None = None
    """Secret holding the account settings."""
    query: str
    """The NRQL query."""
    timeout: int | None = None
    """Query timeout in seconds."""


class JobMetric(ApiModel):
    """A Kubernetes Job run as a measurement: it succeeds or fails."""

    metadata: LabelsAndAnnotations | None = None
    """Labels and annotations for the Job."""
    spec: PodTemplate
    """The JobSpec, kept exactly as written."""


class CloudWatchMetricStatMetricDimension(ApiModel):
    """One CloudWatch dimension."""

    name: str | None = None
    """Dimension name."""
    value: str | None = None
    """Dimension value."""


class CloudWatchMetricStatMetric(ApiModel):
    """The CloudWatch metric a statistic is computed on."""

    dimensions: list[CloudWatchMetricStatMetricDimension] | None = None
    """Dimensions."""
    metric_name: str | None = None
    """Metric name."""
    namespace: str | None = None
    """CloudWatch namespace."""


class CloudWatchMetricStat(ApiModel):
    """A statistic over a CloudWatch metric."""

    metric: CloudWatchMetricStatMetric | None = None
    """The metric."""
    period: IntOrString | None = None
    """Period in seconds."""
    stat: str | None = None
    """Statistic, such as Average or p99."""
    unit: str | None = None
    """Unit."""


class CloudWatchMetricDataQuery(ApiModel):
    """One query of a CloudWatch GetMetricData call."""

    id: str | None = None
    """Query id, usable in expressions."""
    expression: str | None = None
    """Math expression over other queries."""
    label: str | None = None
    """Label."""
    metric_stat: CloudWatchMetricStat | None = None
    """The statistic to fetch."""
    period: IntOrString | None = None
    """Period in seconds."""
    return_data: bool | None = None
    """Whether this query's data is returned."""


class CloudWatchMetric(ApiModel):
    """A CloudWatch GetMetricData call."""

    interval: str | None = None
    """Time window the queries cover."""
    metric_data_queries: list[CloudWatchMetricDataQuery]
    """The queries."""


class GraphiteMetric(ApiModel):
    """A Graphite query."""

    address: str | None = None
    """Graphite server."""
    query: str | None = None
    """The query."""


class InfluxdbMetric(ApiModel):
    """An InfluxDB Flux query."""

    profile: str | None = None
    """Secret holding the InfluxDB settings."""
    query: str | None = None
    """The Flux query."""


class SkyWalkingMetric(ApiModel):
    """A SkyWalking GraphQL query."""

    address: str | None = None
    """SkyWalking server."""
    query: str | None = None
    """The query."""
    interval: str | None = None
    """Time window the query covers."""


class MetricProvider(ApiModel):
    """The backend a metric queries: exactly one field is set."""

    prometheus: PrometheusMetric | None = None
    """Prometheus."""
    kayenta: KayentaMetric | None = None
    """Kayenta canary judge."""
    web: WebMetric | None = None
    """Any HTTP endpoint returning JSON."""
    datadog: DatadogMetric | None = None
    """Datadog."""
    wavefront: WavefrontMetric | None = None
    """Wavefront."""
    new_relic: NewRelicMetric | None = None
    """New Relic."""
    job: JobMetric | None = None
    """A Kubernetes Job."""
    cloud_watch: CloudWatchMetric | None = None
    """AWS CloudWatch."""
    graphite: GraphiteMetric | None = None
    """Graphite."""
    influxdb: InfluxdbMetric | None = None
    """InfluxDB."""
    skywalking: SkyWalkingMetric | None = Field(default=None, alias="skywalking")
    """Apache SkyWalking."""
    plugin: OpaqueObject | None = None
    """A metric plugin: {"<plugin name>": <its config>}."""


PROVIDER_FIELDS: tuple[str, ...] = (
    "prometheus",
    "kayenta",
    "web",
    "datadog",
    "wavefront",
    "newRelic",
    "job",
    "cloudWatch",
    "graphite",
    "influxdb",
    "skywalking",
    "plugin",
)
"""Every provider key a metric may use, as written in manifests."""


def configured_providers(provider: MetricProvider) -> list[str]:
    """The provider keys set on a metric (exactly one in a valid metric), such as ["prometheus"].

    A plugin appears as "plugin/<name>" for each plugin named in it.
    """
    found: list[str] = []
    for name, field in MetricProvider.model_fields.items():
        value = getattr(provider, name)
        if value is None:
            continue
        key = field.alias or name
        if key == "plugin" and isinstance(value, dict):
            found.extend(f"plugin/{plugin}" for plugin in value)
        else:
            found.append(key)
    return found
