"""The notifications configuration of a namespace, read from the API server (or from objects already at hand).

Upstream's names: the ConfigMap `argo-rollouts-notification-configmap` and the Secret
`argo-rollouts-notification-secret`, in the controller's namespace (and, with self-service, in the Rollout's).
A missing ConfigMap or Secret counts as empty (Ramp's built-in catalog still applies); a Secret value that is not
base64 or not UTF-8 text, and `binaryData` of the ConfigMap, are ConfigProblems.

`config_from_objects` is the pure part (the delivery layer calls it with its informers' objects); `read_config`
fetches the two objects with a `KubeClient` (the CLI).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection, Mapping
from typing import Any, Final

from ramp.kube.client import KubeClient
from ramp.kube.errors import ApiError
from ramp.kube.resources import Resource
from ramp.notifications.config import ConfigProblem, NotificationConfig, load_config

CONFIGMAP_NAME: Final = "argo-rollouts-notification-configmap"
SECRET_NAME: Final = "argo-rollouts-notification-secret"
CONFIG_MAPS: Final = Resource("", "v1", "configmaps", "ConfigMap")
SECRETS: Final = Resource("", "v1", "secrets", "Secret")


def configmap_data(configmap: Mapping[str, Any] | None) -> tuple[dict[str, str] | None, list[ConfigProblem]]:
    """The ConfigMap's `data` (None when there is no ConfigMap); `binaryData` keys are problems."""
    if configmap is None:
        return None, []
    problems = [
        ConfigProblem(key, "binaryData is not read: put the value under data as text")
        for key in sorted(configmap.get("binaryData") or {})
    ]
    data = configmap.get("data") or {}
    return {str(key): value for key, value in data.items()}, problems


def secret_data(secret: Mapping[str, Any] | None) -> tuple[dict[str, str] | None, list[ConfigProblem]]:
    """The Secret's values decoded (`data` is base64; `stringData` of a manifest counts too, as the API server
    folds it in). Problems name the key, never the value."""
    if secret is None:
        return None, []
    values: dict[str, str] = {}
    problems: list[ConfigProblem] = []
    for key, encoded in (secret.get("data") or {}).items():
        try:
            values[str(key)] = base64.b64decode(str(encoded), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            problems.append(
                ConfigProblem(
                    f"{SECRET_NAME}/{key}", "the value is not base64 of UTF-8 text; $" + str(key) + " is unset"
                )
            )
    for key, value in (secret.get("stringData") or {}).items():
        values[str(key)] = str(value)
    return values, problems


def config_from_objects(
    configmap: Mapping[str, Any] | None,
    secret: Mapping[str, Any] | None,
    *,
    namespace: str,
    with_catalog: bool = True,
    service_types: Collection[str] | None = None,
) -> tuple[NotificationConfig, list[ConfigProblem]]:
    """`load_config` of a ConfigMap and a Secret object (either None: absent)."""
    data, problems = configmap_data(configmap)
    values, secret_problems = secret_data(secret)
    config, config_problems = load_config(
        data, values, namespace=namespace, with_catalog=with_catalog, service_types=service_types
    )
    return config, [*problems, *secret_problems, *config_problems]


async def read_config(
    client: KubeClient, namespace: str, *, with_catalog: bool = True
) -> tuple[NotificationConfig, list[ConfigProblem]]:
    """The configuration of `namespace` as stored now. A missing object is empty; other API errors raise."""
    configmap = await get_optional(client, CONFIG_MAPS, CONFIGMAP_NAME, namespace)
    secret = await get_optional(client, SECRETS, SECRET_NAME, namespace)
    return config_from_objects(configmap, secret, namespace=namespace, with_catalog=with_catalog)


async def get_optional(client: KubeClient, resource: Resource, name: str, namespace: str) -> dict[str, Any] | None:
    """The object, or None when the API server has no such object."""
    try:
        return await client.get(resource, name, namespace)
    except ApiError as error:
        if error.code == 404:
            return None
        raise
