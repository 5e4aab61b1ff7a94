"""Kubernetes object names as the API server accepts them (DNS-1123), checked before a name reaches a URL.

Namespaces are DNS-1123 labels (at most 63 characters: lowercase letters, digits and `-`, starting and ending
with a letter or digit); Rollout names are DNS-1123 subdomains (at most 253 characters: such labels joined by
`.`). Pure; `ramp.dashboard.api` answers 400 naming the field with what `check_name` says.
"""

from __future__ import annotations

import re

LABEL_MAX = 63
SUBDOMAIN_MAX = 253
_LABEL = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?")


def _is_label(text: str) -> bool:
    return len(text) <= LABEL_MAX and _LABEL.fullmatch(text) is not None


def is_dns1123_label(text: str) -> bool:
    return bool(text) and _is_label(text)


def is_dns1123_subdomain(text: str) -> bool:
    return bool(text) and len(text) <= SUBDOMAIN_MAX and all(_is_label(part) for part in text.split("."))


def _shown(text: str) -> str:
    return repr(text[:80] + ("…" if len(text) > 80 else ""))


def check_namespace(namespace: str) -> str | None:
    """Why `namespace` cannot be a namespace's name, or None when it can."""
    if is_dns1123_label(namespace):
        return None
    return (
        f"namespace {_shown(namespace)} is not a valid namespace name: use at most {LABEL_MAX} lowercase letters, "
        "digits and '-', starting and ending with a letter or digit (RFC 1123 label)"
    )


def check_name(name: str, field: str = "name") -> str | None:
    """Why `name` cannot be a Rollout's name, or None when it can."""
    if is_dns1123_subdomain(name):
        return None
    return (
        f"{field} {_shown(name)} is not a valid object name: use at most {SUBDOMAIN_MAX} lowercase letters, "
        "digits, '-' and '.', each dot-separated part starting and ending with a letter or digit "
        "(RFC 1123 subdomain)"
    )
