"""Ramp: progressive delivery for Kubernetes, speaking the Argo Rollouts API (argoproj.io/v1alpha1)."""

__version__ = "0.1.0"
