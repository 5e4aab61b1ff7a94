"""Gateway API route edits as pure functions: a route dict and what is wanted in, the new route dict out.

`ramp.traffic.gatewayapi` (the router) reads a route, calls these, and writes the result; unit tests call them
directly. They work alike on HTTPRoute, GRPCRoute, TCPRoute and TLSRoute, whose rules all carry `backendRefs`.

Weights, as the argoproj-labs/gatewayAPI plugin documents them: every user rule with backendRefs to both the
stable and the canary Service gets the canary weight and the stable the rest; experiment Services get
backendRefs of their own while they run. Gateway API weights are relative; Ramp writes shares summing to the
total (maxTrafficWeight). A rule naming the stable Service but not the canary is an error naming the fix.

Managed rules (setHeaderRoute, setMirrorRoute) are appended after the user's rules, in managedRoutes order.
The plugin used to remember them in a ConfigMap and now names them with the rule `name` field (Gateway API
v1.2+). Ramp needs neither a ConfigMap nor a recent CRD: the route's own annotation `MANAGED_ANNOTATION` lists
the managed rules (always the route's last rules, in that order) and the experiment backendRefs Ramp added, so a
restarted controller finds them again whatever defaults the API server filled in. Each managed rule also carries
its route's name in `name` when that is a valid Gateway API section name (an older CRD prunes it, harmlessly).
Before trusting the record, every rule it claims is checked: named as recorded, or — when the name was pruned —
shaped as Ramp writes it (only the canary as backend, or a mirror filter to the canary). If a user's re-apply
replaced the rules, the record no longer fits and is dropped, so Ramp never edits or removes a user's rule.

The in-progress label (`rollouts.argoproj.io/gatewayapi-canary: in-progress` unless configured otherwise) marks
a route while the canary has a share, as the plugin does, so tools syncing routes can leave them alone.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ramp.traffic.base import (
    HeaderRoute,
    MirrorRoute,
    RequestMatch,
    RouterError,
    StringMatch,
    UnsupportedFeature,
    Weights,
)

Obj = dict[str, Any]
MANAGED_ANNOTATION = "rollouts.ramp.dev/managed-rules"
IN_PROGRESS_LABEL_KEY = "rollouts.argoproj.io/gatewayapi-canary"
IN_PROGRESS_LABEL_VALUE = "in-progress"
_SECTION_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class Managed:
    """What Ramp added to a route: its managed rules by name (the route's last rules, in this order) and the
    experiment backendRefs."""

    rules: tuple[str, ...] = ()
    backends: tuple[str, ...] = ()


@dataclass(frozen=True)
class RouteParts:
    """A route's rules split into the user's and Ramp's (by name), with the record they were split by."""

    user_rules: list[Obj]
    managed_rules: dict[str, Obj]
    backends: tuple[str, ...]


def read_managed(route: Mapping[str, Any]) -> Managed:
    """The record in the route's annotation as written (empty when none or unreadable)."""
    value = ((route.get("metadata") or {}).get("annotations") or {}).get(MANAGED_ANNOTATION)
    try:
        found = json.loads(str(value)) if value else {}
    except ValueError:
        found = {}
    if not isinstance(found, dict):
        return Managed()
    rules = tuple(str(n) for n in found.get("rules") or [])
    return Managed(rules, tuple(str(n) for n in found.get("backends") or []))


def is_ramp_rule(rule: Mapping[str, Any], name: str, canary: str) -> bool:
    """True when `rule` is the managed rule `name` Ramp wrote: by its name, or by its shape when unnamed."""
    if "name" in rule:
        return bool(rule["name"] == name)
    refs = rule.get("backendRefs") or []
    if len(refs) == 1 and refs[0].get("name") == canary:
        return True  # a header rule
    return any(
        f.get("type") == "RequestMirror"
        and ((f.get("requestMirror") or {}).get("backendRef") or {}).get("name") == canary
        for f in rule.get("filters") or []
    )


def split_route(route: Mapping[str, Any], canary: str) -> RouteParts:
    """The user's rules and Ramp's managed rules; a record that no longer fits the rules is ignored."""
    managed = read_managed(route)
    rules = [dict(r) for r in (route.get("spec") or {}).get("rules") or []]
    count = len(managed.rules)
    tail = rules[len(rules) - count :] if 0 < count <= len(rules) else []
    if len(tail) != count or not all(is_ramp_rule(r, n, canary) for r, n in zip(tail, managed.rules, strict=True)):
        return RouteParts(rules, {}, managed.backends)
    return RouteParts(rules[: len(rules) - count], dict(zip(managed.rules, tail, strict=True)), managed.backends)


def _backend_names(rule: Mapping[str, Any]) -> set[str]:
    return {str(ref.get("name")) for ref in rule.get("backendRefs") or []}


def apply_weights(route: Mapping[str, Any], weights: Weights, field_path: str) -> Obj:
    """The route with the canary/stable (and experiment) weights set in every user rule naming both Services."""
    canary, stable = weights.canary.service, weights.stable.service
    parts = split_route(route, canary)
    kind = route.get("kind", "route")
    name = route["metadata"]["name"]
    touched = False
    for rule in parts.user_rules:
        names = _backend_names(rule)
        if stable not in names:
            continue
        if canary not in names:
            raise RouterError(
                f'{field_path}: {kind} "{name}" has a rule with a backendRef to "{stable}" but none to '
                f'"{canary}"; add one to "{canary}" with weight 0'
            )
        rule["backendRefs"] = _weighted_refs(rule["backendRefs"], weights, set(parts.backends))
        touched = True
    if not touched:
        raise RouterError(
            f'{field_path}: {kind} "{name}" has no rule with backendRefs to "{stable}" and "{canary}"; add them '
            "(the canary with weight 0)"
        )
    weighted = _first_weighted_rule(parts.user_rules, canary)
    for rule in parts.managed_rules.values():
        if _is_mirror(rule) and weighted is not None:
            rule["backendRefs"] = copy.deepcopy(weighted["backendRefs"])  # mirror rules serve as the weighted one
    backends = tuple(sorted(d.service for d in weights.additional))
    return _assemble(route, parts.user_rules, parts.managed_rules, tuple(parts.managed_rules), backends)


def _weighted_refs(refs: Sequence[Mapping[str, Any]], weights: Weights, added_before: set[str]) -> list[Obj]:
    additional = {d.service: d for d in weights.additional}
    template = next((ref for ref in refs if ref.get("name") == weights.canary.service), refs[0])
    kept: list[Obj] = []
    for ref in refs:
        ref_name = str(ref.get("name"))
        entry = dict(ref)
        if ref_name == weights.canary.service:
            entry["weight"] = weights.canary.weight
        elif ref_name == weights.stable.service:
            entry["weight"] = weights.stable.weight
        elif ref_name in additional:
            entry["weight"] = additional.pop(ref_name).weight
        elif ref_name in added_before:
            continue  # an experiment's backendRef Ramp added, and the experiment ended
        kept.append(entry)
    for destination in additional.values():
        entry = {k: v for k, v in template.items() if k in ("group", "kind", "namespace", "port")}
        entry.update({"name": destination.service, "weight": destination.weight})
        kept.append(entry)
    return kept


def _first_weighted_rule(rules: Sequence[Mapping[str, Any]], canary: str) -> Obj | None:
    for rule in rules:
        if canary in _backend_names(rule) and len(_backend_names(rule)) > 1:
            return dict(rule)
    return None


def _is_mirror(rule: Mapping[str, Any]) -> bool:
    return any(f.get("type") == "RequestMirror" for f in rule.get("filters") or [])


def _assemble(
    route: Mapping[str, Any],
    user_rules: list[Obj],
    managed_rules: Mapping[str, Obj],
    order: tuple[str, ...],
    backends: tuple[str, ...],
) -> Obj:
    """The route with the user's rules, then the managed ones in `order`, and the record of both."""
    updated = copy.deepcopy(dict(route))
    updated.setdefault("spec", {})["rules"] = copy.deepcopy([*user_rules, *(managed_rules[n] for n in order)])
    meta = updated.setdefault("metadata", {})
    annotations = dict(meta.get("annotations") or {})
    if order or backends:
        record = {"rules": list(order), "backends": list(backends)}
        annotations[MANAGED_ANNOTATION] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    else:
        annotations.pop(MANAGED_ANNOTATION, None)
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    return updated


def put_rule(route: Mapping[str, Any], name: str, rule: Obj | None, order: Sequence[str], canary: str) -> Obj:
    """The route with the managed rule `name` replaced by `rule` (None removes it). Managed rules come after the
    user's rules, in `order` (managedRoutes order; names not in it last, by name)."""
    parts = split_route(route, canary)
    managed_rules = dict(parts.managed_rules)
    if rule is None:
        managed_rules.pop(name, None)
    else:
        managed_rules[name] = {"name": name, **rule} if _SECTION_NAME.match(name) and len(name) <= 253 else rule
    position = {n: i for i, n in enumerate(order)}
    ordered = tuple(sorted(managed_rules, key=lambda n: (position.get(n, len(order)), n)))
    return _assemble(route, parts.user_rules, managed_rules, ordered, parts.backends)


def without_managed_rules(route: Mapping[str, Any], canary: str) -> Obj:
    """The route with every managed rule removed (experiment backendRefs stay until the weights change)."""
    parts = split_route(route, canary)
    return _assemble(route, parts.user_rules, {}, (), parts.backends)


def with_in_progress_label(route: Mapping[str, Any], canary_weight: int, key: str, value: str) -> Obj:
    """The route labelled `key: value` while the canary has a share, and without the label at 0."""
    updated = copy.deepcopy(dict(route))
    meta = updated.setdefault("metadata", {})
    labels = dict(meta.get("labels") or {})
    if canary_weight > 0:
        labels[key] = value
    else:
        labels.pop(key, None)
    if labels:
        meta["labels"] = labels
    else:
        meta.pop("labels", None)
    return updated


def _weighted_of(route: Mapping[str, Any], canary: str, field_path: str, what: str) -> Obj:
    weighted = _first_weighted_rule(split_route(route, canary).user_rules, canary)
    if weighted is None:
        raise RouterError(
            f'{field_path}: {route.get("kind", "route")} "{route["metadata"]["name"]}" has no rule with backendRefs '
            f'to "{canary}" and the stable Service to add the {what} to; add one'
        )
    return weighted


def _header_match(name: str, value: StringMatch) -> Obj:
    if value.kind == "exact":
        return {"type": "Exact", "name": name, "value": value.value}
    # A prefix becomes an anchored regular expression: Gateway API header matches have no prefix type.
    pattern = value.value if value.kind == "regex" else f"^{re.escape(value.value)}.*"
    return {"type": "RegularExpression", "name": name, "value": pattern}


def _canary_ref(weighted: Mapping[str, Any], canary: str) -> Obj:
    ref = next(dict(r) for r in weighted["backendRefs"] if r.get("name") == canary)
    ref.pop("weight", None)
    return ref


def header_rule(route: Mapping[str, Any], route_header: HeaderRoute, canary: str, field_path: str) -> Obj:
    """A rule sending requests with these headers (on the weighted rule's matches) to the canary only: a match
    with more headers is more specific, so Gateway API prefers it to the weighted rule."""
    weighted = _weighted_of(route, canary, field_path, f'header route "{route_header.name}"')
    headers = [_header_match(m.name, m.value) for m in route_header.matches]
    matches = [dict(m) for m in weighted.get("matches") or []] or [{}]
    for match in matches:
        match["headers"] = [*(match.get("headers") or []), *headers]
    rule: Obj = {"matches": matches, "backendRefs": [_canary_ref(weighted, canary)]}
    if weighted.get("filters"):
        rule["filters"] = copy.deepcopy(weighted["filters"])  # the canary is served as the weighted rule serves
    return rule


def _request_match(match: RequestMatch, mirror_name: str) -> Obj:
    found: Obj = {}
    if match.path is not None:
        kinds = {"exact": "Exact", "prefix": "PathPrefix", "regex": "RegularExpression"}
        found["path"] = {"type": kinds[match.path.kind], "value": match.path.value}
    if match.method is not None:
        if match.method.kind != "exact":
            raise UnsupportedFeature(
                f'setMirrorRoute "{mirror_name}": Gateway API matches a method only exactly; use method.exact'
            )
        found["method"] = match.method.value
    if match.headers:
        found["headers"] = [_header_match(h.name, h.value) for h in match.headers]
    return found


def mirror_rule(route: Mapping[str, Any], mirror: MirrorRoute, canary: str, field_path: str) -> Obj:
    """A rule serving matching requests as the weighted rule does, and copying them to the canary (`percent`,
    Gateway API v1.2+, only below 100)."""
    weighted = _weighted_of(route, canary, field_path, f'mirror route "{mirror.name}"')
    request_mirror: Obj = {"backendRef": _canary_ref(weighted, canary)}
    if mirror.percentage < 100:
        request_mirror["percent"] = mirror.percentage
    return {
        "matches": [_request_match(m, mirror.name) for m in mirror.matches],
        "filters": [{"type": "RequestMirror", "requestMirror": request_mirror}],
        "backendRefs": copy.deepcopy(weighted["backendRefs"]),
    }
