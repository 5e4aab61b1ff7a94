"""Ramp: progressive delivery for Kubernetes, speaking the Argo Rollouts API (argoproj.io/v1alpha1)."""

__version__ = "0.1.0"

IMAGE_REPOSITORY = "ghcr.io/ramp-dev/ramp"
IMAGE = f"{IMAGE_REPOSITORY}:v{__version__}"
"""The controller's image (built from the Dockerfile; entrypoint `ramp`, default args `controller`): the one
reference the install manifests, the Helm chart and `make image` use."""
