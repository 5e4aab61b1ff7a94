"""The pure part of bench/compare.py: ratios, the issue's goals, the table, which workloads a run selects."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from comparison import (
    Goal,
    Row,
    format_value,
    nodes_for,
    parse_controllers,
    ratio,
    select,
    summary,
    table,
    unit_of,
    workload_names,
)

SIZES = {"rolling": [100, 500, 2000], "canary": [500], "steady": [5000, 20000]}
KINDS = ["rolling", "canary", "steady", "abort"]


def test_ratio_is_ramp_over_argo_and_missing_when_either_is_missing_or_argo_is_zero() -> None:
    assert ratio(151.8, 106.6) == pytest.approx(1.424, abs=1e-3)
    assert ratio(None, 1.0) is None
    assert ratio(1.0, None) is None
    assert ratio(math.nan, 1.0) is None
    assert ratio(1.0, 0.0) is None


def test_a_ratio_goal_is_met_at_or_under_its_limit() -> None:
    goal = Goal("ratio", 0.8)
    assert goal.met(80.0, 100.0) is True
    assert goal.met(81.0, 100.0) is False
    assert goal.met(80.0, None) is None
    assert goal.describe("s") == "<= 0.8x Argo"


def test_a_below_goal_judges_ramps_own_figure_whatever_argo_did() -> None:
    goal = Goal("below", 1.0)
    assert goal.met(0.4, None) is True
    assert goal.met(1.0, 0.2) is False
    assert goal.met(None, 0.2) is None
    assert goal.describe("s") == "< 1.000 s"
    assert Goal("below", 1024).describe("MiB") == "< 1024 MiB"


def test_rows_have_the_issues_goals_only_at_the_sizes_it_names() -> None:
    assert Row("rolling-500", "update: all Healthy", "s", 100.0, 150.0).met() is True
    assert Row("rolling-500", "update: API requests per Rollout", "", 17.0, 16.6).met() is False
    assert Row("rolling-100", "update: all Healthy", "s", 100.0, 150.0).goal is None
    assert Row("steady-5000", "restart: peak RSS", "MiB", 283.0, 337.0).met() is False
    assert Row("steady-5000", "restart: idle CPU", "%", 1.5, 9.0).met() is True
    assert Row("steady-20000", "restart: every Rollout reconciled", "s", 75.0, 40.0).met() is False
    assert Row("abort", "failing measurement -> canary at 0 (median)", "s", 0.3, 0.2).met() is True


def test_values_are_formatted_by_unit() -> None:
    assert format_value(151.84, "s") == "151.8 s"
    assert format_value(0.3456, "s") == "0.346 s"
    assert format_value(176.4, "MiB") == "176 MiB"
    assert format_value(1.25, "%") == "1.2%"
    assert format_value(14.0, "") == "14.00"
    assert format_value(None, "s") == "-"


def test_the_table_has_a_header_a_rule_and_one_aligned_line_per_row() -> None:
    rows = [
        Row("rolling-500", "update: all Healthy", "s", 151.8, 106.6),
        Row("rolling-500", "peak RSS", "MiB", 176.0, None),
    ]
    lines = table(rows).splitlines()
    assert lines[0].split("|")[1:-1] == [
        " workload    ",
        " metric              ",
        " Ramp    ",
        " Argo    ",
        " Ramp/Argo ",
        " goal         ",
        " met? ",
    ]
    assert set(lines[1]) == {"|", "-"}
    assert [cell.strip() for cell in lines[2].split("|")[1:-1]] == [
        "rolling-500",
        "update: all Healthy",
        "151.8 s",
        "106.6 s",
        "1.42",
        "<= 0.8x Argo",
        "NO",
    ]
    assert [cell.strip() for cell in lines[3].split("|")[1:-1]] == [
        "rolling-500",
        "peak RSS",
        "176 MiB",
        "-",
        "-",
        "",
        "",
    ]
    assert len({len(line) for line in lines}) == 1


def test_the_summary_names_the_goals_missed_and_not_measured() -> None:
    rows = [
        Row("rolling-500", "update: all Healthy", "s", 100.0, 150.0),
        Row("rolling-500", "update: controller CPU", "s", 22.4, 16.2),
        Row("steady-20000", "restart: peak RSS", "MiB", None, 900.0),
        Row("rolling-500", "peak RSS", "MiB", 1.0, 1.0),
    ]
    assert summary(rows) == (
        "goals met: 1/3; not met: rolling-500 update: controller CPU; not measured: steady-20000 restart: peak RSS"
    )
    assert summary([rows[3]]) == "no goal rows in this run"


def test_the_default_run_is_every_workload_of_the_issue_in_order() -> None:
    assert workload_names(KINDS, SIZES) == [
        "rolling-100",
        "rolling-500",
        "rolling-2000",
        "canary-500",
        "steady-5000",
        "steady-20000",
        "abort",
    ]


def test_only_keeps_kinds_or_exact_workloads_and_refuses_unknown_ones() -> None:
    names = workload_names(KINDS, SIZES)
    assert select(names, []) == names
    assert select(names, ["rolling", "abort"]) == ["rolling-100", "rolling-500", "rolling-2000", "abort"]
    assert select(names, ["steady-5000"]) == ["steady-5000"]
    with pytest.raises(ValueError, match="--only: unknown workload rolling-7"):
        select(names, ["rolling-7"])


def test_controllers_are_a_subset_of_ramp_and_argo() -> None:
    assert parse_controllers("argo, ramp") == ["argo", "ramp"]
    assert parse_controllers("ramp") == ["ramp"]
    with pytest.raises(ValueError, match="--controllers"):
        parse_controllers("ramp,flagger")
    with pytest.raises(ValueError, match="--controllers"):
        parse_controllers("")


def test_units_follow_the_metric_name() -> None:
    assert unit_of("update: all Healthy") == "s"
    assert unit_of("update: controller CPU") == "s"
    assert unit_of("idle CPU") == "%"
    assert unit_of("peak RSS") == "MiB"
    assert unit_of("update: API requests per Rollout") == ""


def test_the_cluster_gets_nodes_for_the_largest_workloads_pods() -> None:
    assert nodes_for(["rolling-20", "abort"], 0) == 4
    assert nodes_for(["rolling-100", "rolling-2000"], 0) == 56  # 6,000 pods at 110 a node, and one spare
    assert nodes_for(["steady-20000"], 0) == 4
    assert nodes_for(["steady-5000"], 1) == 47


def test_a_row_in_json_carries_both_figures_the_ratio_and_the_verdict() -> None:
    row = Row("abort", "failing measurement -> canary at 0 (median)", "s", 0.25, 0.5)
    assert row.as_json() == {
        "workload": "abort",
        "metric": "failing measurement -> canary at 0 (median)",
        "unit": "s",
        "ramp": 0.25,
        "argo": 0.5,
        "ratio": 0.5,
        "goal": "< 1.000 s",
        "met": True,
    }
