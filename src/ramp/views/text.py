"""`get rollout` as text: the summary block and the tree table, in upstream's layout.

```
Name:            web
Status:          ॥ Paused
...
NAME                             KIND        STATUS     AGE  INFO
⟳ web                            Rollout     ॥ Paused   5m
├──# revision:2
│  └──⧉ web-6b7f9c5d8            ReplicaSet  ✔ Healthy  1m   canary
│     └──□ web-6b7f9c5d8-abcde   Pod         ✔ Running  1m   ready:1/1
```
Pure: a `RolloutView` and the time `now` in, text out; ANSI colours only with `color=True` (the CLI decides,
from `--no-color` and whether stdout is a terminal). Ages use Kubernetes' short form (`90s`, `5m10s`, `3h`, `2d`).
"""

from __future__ import annotations

import re
from datetime import datetime

from ramp.views.models import ImageView, MetricView, ReplicaSetView, RevisionView, RolloutView
from ramp.views.symbols import (
    ICON_ANALYSIS_RUN,
    ICON_BAD,
    ICON_EXPERIMENT,
    ICON_METRIC,
    ICON_OK,
    ICON_POD,
    ICON_PROGRESSING,
    ICON_REPLICA_SET,
    ICON_REVISION,
    ICON_ROLLOUT,
    ICON_UNKNOWN,
    ICON_WAITING,
    ICON_WARNING,
    TAG_ACTIVE,
    TAG_CANARY,
    TAG_PING,
    TAG_PONG,
    TAG_PREVIEW,
    TAG_STABLE,
)

_GREEN, _RED, _YELLOW, _HI_BLUE = 32, 31, 33, 94
_COLORS = {
    ICON_WAITING: _YELLOW,
    ICON_PROGRESSING: _HI_BLUE,
    ICON_WARNING: _RED,
    ICON_UNKNOWN: _YELLOW,
    ICON_OK: _GREEN,
    ICON_BAD: _RED,
    TAG_CANARY: _YELLOW,
    TAG_STABLE: _GREEN,
    TAG_ACTIVE: _GREEN,
    TAG_PREVIEW: _HI_BLUE,
    TAG_PING: _HI_BLUE,
    TAG_PONG: _HI_BLUE,
    "Pending": _HI_BLUE,
    "Running": _HI_BLUE,
}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_LABEL_WIDTH = 17
_VALUE_WIDTH = 40


def format_age(seconds: float) -> str:
    """Kubernetes' HumanDuration: `45s`, `2m30s`, `15m`, `3h20m`, `10h`, `3d4h`, `30d`, `2y10d`.

    >>> [format_age(s) for s in (45, 150, 900, 12000, 36000, 273600, 2592000)]
    ['45s', '2m30s', '15m', '3h20m', '10h', '3d4h', '30d']
    """
    if seconds < -1:
        return "<invalid>"
    total = max(int(seconds), 0)
    minutes, hours, days = total // 60, total // 3600, total // 86400
    if total < 120:
        return f"{total}s"
    if minutes < 10:
        return f"{minutes}m" if total % 60 == 0 else f"{minutes}m{total % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 192:
        return f"{days}d" if hours % 24 == 0 else f"{days}d{hours % 24}h"
    if days < 730:
        return f"{days}d"
    years, rest = days // 365, days % 365
    if days < 2920:
        return f"{years}y" if rest == 0 else f"{years}y{rest}d"
    return f"{years}y"


class Painter:
    """Colours a word by the status it names (upstream's palette), or leaves it plain when colour is off."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def paint(self, text: str, key: str | None = None) -> str:
        code = _COLORS.get(key if key is not None else text)
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and code else text


def age(created: datetime | None, now: datetime) -> str:
    """The AGE column: how long ago `created` was, blank when unknown."""
    return format_age((now - created).total_seconds()) if created else ""


def image_line(image: ImageView, painter: Painter) -> str:
    """An image with its tags (stable, canary, ...) in brackets."""
    if not image.tags:
        return image.image
    return f"{image.image} ({', '.join(painter.paint(tag) for tag in image.tags)})"


def render_summary(view: RolloutView, *, color: bool = False) -> list[str]:
    painter = Painter(color)
    rows: list[tuple[str, str]] = [
        ("Name:", view.name),
        ("Namespace:", view.namespace),
        ("Status:", f"{painter.paint(view.icon)} {view.phase}"),
    ]
    if view.message:
        rows.append(("Message:", view.message))
    rows.append(("Strategy:", view.strategy))
    if view.strategy == "Canary":
        rows += [("  Step:", view.step), ("  SetWeight:", view.set_weight), ("  ActualWeight:", view.actual_weight)]
    for index, image in enumerate(view.images):
        rows.append(("Images:" if index == 0 else "", image_line(image, painter)))
    lines = [f"{label:<{_LABEL_WIDTH}}{value}".rstrip() for label, value in rows]
    lines.append("Replicas:")
    for label, number in (
        ("  Desired:", view.desired),
        ("  Current:", view.current),
        ("  Updated:", view.updated),
        ("  Ready:", view.ready),
        ("  Available:", view.available),
    ):
        lines.append(f"{label:<{_LABEL_WIDTH}}{number}")
    return lines


def branch(is_last: bool, indent: str) -> tuple[str, str]:
    """(prefix of this row, indent of its children)."""
    return (indent + "└──", indent + "   ") if is_last else (indent + "├──", indent + "│  ")


def replica_set_rows(rs: ReplicaSetView, prefix: str, indent: str, now: datetime, p: Painter) -> list[list[str]]:
    """A ReplicaSet's row in the tree, then a row for each of its pods."""
    info = [p.paint(tag) for tag in rs.tags]
    if rs.scale_down_deadline:
        info.append(f"delay:{_scale_down_delay(rs.scale_down_deadline, now)}")
    name = p.paint(rs.name, rs.tags[0]) if rs.tags else rs.name
    status = f"{p.paint(rs.icon)} {rs.status}"
    rows = [[f"{prefix}{ICON_REPLICA_SET} {name}", "ReplicaSet", status, age(rs.created, now), ",".join(info)]]
    for index, pod in enumerate(rs.pods):
        pod_prefix, _ = branch(index == len(rs.pods) - 1, indent)
        pod_info = [f"ready:{pod.ready}"] + ([f"restarts:{pod.restarts}"] if pod.restarts else [])
        status = f"{p.paint(pod.icon)} {pod.status}"
        rows.append([f"{pod_prefix}{ICON_POD} {pod.name}", "Pod", status, age(pod.created, now), ",".join(pod_info)])
    return rows


