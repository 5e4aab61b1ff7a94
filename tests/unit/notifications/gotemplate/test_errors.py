# ruff: noqa: E501  (golden tables: each template and Go's text on one line)
"""Errors worded as Go's text/template words them: parse errors ("template: t:2: ...") and execution errors
("template: t:1:3: executing \"t\" at <...>: ..."), Go's strict argument types included.

Each expected message is Go's own for the same template and data (see samples.py).
"""

from __future__ import annotations

import pytest

from ramp.notifications.gotemplate import TemplateError
from tests.unit.notifications.gotemplate.samples import ERROR, render

CASES = [
    pytest.param(
        "{{ nosuch .x }}", ERROR('template: t:1: function "nosuch" not defined'), id="unknown_function_is_a_parse_error"
    ),
    pytest.param(
        "line one\n{{ $nope }}",
        ERROR('template: t:2: undefined variable "$nope"'),
        id="undefined_variable_is_a_parse_error",
    ),
    pytest.param("a\n{{ if .x }}\nb", ERROR("template: t:3: unexpected EOF"), id="unclosed_action_names_its_line"),
    pytest.param("{{ end }}", ERROR("template: t:1: unexpected {{end}}"), id="unexpected_end"),
    pytest.param("{{ range .tags }}x", ERROR("template: t:1: unexpected EOF"), id="missing_end"),
    pytest.param(
        "{{ if 1 }}a{{ else }}b{{ else }}c{{ end }}",
        ERROR("template: t:1: expected end; found {{else}}"),
        id="else_twice",
    ),
    pytest.param("{{ break }}", ERROR("template: t:1: {{break}} outside {{range}}"), id="break_outside_range"),
    pytest.param(
        '{{ .x | "b" }}',
        ERROR("template: t:1: non executable command in pipeline stage 2"),
        id="non_executable_pipeline_stage",
    ),
    pytest.param('{{ "abc }}', ERROR("template: t:1: unterminated quoted string"), id="unclosed_string"),
    pytest.param("{{ 12ab }}", ERROR('template: t:1: bad number syntax: "12a"'), id="bad_number"),
    pytest.param("{{ if }}x{{ end }}", ERROR("template: t:1: missing value for if"), id="empty_pipeline_in_if"),
    pytest.param(
        "{{/* c */ x }}",
        ERROR("template: t:1: comment ends before closing delimiter"),
        id="comment_must_close_before_the_delimiter",
    ),
    pytest.param(
        '{{ define "a" }}1{{ end }}{{ define "a" }}2{{ end }}',
        ERROR('template: t:1: template: multiple definition of template "a"'),
        id="define_twice",
    ),
    pytest.param(
        "{{ 99999999999999999999 }}",
        ERROR('template: t:1: integer overflow: "99999999999999999999"'),
        id="integer_overflow",
    ),
    pytest.param(
        "{{ .recipient.name }}",
        ERROR('template: t:1:13: executing "t" at <.recipient.name>: can\'t evaluate field name in type interface {}'),
        id="field_of_a_string",
    ),
    pytest.param(
        "{{ .rollout.status.message.text }}",
        ERROR(
            'template: t:1:11: executing "t" at <.rollout.status.message.text>: nil pointer evaluating interface {}.text'
        ),
        id="field_through_null",
    ),
    pytest.param(
        '{{ upper "a" "b" }}',
        ERROR('template: t:1:3: executing "t" at <upper>: wrong number of args for upper: want 1 got 2'),
        id="wrong_number_of_args",
    ),
    pytest.param(
        "{{ upper 1 }}",
        ERROR('template: t:1:9: executing "t" at <1>: expected string; found 1'),
        id="literal_of_the_wrong_type",
    ),
    pytest.param(
        "{{ upper .rollout.nope }}",
        ERROR('template: t:1:17: executing "t" at <.rollout.nope>: invalid value; expected string'),
        id="missing_key_where_a_string_is_required",
    ),
    pytest.param(
        "{{ .rollout.nope | upper }}",
        ERROR('template: t:1:19: executing "t" at <upper>: invalid value; expected string'),
        id="piped_missing_key_where_a_string_is_required",
    ),
    pytest.param(
        "{{ upper .rollout.spec.replicas }}",
        ERROR(
            'template: t:1:17: executing "t" at <.rollout.spec.replicas>: wrong type for value; expected string; got float64'
        ),
        id="json_number_where_a_string_is_required",
    ),
    pytest.param(
        '{{ trunc .rollout.spec.replicas "abcdefgh" }}',
        ERROR(
            'template: t:1:17: executing "t" at <.rollout.spec.replicas>: wrong type for value; expected int; got float64'
        ),
        id="json_number_where_an_int_is_required",
    ),
    pytest.param(
        '{{ trunc (add 1 2) "abcdefgh" }}',
        ERROR('template: t:1:16: executing "t" at <2>: wrong type for value; expected int; got int64'),
        id="int64_where_an_int_is_required",
    ),
    pytest.param(
        "{{ eq .rollout.spec.replicas 5 }}",
        ERROR(
            'template: t:1:3: executing "t" at <eq .rollout.spec.replicas 5>: error calling eq: incompatible types for comparison: float64 and int'
        ),
        id="comparing_a_json_number_with_an_int",
    ),
    pytest.param(
        "{{ lt .rollout.spec.replicas 5 }}",
        ERROR(
            'template: t:1:3: executing "t" at <lt .rollout.spec.replicas 5>: error calling lt: incompatible types for comparison: float64 and int'
        ),
        id="comparing_in_order_mixed_types",
    ),
    pytest.param(
        "{{ index .tags 7 }}",
        ERROR('template: t:1:3: executing "t" at <index .tags 7>: error calling index: index out of range: 7'),
        id="index_out_of_range",
    ),
    pytest.param(
        "{{ len .rollout.spec.replicas }}",
        ERROR('template: t:1:3: executing "t" at <len .rollout.spec.replicas>: error calling len: len of type float64'),
        id="len_of_a_number",
    ),
    pytest.param(
        "{{ len .rollout.status.message }}",
        ERROR('template: t:1:3: executing "t" at <len .rollout.status.message>: error calling len: len of nil pointer'),
        id="len_of_null",
    ),
    pytest.param(
        "{{ range .recipient }}x{{ end }}",
        ERROR('template: t:1:9: executing "t" at <.recipient>: range can\'t iterate over dev-team'),
        id="range_over_a_string",
    ),
    pytest.param(
        "{{ range .rollout.spec.replicas }}x{{ end }}",
        ERROR('template: t:1:17: executing "t" at <.rollout.spec.replicas>: range can\'t iterate over 5'),
        id="range_over_a_json_number",
    ),
    pytest.param(
        '{{ template "nope" . }}',
        ERROR('template: t:1:12: executing "t" at <{{template "nope" .}}>: template "nope" not defined'),
        id="template_not_defined",
    ),
    pytest.param(
        '{{ .rollout.metadata "x" }}',
        ERROR('template: t:1:11: executing "t" at <.rollout.metadata>: metadata is not a method but has arguments'),
        id="arguments_to_a_map_field",
    ),
    pytest.param(
        '{{ "a" "b" }}',
        ERROR('template: t:1:3: executing "t" at <"a">: can\'t give argument to non-function "a"'),
        id="argument_to_a_non_function",
    ),
    pytest.param(
        'before {{ fail "stop here" }}',
        ERROR('template: t:1:10: executing "t" at <fail "stop here">: error calling fail: stop here'),
        id="fail_stops_the_render",
    ),
    pytest.param(
        "{{ .time.Now }}",
        ERROR('template: t:1:3: executing "t" at <{{.time.Now}}>: can\'t print {{.time.Now}} of type func() time.Time'),
        id="printing_a_function",
    ),
    pytest.param(
        "{{ call .recipient }}",
        ERROR(
            'template: t:1:3: executing "t" at <call .recipient>: error calling call: non-function .recipient of type string'
        ),
        id="call_of_a_non_function",
    ),
    pytest.param(
        "{{ call .time.Parse 1 }}",
        ERROR(
            'template: t:1:3: executing "t" at <call .time.Parse 1>: error calling call: arg 0: value has type int; should be string'
        ),
        id="call_with_a_bad_argument",
    ),
    pytest.param(
        '{{ call .time.Parse "yesterday" }}',
        ERROR(
            'template: t:1:3: executing "t" at <call .time.Parse "yesterday">: error calling call: parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"'
        ),
        id="call_whose_function_fails",
    ),
    pytest.param(
        '{{ define "x" }}\n  {{ upper 1 }}{{ end }}{{ template "x" }}',
        ERROR('template: t:2:11: executing "x" at <1>: expected string; found 1'),
        id="error_inside_a_defined_template",
    ),
    pytest.param(
        "{{ div 1 0 }}",
        ERROR('template: t:1:3: executing "t" at <div 1 0>: error calling div: runtime error: integer divide by zero'),
        id="divide_by_zero",
    ),
    pytest.param(
        '{{ regexFind "a(" "abc" }}',
        ERROR(
            'template: t:1:3: executing "t" at <regexFind "a(" "abc">: error calling regexFind: regexp: Compile(`a(`): error parsing regexp: missing closing ): `a(`'
        ),
        id="bad_regex",
    ),
    pytest.param(
        '{{ first "abc" }}',
        ERROR('template: t:1:3: executing "t" at <first "abc">: error calling first: Cannot find first on type string'),
        id="first_of_a_string",
    ),
    pytest.param(
        "{{ $x = 1 }}", ERROR('template: t:1:8: executing "t" at <1>: undefined variable: $x'), id="set_var_undefined"
    ),
    pytest.param(
        "{{ range .tags }}{{ else if .x }}{{ end }}",
        ERROR("template: t:1: unexpected <if> in input"),
        id="else_if_inside_range_is_out_of_place",
    ),
    pytest.param(
        "a\n{{ .x \n\n",
        ERROR("template: t:4: unclosed action started at t:2"),
        id="unclosed_action_says_where_it_started",
    ),
    pytest.param(
        "{{ 'ab' }}", ERROR("template: t:1: malformed character constant: 'ab'"), id="char_constant_of_two_characters"
    ),
    pytest.param("{{ '' }}", ERROR("template: t:1: invalid syntax"), id="empty_char_constant"),
    pytest.param("{{ 4-8 }}", ERROR('template: t:1: bad number syntax: "4-8"'), id="number_followed_by_a_sign"),
    pytest.param(
        "{{ 0x1.8 }}", ERROR('template: t:1: illegal number syntax: "0x1.8"'), id="hex_float_without_exponent"
    ),
    pytest.param(
        "{{ range .tags }}{{ break 1 }}{{ end }}",
        ERROR('template: t:1: unexpected "1" in {{break}}'),
        id="break_with_an_argument",
    ),
    pytest.param("{{ 1.5.x }}", ERROR('template: t:1: unexpected . after term "1.5"'), id="dot_after_a_number"),
    pytest.param(
        "{{ $nope\n}}", ERROR('template: t:2: undefined variable "$nope"'), id="undefined_variable_on_a_later_line"
    ),
    pytest.param("{{ .a'b }}", ERROR("template: t:1: bad character U+0027 '''"), id="bad_character_in_a_field"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_fails_as_go_does(text: str, expected: ERROR) -> None:
    with pytest.raises(TemplateError) as caught:
        render(text)
    assert str(caught.value) == expected.message


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        pytest.param("{{ time.Now }}", "{{ call .time.Now }}", id="time_is_a_variable_in_rollouts_templates"),
        pytest.param("{{ sync.GetInfoItem }}", "belongs to Argo CD", id="argo_cd_functions_are_refused_by_name"),
        pytest.param('{{ env "HOME" }}', "never read the environment", id="env_is_removed_as_upstream_does"),
        pytest.param('{{ expandenv "$HOME" }}', "never read the environment", id="expandenv_is_removed_too"),
        pytest.param('{{ genCA "x" 1 }}', "a sprig function Ramp does not provide", id="unsupported_sprig_is_named"),
    ],
)
def test_refused_functions_keep_gos_message_and_say_why(text: str, hint: str) -> None:
    with pytest.raises(TemplateError) as caught:
        render(text)
    name = text.split()[1].split(".", maxsplit=1)[0]
    assert str(caught.value).startswith(f'template: t:1: function "{name}" not defined (')
    assert hint in str(caught.value)
