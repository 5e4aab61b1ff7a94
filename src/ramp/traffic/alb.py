"""The AWS Load Balancer Controller traffic router: a weighted forward action in an Ingress annotation.

As upstream's ALB router: the user's Ingress has a rule backend whose Service name is the action name
(`rootService`, the stable Service by default) with port name `use-annotation`; Ramp writes the annotation
`<prefix>/actions.<rootService>` holding a forward action over target groups (canary, the experiment Services,
then stable, each with the Service port and its weight, plus target-group stickiness when configured), in the
JSON form upstream writes (Go's encoding of its structs: no spaces, keys in field order). Each key Ramp writes
is listed for the Rollout in the annotation `rollouts.argoproj.io/managed-alb-annotations`
(`{"<rollout>": [keys...]}`), as upstream.

Header routes, as upstream: the annotations `<prefix>/actions.<route>` (forward everything to the canary) and
`<prefix>/conditions.<route>` (http-header conditions; exact values, and a prefix as ALB's `value*` wildcard),
and a path `/*` to the Service named `<route>` with port name `use-annotation` put first in every rule, the
managed routes ordered as `managedRoutes` lists them. Mirror routes are not supported.

The user's Ingress is never deleted: `remove` sends 100% to stable and drops the header routes. The edits are
pure functions on dicts; `ALBRouter` reads, calls them, and writes through `RouterIO`. Registered as "alb" in
`ramp.traffic.registry`.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ramp.api.traffic import ALBTrafficRouting
from ramp.kube.resources import INGRESSES
from ramp.traffic.base import (
    Destination,
    HeaderRoute,
    RouterBase,
    RouterContext,
    RouterError,
    UnsupportedFeature,
    Weights,
)
from ramp.traffic.ingress import (
    annotations_of,
    backend_service,
    has_backend,
    ingress_references,
    rule_paths,
    rules_of,
    with_annotations,
)

Obj = dict[str, Any]
ALB_FIELD = "spec.strategy.canary.trafficRouting.alb"
MANAGED_ANNOTATIONS = "rollouts.argoproj.io/managed-alb-annotations"
USE_ANNOTATION = "use-annotation"
MAX_STICKINESS_SECONDS = 604800
"""The AWS API's limit on target-group stickiness (7 days)."""


@dataclass(frozen=True)
class ActionSettings:
    """What the ALB annotations of one Rollout are made of."""

    rollout: str
    root_service: str
    canary_service: str
    stable_service: str
    port: int
    prefix: str = "alb.ingress.kubernetes.io"
    stickiness_seconds: int | None = None
    """Target-group stickiness duration when enabled."""

    def action_key(self, name: str) -> str:
        return f"{self.prefix}/actions.{name}"

    def condition_key(self, name: str) -> str:
        return f"{self.prefix}/conditions.{name}"


def action_settings_of(context: RouterContext, alb: ALBTrafficRouting) -> ActionSettings:
    """The settings of a Rollout; RouterError for a stickiness duration AWS refuses."""
    sticky = alb.stickiness_config
    seconds: int | None = None
    if sticky is not None and sticky.enabled:
        if not 1 <= sticky.duration_seconds <= MAX_STICKINESS_SECONDS:
            raise RouterError(
                f"{ALB_FIELD}.stickinessConfig.durationSeconds: {sticky.duration_seconds} is out of range; "
                f"use 1 to {MAX_STICKINESS_SECONDS} seconds (7 days)"
            )
        seconds = sticky.duration_seconds
    return ActionSettings(
        rollout=context.rollout_name,
        root_service=alb.root_service or context.stable_service,
        canary_service=context.canary_service,
        stable_service=context.stable_service,
        port=alb.service_port,
        prefix=alb.effective_annotation_prefix,
        stickiness_seconds=seconds,
    )


