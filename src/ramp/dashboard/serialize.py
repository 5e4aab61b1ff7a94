"""The dashboard's JSON shapes: the views of `ramp.views` (the same ones `ramp get` renders) as plain dicts,
plus what only the dashboard shows: the canary steps with the current one marked, the containers of the pod
template, and each AnalysisRun's measurements over time with the thresholds its conditions name.

Pure functions of raw objects and views; `ramp.dashboard.api` and `ramp.dashboard.live` send what they return.
Thresholds are read from conditions such as `result[0] >= 0.95` with a pattern, never evaluated.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ramp.views import RolloutView, build_rollout_view

JSON = dict[str, Any]
ATTENTION_PHASES = frozenset({"Paused", "Degraded"})

_NUMBER = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
# `result`, `result[0]`, `result.ratio`, optionally inside asFloat(...)/asInt(...): the measured value itself.
_RESULT = r"result(?:\[\d+\]|\.\w+|\[\"[^\"]*\"\])*"
_OPERAND = rf"(?:(?<![\w.])(?:asFloat|asInt|float|int)\({_RESULT}\)|(?<![\w.(]){_RESULT})"
_RESULT_FIRST = re.compile(rf"(?P<lhs>{_OPERAND})\s*(?P<op><=|>=|==|<|>)\s*(?P<num>{_NUMBER})")
# A number is only tried where one starts (not inside a run of digits), which keeps the scan linear on long
# digit runs a user may write into a condition.
_NUMBER_FIRST = re.compile(rf"(?<![\d.])(?P<num>{_NUMBER})\s*(?P<op><=|>=|==|<|>)\s*(?P<rhs>{_OPERAND})")
_MIRRORED = {"<": ">", ">": "<", "<=": ">=", ">=": "<=", "==": "=="}
_QUERY_FIELDS = ("query", "url", "address", "jsonPath", "metricQuery", "nrql")


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, tuple | list):
        return [_to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: _to_json(item) for key, item in value.items()}
    return value


def serialize_view(view: RolloutView) -> JSON:
    """A `RolloutView` as JSON: field names as in the dataclasses, times in RFC 3339, revision tags added."""
    data: JSON = _to_json(dataclasses.asdict(view))
    for revision, raw in zip(view.revisions, data["revisions"], strict=True):
        raw["tags"] = list(revision.tags)
    return data


def is_needing_attention(phase: str) -> bool:
    """Paused rollouts wait for someone; Degraded ones have failed: both want a look."""
    return phase in ATTENTION_PHASES


def describe_containers(rollout: Mapping[str, Any]) -> list[JSON]:
    """The containers of the Rollout's pod template, with the image each asks for (what `set image` edits)."""
    spec = ((rollout.get("spec") or {}).get("template") or {}).get("spec") or {}
    return [
        {"name": str(c.get("name", "")), "image": str(c.get("image", "")), "init": field == "initContainers"}
        for field in ("initContainers", "containers")
        for c in spec.get(field) or []
    ]


def describe_step(step: Mapping[str, Any]) -> tuple[str, str]:
    """(kind, title) of one canary step, such as ("setWeight", "Set weight 20%")."""
    if step.get("setWeight") is not None:
        return "setWeight", f"Set weight {step['setWeight']}%"
    if "pause" in step:
        duration = (step.get("pause") or {}).get("duration")
        return "pause", f"Pause {duration}" + ("s" if isinstance(duration, int) else "") if duration else "Pause"
    if "analysis" in step:
        names = [str(t.get("templateName", "")) for t in (step.get("analysis") or {}).get("templates") or []]
        return "analysis", "Analysis" + (f": {', '.join(names)}" if names else "")
    if "experiment" in step:
        count = len((step.get("experiment") or {}).get("templates") or [])
        return "experiment", f"Experiment ({count} template{'s' if count != 1 else ''})"
    if "setCanaryScale" in step:
        return "setCanaryScale", "Set canary scale"
    if "setHeaderRoute" in step:
        return "setHeaderRoute", "Set header route"
    if "setMirrorRoute" in step:
        return "setMirrorRoute", "Set mirror route"
    if "plugin" in step:
        return "plugin", "Plugin"
    kind = next(iter(step), "step")
    return str(kind), str(kind)


