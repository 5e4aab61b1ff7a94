"""Every input of the adversarial corpus as the object a namespace user would write to reach the real reconcilers.

The pure kinds (corpus.yaml and the hypothesis-made generated.yaml, read through `corpus.load_pure_entries`)
become:
- expression: an AnalysisRun whose web metric (a server the test runs, answering `{"value": <result>}`) has the
  input as its successCondition, measured once, no error tolerated (`consecutiveErrorLimit: 0`);
- duration: a Rollout whose pause step waits `pause.duration: <input>`;
- quantity: a Rollout whose pod template requests `cpu: <input>`;
- template: an AnalysisRun whose web metric POSTs the input as its body, with argument `x` = "1" (analysis
  args), or an Experiment whose analysis passes the input as an argument (via: experiment);
- regex: two AnalysisRuns, one with `dryRun: [{metricName: <input>}]`, one with `measurementRetention`.
The Rollout-level entries (rollouts.yaml) are their patched Rollouts. Rollouts made here run 0 replicas: the
corpus tests the controller, not the scheduler.

Used by tests/e2e/test_adversarial_cluster.py; tests/unit/test_adversarial_objects.py checks the mapping.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.adversarial.corpus import apply_patch, base_rollout, build_input, load_entries, load_pure_entries

CORPUS_ID_ANNOTATION = "ramp.test/corpus-id"
CHECK_TEMPLATE = "corpus-check"
"""The AnalysisTemplate the corpus Experiments name (`check_template`)."""
HEALTHY_PATH = "/r/healthy"


@dataclass(frozen=True)
class CorpusObject:
    """One object to apply, the corpus entry it carries, and what Ramp must say of it."""

    entry_id: str
    kind: str  # Rollout | AnalysisRun | Experiment
    name: str
    manifest: dict[str, Any]
    expect: str
    """"ok", or a text some status message must contain (an InvalidSpec condition, an Error run or measurement)."""
    api_refuses: bool = False
    """The API server may refuse it (the CRDs' bounds); then its error must name the field instead."""
    also: tuple[str, ...] = ()
    """Other texts that answer it as well: an error met before the pure function's (the argument scanner reads
    a condition's `{{` first), or, for "ok", an Error that is not about the input (a dryRun rule that matches no
    metric name)."""


Url = Callable[[str], str]


def _meta(name: str, entry_id: str) -> dict[str, Any]:
    return {"name": name, "annotations": {CORPUS_ID_ANNOTATION: entry_id[:250]}}


def _analysis_run(name: str, entry_id: str, metric: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": _meta(name, entry_id),
        "spec": {"metrics": [{"count": 1, "consecutiveErrorLimit": 0, **metric}], **spec},
    }


def _web(url: str, **more: Any) -> dict[str, Any]:
    return {"web": {"url": url, "jsonPath": "{$.value}", **more}}


def _rollout(name: str, entry_id: str, patch: list[dict[str, Any]], replicas: int | None = 0) -> dict[str, Any]:
    manifest = base_rollout(name)
    del manifest["metadata"]["namespace"]
    if replicas is not None:
        manifest["spec"]["replicas"] = replicas
    manifest = apply_patch(manifest, patch)
    manifest["metadata"]["annotations"] = {CORPUS_ID_ANNOTATION: entry_id[:250]}
    return manifest


def check_template(url: Url) -> dict[str, Any]:
    """The AnalysisTemplate the corpus Experiments run: one argument `a` (unread), one healthy web metric."""
    metric = {"name": "metric", "count": 1, "successCondition": "result == 1", "provider": _web(url(HEALTHY_PATH))}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": CHECK_TEMPLATE},
        "spec": {"args": [{"name": "a"}], "metrics": [metric]},
    }