def encode(value: Any) -> str:
    """JSON as Go's encoding/json writes it: compact, UTF-8, with <, >, & and U+2028/9 escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028")):
        text = text.replace(raw, escaped)
    return text.replace("\u2029", "\\u2029")


def _forward(settings: ActionSettings, groups: Sequence[Destination]) -> Obj:
    forward: Obj = {
        "TargetGroups": [
            {"ServiceName": d.service, "ServicePort": str(settings.port), "Weight": d.weight} for d in groups
        ]
    }
    if settings.stickiness_seconds is not None:
        forward["TargetGroupStickinessConfig"] = {"Enabled": True, "DurationSeconds": settings.stickiness_seconds}
    return {"Type": "forward", "ForwardConfig": forward}


def forward_action(settings: ActionSettings, weights: Weights) -> Obj:
    """The weighted forward action: canary, the additional Services, then stable (upstream's order)."""
    return _forward(settings, (weights.canary, *weights.additional, weights.stable))


def header_action(settings: ActionSettings) -> Obj:
    """The action of a header route: everything to the canary Service."""
    return _forward(settings, (Destination(settings.canary_service, 100),))


def header_conditions(route: HeaderRoute) -> list[Obj]:
    """http-header conditions of a header route; matches on one header name share a condition (as upstream)."""
    conditions: list[Obj] = []
    for match in route.matches:
        if match.value.kind == "regex":
            raise UnsupportedFeature(
                f'setHeaderRoute "{route.name}": ALB header conditions have no regular expressions; use exact or prefix'
            )
        value = match.value.value + ("*" if match.value.kind == "prefix" else "")
        same = [c for c in conditions if c["httpHeaderConfig"]["httpHeaderName"] == match.name]
        if same:
            same[0]["httpHeaderConfig"]["values"].append(value)
        else:
            conditions.append(
                {"field": "http-header", "httpHeaderConfig": {"httpHeaderName": match.name, "values": [value]}}
            )
    return conditions


def record_managed(annotations: Mapping[str, str], rollout: str, keys: Sequence[str], add: bool) -> dict[str, str]:
    """Annotations with `keys` added to (or removed from) the Rollout's list in the managed-annotations record."""
    raw = annotations.get(MANAGED_ANNOTATIONS) or ""
    try:
        record = json.loads(raw) if raw else {}
    except ValueError:
        record = None
    if not isinstance(record, dict):
        raise RouterError(
            f"{ALB_FIELD}.ingress: annotation {MANAGED_ANNOTATIONS} is not a JSON object of lists; remove it"
        )
    listed = [str(k) for k in record.get(rollout) or []]
    if not add and not set(keys) & set(listed):
        return dict(annotations)  # nothing of ours to forget: leave an Ingress Ramp never wrote untouched
    for key in keys:
        if add and key not in listed:
            listed.append(key)
        elif not add:
            listed = [k for k in listed if k != key]
    record[rollout] = listed
    return {**annotations, MANAGED_ANNOTATIONS: json.dumps(record, sort_keys=True, separators=(",", ":"))}


def apply_weights(ingress: Mapping[str, Any], settings: ActionSettings, weights: Weights, field_path: str) -> Obj:
    """The Ingress with the root action forwarding as `weights` say; RouterError without the root backend."""
    if not has_backend(ingress, settings.root_service):
        name = (ingress.get("metadata") or {}).get("name", "")
        raise RouterError(
            f'{field_path}: Ingress "{name}" has no rule backend for Service "{settings.root_service}"; add a path '
            f'with backend service "{settings.root_service}" port name "{USE_ANNOTATION}" (or set '
            f"{ALB_FIELD}.rootService)"
        )
    key = settings.action_key(settings.root_service)
    annotations = {**annotations_of(ingress), key: encode(forward_action(settings, weights))}
    return with_annotations(ingress, record_managed(annotations, settings.rollout, [key], add=True))


def _route_path(route: str) -> Obj:
    return {
        "path": "/*",
        "pathType": "ImplementationSpecific",
        "backend": {"service": {"name": route, "port": {"name": USE_ANNOTATION}}},
    }


def _edit_paths(ingress: Obj, route: str, add: bool, managed: Sequence[str]) -> None:
    """Add the route's path first in every rule with paths (or drop it), then order the managed ones."""
    rank = {name: i for i, name in enumerate(managed)}
    for rule in rules_of(ingress):
        paths = rule_paths(rule)
        if not paths:
            continue
        kept = [p for p in paths if backend_service(p) != route]
        if add:
            kept.insert(0, next((p for p in paths if backend_service(p) == route), _route_path(route)))
        kept.sort(key=lambda p: rank.get(backend_service(p) or "", len(rank)))
        rule["http"]["paths"] = kept


def put_header_route(
    ingress: Mapping[str, Any],
    settings: ActionSettings,
    route: str,
    conditions: Sequence[Mapping[str, Any]] | None,
    managed: Sequence[str],
) -> Obj:
    """The Ingress with header route `route` sending requests meeting `conditions` to the canary (None: removed)."""
    keys = [settings.action_key(route), settings.condition_key(route)]
    annotations = {k: v for k, v in annotations_of(ingress).items() if k not in keys}
    if conditions is not None:
        annotations[keys[0]] = encode(header_action(settings))
        annotations[keys[1]] = encode(list(conditions))
    new = with_annotations(ingress, record_managed(annotations, settings.rollout, keys, add=conditions is not None))
    _edit_paths(new, route, conditions is not None, managed)
    return new


def remove_routes(ingress: Mapping[str, Any], settings: ActionSettings, managed: Sequence[str]) -> Obj:
    """The Ingress without any of the managed header routes."""
    new = copy.deepcopy(dict(ingress))
    for route in managed:
        new = put_header_route(new, settings, route, None, managed)
    return new


Change = Callable[[Obj, str], Obj]
"""An edit of one Ingress, given the Rollout field that names it."""


class ALBRouter(RouterBase):
    """Shifts traffic with AWS Load Balancer Controller Ingress annotations for one Rollout."""

    name = "alb"

    @property
    def settings(self) -> ALBTrafficRouting:
        if self.context.routing.alb is None:
            raise RouterError(f"{ALB_FIELD}: missing")
        return self.context.routing.alb

    def _action_settings(self) -> ActionSettings:
        return action_settings_of(self.context, self.settings)

    def _references(self) -> tuple[tuple[str, str], ...]:
        alb = self.settings
        found = ingress_references(alb.ingress, alb.ingresses, ALB_FIELD, "ingress", "ingresses")
        if not found:
            raise RouterError(f"{ALB_FIELD}.ingress: name the Ingress (or list ingresses)")
        return found

    async def _edit(self, change: Change, missing_ok: bool = False) -> None:
        """Apply `change(ingress, field_path)` to every Ingress, all computed before any is written."""
        edited: list[Obj] = []
        for name, field_path in self._references():
            if missing_ok:
                found = await self.io.find(INGRESSES, name)
                if found is None:
                    continue
            else:
                found = await self.io.get(INGRESSES, name, field_path)
            edited.append(change(found, field_path))
        for obj in edited:
            await self.io.replace(INGRESSES, obj)

    async def set_weight(self, weights: Weights) -> None:
        settings = self._action_settings()
        await self._edit(lambda ingress, field_path: apply_weights(ingress, settings, weights, field_path))

    async def set_header_route(self, route: HeaderRoute) -> None:
        settings, managed = self._action_settings(), self.context.managed_routes
        if not route.matches:
            await self._edit(lambda ingress, _: put_header_route(ingress, settings, route.name, None, managed), True)
            return
        if route.name not in managed:
            raise RouterError(
                f'spec.strategy.canary.trafficRouting.managedRoutes: route "{route.name}" is not listed; add it there'
            )
        conditions = header_conditions(route)
        await self._edit(lambda ingress, _: put_header_route(ingress, settings, route.name, conditions, managed))

    async def verify_weight(self, weights: Weights) -> bool | None:
        """None: cannot tell here.

        Upstream reads the load balancer's target-group weights through the AWS API (when target-group
        verification is on); Ramp has no AWS client, so the weights written are not verified.
        """
        return None

    async def remove_managed_routes(self) -> None:
        settings, managed = self._action_settings(), self.context.managed_routes
        if managed:
            await self._edit(lambda ingress, _: remove_routes(ingress, settings, managed), missing_ok=True)

    async def remove(self) -> None:
        """Everything to stable and the header routes gone; the Ingress itself is the user's and stays."""
        settings, managed, total = self._action_settings(), self.context.managed_routes, self.context.total
        all_stable = Weights(
            canary=Destination(self.context.canary_service, 0),
            stable=Destination(self.context.stable_service, total),
            total=total,
        )

        def restore(ingress: Obj, field_path: str) -> Obj:
            # An Ingress that lost its root backend carries no split of ours to undo.
            with contextlib.suppress(RouterError):
                ingress = apply_weights(ingress, settings, all_stable, field_path)
            return remove_routes(ingress, settings, managed)

        await self._edit(restore, missing_ok=True)
