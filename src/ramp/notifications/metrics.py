"""The notification metrics, with upstream Argo Rollouts' names and labels (controller/metrics/prommetrics.go).

- `notification_send_success{namespace,name,type,reason}` and `notification_send_error{...}`: one per message
  delivered or given up on, labelled with the object the event was about and the event's type and reason;
- `notification_send{namespace,name}`: a histogram of how long delivering took (all attempts), upstream's buckets.

Written by `ramp.notifications.delivery`; served with the controller's other metrics at /metrics.
"""

from __future__ import annotations

from prometheus_client import Histogram

from ramp.kube.metrics import PlainCounter

SEND_SUCCESS = PlainCounter(
    "notification_send_success", "Notification send success.", ["namespace", "name", "type", "reason"]
)
SEND_ERROR = PlainCounter(
    "notification_send_error", "Error sending the notification", ["namespace", "name", "type", "reason"]
)
SEND_SECONDS = Histogram(
    "notification_send", "Notification send performance.", ["namespace", "name"], buckets=(0.01, 0.15, 0.25, 0.5, 1.0)
)
