"""Which routing objects of custom kinds the controller watches: those the cluster serves, found at each term's start.

A Rollout routed through a VirtualService, an HTTPRoute, ... that does not exist yet is InvalidSpec until the
object appears; with an informer on its kind, the object's creation reconciles the Rollout at once
(`ramp.manager.wiring.route_references`) and the Rollout does not poll for it. A kind the cluster does not serve
(its CRD is not installed, or the controller may not list it) gets no informer: a Rollout waiting for an object of
that kind looks again every `ROUTER_RETRY_SECONDS`. Upstream watches VirtualServices and DestinationRules the same
way, when Istio is installed.

Used by `ramp.manager.runtime`, which asks before building a term's informers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import httpx

from ramp.kube.client import KubeClient
from ramp.kube.errors import ApiError
from ramp.kube.resources import Resource
from ramp.traffic.ambassador import MAPPINGS_V2, MAPPINGS_V3
from ramp.traffic.apisix import APISIX_ROUTES
from ramp.traffic.gatewayapi import GRPC_ROUTES, HTTP_ROUTES
from ramp.traffic.istio import DESTINATION_RULES, VIRTUAL_SERVICES
from ramp.traffic.traefik import LEGACY_TRAEFIK_SERVICES, TRAEFIK_SERVICES

log = logging.getLogger("ramp.manager")

WATCHABLE: tuple[tuple[Resource, ...], ...] = (
    (VIRTUAL_SERVICES,),
    (DESTINATION_RULES,),
    (HTTP_ROUTES,),
    (GRPC_ROUTES,),
    (TRAEFIK_SERVICES,),
    (LEGACY_TRAEFIK_SERVICES,),
    (MAPPINGS_V3, MAPPINGS_V2),
    (APISIX_ROUTES,),
)
"""Kinds worth an informer, each with the versions to try in order (one informer per kind)."""


async def is_served(client: KubeClient, resource: Resource, namespace: str | None) -> bool:
    """Whether the cluster serves `resource` and the controller may list it (one request, `limit=1`): Ramp's own
    FeatureFlag CRD may be missing on a cluster upgraded with only the argoproj.io CRDs, which then simply has no
    flags to reconcile."""
    try:
        await client.list(resource, namespace, limit=1)
    except ApiError as err:
        if err.code not in (403, 404):
            log.warning("cannot tell whether %s is served: %s", resource.path(namespace), err)
        else:
            log.info("%s not served: not watched (install its CRD to use it)", resource.kind)
        return False
    except httpx.HTTPError as err:
        log.warning("cannot tell whether %s is served: %s", resource.path(namespace), err)
        return False
    return True


async def find_served_routing_resources(
    client: KubeClient, namespace: str | None, candidates: Sequence[tuple[Resource, ...]] = WATCHABLE
) -> list[Resource]:
    """The candidates the cluster serves and the controller may list: one request each (`limit=1`)."""
    served: list[Resource] = []
    for alternatives in candidates:
        for resource in alternatives:
            try:
                await client.list(resource, namespace, limit=1)
            except ApiError as err:
                if err.code not in (403, 404):
                    log.warning("cannot tell whether %s is served: %s", resource.path(namespace), err)
                continue
            except httpx.HTTPError as err:
                log.warning("cannot tell whether %s is served: %s", resource.path(namespace), err)
                continue
            served.append(resource)
            break
    if served:
        log.info("watching routing objects", extra={"kinds": ",".join(r.kind for r in served)})
    return served
