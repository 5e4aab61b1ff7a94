"""Upstream `rollouts-controller` flags that have no meaning for Ramp, and the one notice that names them.

An upstream Deployment's args must start Ramp unchanged, so `ramp controller` accepts every flag of
upstream's cmd/rollouts-controller (v1.10). The ones below change nothing in Ramp; when any is given,
`ignored_flags_notice` words one log line naming each with the reason, so nobody believes it took effect.
Also here: `parse_controllers` (`--controllers`) and `normalize_controller_bools` (pflag's `--flag=true`).
Used by `ramp.cli.controller`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

IGNORED_FLAGS: Mapping[str, str] = {
    "--kloglevel": "Ramp has no klog; use --loglevel",
    "--service-threads": "Services are reconciled by the Rollout workers (--rollout-threads)",
    "--ingress-threads": "Ingresses are reconciled by the Rollout workers (--rollout-threads)",
    "--ephemeral-metadata-threads": "ephemeral metadata is written by the Rollout workers",
    "--ephemeral-metadata-update-pod-retries": "ephemeral metadata is written by the Rollout workers",
    "--aws-target-group-binding-api-version": "Ramp does not verify AWS target groups",
    "--alb-tag-key-resource-id": "Ramp does not verify AWS target groups",
    "--aws-verify-target-group": "Ramp does not verify AWS target groups (no AWS API calls)",
    "--alb-verify-weight": "Ramp does not verify AWS target groups (no AWS API calls)",
    "--istio-api-version": "Ramp uses networking.istio.io/v1beta1, served by every supported Istio",
    "--ambassador-api-version": "Ramp finds the served Mapping version itself (v2, then v3alpha1)",
    "--traffic-split-api-version": "Ramp finds the served TrafficSplit version itself",
    "--traefik-api-group": "Ramp finds the served TraefikService group itself",
    "--traefik-api-version": "Ramp finds the served TraefikService version itself",
    "--apisix-api-version": "Ramp uses apisix.apache.org/v2",
    "--ingress-api-version": "Ramp uses networking.k8s.io/v1 Ingresses",
    "--appmesh-crd-version": "Ramp has no App Mesh router",
    "--alb-ingress-classes": "Ramp routes any Ingress the Rollout names, whatever its class",
    "--nginx-ingress-classes": "Ramp routes any Ingress the Rollout names, whatever its class",
    "--enable-pprof-address": "Go's pprof has no Python counterpart",
}
"""Upstream flags Ramp accepts and ignores, with why."""

SUPPORTED_CONTROLLERS = ("analysis",)
"""`--controllers` values upstream accepts: only `analysis` (run just the AnalysisRun controller)."""

GO_BOOL_FLAGS = (
    "--namespaced",
    "--aws-verify-target-group",
    "--alb-verify-weight",
    "--self-service-notification-enabled",
    "--version",
    "--exit-on-lost-lease",
    "--no-leader-elect",
)
"""`ramp controller` booleans that pflag also accepts as `--flag=true` / `--flag=false`."""

_TRUE, _FALSE = ("1", "t", "true", "yes"), ("0", "f", "false", "no")


def ignored_flags_notice(given: Iterable[str]) -> str | None:
    """One line naming every ignored flag given, with the reason; None when there is none.

    >>> ignored_flags_notice(["--kloglevel"])
    'flags accepted for compatibility with Argo Rollouts but ignored: --kloglevel (Ramp has no klog; use --loglevel)'
    """
    named = sorted(set(given))
    if not named:
        return None
    described = "; ".join(f"{flag} ({IGNORED_FLAGS[flag]})" for flag in named)
    return f"flags accepted for compatibility with Argo Rollouts but ignored: {described}"


def parse_controllers(values: Sequence[str]) -> frozenset[str]:
    """`--controllers` (repeatable, comma-separated, as pflag's StringSlice); raises ValueError on an unknown one.

    >>> sorted(parse_controllers(["analysis"]))
    ['analysis']
    """
    chosen = {part.strip() for value in values for part in value.split(",") if part.strip()}
    unknown = sorted(chosen - set(SUPPORTED_CONTROLLERS))
    if unknown:
        raise ValueError(
            f"--controllers: unsupported controller {', '.join(unknown)}; "
            f"supported: {', '.join(SUPPORTED_CONTROLLERS)} (omit the flag to run all controllers)"
        )
    return frozenset(chosen)


def normalize_controller_bools(args: Sequence[str]) -> list[str]:
    """pflag's `--namespaced=true` / `--namespaced=false` as click's `--namespaced` / nothing (the default).

    >>> normalize_controller_bools(["--namespaced=true", "--aws-verify-target-group=false", "--qps=5"])
    ['--namespaced', '--qps=5']
    """
    normalized: list[str] = []
    for arg in args:
        flag, sep, value = arg.partition("=")
        if sep and flag in GO_BOOL_FLAGS and value.lower() in (*_TRUE, *_FALSE):
            if value.lower() in _TRUE:
                normalized.append(flag)
        else:
            normalized.append(arg)
    return normalized
