"""`abort`, `retry_rollout`, `pause` and `restart`: one merge patch each, as upstream's kubectl plugin sends.

- abort: `{"status":{"abort":true}}` on the status subresource (the object on 404);
- retry: `{"status":{"abort":false}}` likewise;
- pause: `{"spec":{"paused":true}}`;
- restart: `{"spec":{"restartAt":"<RFC 3339 UTC>"}}`, now or `in_` later; the controller then replaces the
  pods created before that time, a few at a time.
Each returns the Rollout as written. `now` is passed in by tests; the CLI leaves it to the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ramp.actions.errors import translate_api_errors
from ramp.actions.writes import patch_object, patch_status_or_object
from ramp.api import format_timestamp
from ramp.kube.client import JSON, KubeClient
from ramp.kube.resources import ROLLOUTS


async def abort(client: KubeClient, namespace: str, name: str) -> JSON:
    """Abort the update: the controller goes back to the stable pods and marks the Rollout Degraded."""
    async with translate_api_errors("Rollout", namespace, name, "patch"):
        return await patch_status_or_object(client, ROLLOUTS, namespace, name, {"status": {"abort": True}})


async def retry_rollout(client: KubeClient, namespace: str, name: str) -> JSON:
    """Retry an aborted update: the controller starts the steps again."""
    async with translate_api_errors("Rollout", namespace, name, "patch"):
        return await patch_status_or_object(client, ROLLOUTS, namespace, name, {"status": {"abort": False}})


async def pause(client: KubeClient, namespace: str, name: str) -> JSON:
    """Pause the Rollout where it is (`spec.paused`), until it is promoted."""
    async with translate_api_errors("Rollout", namespace, name, "patch"):
        return await patch_object(client, ROLLOUTS, namespace, name, {"spec": {"paused": True}})


def restart_time(now: datetime, in_: timedelta = timedelta(0)) -> str:
    """`spec.restartAt` for a restart `in_` from `now`: RFC 3339, UTC, whole seconds.

    >>> restart_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), timedelta(seconds=10))
    '2026-01-02T03:04:15Z'
    """
    return format_timestamp(now + in_)


async def restart(
    client: KubeClient, namespace: str, name: str, *, in_: timedelta = timedelta(0), now: datetime | None = None
) -> JSON:
    """Ask the controller to replace every pod created before now (+ `in_`)."""
    restart_at = restart_time(now or datetime.now(UTC), in_)
    async with translate_api_errors("Rollout", namespace, name, "patch"):
        return await patch_object(client, ROLLOUTS, namespace, name, {"spec": {"restartAt": restart_at}})
