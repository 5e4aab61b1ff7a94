"""Every notification service type Ramp has, by upstream's type name (`service.<type>` in the ConfigMap).

Importing this module imports each service module, whose `@register("<type>")` fills `SERVICE_TYPES`.
`build_service` is the one way the rest of Ramp makes a service from a ConfigMap entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ramp.notifications.services.base import SERVICE_TYPES, Service, ServiceConfigError, ServiceContext

# Chat, webhook and mail services (one import line each, below this comment).
# BEGIN chat services
# isort: split
import ramp.notifications.services.email as _email  # noqa: F401
import ramp.notifications.services.googlechat as _googlechat  # noqa: F401
import ramp.notifications.services.mattermost as _mattermost  # noqa: F401
import ramp.notifications.services.slack as _slack  # noqa: F401
import ramp.notifications.services.teams as _teams  # noqa: F401
import ramp.notifications.services.webhook as _webhook  # noqa: F401

# isort: split
# END chat services
#
# Paging, alerting and status services (one import line each, below this comment).
# BEGIN paging services
# isort: split
import ramp.notifications.services.alertmanager as _alertmanager  # noqa: F401
import ramp.notifications.services.github as _github  # noqa: F401
import ramp.notifications.services.grafana as _grafana  # noqa: F401
import ramp.notifications.services.opsgenie as _opsgenie  # noqa: F401
import ramp.notifications.services.pagerdutyv2 as _pagerdutyv2  # noqa: F401

# isort: split

# END paging services


def build_service(service_type: str, name: str, options: Mapping[str, Any], context: ServiceContext) -> Service:
    """The service `service.<service_type>[.<name>]` with `options`; `ServiceConfigError` for an unknown type."""
    factory = SERVICE_TYPES.get(service_type)
    if factory is None:
        known = ", ".join(sorted(SERVICE_TYPES)) or "none"
        raise ServiceConfigError(
            f"service.{service_type}: Ramp has no notification service of type {service_type!r} (it has: {known})"
        )
    return factory(name, options, context)


def service_types() -> list[str]:
    """The type names Ramp can send to, sorted."""
    return sorted(SERVICE_TYPES)
