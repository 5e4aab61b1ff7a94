"""Rows of `list rollouts`: NAME STRATEGY STATUS STEP SET-WEIGHT READY DESIRED UP-TO-DATE AVAILABLE.

`build_list_row` reads one raw Rollout (pure); `render_list` lays rows out as upstream's table does: each value
padded to about its header's width, columns two spaces apart, a NAMESPACE column first with `-A`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ramp.core.phase import client_phase
from ramp.views.summary import calculate_set_weight, describe_step, describe_strategy

HEADERS = ("NAME", "STRATEGY", "STATUS", "STEP", "SET-WEIGHT", "READY", "DESIRED", "UP-TO-DATE", "AVAILABLE")
# Upstream pads each value to roughly its header's width (STATUS wider, for "Progressing").
_MIN_WIDTHS = (10, 9, 12, 4, 10, 5, 7, 10, 9)
_NAMESPACE_MIN_WIDTH = 9
_TIMESTAMP_MIN_WIDTH = 20


@dataclass(frozen=True)
class ListRow:
    namespace: str
    name: str
    strategy: str
    status: str
    step: str
    set_weight: str
    ready: str
    """Ready / current replicas."""
    desired: int
    up_to_date: int
    available: int

    def cells(self) -> tuple[str, ...]:
        return (
            self.name,
            self.strategy,
            self.status,
            self.step,
            self.set_weight,
            self.ready,
            str(self.desired),
            str(self.up_to_date),
            str(self.available),
        )


def build_list_row(rollout: Mapping[str, Any]) -> ListRow:
    meta, spec, status = rollout.get("metadata") or {}, rollout.get("spec") or {}, rollout.get("status") or {}
    strategy = describe_strategy(rollout)
    canary = strategy == "Canary"
    return ListRow(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        strategy=strategy,
        status=client_phase(rollout)[0],
        step=(describe_step(rollout) or "-") if canary else "-",
        set_weight=str(calculate_set_weight(rollout)) if canary else "-",
        ready=f"{int(status.get('readyReplicas') or 0)}/{int(status.get('replicas') or 0)}",
        desired=int(spec["replicas"]) if spec.get("replicas") is not None else 1,
        up_to_date=int(status.get("updatedReplicas") or 0),
        available=int(status.get("availableReplicas") or 0),
    )


def render_list(
    rows: Sequence[ListRow], *, all_namespaces: bool = False, header: bool = True, timestamp: str | None = None
) -> str:
    """The table as text (no trailing newline); `header=False` gives just the rows (watch updates).

    `timestamp` adds a TIMESTAMP column first (`--timestamps`) holding that text on every row.
    """
    head: tuple[str, ...] = HEADERS
    body = [row.cells() for row in rows]
    minimums: tuple[int, ...] = _MIN_WIDTHS
    if all_namespaces:
        head = ("NAMESPACE", *head)
        body = [(row.namespace, *cells) for row, cells in zip(rows, body, strict=True)]
        minimums = (_NAMESPACE_MIN_WIDTH, *minimums)
    if timestamp is not None:
        head = ("TIMESTAMP", *head)
        body = [(timestamp, *cells) for cells in body]
        minimums = (_TIMESTAMP_MIN_WIDTH, *minimums)
    table = [head, *body] if header else body
    widths = [max([minimums[i], *(len(r[i]) for r in table)]) for i in range(len(minimums))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in table]
    return "\n".join(lines)