def _experiment(name: str, entry_id: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Experiment",
        "metadata": _meta(name, entry_id),
        "spec": {
            "duration": "5s",
            "templates": [
                {
                    "name": "a",
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name}},
                        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
                    },
                }
            ],
            "analyses": [{"name": "check", "templateName": CHECK_TEMPLATE, "args": [{"name": "a", "value": value}]}],
        },
    }


def _slug(entry_id: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", entry_id.lower()).strip("-")[:40].strip("-")


def corpus_objects(url: Url) -> tuple[list[CorpusObject], dict[str, Any]]:
    """Every corpus entry as objects (in the corpus's order), and the documents the web server must answer
    (path -> JSON document). `url(path)` is the test server's URL of a path."""
    documents: dict[str, Any] = {HEALTHY_PATH: {"value": 1}}
    objects: list[CorpusObject] = []
    for index, entry in enumerate(load_pure_entries()):
        entry_id, kind, expect = str(entry["id"]), str(entry["kind"]), str(entry["expect"])
        text = build_input(entry["input"])
        name = f"c{index:03d}-{_slug(entry_id)}"
        if kind == "expression":
            path = f"/r/{name}"
            documents[path] = {"value": entry.get("result")}
            metric = {"name": "metric", "successCondition": text, "provider": _web(url(path))}
            also = ("is never closed", "failed to resolve") if "{{" in text else ()
            manifest = _analysis_run(name, entry_id, metric)
            objects.append(CorpusObject(entry_id, "AnalysisRun", name, manifest, expect, also=also))
        elif kind == "duration":
            patch = [{"op": "replace", "path": "/spec/strategy/canary/steps/1/pause/duration", "value": text}]
            objects.append(CorpusObject(entry_id, "Rollout", name, _rollout(name, entry_id, patch), expect))
        elif kind == "quantity":
            resources = {"requests": {"cpu": text}}
            patch = [{"op": "add", "path": "/spec/template/spec/containers/0/resources", "value": resources}]
            # The API server refuses some quantities Ramp reads (a negative request): an InvalidSpec naming
            # the field, from the ReplicaSet Ramp could not make, answers those too.
            manifest = _rollout(name, entry_id, patch)
            also = ("resources.requests[cpu]",)
            objects.append(CorpusObject(entry_id, "Rollout", name, manifest, expect, True, also=also))
        elif kind == "template" and entry.get("via") == "experiment":
            objects.append(CorpusObject(entry_id, "Experiment", name, _experiment(name, entry_id, text), expect))
        elif kind == "template":
            metric = {
                "name": "metric",
                "successCondition": "result == 1",
                "provider": _web(url(HEALTHY_PATH), method="POST", body=text),
            }
            manifest = _analysis_run(name, entry_id, metric, args=[{"name": "x", "value": "1"}])
            objects.append(CorpusObject(entry_id, "AnalysisRun", name, manifest, expect))
        elif kind == "regex":
            metric = {"name": "metric", "successCondition": "result == 1", "provider": _web(url(HEALTHY_PATH))}
            for field, rule, suffix in (
                ("dryRun", {"metricName": text}, "d"),
                ("measurementRetention", {"metricName": text, "limit": 1}, "m"),
            ):
                named = f"{name[:44]}-{suffix}"
                manifest = _analysis_run(named, entry_id, metric, **{field: [rule]})
                # A rule of "*" is every metric (upstream's wildcard), not a pattern.
                answer = "ok" if text == "*" else expect
                objects.append(
                    CorpusObject(entry_id, "AnalysisRun", named, manifest, answer, also=("match any metric name",))
                )
        else:
            raise AssertionError(f"{entry_id}: no object for kind {kind}")
    for index, rollout_entry in enumerate(load_entries()):
        name = f"r{index:03d}-{_slug(rollout_entry.id)}"
        manifest = _rollout(name, rollout_entry.id, rollout_entry.patch, replicas=None)
        objects.append(
            CorpusObject(rollout_entry.id, "Rollout", name, manifest, rollout_entry.expect, rollout_entry.api_refuses)
        )
    return objects, documents
