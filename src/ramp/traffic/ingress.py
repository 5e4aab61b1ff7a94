"""Reading and editing networking.k8s.io/v1 Ingress objects as plain dicts, for the Ingress-based routers.

The nginx router (`ramp.traffic.nginx`) clones a stable Ingress into a canary one and the ALB router
(`ramp.traffic.alb`) edits annotations and header-route paths of the user's Ingress; both ask the same
questions of an Ingress (which Services its rule backends name, which annotations it has, whether this Rollout
controls it), answered here with pure functions. Only `networking.k8s.io/v1` is read: its backends are
`backend.service.name` and `backend.service.port.{number,name}`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

Obj = dict[str, Any]


def annotations_of(obj: Mapping[str, Any]) -> dict[str, str]:
    """A copy of the object's annotations (empty when it has none)."""
    found = (obj.get("metadata") or {}).get("annotations") or {}
    return {str(k): str(v) for k, v in found.items()}


def with_annotations(obj: Mapping[str, Any], annotations: Mapping[str, str]) -> Obj:
    """A copy of `obj` whose annotations are exactly `annotations` (the field is dropped when emptied)."""
    new = copy.deepcopy(dict(obj))
    if annotations == annotations_of(obj):
        return new  # unchanged, down to an empty `annotations: {}`, so writing it back is skipped
    metadata = new.setdefault("metadata", {})
    if annotations:
        metadata["annotations"] = dict(annotations)
    else:
        metadata.pop("annotations", None)
    return new


def rule_paths(rule: Mapping[str, Any]) -> list[Obj]:
    """The HTTP paths of one Ingress rule (a host-only rule has none)."""
    http = rule.get("http") or {}
    return [p for p in http.get("paths") or [] if isinstance(p, dict)]


def rules_of(ingress: Mapping[str, Any]) -> list[Obj]:
    return [r for r in (ingress.get("spec") or {}).get("rules") or [] if isinstance(r, dict)]


def backend_service(path: Mapping[str, Any]) -> str | None:
    """The Service a path's backend names (None for a resource backend)."""
    service = (path.get("backend") or {}).get("service") or {}
    name = service.get("name")
    return str(name) if name else None


def iter_paths(ingress: Mapping[str, Any]) -> Iterator[Obj]:
    """Every HTTP path of every rule, in order."""
    for rule in rules_of(ingress):
        yield from rule_paths(rule)


def has_backend(ingress: Mapping[str, Any], service: str) -> bool:
    """Whether some rule of the Ingress sends a path to `service` (upstream's HasRuleWithService)."""
    return any(backend_service(path) == service for path in iter_paths(ingress))


def is_controlled_by(obj: Mapping[str, Any], uid: str) -> bool:
    """Whether the object's controller owner reference is the object with this uid."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(ref, Mapping) and ref.get("controller") and ref.get("uid") == uid:
            return True
    return False


def ingress_references(
    single: str | None, several: Sequence[str] | None, field_base: str, single_key: str, several_key: str
) -> tuple[tuple[str, str], ...]:
    """(Ingress name, Rollout field path) for each Ingress a router names; the list wins, as upstream.

    >>> ingress_references("a", None, "x", "ingress", "ingresses")
    (('a', 'x.ingress'),)
    >>> ingress_references(None, ["a", "b"], "x", "ingress", "ingresses")
    (('a', 'x.ingresses[0]'), ('b', 'x.ingresses[1]'))
    """
    if several:
        return tuple((name, f"{field_base}.{several_key}[{i}]") for i, name in enumerate(several))
    if single:
        return ((single, f"{field_base}.{single_key}"),)
    return ()