def _scale_down_delay(deadline: str, now: datetime) -> str:
    try:
        when = datetime.fromisoformat(deadline.replace("Z", "+00:00"))
    except ValueError:
        return ""
    return "passed" if when < now else format_age((when - now).total_seconds())


def _revision_rows(revision: RevisionView, prefix: str, indent: str, now: datetime, p: Painter) -> list[list[str]]:
    rows = [[f"{prefix}{ICON_REVISION} revision:{revision.number}", "", "", "", ""]]
    children = len(revision.replica_sets) + len(revision.experiments) + len(revision.analysis_runs)
    position = 0
    for rs in revision.replica_sets:
        position += 1
        child_prefix, child_indent = branch(position == children, indent)
        rows += replica_set_rows(rs, child_prefix, child_indent, now, p)
    for exp in revision.experiments:
        position += 1
        child_prefix, _ = branch(position == children, indent)
        name = p.paint(exp.name, exp.phase)
        rows.append([f"{child_prefix}{ICON_EXPERIMENT} {name}", "Experiment", f"{p.paint(exp.icon)} {exp.phase}"])
        rows[-1] += [age(exp.created, now), ""]
    for run in revision.analysis_runs:
        position += 1
        child_prefix, child_indent = branch(position == children, indent)
        info = counts(run.successful, run.failed, run.inconclusive, run.error, p)
        name = p.paint(run.name, run.phase)
        rows.append([f"{child_prefix}{ICON_ANALYSIS_RUN} {name}", "AnalysisRun", f"{p.paint(run.icon)} {run.phase}"])
        rows[-1] += [age(run.created, now), info]
        for index, metric in enumerate(run.metrics):
            metric_prefix, _ = branch(index == len(run.metrics) - 1, child_indent)
            rows.append(metric_row(metric, metric_prefix, now, p))
    return rows


def counts(successful: int, failed: int, inconclusive: int, error: int, p: Painter) -> str:
    """`✔ 3,✖ 1`: upstream's INFO for a run, the non-zero counts only."""
    by_icon = [(ICON_OK, successful), (ICON_BAD, failed), (ICON_UNKNOWN, inconclusive), (ICON_WARNING, error)]
    return ",".join(f"{p.paint(icon)} {n}" for icon, n in by_icon if n > 0)


def metric_row(metric: MetricView, prefix: str, now: datetime, p: Painter) -> list[str]:
    """A measured metric under its run: its phase, counts, and last value (AGE: since that measurement)."""
    info = [counts(metric.successful, metric.failed, metric.inconclusive, metric.error, p)]
    if metric.last_value:
        info.append(f"last:{shorten_value(metric.last_value)}")
    if metric.dry_run:
        info.append("dry-run")
    status = f"{p.paint(metric.icon)} {metric.phase}" if metric.phase else ""
    return [
        f"{prefix}{ICON_METRIC} {p.paint(metric.name, metric.phase)}",
        "Metric",
        status,
        age(metric.measured, now),
        ",".join(filter(None, info)),
    ]


def shorten_value(value: str, limit: int = _VALUE_WIDTH) -> str:
    """A measurement value on one line, cut to `limit` characters (web and job values can be long).

    >>> shorten_value("[0.99]"), shorten_value('{"a":\\n 1}'), shorten_value("x" * 50, 8)
    ('[0.99]', '{"a": 1}', 'xxxxxxx…')
    """
    flat = " ".join(value.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _visible_width(text: str) -> int:
    return len(_ANSI.sub("", text))


def render_table(rows: list[list[str]]) -> list[str]:
    """Columns two spaces apart, each as wide as its widest cell; the last column is not padded."""
    widths = [max(_visible_width(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell + " " * (widths[i] - _visible_width(cell)) for i, cell in enumerate(row[:-1])]
        lines.append(("  ".join(cells) + "  " + row[-1]).rstrip())
    return lines


def render_tree(view: RolloutView, now: datetime, *, color: bool = False) -> list[str]:
    p = Painter(color)
    rows = [["NAME", "KIND", "STATUS", "AGE", "INFO"]]
    rows.append([f"{ICON_ROLLOUT} {view.name}", "Rollout", f"{p.paint(view.icon)} {view.phase}"])
    rows[-1] += [age(view.created, now), ""]
    for index, revision in enumerate(view.revisions):
        prefix, indent = branch(index == len(view.revisions) - 1, "")
        rows += _revision_rows(revision, prefix, indent, now, p)
    return render_table(rows)


def render_rollout(view: RolloutView, now: datetime, *, color: bool = False) -> str:
    """The whole `get rollout` output: summary, a blank line, the tree (no trailing newline)."""
    return "\n".join([*render_summary(view, color=color), "", *render_tree(view, now, color=color)])
