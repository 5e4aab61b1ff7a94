"""Data the gotemplate tests render with, and a helper that renders as the tests expect.

Every expected output in these tests is what Go 1.26's text/template with sprig v3.3.0 (the function map of
Argo Rollouts' notifications engine) writes for the same template and data, with `time.Now` fixed at NOW.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ramp.notifications.gotemplate import compile_template, time_variables

NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)

DATA: dict[str, Any] = {
    "rollout": {
        "metadata": {"name": "checkout", "namespace": "shop", "labels": {"app": "checkout", "tier": "web"}},
        "spec": {
            "replicas": 5,
            "strategy": {
                "canary": {
                    "steps": [{"setWeight": 20}, {"pause": {"duration": "1m"}}, {"setWeight": 60}, {"pause": {}}]
                }
            },
            "template": {
                "spec": {
                    "containers": [
                        {"name": "checkout", "image": "ghcr.io/shop/checkout:v2"},
                        {"name": "proxy", "image": "envoy:1.30"},
                    ]
                }
            },
        },
        "status": {
            "currentStepIndex": 2,
            "phase": "Paused",
            "message": None,
            "replicas": 5,
            "updatedReplicas": 2,
            "canaryWeight": 0.5,
            "big": 12345678,
            "abortedAt": "2024-05-06T07:08:09Z",
        },
    },
    "recipient": "dev-team",
    "tags": ["a", "b", "c"],
    "empty": [],
    "nothing": {},
}


@dataclass(frozen=True)
class ERROR:
    """An expected TemplateError with exactly this message."""

    message: str


def render(text: str, data: dict[str, Any] | None = None, **limits: Any) -> str:
    """`text` compiled under the name "t" and rendered with DATA (or `data`) plus Argo Rollouts' `time`."""
    variables = dict(DATA if data is None else data)
    variables["time"] = time_variables(lambda: NOW)
    return compile_template(text, name="t").render(variables, now=NOW, **limits)
