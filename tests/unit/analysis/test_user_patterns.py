"""dryRun and measurementRetention `metricName` patterns run on RE2: a backtracking pattern matches in linear time,
and one RE2 refuses is a SpecError naming the field (never an OverflowError or re.error escaping)."""

from __future__ import annotations

import pytest

from ramp.analysis.assessment import SpecError, select_dry_run_metrics, select_measurement_limits
from ramp.analysis.metrics import dry_run_metric_names
from ramp.api.analysis import DryRun, MeasurementRetention
from ramp.core.patterns import PatternError, compile_pattern

NAMES = ["success-rate", "latency", "a" * 27 + "!"]


def test_a_backtracking_dry_run_pattern_matches_by_re2() -> None:
    assert select_dry_run_metrics([DryRun(metric_name="^(a+)+!$")], NAMES) == frozenset({"a" * 27 + "!"})


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("a{99999999999}", "dryRun[0].metricName: invalid regular expression 'a{99999999999}': repetition count"),
        ("(a)\\1", "dryRun[0].metricName: invalid regular expression"),
        ("(?=a)", "dryRun[0].metricName: invalid regular expression"),
        ("a" * 2000, "dryRun[0].metricName: regular expression is 2000 characters long"),
    ],
)
def test_a_dry_run_pattern_re2_refuses_is_a_spec_error_naming_the_field(pattern: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        select_dry_run_metrics([DryRun(metric_name=pattern)], NAMES)
    assert str(caught.value).startswith(message)


def test_a_measurement_retention_pattern_re2_refuses_names_its_index() -> None:
    rules = [MeasurementRetention(metric_name="latency", limit=3), MeasurementRetention(metric_name="(", limit=2)]
    with pytest.raises(SpecError, match=r"^measurementRetention\[1\]\.metricName: invalid regular expression"):
        select_measurement_limits(rules, NAMES)


def test_star_still_means_every_metric() -> None:
    assert select_dry_run_metrics([DryRun(metric_name="*")], NAMES) == frozenset(NAMES)
    spec = {"metrics": [{"name": name} for name in NAMES], "dryRun": [{"metricName": "*"}]}
    assert dry_run_metric_names(spec) == set(NAMES)


def test_the_metrics_view_skips_a_refused_pattern() -> None:
    spec = {"metrics": [{"name": "latency"}], "dryRun": [{"metricName": "a{99999999999}"}, {"metricName": "lat"}]}
    assert dry_run_metric_names(spec) == {"latency"}


def test_go_syntax_that_python_lacks_works() -> None:
    assert compile_pattern(r"metric\z", "f").search("metric")
    assert compile_pattern(r"[[:alpha:]]+", "f").search("abc")
    with pytest.raises(PatternError):
        compile_pattern("(?P<x>a)(?P=x)", "f")


def test_lone_surrogates_in_a_pattern_or_a_name_are_read_as_invalid_utf8() -> None:
    assert compile_pattern("a", "f").search("\ud800a")
    assert not compile_pattern("\ud800", "f").search("x")
