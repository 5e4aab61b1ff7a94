r"""`get experiment` and `list experiments`: the Experiment's view (summary, then the tree of its ReplicaSets with
their pods and its AnalysisRuns with their metrics) and the rows of the experiments table.

```
Name:            compare
Namespace:       demo
Status:          ◌ Running
Images:          nginx:1.27 (Σ:baseline)
                 nginx:1.28 (Σ:canary)

NAME                        KIND         STATUS     AGE  INFO
Σ compare                   Experiment   ◌ Running  1m
├──⧉ compare-baseline       ReplicaSet   ✔ Healthy  1m
│  └──□ compare-baseline-x  Pod          ✔ Running  1m   ready:1/1
└──\u03b1 compare-ratio     AnalysisRun  ✔ Successful 50s  ✔ 2
```
Follows upstream's kubectl-argo-rollouts (get_experiment.go, list_experiments.go: NAME STATUS DURATION
REMAINING AGE). Pure: raw objects in, frozen views and text out; `ramp.cli.experiments` reads the objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ramp.api.durations import parse_duration
from ramp.core.conditions import parse_time
from ramp.views.models import AnalysisRunView, ImageView, ReplicaSetView
from ramp.views.symbols import ICON_ANALYSIS_RUN, ICON_EXPERIMENT, analysis_icon
from ramp.views.text import (
    Painter,
    age,
    branch,
    counts,
    format_age,
    image_line,
    metric_row,
    render_table,
    replica_set_rows,
)
from ramp.views.tree import build_analysis_run_view, build_replica_set_view, is_owned_by, parse_created

TEMPLATE_ANNOTATION = "experiment.argoproj.io/template-name"
_LABEL_WIDTH = 17
LIST_HEADERS = ("NAME", "STATUS", "DURATION", "REMAINING", "AGE")
_LIST_MIN_WIDTHS = (10, 6, 8, 9, 3)


@dataclass(frozen=True)
class ExperimentTreeView:
    name: str
    namespace: str
    phase: str
    message: str
    icon: str
    created: datetime | None
    images: tuple[ImageView, ...]
    replica_sets: tuple[ReplicaSetView, ...]
    analysis_runs: tuple[AnalysisRunView, ...]


def build_experiment_view(
    experiment: Mapping[str, Any],
    replica_sets: Sequence[Mapping[str, Any]] = (),
    pods: Sequence[Mapping[str, Any]] = (),
    analysis_runs: Sequence[Mapping[str, Any]] = (),
) -> ExperimentTreeView:
    """The view of one Experiment; objects it does not own are ignored."""
    meta, status = experiment.get("metadata") or {}, experiment.get("status") or {}
    uid = [str(meta.get("uid", ""))]
    owned_sets = sorted((rs for rs in replica_sets if is_owned_by(rs, uid)), key=_template_order(experiment))
    rs_views = tuple(build_replica_set_view(experiment, rs, pods) for rs in owned_sets)
    images: dict[str, list[str]] = {}
    for rs, view in zip(owned_sets, rs_views, strict=True):
        if view.desired > 0:
            template = str(((rs.get("metadata") or {}).get("annotations") or {}).get(TEMPLATE_ANNOTATION) or "")
            for image in view.images:
                tags = images.setdefault(image, [])
                if template and f"Σ:{template}" not in tags:
                    tags.append(f"Σ:{template}")
    runs = sorted(
        (build_analysis_run_view(run) for run in analysis_runs if is_owned_by(run, uid)),
        key=lambda run: (run.created.timestamp() if run.created else 0.0, run.name),
    )
    phase = str(status.get("phase") or "")
    return ExperimentTreeView(
        name=str(meta.get("name", "")),
        namespace=str(meta.get("namespace", "")),
        phase=phase,
        message=str(status.get("message") or ""),
        icon=analysis_icon(phase),
        created=parse_created(experiment),
        images=tuple(ImageView(image, tuple(tags)) for image, tags in images.items()),
        replica_sets=rs_views,
        analysis_runs=tuple(runs),
    )


def _template_order(experiment: Mapping[str, Any]) -> Any:
    names = [str(t.get("name")) for t in (experiment.get("spec") or {}).get("templates") or []]

    def key(rs: Mapping[str, Any]) -> tuple[int, str]:
        template = str(((rs.get("metadata") or {}).get("annotations") or {}).get(TEMPLATE_ANNOTATION) or "")
        return (names.index(template) if template in names else len(names), str((rs.get("metadata") or {}).get("name")))

    return key


def render_experiment(view: ExperimentTreeView, now: datetime, *, color: bool = False) -> str:
    """The whole `get experiment` output: summary, a blank line, the tree (no trailing newline)."""
    p = Painter(color)
    rows = [("Name:", view.name), ("Namespace:", view.namespace), ("Status:", f"{p.paint(view.icon)} {view.phase}")]
    if view.message:
        rows.append(("Message:", view.message))
    for index, image in enumerate(view.images):
        rows.append(("Images:" if index == 0 else "", image_line(image, p)))
    summary = [f"{label:<{_LABEL_WIDTH}}{value}".rstrip() for label, value in rows]
    table = [["NAME", "KIND", "STATUS", "AGE", "INFO"]]
    name = p.paint(view.name, view.phase)
    table.append([f"{ICON_EXPERIMENT} {name}", "Experiment", f"{p.paint(view.icon)} {view.phase}"])
    table[-1] += [age(view.created, now), ""]
    total = len(view.replica_sets) + len(view.analysis_runs)
    for index, rs in enumerate(view.replica_sets):
        prefix, indent = branch(index == total - 1, "")
        table += replica_set_rows(rs, prefix, indent, now, p)
    for index, run in enumerate(view.analysis_runs, start=len(view.replica_sets)):
        prefix, indent = branch(index == total - 1, "")
        info = counts(run.successful, run.failed, run.inconclusive, run.error, p)
        run_name = p.paint(run.name, run.phase)
        table.append([f"{prefix}{ICON_ANALYSIS_RUN} {run_name}", "AnalysisRun", f"{p.paint(run.icon)} {run.phase}"])
        table[-1] += [age(run.created, now), info]
        for metric_index, metric in enumerate(run.metrics):
            metric_prefix, _ = branch(metric_index == len(run.metrics) - 1, indent)
            table.append(metric_row(metric, metric_prefix, now, p))
    return "\n".join([*summary, "", *render_table(table)])


@dataclass(frozen=True)
class ExperimentRow:
    namespace: str
    name: str
    status: str
    duration: str
    remaining: str
    age: str


def build_experiment_row(experiment: Mapping[str, Any], now: datetime) -> ExperimentRow:
    """One row of `list experiments`: DURATION and REMAINING are `-` without a duration (REMAINING also before
    availableAt and once finished), as upstream."""
    meta, spec, status = experiment.get("metadata") or {}, experiment.get("spec") or {}, experiment.get("status") or {}
    duration, remaining = "-", "-"
    if spec.get("duration"):
        try:
            length = parse_duration(str(spec["duration"]))
        except ValueError:
            length = None
        if length is not None:
            duration = format_age(length.total_seconds())
            available_at = parse_time(status.get("availableAt"))
            finished = status.get("phase") in ("Successful", "Failed", "Error", "Inconclusive")
            if available_at is not None and not finished:
                left = (available_at + length - now).total_seconds()
                remaining = format_age(left) if left > 0 else "-"
    created = parse_created(experiment)
    return ExperimentRow(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        status=str(status.get("phase") or ""),
        duration=duration,
        remaining=remaining,
        age=format_age((now - created).total_seconds()) if created else "",
    )


def render_experiment_list(rows: Sequence[ExperimentRow], *, all_namespaces: bool = False) -> str:
    """The table as text (no trailing newline), columns two spaces apart, NAMESPACE first with `-A`."""
    head: tuple[str, ...] = LIST_HEADERS
    body: list[tuple[str, ...]] = [(row.name, row.status, row.duration, row.remaining, row.age) for row in rows]
    minimums: tuple[int, ...] = _LIST_MIN_WIDTHS
    if all_namespaces:
        head, minimums = ("NAMESPACE", *head), (9, *minimums)
        body = [(row.namespace, *cells) for row, cells in zip(rows, body, strict=True)]
    table = [head, *body]
    widths = [max([minimums[i], *(len(r[i]) for r in table)]) for i in range(len(head))]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in table)
