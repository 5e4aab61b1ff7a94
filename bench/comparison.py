"""The pure part of `bench/compare.py`: rows of figures for Ramp and Argo Rollouts, their ratio, the goals of
issue 14 and whether each is met, and the table and JSON they are printed as. No I/O here (unit-tested).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

RAMP, ARGO = "ramp", "argo"
CONTROLLERS = (RAMP, ARGO)


@dataclass(frozen=True)
class Goal:
    """What Ramp's figure must be: `ratio` — Ramp / Argo at most `limit`; `below` — Ramp's own value under `limit`
    (in the row's unit)."""

    kind: Literal["ratio", "below"]
    limit: float

    def describe(self, unit: str) -> str:
        if self.kind == "ratio":
            return f"<= {self.limit:g}x Argo"
        return f"< {format_value(self.limit, unit)}"

    def met(self, ramp: float | None, argo: float | None) -> bool | None:
        """True or False, or None when the figures it needs were not measured."""
        if self.kind == "below":
            return None if not _measured(ramp) else bool(ramp < self.limit)  # type: ignore[operator]
        value = ratio(ramp, argo)
        return None if value is None else value <= self.limit


# The goals of issue 14, by (workload, metric); a row has a goal only at the size the issue names.
GOALS: dict[tuple[str, str], Goal] = {
    ("rolling-500", "update: all Healthy"): Goal("ratio", 0.8),
    ("rolling-500", "update: controller CPU"): Goal("ratio", 0.8),
    ("rolling-500", "update: API requests per Rollout"): Goal("ratio", 1.0),
    # The steady state proper: the controller (re)started over N Rollouts that are already Healthy.
    ("steady-5000", "restart: peak RSS"): Goal("ratio", 0.5),
    ("steady-5000", "restart: idle CPU"): Goal("below", 2.0),
    ("steady-20000", "restart: every Rollout reconciled"): Goal("below", 60.0),
    ("steady-20000", "restart: peak RSS"): Goal("below", 1024.0),
    ("abort", "failing measurement -> canary at 0 (median)"): Goal("below", 1.0),
    ("abort", "failing measurement -> canary at 0 (max)"): Goal("below", 1.0),
}


@dataclass
class Row:
    """One figure of one workload, for each controller (None: not run or not reached)."""

    workload: str
    metric: str
    unit: str
    ramp: float | None = None
    argo: float | None = None

    @property
    def goal(self) -> Goal | None:
        return GOALS.get((self.workload, self.metric))

    @property
    def ratio(self) -> float | None:
        return ratio(self.ramp, self.argo)

    def met(self) -> bool | None:
        return None if self.goal is None else self.goal.met(self.ramp, self.argo)

    def as_json(self) -> dict[str, Any]:
        goal = self.goal
        return {
            "workload": self.workload,
            "metric": self.metric,
            "unit": self.unit,
            RAMP: self.ramp,
            ARGO: self.argo,
            "ratio": self.ratio,
            "goal": goal.describe(self.unit) if goal else None,
            "met": self.met(),
        }


def _measured(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def ratio(ramp: float | None, argo: float | None) -> float | None:
    """Ramp / Argo, or None when either is missing or Argo's is zero."""
    if not _measured(ramp) or not _measured(argo) or argo == 0:
        return None
    return ramp / argo  # type: ignore[operator]


def format_value(value: float | None, unit: str) -> str:
    if not _measured(value):
        return "-"
    assert value is not None
    if unit == "MiB":
        return f"{value:.0f} MiB"
    if unit == "%":
        return f"{value:.1f}%"
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit:
        return f"{value:.2f} {unit}"
    return f"{value:.2f}"


def _verdict(met: bool | None, has_goal: bool) -> str:
    if not has_goal:
        return ""
    return {True: "yes", False: "NO", None: "?"}[met]


def table(rows: list[Row]) -> str:
    """A Markdown table: workload, metric, Ramp, Argo, Ramp/Argo, goal, met?"""
    header = ["workload", "metric", "Ramp", "Argo", "Ramp/Argo", "goal", "met?"]
    cells = [header]
    for row in rows:
        value = row.ratio
        goal = row.goal
        cells.append(
            [
                row.workload,
                row.metric,
                format_value(row.ramp, row.unit),
                format_value(row.argo, row.unit),
                "-" if value is None else f"{value:.2f}",
                goal.describe(row.unit) if goal else "",
                _verdict(row.met(), goal is not None),
            ]
        )
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |" for line in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def summary(rows: list[Row]) -> str:
    """How many goals were met, and which were not."""
    judged = [row for row in rows if row.goal is not None]
    if not judged:
        return "no goal rows in this run"
    missed = [f"{row.workload} {row.metric}" for row in judged if row.met() is False]
    unknown = [f"{row.workload} {row.metric}" for row in judged if row.met() is None]
    text = f"goals met: {sum(1 for row in judged if row.met())}/{len(judged)}"
    if missed:
        text += "; not met: " + ", ".join(missed)
    if unknown:
        text += "; not measured: " + ", ".join(unknown)
    return text


def workload_names(kinds: list[str], sizes: dict[str, list[int]]) -> list[str]:
    """The workloads of a run in order: each kind at each of its sizes (`abort` has none)."""
    names = []
    for kind in kinds:
        if kind == "abort":
            names.append("abort")
        else:
            names += [f"{kind}-{size}" for size in sizes[kind]]
    return names


def select(names: list[str], only: list[str]) -> list[str]:
    """The workloads `--only` keeps: a kind (`rolling`) keeps all its sizes; a full name (`rolling-500`) one."""
    if not only:
        return names
    unknown = [pick for pick in only if not any(name == pick or name.split("-", 1)[0] == pick for name in names)]
    if unknown:
        raise ValueError(f"--only: unknown workload {', '.join(unknown)}; choose from {', '.join(names)}")
    return [name for name in names if name in only or name.split("-", 1)[0] in only]


def parse_controllers(text: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in chosen if name not in CONTROLLERS]
    if unknown or not chosen:
        raise ValueError(f"--controllers: expected a comma-separated subset of ramp,argo, got {text!r}")
    return chosen


UNITS = {"API requests per Rollout": "", "events kept per Rollout": "", "idle CPU": "%", "RSS": "MiB", "CPU": "s"}
PODS_PER_NODE = 110  # kwok's default node capacity
PODS_PER_ROLLOUT = {"rolling": 3, "canary": 3, "abort": 0}  # replicas 2 and one surge pod


def unit_of(metric: str) -> str:
    """The unit of a metric from its name (seconds unless it names another)."""
    for key, unit in UNITS.items():
        if key in metric:
            return unit
    return "s"


def nodes_for(workloads: list[str], steady_replicas: int) -> int:
    """kwok nodes with room for the largest workload's pods (one workload runs at a time), beside the rest."""
    pods = 40
    for workload in workloads:
        kind, _, size = workload.partition("-")
        per = steady_replicas if kind == "steady" else PODS_PER_ROLLOUT[kind]
        pods = max(pods, per * int(size or 0))
    return max(4, math.ceil(pods / PODS_PER_NODE) + 1)
