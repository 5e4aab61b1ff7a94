"""Notifications: tell people when a release pauses, aborts or completes (upstream's notifications, unchanged).

An upstream `argo-rollouts-notification-configmap` (triggers, templates, services) and its Secret, and the
`notifications.argoproj.io/subscribe.<trigger>.<service>` annotations on each Rollout, work as they are:
- `gotemplate`: Go text/template with the sprig functions upstream templates use (own interpreter, bounded);
- `services`: one module per destination (webhook, Slack, Teams, email, PagerDuty, ...) behind one contract;
- the configuration, the built-in catalog of triggers and templates, subscriptions, rendering and the delivery
  queue (its own workers, retries, the notified-annotation bookkeeping) live beside them.

Sits in the layer of `ramp.flags` and `ramp.experiments`: it uses `ramp.analysis.expression` for trigger
conditions and `ramp.kube` for the API server, and only `ramp.manager` and `ramp.cli` use it.
"""
