"""The adversarial corpus: the pure kinds (corpus.yaml, and generated.yaml made by hypothesis) and the
Rollout-level entries (rollouts.yaml: each entry, with its patch applied to a valid Rollout).

Shared by the unit tests (the pure functions, `check_rollout`) and the e2e scenarios (through the controller;
`objects.py` turns each entry into the object that reaches the reconcilers)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).with_name("rollouts.yaml")
PURE_CORPUS = Path(__file__).with_name("corpus.yaml")
GENERATED_CORPUS = Path(__file__).with_name("generated.yaml")
"""Entries made by hypothesis with a fixed seed (`python -m tests.adversarial.generate` writes it)."""


@dataclass(frozen=True)
class Entry:
    id: str
    patch: list[dict[str, Any]]
    expect: str
    api_refuses: bool


def base_rollout(name: str = "web", namespace: str = "ns", image: str = "nginx:1.27") -> dict[str, Any]:
    """A valid canary Rollout every entry starts from."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
            "strategy": {
                "canary": {
                    "maxSurge": 1,
                    "maxUnavailable": 0,
                    "steps": [{"setWeight": 50}, {"pause": {"duration": "10s"}}],
                }
            },
        },
    }


def _expand(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"repeat", "times", "suffix"}:
        return str(value["repeat"]) * int(value["times"]) + str(value["suffix"])
    return value


def build_input(spec: Any) -> str:
    """A pure entry's input: a string, or {repeat, times, prepend, append} for prepend + repeat * times + append."""
    if isinstance(spec, str):
        return spec
    return str(spec.get("prepend", "")) + str(spec["repeat"]) * int(spec["times"]) + str(spec.get("append", ""))


def load_pure_entries() -> list[dict[str, Any]]:
    """The entries of the pure kinds: corpus.yaml's, then generated.yaml's (the one source the unit test of the
    pure functions and the e2e scenario both read)."""
    entries: list[dict[str, Any]] = []
    for path in (PURE_CORPUS, GENERATED_CORPUS):
        if path.exists():
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or []
            assert isinstance(loaded, list), path
            entries.extend(loaded)
    return entries


def load_entries() -> list[Entry]:
    raw = yaml.safe_load(CORPUS.read_text())
    return [
        Entry(
            id=str(item["id"]),
            patch=[{**op, "value": _expand(op["value"])} if "value" in op else op for op in item["patch"]],
            expect=str(item["expect"]),
            api_refuses=bool(item.get("api_refuses", False)),
        )
        for item in raw
    ]


def apply_patch(manifest: dict[str, Any], patch: list[dict[str, Any]]) -> dict[str, Any]:
    """RFC 6902 add/replace on a copy (all the corpus uses)."""
    patched = copy.deepcopy(manifest)
    for op in patch:
        *parents, last = [part.replace("~1", "/").replace("~0", "~") for part in op["path"].split("/")[1:]]
        node: Any = patched
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = op["value"]
        else:
            node[last] = op["value"]
    return patched
