"""No template can loop forever, eat the memory or crash the interpreter: steps, output, template depth, value
sizes and nesting are bounded, and each bound is a TemplateError that names it.
"""

from __future__ import annotations

import pytest

from ramp.notifications.gotemplate import MAX_TEMPLATE_LENGTH, TemplateError, compile_template
from tests.unit.notifications.gotemplate.samples import render


@pytest.mark.parametrize(
    ("text", "named"),
    [
        pytest.param("{{ range 1000000000 }}x{{ end }}", "max_steps", id="range_over_a_huge_int"),
        pytest.param(
            "{{ range $i := until 100000 }}{{ range $j := until 100000 }}{{ end }}{{ end }}",
            "max_steps",
            id="nested_ranges",
        ),
        pytest.param(
            '{{ $s := "ab" }}{{ range 100 }}{{ $s = printf "%s%s" $s $s }}{{ end }}{{ len $s }}',
            "limit",
            id="doubling_a_string",
        ),
        pytest.param(
            "{{ $l := list }}{{ range $i := 1000000 }}{{ $l = append $l $i }}{{ end }}",
            "max_steps",
            id="growing_a_list_by_copies",
        ),
        pytest.param(
            "{{ range 1000 }}{{ $x := until 99999 }}{{ $y := until 99999 }}{{ end }}",
            "max_steps",
            id="building_long_lists_repeatedly",
        ),
    ],
)
def test_runaway_work_stops_with_the_budget_named(text: str, named: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(text)
    assert named in str(caught.value)


def test_output_budget_stops_a_long_text() -> None:
    with pytest.raises(TemplateError, match=r"output exceeds 1000 characters \(max_output\)"):
        render("{{ range 2000 }}x{{ end }}", max_output=1000)


def test_step_budget_can_be_set_per_render() -> None:
    assert render("{{ range 10 }}x{{ end }}", max_steps=100) == "x" * 10
    with pytest.raises(TemplateError, match=r"more than 20 steps \(max_steps\)"):
        render("{{ range 10 }}x{{ end }}", max_steps=20)


def test_recursive_template_stops_at_the_depth_cap() -> None:
    text = '{{ define "loop" }}{{ template "loop" . }}{{ end }}{{ template "loop" . }}'
    with pytest.raises(TemplateError, match=r"exceeded maximum template depth \(100\)"):
        render(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param('{{ repeat 10000000 "ab" }}', "exceeds the limit", id="repeat"),
        pytest.param('{{ indent 1000000 "a\\nb\\nc" }}', "exceeds the limit", id="indent"),
        pytest.param('{{ replace "" "xxxxxxxxxx" (repeat 200000 "a") }}', "exceeds the limit", id="replace"),
        pytest.param("{{ until 100000000 }}", "exceeds the limit", id="until"),
        pytest.param("{{ randAlphaNum 100000000 }}", "exceeds the limit", id="random_string"),
    ],
)
def test_a_function_never_builds_a_huge_value(text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        render(text)


def test_printf_refuses_a_width_beyond_a_million_as_go_does() -> None:
    assert render('{{ printf "%*d" 100000000 1 }}') == "%!(BADWIDTH)1"


def test_deeply_nested_parentheses_are_a_template_error() -> None:
    with pytest.raises(TemplateError, match="nested too deeply"):
        compile_template("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}")


def test_deeply_nested_data_is_a_template_error() -> None:
    data: dict[str, object] = {}
    node = data
    for _ in range(5000):
        child: dict[str, object] = {}
        node["a"] = child
        node = child
    with pytest.raises(TemplateError, match="nested too deeply"):
        compile_template("{{ . }}").render(data)


def test_a_template_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(TemplateError, match="exceed the limit"):
        compile_template("x" * (MAX_TEMPLATE_LENGTH + 1))


def test_a_regular_expression_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(TemplateError, match="exceeds the limit"):
        render('{{ regexMatch (repeat 5000 "a") "a" | print }}{{ regexFind (repeat 5000 "a") "a" }}')


def test_many_trim_markers_compile() -> None:
    text = "{{- 1 -}}  \n" * 20000
    assert compile_template(text).render({}) == "1" * 20000