def describe_steps(rollout: Mapping[str, Any]) -> list[JSON]:
    """The canary steps, each marked done, current or pending by status.currentStepIndex."""
    canary = ((rollout.get("spec") or {}).get("strategy") or {}).get("canary") or {}
    steps = canary.get("steps") or []
    index = (rollout.get("status") or {}).get("currentStepIndex")
    current = int(index) if index is not None else 0
    described = []
    for number, step in enumerate(steps):
        kind, title = describe_step(step if isinstance(step, Mapping) else {})
        state = "done" if number < current else "current" if number == current else "pending"
        described.append({"index": number, "kind": kind, "title": title, "state": state, "detail": step})
    return described


def parse_number(value: str | None) -> float | None:
    """The number a measurement's value holds: `0.98`, `[0.98]`, `{"ratio": 0.98}`; None when it holds none."""
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        decoded = json.loads(value)
    except ValueError:
        return None
    while isinstance(decoded, list | dict) and len(decoded) == 1:
        decoded = next(iter(decoded.values())) if isinstance(decoded, dict) else decoded[0]
    if isinstance(decoded, bool) or not isinstance(decoded, int | float):
        return None
    return float(decoded)


def find_thresholds(condition: str | None) -> list[JSON]:
    """The comparisons of `result` with a number in a condition, as {op, value} with `result` on the left.

    >>> find_thresholds("result[0] >= 0.95")
    [{'op': '>=', 'value': 0.95}]
    >>> find_thresholds("0.5 > result")
    [{'op': '<', 'value': 0.5}]
    """
    if not condition:
        return []
    found: list[tuple[int, JSON]] = []
    for match in _RESULT_FIRST.finditer(condition):
        found.append((match.start(), {"op": match["op"], "value": float(match["num"])}))
    for match in _NUMBER_FIRST.finditer(condition):
        found.append((match.start(), {"op": _MIRRORED[match["op"]], "value": float(match["num"])}))
    return [threshold for _, threshold in sorted(found, key=lambda pair: pair[0])]


def describe_provider(provider: Mapping[str, Any]) -> tuple[str, str]:
    """(provider name, its query or address) of a metric, e.g. ("prometheus", "sum(rate(...))")."""
    if not provider:
        return "", ""
    name, config = next(iter(provider.items()))
    config = config if isinstance(config, Mapping) else {}
    parts = [str(config[field]) for field in _QUERY_FIELDS if config.get(field)]
    return str(name), "  ".join(parts) if parts else json.dumps(config, sort_keys=True)


def _judge_details(measurements: Sequence[Mapping[str, Any]]) -> JSON | None:
    """The judge's score and per-metric classification, from the newest measurement that carries them."""
    for measurement in reversed(measurements):
        metadata = measurement.get("metadata") or {}
        if "metrics" not in metadata:
            continue
        try:
            metrics = json.loads(metadata["metrics"])
            groups = json.loads(metadata.get("groupScores") or "{}")
        except ValueError:
            return None
        return {"score": parse_number(measurement.get("value")), "metrics": metrics, "groupScores": groups}
    return None


