"""The two ways actions write: a JSON merge patch on the status subresource (with upstream's fallback) and on
the object itself.

Upstream's kubectl plugin patches `status` first through the `status` subresource and, when the API server
answers 404 there (a CRD installed without the subresource), on the main resource; Ramp does the same so
either CRD works. Used by `promote`, `control` and `experiments`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ramp.kube.client import JSON, KubeClient
from ramp.kube.errors import ApiError
from ramp.kube.resources import Resource


async def patch_status(
    client: KubeClient, resource: Resource, namespace: str, name: str, patch: Mapping[str, Any]
) -> JSON | None:
    """Merge-patch the status subresource; None when the subresource does not exist (404 from it).

    A 404 can also mean the object is missing: the caller then writes to the main resource, whose 404 says so.
    """
    try:
        return await client.patch(resource, name, patch, namespace, patch_type="merge", subresource="status")
    except ApiError as error:
        if error.is_not_found:
            return None
        raise


async def patch_status_or_object(
    client: KubeClient, resource: Resource, namespace: str, name: str, patch: Mapping[str, Any]
) -> JSON:
    """Merge-patch the status subresource, falling back to the main resource on 404 (as upstream)."""
    patched = await patch_status(client, resource, namespace, name, patch)
    if patched is not None:
        return patched
    return await client.patch(resource, name, patch, namespace, patch_type="merge")


async def patch_object(
    client: KubeClient, resource: Resource, namespace: str, name: str, patch: Mapping[str, Any]
) -> JSON:
    """Merge-patch the object itself (spec fields, or the status of kinds without a status subresource)."""
    return await client.patch(resource, name, patch, namespace, patch_type="merge")
