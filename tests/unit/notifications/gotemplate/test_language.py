# ruff: noqa: E501  (golden tables: each template and Go's text on one line)
"""The template language as Go's text/template runs it: fields, `<no value>`, truthiness, if/with/range, variables,
define/template/block, pipelines, the builtins, printf and `call` of Argo Rollouts' `time` functions.

Each expected text is Go's own output for the same template and data (see samples.py).
"""

from __future__ import annotations

import pytest

from ramp.notifications.gotemplate import TemplateError
from tests.unit.notifications.gotemplate.samples import ERROR, render

CASES = [
    pytest.param("plain text", "plain text", id="text_without_actions_is_copied"),
    pytest.param(
        "{{.rollout.metadata.name}}/{{ .rollout.metadata.namespace }}",
        "checkout/shop",
        id="field_chain_reads_nested_maps",
    ),
    pytest.param("{{ .rollout.metadata.missing }}", "<no value>", id="missing_key_prints_no_value"),
    pytest.param("{{ .rollout.nope.deeper.still }}", "<no value>", id="field_through_a_missing_key_prints_no_value"),
    pytest.param("{{ .rollout.status.message }}", "<no value>", id="json_null_prints_no_value"),
    pytest.param(
        "{{ .rollout.spec.replicas }} {{ .rollout.status.canaryWeight }} {{ .rollout.status.big }}",
        "5 0.5 1.2345678e+07",
        id="json_numbers_print_as_go_float64",
    ),
    pytest.param(
        "{{ .tags }} {{ .rollout.metadata.labels }} {{ .empty }} {{ .nothing }}",
        "[a b c] map[app:checkout tier:web] [] map[]",
        id="lists_and_maps_print_as_go_fmt",
    ),
    pytest.param(
        "{{ 1 }} {{ 1.50 }} {{ 1e6 }} {{ 0x1F }} {{ 017 }} {{ 1_000 }} {{ 'a' }} {{ -2 }}",
        "1 1.5 1e+06 31 15 1000 97 -2",
        id="number_constants",
    ),
    pytest.param(
        '{{ "tab\\there" }}|{{ `raw\\n` }}|{{ "\\u00e9" }}', "tab\there|raw\\n|é", id="string_constants_unquote_as_go"
    ),
    pytest.param("a  {{- 1 -}}  b\n{{- 2 }} c {{ 3 -}}\n\n d", "a1b2 c 3d", id="trim_markers_eat_surrounding_spaces"),
    pytest.param("x{{/* a comment */}}y{{- /* trimmed */ -}}  z", "xyz", id="comments_write_nothing"),
    pytest.param("{{ if .empty }}A{{ else if .tags }}B{{ else }}C{{ end }}", "B", id="if_else_if_else"),
    pytest.param(
        '{{ if 0 }}1{{end}}{{ if 0.0 }}2{{end}}{{ if "" }}3{{end}}{{ if .empty }}4{{end}}{{ if .nothing }}5{{end}}{{ if .rollout.status.message }}6{{end}}{{ if false }}7{{end}}{{ if 1 }}8{{end}}{{ if "x" }}9{{end}}',
        "89",
        id="truthiness_follows_go",
    ),
    pytest.param(
        "{{ with .rollout.metadata }}{{ .name }}{{ end }}|{{ with .missing }}x{{ else }}none{{ end }}",
        "checkout|none",
        id="with_rebinds_dot_and_has_else",
    ),
    pytest.param("{{ with .missing }}a{{ else with .recipient }}{{ . }}{{ end }}", "dev-team", id="else_with_chains"),
    pytest.param(
        "{{ range $i, $c := .rollout.spec.template.spec.containers }}{{ if $i }},{{ end }}{{ $i }}={{ $c.name }}{{ end }}",
        "0=checkout,1=proxy",
        id="range_over_a_list_with_index",
    ),
    pytest.param(
        "{{ range $k, $v := .rollout.metadata.labels }}{{ $k }}:{{ $v }};{{ end }}",
        "app:checkout;tier:web;",
        id="range_over_a_map_is_in_key_order",
    ),
    pytest.param(
        "{{ range 3 }}{{ . }}{{ end }}|{{ range $i := 2 }}{{ $i }}{{ end }}", "012|01", id="range_over_an_int"
    ),
    pytest.param(
        "{{ range .empty }}x{{ else }}empty{{ end }}|{{ range .rollout.status.message }}x{{ else }}null{{ end }}",
        "empty|null",
        id="range_else_on_empty_and_null",
    ),
    pytest.param(
        '{{ range .tags }}{{ if eq . "b" }}{{ continue }}{{ end }}{{ if eq . "c" }}{{ break }}{{ end }}[{{ . }}]{{ end }}',
        "[a]",
        id="range_break_and_continue",
    ),
    pytest.param(
        "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ end }}{{ $x }}", "2", id="variables_assign_and_scope"
    ),
    pytest.param(
        "{{ range .tags }}{{ $.recipient }}-{{ . }} {{ end }}",
        "dev-team-a dev-team-b dev-team-c ",
        id="dollar_is_the_root_inside_range",
    ),
    pytest.param(
        '{{ define "name" }}<{{ .metadata.name }}>{{ end }}{{ template "name" .rollout }}{{ block "b" .recipient }}[{{ . }}]{{ end }}',
        "<checkout>[dev-team]",
        id="define_template_and_block",
    ),
    pytest.param(
        '{{ define "inner" }}{{ . }}{{ end }}{{ template "inner" }}',
        "<no value>",
        id="template_without_data_has_no_value",
    ),
    pytest.param(
        '{{ .recipient | printf "%s!" }} {{ "x" | printf "%s-%s" "y" }}',
        "dev-team! y-x",
        id="pipelines_pass_the_last_argument",
    ),
    pytest.param(
        "{{ (index .rollout.spec.template.spec.containers 1).image }} {{ (.rollout.metadata).name }}",
        "envoy:1.30 checkout",
        id="parenthesised_pipelines_and_chains",
    ),
    pytest.param(
        '{{ and 1 0 2 }}|{{ and 1 2 }}|{{ or 0 "" "z" }}|{{ or 0 "" }}|{{ or .missing .recipient }}',
        "0|2|z||dev-team",
        id="and_or_return_an_operand",
    ),
    pytest.param(
        '{{ not .empty }} {{ len .tags }} {{ len .recipient }} {{ index .tags 1 }} {{ index .rollout.metadata.labels "app" }} {{ index .rollout.metadata.labels "nope" }} {{ slice .tags 1 }}',
        "true 3 8 b checkout <no value> [b c]",
        id="not_len_index_slice",
    ),
    pytest.param(
        '{{ eq .recipient "ops" "dev-team" }} {{ eq .rollout.spec.replicas 5.0 }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1.5 2.5 }}',
        "true true true true true true false",
        id="eq_with_several_arguments",
    ),
    pytest.param(
        '{{ eq .missing "x" }} {{ eq .rollout.status.message nil }}', "false true", id="eq_with_a_missing_key_is_false"
    ),
    pytest.param(
        '{{ printf "%s|%d|%v|%q|%f|%.2f|%t|%x|%X|%%|%5s|%-5s|%05d|%e|%g" "s" 42 .tags "q" 1.5 3.14159 true 255 "hi" "r" "l" 42 123456.789 0.000012 }}',
        's|42|[a b c]|"q"|1.500000|3.14|true|ff|6869|%|    r|l    |00042|1.234568e+05|1.2e-05',
        id="printf_verbs",
    ),
    pytest.param(
        '{{ printf "%v %d %s" .rollout.spec.replicas .rollout.spec.replicas .rollout.spec.replicas }}',
        "5 %!d(float64=5) %!s(float64=5)",
        id="printf_with_json_numbers_and_bad_verbs",
    ),
    pytest.param(
        '{{ printf "%s %s" "a" }}|{{ printf "%s" "a" "b" }}',
        "a %!s(MISSING)|a%!(EXTRA string=b)",
        id="printf_missing_and_extra_arguments",
    ),
    pytest.param('{{ print 1 2 "a" "b" 3 }}|{{ println "x" 1 }}', "1 2ab3|x 1\n", id="print_and_println"),
    pytest.param(
        '{{ html "<a href=\'x\'>&</a>" }}|{{ js "it\'s \\"q\\" <b>" }}|{{ urlquery "a b&c=d/é" }}|{{ html .missing }}',
        '&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;|it\\\'s \\"q\\" \\u003Cb\\u003E|a+b%26c%3Dd%2F%C3%A9|&lt;no value&gt;',
        id="html_js_urlquery_escape",
    ),
    pytest.param(
        '{{ (call .time.Now).Unix }} {{ (call .time.Parse .rollout.status.abortedAt).Format "Jan 2 15:04" }} {{ call .time.Now }}',
        "1704164645 May 6 07:08 2024-01-02 03:04:05 +0000 UTC",
        id="call_a_function_in_the_data",
    ),
    pytest.param(
        '{{ ((call .time.Now).Sub (call .time.Parse "2024-01-01T00:00:00Z")).Hours }} {{ (call .time.Now).Sub (call .time.Parse "2024-01-02T00:00:00Z") }} {{ (call .time.Parse .rollout.status.abortedAt).Year }} {{ (call .time.Parse .rollout.status.abortedAt).Weekday }}',
        "27.068055555555556 3h4m5s 2024 Monday",
        id="time_methods_and_durations",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_renders_as_go_does(text: str, expected: str | ERROR) -> None:
    if isinstance(expected, ERROR):
        with pytest.raises(TemplateError) as caught:
            render(text)
        assert str(caught.value) == expected.message
    else:
        assert render(text) == expected