def serialize_analysis_run(run: Mapping[str, Any]) -> JSON:
    """An AnalysisRun for its chart: per metric the conditions, thresholds, query and measurements."""
    meta, spec, status = run.get("metadata") or {}, run.get("spec") or {}, run.get("status") or {}
    results = {str(r.get("name")): r for r in status.get("metricResults") or []}
    metrics = []
    for metric in spec.get("metrics") or []:
        name = str(metric.get("name", ""))
        result = results.get(name) or {}
        measurements = result.get("measurements") or []
        provider, query = describe_provider(metric.get("provider") or {})
        points = [
            {
                "at": m.get("finishedAt") or m.get("startedAt"),
                "phase": m.get("phase", ""),
                "value": m.get("value", ""),
                "number": parse_number(m.get("value")),
                "message": m.get("message", ""),
            }
            for m in measurements
        ]
        metrics.append(
            {
                "name": name,
                "phase": result.get("phase", "Pending"),
                "message": result.get("message", ""),
                "provider": provider,
                "query": query,
                "successCondition": metric.get("successCondition", ""),
                "failureCondition": metric.get("failureCondition", ""),
                "success": find_thresholds(metric.get("successCondition")),
                "failure": find_thresholds(metric.get("failureCondition")),
                "counts": {k: int(result.get(k) or 0) for k in ("successful", "failed", "inconclusive", "error")},
                "dryRun": bool(result.get("dryRun")),
                "measurements": points,
                "lastValues": [p["value"] for p in points[-3:]],
                "judge": _judge_details(measurements) if provider == "judge" else None,
            }
        )
    return {
        "name": str(meta.get("name", "")),
        "phase": status.get("phase", "Pending"),
        "message": status.get("message", ""),
        "created": meta.get("creationTimestamp"),
        "metrics": metrics,
    }


def serialize_summary(view: RolloutView, rollout: Mapping[str, Any]) -> JSON:
    """One row of the list: what `list rollouts` shows, plus images and whether it needs attention."""
    spec, status = rollout.get("spec") or {}, rollout.get("status") or {}
    return {
        "name": view.name,
        "namespace": view.namespace,
        "phase": view.phase,
        "message": view.message,
        "strategy": view.strategy,
        "step": view.step,
        "setWeight": view.set_weight,
        "actualWeight": view.actual_weight,
        "images": [{"image": i.image, "tags": list(i.tags)} for i in view.images]
        or [{"image": c["image"], "tags": []} for c in describe_containers(rollout)],
        "desired": view.desired,
        "ready": view.ready,
        "updated": view.updated,
        "available": view.available,
        "paused": bool(spec.get("paused")) or bool(status.get("pauseConditions")),
        "specPaused": bool(spec.get("paused")),
        "aborted": bool(status.get("abort")),
        "needsAttention": is_needing_attention(view.phase),
        "created": _to_json(view.created),
    }


def serialize_rollout(
    rollout: Mapping[str, Any],
    replica_sets: Sequence[Mapping[str, Any]] = (),
    pods: Sequence[Mapping[str, Any]] = (),
    analysis_runs: Sequence[Mapping[str, Any]] = (),
    experiments: Sequence[Mapping[str, Any]] = (),
) -> JSON:
    """The rollout page: summary, the `ramp get` tree, containers, steps and the analysis of each run it owns."""
    view = build_rollout_view(rollout, replica_sets, pods, analysis_runs, experiments)
    owned = {run.name for revision in view.revisions for run in revision.analysis_runs}
    runs = [serialize_analysis_run(run) for run in analysis_runs if (run.get("metadata") or {}).get("name") in owned]
    runs.sort(key=lambda run: str(run.get("created") or ""), reverse=True)
    return {
        "summary": serialize_summary(view, rollout),
        "view": serialize_view(view),
        "containers": describe_containers(rollout),
        "steps": describe_steps(rollout),
        "analysisRuns": runs,
        "resourceVersion": (rollout.get("metadata") or {}).get("resourceVersion", ""),
    }


def serialize_list_item(rollout: Mapping[str, Any], replica_sets: Sequence[Mapping[str, Any]] = ()) -> JSON:
    """A list row from the Rollout and its namespace's ReplicaSets (for the images and the actual weight)."""
    return serialize_summary(build_rollout_view(rollout, replica_sets), rollout)
