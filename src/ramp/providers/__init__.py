"""Metric providers: each asks one backend (Prometheus, a web endpoint, a Kubernetes Job, ...) for a measurement.

The contract is in `ramp.providers.base`; `ramp.providers.registry` maps a metric's provider key to its provider.
The analysis reconciler (`ramp.analysis`) is the only caller.
"""
