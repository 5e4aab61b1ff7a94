"""Traffic routing settings of a canary: which router shifts traffic, and the objects it edits.

One model per router upstream supports (nginx, istio, alb, smi, ambassador, appMesh, traefik, apisix), plus
`plugins` (kept as written), `managedRoutes` (header and mirror routes Ramp may create) and
`maxTrafficWeight`. `ROUTER_FIELDS` lists the router keys so the router registry in `ramp.traffic` can check
it covers each; `configured_routers` says which ones a Rollout uses. Gateway API is Ramp's native `gatewayAPI`
field, and is also accepted in Argo Rollouts' plugin form (`plugins: {argoproj-labs/gatewayAPI: {...}}`), so
manifests written for upstream move over unchanged; `gateway_api_routing` reads either into `GatewayAPIRouting`.

Used by `ramp.api.strategy` and by the traffic routers in `ramp.traffic`.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError, model_validator

from ramp.api.meta import ApiModel, Int32, LabelSelector, OpaqueObject
from ramp.api.validation import format_path, nested_error, problems_from

DEFAULT_MAX_TRAFFIC_WEIGHT = 100
DEFAULT_NGINX_ANNOTATION_PREFIX = "nginx.ingress.kubernetes.io"
DEFAULT_ALB_ANNOTATION_PREFIX = "alb.ingress.kubernetes.io"
GATEWAY_API_PLUGIN = "argoproj-labs/gatewayAPI"


class NginxTrafficRouting(ApiModel):
    """ingress-nginx: a managed canary Ingress cloned from the stable one, weighted by annotations."""

    annotation_prefix: str | None = None
    """Annotation prefix the ingress controller reads (default nginx.ingress.kubernetes.io)."""
    stable_ingress: str | None = None
    """The stable Ingress (one of stableIngress and stableIngresses)."""
    additional_ingress_annotations: dict[str, str] | None = None
    """Extra canary annotations, such as canary-by-header, without the prefix."""
    stable_ingresses: list[str] | None = None
    """Several stable Ingresses."""
    canary_ingress_annotations: dict[str, str] | None = None
    """Annotations copied as is onto the canary Ingress."""

    @property
    def effective_annotation_prefix(self) -> str:
        """nginx.ingress.kubernetes.io unless set."""
        return self.annotation_prefix or DEFAULT_NGINX_ANNOTATION_PREFIX


class IstioTLSRoute(ApiModel):
    """Selects a TLS route of a VirtualService."""

    port: Int32 | None = None
    """Port of the route."""
    sni_hosts: list[str] | None = None
    """SNI hosts of the route."""


class IstioTCPRoute(ApiModel):
    """Selects a TCP route of a VirtualService."""

    port: Int32 | None = None
    """Port of the route."""


class IstioVirtualService(ApiModel):
    """A VirtualService whose route weights Ramp sets."""

    name: str
    """VirtualService name."""
    routes: list[str] | None = None
    """HTTP routes to edit, by name (absent: the only HTTP route)."""
    tls_routes: list[IstioTLSRoute] | None = None
    """TLS routes to edit."""
    tcp_routes: list[IstioTCPRoute] | None = None
    """TCP routes to edit."""


class IstioDestinationRule(ApiModel):
    """A DestinationRule whose subsets Ramp points at the canary and stable pods."""

    name: str
    """DestinationRule name."""
    canary_subset_name: str
    """Subset that selects the canary."""
    stable_subset_name: str
    """Subset that selects the stable pods."""
    additional_subset_names: list[str] | None = None
    """Other subsets, left alone."""


class IstioTrafficRouting(ApiModel):
    """Istio: weights on VirtualService routes, optionally with DestinationRule subsets."""

    virtual_service: IstioVirtualService | None = None
    """One VirtualService (one of virtualService and virtualServices)."""
    destination_rule: IstioDestinationRule | None = None
    """Subset-level routing."""
    virtual_services: list[IstioVirtualService] | None = None
    """Several VirtualServices."""


class StickinessConfig(ApiModel):
    """ALB target-group stickiness."""

    enabled: bool
    """Turn stickiness on."""
    duration_seconds: Int32
    """Stickiness duration."""


class ALBTrafficRouting(ApiModel):
    """AWS Load Balancer Controller: a weighted forward action in an Ingress annotation."""

    ingress: str | None = None
    """The Ingress (one of ingress and ingresses)."""
    service_port: Int32
    """Service port the action forwards to."""
    root_service: str | None = None
    """Service named in the Ingress rules (default: the stable Service)."""
    annotation_prefix: str | None = None
    """Annotation prefix (default alb.ingress.kubernetes.io)."""
    stickiness_config: StickinessConfig | None = None
    """Target-group stickiness."""
    ingresses: list[str] | None = None
    """Several Ingresses."""

    @property
    def effective_annotation_prefix(self) -> str:
        """alb.ingress.kubernetes.io unless set."""
        return self.annotation_prefix or DEFAULT_ALB_ANNOTATION_PREFIX


class SMITrafficRouting(ApiModel):
    """Service Mesh Interface: a TrafficSplit."""

    root_service: str | None = None
    """Service clients call."""
    traffic_split_name: str | None = None
    """TrafficSplit name (default: the Rollout's name)."""


class AmbassadorTrafficRouting(ApiModel):
    """Ambassador / Emissary: weighted canary Mappings cloned from these."""

    mappings: list[str]
    """Mapping names."""


class AppMeshVirtualService(ApiModel):
    """An App Mesh virtual service and its router."""

    name: str
    """Virtual service name."""
    routes: list[str] | None = None
    """Routes to edit (absent: the only route)."""


class AppMeshVirtualNodeReference(ApiModel):
    """A reference to an App Mesh VirtualNode."""

    name: str
    """VirtualNode name."""


class AppMeshVirtualNodeGroup(ApiModel):
    """The canary and stable VirtualNodes."""

    canary_virtual_node_ref: AppMeshVirtualNodeReference
    """VirtualNode for the canary."""
    stable_virtual_node_ref: AppMeshVirtualNodeReference
    """VirtualNode for the stable pods."""


class AppMeshTrafficRouting(ApiModel):
    """AWS App Mesh: weighted targets on a virtual router."""

    virtual_service: AppMeshVirtualService | None = None
    """The virtual service."""
    virtual_node_group: AppMeshVirtualNodeGroup | None = None
    """The virtual nodes."""


class TraefikTrafficRouting(ApiModel):
    """Traefik: a weighted TraefikService."""

    weighted_traefik_service_name: str
    """TraefikService name."""


class ApisixRoute(ApiModel):
    """An ApisixRoute whose backend weights Ramp sets."""

    name: str
    """ApisixRoute name."""
    rules: list[str] | None = None
    """HTTP rules to edit, by name."""


class ApisixTrafficRouting(ApiModel):
    """Apache APISIX: backend weights on an ApisixRoute."""

    route: ApisixRoute | None = None
    """The route."""


class ManagedRoute(ApiModel):
    """A header or mirror route Ramp may add; list order is route precedence."""

    name: str
    """Route name, as used by setHeaderRoute and setMirrorRoute steps."""


class GatewayAPIRoute(ApiModel):
    """A Gateway API route by name."""

    name: str
    """Route name."""
    use_header_routes: bool | None = None
    """Add header routes to this route during setHeaderRoute steps."""


class GatewayAPIRouting(ApiModel):
    """Gateway API settings, written as the `argoproj-labs/gatewayAPI` plugin config (that plugin's form)."""

    http_route: str | None = None
    """An HTTPRoute."""
    grpc_route: str | None = None
    """A GRPCRoute."""
    tcp_route: str | None = None
    """A TCPRoute."""
    tls_route: str | None = None
    """A TLSRoute."""
    namespace: str | None = None
    """Namespace of the routes (default: the Rollout's)."""
    config_map: str | None = None
    """ConfigMap where the plugin records managed routes."""
    http_routes: list[GatewayAPIRoute] | None = None
    """Several HTTPRoutes."""
    tcp_routes: list[GatewayAPIRoute] | None = None
    """Several TCPRoutes."""
    grpc_routes: list[GatewayAPIRoute] | None = None
    """Several GRPCRoutes."""
    tls_routes: list[GatewayAPIRoute] | None = None
    """Several TLSRoutes."""
    http_route_selector: LabelSelector | None = None
    """Find HTTPRoutes by label."""
    grpc_route_selector: LabelSelector | None = None
    """Find GRPCRoutes by label."""
    tcp_route_selector: LabelSelector | None = None
    """Find TCPRoutes by label."""
    tls_route_selector: LabelSelector | None = None
    """Find TLSRoutes by label."""
    disable_in_progress_label: bool | None = None
    """Do not label routes while a canary runs."""
    in_progress_label_key: str | None = None
    """Key of the in-progress label."""
    in_progress_label_value: str | None = None
    """Value of the in-progress label."""


class RolloutTrafficRouting(ApiModel):
    """How traffic is shifted between stable and canary: one or more routers."""

    istio: IstioTrafficRouting | None = None
    """Istio."""
    nginx: NginxTrafficRouting | None = None
    """ingress-nginx."""
    alb: ALBTrafficRouting | None = None
    """AWS Load Balancer Controller."""
    smi: SMITrafficRouting | None = None
    """SMI TrafficSplit."""
    ambassador: AmbassadorTrafficRouting | None = None
    """Ambassador / Emissary."""
    app_mesh: AppMeshTrafficRouting | None = None
    """AWS App Mesh."""
    traefik: TraefikTrafficRouting | None = None
    """Traefik."""
    managed_routes: list[ManagedRoute] | None = None
    """Header and mirror routes Ramp may add, in precedence order."""
    apisix: ApisixTrafficRouting | None = None
    """Apache APISIX."""
    gateway_api: GatewayAPIRouting | None = Field(default=None, alias="gatewayAPI")
    """Gateway API, natively (Ramp's field; the same settings as the argoproj-labs/gatewayAPI plugin)."""
    plugins: OpaqueObject | None = None
    """Router plugins by name, each with its own settings (argoproj-labs/gatewayAPI is built in)."""
    max_traffic_weight: Int32 | None = None
    """Total weight that means 100% (default 100)."""

    @model_validator(mode="after")
    def _gateway_api_settings_parse(self) -> RolloutTrafficRouting:
        config = (self.plugins or {}).get(GATEWAY_API_PLUGIN)
        if config is not None:
            try:
                GatewayAPIRouting.model_validate(config)
            except ValidationError as error:
                first = problems_from(error)[0]
                inner = first.path if not first.path or first.path.startswith("[") else f".{first.path}"
                raise nested_error(format_path(["plugins", GATEWAY_API_PLUGIN]) + inner, first.message) from None
        return self

    @property
    def effective_max_traffic_weight(self) -> int:
        """100 unless set."""
        return self.max_traffic_weight or DEFAULT_MAX_TRAFFIC_WEIGHT


ROUTER_FIELDS: tuple[str, ...] = (
    "istio",
    "nginx",
    "alb",
    "smi",
    "ambassador",
    "appMesh",
    "traefik",
    "apisix",
    "gatewayAPI",
)
"""Every built-in router key of trafficRouting, as written in manifests."""


def configured_routers(routing: RolloutTrafficRouting) -> list[str]:
    """Router keys in use, such as ["istio"]; plugins appear as "plugins/<name>"."""
    found = [
        field.alias or name
        for name, field in RolloutTrafficRouting.model_fields.items()
        if (field.alias or name) in ROUTER_FIELDS and getattr(routing, name) is not None
    ]
    found.extend(f"plugins/{plugin}" for plugin in routing.plugins or {})
    return found


def gateway_api_routing(routing: RolloutTrafficRouting) -> GatewayAPIRouting | None:
    """The Gateway API settings of a Rollout: the native `gatewayAPI` field, else the argoproj-labs/gatewayAPI
    plugin config; None without either."""
    if routing.gateway_api is not None:
        return routing.gateway_api
    config: Any = (routing.plugins or {}).get(GATEWAY_API_PLUGIN)
    return None if config is None else GatewayAPIRouting.model_validate(config)
