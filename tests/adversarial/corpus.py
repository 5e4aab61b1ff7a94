"""The Rollout-level adversarial corpus (rollouts.yaml): each entry, with its patch applied to a valid Rollout.

Shared by the unit test (through `check_rollout`) and the e2e scenario (through the controller)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).with_name("rollouts.yaml")


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
