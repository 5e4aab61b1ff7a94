# ruff: noqa: E501  (golden tables: each template and Go's text on one line)
"""Sprig's functions (v3.3.0, the function map of Argo Rollouts' notifications engine) as Go runs them: strings,
regular expressions on RE2, encodings, JSON, defaults, lists, dicts, math after spf13/cast, types, paths, dates.

Each expected text is Go's own output for the same template and data (see samples.py).
"""

from __future__ import annotations

import pytest

from ramp.notifications.gotemplate import TemplateError
from tests.unit.notifications.gotemplate.samples import ERROR, render

CASES = [
    pytest.param(
        '{{ trim "  a b  " }}|{{ trimAll "$" "$$5.00$" }}|{{ trimPrefix "check" .rollout.metadata.name }}|{{ trimSuffix "out" .rollout.metadata.name }}',
        "a b|5.00|out|check",
        id="trim_family",
    ),
    pytest.param(
        '{{ upper "aé" }}|{{ lower "AB" }}|{{ title "hello wOrld-foo_bar" }}|{{ untitle "Hello World" }}|{{ snakecase "HTTPServerName" }}|{{ snakecase "http2xx" }}|{{ camelcase "http_server" }}|{{ camelcase "a-b c" }}|{{ kebabcase "fooBarBaz" }}|{{ swapcase "Hello wORLD" }}',
        "AÉ|ab|Hello WOrld-Foo_bar|hello world|http_server_name|http_2xx|HttpServer|ABC|foo-bar-baz|hELLO World",
        id="case_functions",
    ),
    pytest.param(
        '{{ repeat 3 "ab" }}|{{ substr 1 4 "checkout" }}|{{ trunc 5 "checkout" }}|{{ trunc -3 "checkout" }}|{{ abbrev 6 "checkout" }}|{{ nospace "a b\\tc" }}|{{ initials "hello big world" }}|{{ wrap 10 "the quick brown fox jumps" }}',
        "ababab|hec|check|out|che...|abc|hbw|the quick\nbrown fox\njumps",
        id="cutting_strings",
    ),
    pytest.param(
        '{{ contains "eck" "checkout" }}|{{ hasPrefix "ch" "checkout" }}|{{ hasSuffix "x" "checkout" }}',
        "true|true|false",
        id="string_predicates",
    ),
    pytest.param(
        '{{ quote "a" 1 .missing "b\\"c" }}|{{ squote "a" 2 }}|{{ cat "a" 1 .missing 2.5 "b" }}|{{ join ", " .tags }}|{{ join "-" (list 1 2 3) }}|{{ splitList "," "a,b,,c" }}|{{ (split "," "a,b")._1 }}|{{ sortAlpha (list "b" "a" "c") }}',
        '"a" "1" "b\\"c"|\'a\' \'2\'|a 1 2.5 b|a, b, c|1-2-3|[a b  c]|b|[a b c]',
        id="quoting_and_joining",
    ),
    pytest.param(
        '{{ indent 2 "a\\nb" }}|{{ nindent 2 "a\\nb" }}|{{ replace "o" "0" "foo boo" }}|{{ plural "pod" "pods" 1 }} {{ plural "pod" "pods" 3 }}',
        "  a\n  b|\n  a\n  b|f00 b00|pod pods",
        id="indent_and_replace",
    ),
    pytest.param(
        '{{ regexMatch "^check" .rollout.metadata.name }}|{{ regexMatch "(" "x" }}|{{ regexFindAll "[aeiou]" "checkout" -1 }}|{{ regexFindAll "[aeiou]" "checkout" 2 }}|{{ regexFind "v[0-9]+" .rollout.spec.template.spec.containers }}|{{ regexReplaceAll "(\\\\w+):(v\\\\d)" "app:v2" "${2}-$1" }}|{{ regexReplaceAll "a*" "baaac" "X" }}|{{ regexReplaceAllLiteral "o" "foo" "$1" }}|{{ regexSplit "o" "foo boo" -1 }}|{{ regexQuoteMeta "a.b*c" }}',
        ERROR(
            'template: t:1:190: executing "t" at <.rollout.spec.template.spec.containers>: wrong type for value; expected string; got []interface {}'
        ),
        id="regular_expressions",
    ),
    pytest.param(
        '{{ b64enc "hello" }}|{{ b64dec "aGVsbG8=" }}|{{ b64dec "!!" }}|{{ sha256sum "abc" }}|{{ sha1sum "abc" }}|{{ adler32sum "abc" }}|{{ b32enc "hi" }}',
        "aGVsbG8=|hello|illegal base64 data at input byte 0|ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad|a9993e364706816aba3e25717850c26c9cd0d89d|38600999|NBUQ====",
        id="encodings_and_hashes",
    ),
    pytest.param(
        '{{ toJson .rollout.metadata }}|{{ toJson .tags }}|{{ toJson .rollout.status }}|{{ toRawJson (dict "a" "<b>") }}|{{ toJson (dict "a" "<b>" "n" 1e21) }}|{{ (fromJson "{\\"a\\": [1, 2.5, null]}").a }}|{{ fromJson "bad" }}',
        '{"labels":{"app":"checkout","tier":"web"},"name":"checkout","namespace":"shop"}|["a","b","c"]|{"abortedAt":"2024-05-06T07:08:09Z","big":12345678,"canaryWeight":0.5,"currentStepIndex":2,"message":null,"phase":"Paused","replicas":5,"updatedReplicas":2}|{"a":"<b>"}|{"a":"\\u003cb\\u003e","n":1e+21}|[1 2.5 <nil>]|<no value>',
        id="json",
    ),
    pytest.param(
        '{{ toPrettyJson (dict "name" .rollout.metadata.name "tags" .tags "empty" .empty "nothing" .nothing) }}',
        '{\n  "empty": [],\n  "name": "checkout",\n  "nothing": {},\n  "tags": [\n    "a",\n    "b",\n    "c"\n  ]\n}',
        id="pretty_json",
    ),
    pytest.param(
        '{{ default "d" .missing }}|{{ default "d" "" }}|{{ default "d" "v" }}|{{ default "d" 0 }}|{{ default "d" .empty }}|{{ empty .empty }} {{ empty .tags }} {{ empty 0.0 }}|{{ coalesce .missing "" "c" }}|{{ ternary "yes" "no" true }} {{ ternary "yes" "no" false }}|{{ all 1 "a" }} {{ any 0 "" }}',
        "d|d|v|d|d|true false true|c|yes no|true false",
        id="defaults",
    ),
    pytest.param(
        '{{ list 1 2 "a" }}|{{ first .tags }}|{{ last .tags }}|{{ rest .tags }}|{{ initial .tags }}|{{ append .tags "d" }}|{{ prepend .tags "z" }}|{{ concat .tags (list 1 2) }}|{{ reverse .tags }}|{{ uniq (list 1 1 2 1) }}|{{ has "b" .tags }} {{ has "q" .tags }}|{{ without .tags "b" }}|{{ compact (list 1 "" 0 "x") }}|{{ slice .tags 1 2 }}|{{ first .empty }}',
        "[1 2 a]|a|c|[b c]|[a b]|[a b c d]|[z a b c]|[a b c 1 2]|[c b a]|[1 2]|true false|[a c]|[1 x]|[b]|<no value>",
        id="lists",
    ),
    pytest.param(
        "{{ has 5 (list .rollout.spec.replicas) }} {{ has 5.0 (list .rollout.spec.replicas) }} {{ without (list 1 1.0) 1 }}",
        "false true [1]",
        id="deep_equal_keeps_go_types",
    ),
    pytest.param(
        "{{ until 5 }}|{{ untilStep 0 10 3 }}|{{ untilStep 10 0 -4 }}|{{ seq 5 }}|{{ seq 2 5 }}|{{ seq 0 2 10 }}|{{ seq 5 2 }}|{{ range $i := until 3 }}{{ $i }}{{ end }}",
        "[0 1 2 3 4]|[0 3 6 9]|[10 6 2]|1 2 3 4 5|2 3 4 5|0 2 4 6 8 10|5 4 3 2|012",
        id="sequences",
    ),
    pytest.param(
        '{{ $d := dict "a" 1 "b" "x" "c" }}{{ $d }}|{{ get $d "a" }}|{{ get $d "zz" }}|{{ set $d "z" 5 }}|{{ unset $d "a" }}|{{ hasKey $d "b" }}|{{ values (dict "a" 1) }}|{{ pluck "app" .rollout.metadata.labels (dict "app" "x") }}|{{ pick .rollout.metadata.labels "app" }}|{{ omit .rollout.metadata.labels "app" }}|{{ dig "metadata" "name" "none" .rollout }}|{{ dig "metadata" "nope" "none" .rollout }}',
        "map[a:1 b:x c:]|1||map[a:1 b:x c: z:5]|map[b:x c: z:5]|true|[1]|[checkout x]|map[app:checkout]|map[tier:web]|checkout|none",
        id="dicts",
    ),
    pytest.param(
        '{{ merge (dict "a" 1 "n" (dict "x" 1)) (dict "a" 2 "b" 3 "n" (dict "y" 2)) }}|{{ mergeOverwrite (dict "a" 1) (dict "a" 2 "b" 3) }}',
        "map[a:1 b:3 n:map[x:1 y:2]]|map[a:2 b:3]",
        id="merges",
    ),
    pytest.param(
        '{{ add 1 2 3 }}|{{ add .rollout.status.currentStepIndex 1 }}|{{ add1 .rollout.status.canaryWeight }}|{{ sub 10 .rollout.spec.replicas }}|{{ mul 2 3 4 }}|{{ div 7 2 }}|{{ div -7 2 }}|{{ mod -7 2 }}|{{ max 1 5 3 }}|{{ min 4 2 8 }}|{{ add "5" "1.0" true }}',
        "6|3|1|5|24|3|-3|-1|5|2|7",
        id="integer_math_after_cast",
    ),
    pytest.param(
        "{{ maxf 1.5 2 }}|{{ minf 1.5 2 }}|{{ floor 2.7 }}|{{ ceil 2.1 }}|{{ round 2.555 2 }}|{{ round 2.5 0 }}|{{ addf 1.1 2.2 }}|{{ subf 5 1.5 }}|{{ mulf 1.1 3 }}|{{ divf 10 4 }}|{{ add1f 1.5 }}",
        "2|1.5|2|3|2.56|3|3.3|3.5|3.3|2.5|2.5",
        id="float_math",
    ),
    pytest.param(
        '{{ int "42" }}|{{ int64 "0x10" }}|{{ float64 "1.5" }}|{{ atoi "12" }} {{ atoi "x" }}|{{ int 3.9 }}|{{ toString 1.5 }}|{{ toString .missing }}|{{ toDecimal "0777" }}|{{ toStrings (list 1 "a") }}',
        "42|16|1.5|12 0|3|1.5|<nil>|511|[1 a]",
        id="conversions",
    ),
    pytest.param(
        '{{ typeOf .rollout }}|{{ typeOf .rollout.spec.replicas }}|{{ typeOf 1 }}|{{ typeOf (add 1 1) }}|{{ typeOf .missing }}|{{ kindOf .rollout }}|{{ kindOf .tags }}|{{ kindOf "s" }}|{{ typeIs "string" "x" }}|{{ kindIs "map" .rollout }}|{{ deepEqual .tags .tags }}',
        "map[string]interface {}|float64|int|int64|<nil>|map|slice|string|true|true|true",
        id="types",
    ),
    pytest.param(
        '{{ base "/a/b.txt" }}|{{ dir "/a/b.txt" }}|{{ clean "/a/../b//c/" }}|{{ ext "x.tar.gz" }}|{{ isAbs "/x" }}',
        "b.txt|/a|/b/c|.gz|true",
        id="paths",
    ),
    pytest.param(
        '{{ toDate "2006-01-02T15:04:05Z07:00" .rollout.status.abortedAt }}|{{ toDate "2006-01-02" "nope" }}|{{ toDate "2006-01-02T15:04:05Z07:00" .rollout.status.abortedAt | date "Jan 2, 2006 at 3:04pm (MST)" }}|{{ unixEpoch (toDate "2006-01-02" "2024-03-05") }}|{{ dateModify "1h30m" (toDate "2006-01-02" "2024-03-05") }}|{{ dateModify "-90m" (toDate "2006-01-02" "2024-03-05") }}|{{ dateInZone "2006-01-02 15:04 MST" (toDate "2006-01-02" "2024-03-05") "America/New_York" }}|{{ htmlDate (toDate "2006-01-02" "2024-03-05") }}|{{ date "2006-01-02" 86400 }}',
        "2024-05-06 07:08:09 +0000 UTC|0001-01-01 00:00:00 +0000 UTC|May 6, 2024 at 7:08am (UTC)|1709596800|2024-03-05 01:30:00 +0000 UTC|2024-03-04 22:30:00 +0000 UTC|2024-03-04 19:00 EST|2024-03-05|1970-01-02",
        id="dates",
    ),
    pytest.param(
        '{{ duration "95" }}|{{ duration (int64 3700) }}|{{ duration 95 }}|{{ durationRound "2h10m" }}|{{ durationRound "400h" }}|{{ durationRound "1000h" }}|{{ durationRound "100000h" }}',
        "1m35s|1h1m40s|0s|2h|16d|1mo|11y",
        id="durations",
    ),
    pytest.param(
        '{{ snakecase "checkout-v2" }}|{{ snakecase "api.v1" }}|{{ kebabcase "my-app-2024" }}|{{ snakecase "Bld4Floor" }}|{{ snakecase "HTTP20xOK" }}|{{ kebabcase "e2e-Test_run" }}|{{ camelcase "checkout-v2" }}',
        "checkout_v2|api.v1|my-app-2024|bld4_floor|http_20x_ok|e-2e-test-run|CheckoutV2",
        id="case_conversions_of_rollout_names",
    ),
    pytest.param(
        "{{ rest .empty }}|{{ initial .empty }}|{{ first .empty }}|{{ last .empty }}",
        "[]|[]|<no value>|<no value>",
        id="rest_and_initial_of_an_empty_list_print_empty",
    ),
    pytest.param(
        "{{ divf 1 99 }} {{ divf 2 3 }} {{ divf 1 3 }} {{ mulf 1.1 1.1 }} {{ addf 0.1 0.2 }}",
        "0.0101010101010101 0.6666666666666667 0.3333333333333333 1.21 0.3",
        id="decimal_division_keeps_16_places",
    ),
    pytest.param(
        '{{ printf "%x %X" 5.0 0.5 }}|{{ printf "%5.1f" "1" }}',
        "0x1.4p+02 0X1P-01|%!f(string=    1)",
        id="printf_hex_of_floats_and_bad_verbs_keep_width",
    ),
    pytest.param(
        "{{ eq .tags .tags }}",
        ERROR(
            'template: t:1:3: executing "t" at <eq .tags .tags>: error calling eq: non-comparable type [a b c]: []interface {}'
        ),
        id="comparing_lists_is_an_error",
    ),
    pytest.param('{{ round "a" 1e3 | toJson }}|', "|", id="toJson_of_nan_is_empty"),
    pytest.param(
        '{{ semverCompare ">=1.2.3" "1.4.0" }} {{ semverCompare "<1.2.3" "1.4.0" }} {{ semverCompare "!=1.2.3" "1.2.3" }} {{ semverCompare "=1.2.3" "v1.2.3" }}',
        "true false false true",
        id="semver_compare_operators",
    ),
    pytest.param(
        '{{ semverCompare "~1.2" "1.2.9" }} {{ semverCompare "~1.2" "1.3.0" }} {{ semverCompare "^1.2.3" "1.9.0" }} {{ semverCompare "^0.2.3" "0.3.0" }} {{ semverCompare "1.x" "1.7.2" }} {{ semverCompare "*" "3.0.0" }}',
        "true false true false true true",
        id="semver_compare_tilde_caret_and_wildcards",
    ),
    pytest.param(
        '{{ semverCompare "1.2 - 1.4.5" "1.4.5" }} {{ semverCompare ">= 1.2, < 3.0" "3.0.0" }} {{ semverCompare "^1.2 || >=3" "3.1.0" }}',
        "true false true",
        id="semver_compare_ranges_and_alternatives",
    ),
    pytest.param(
        '{{ semverCompare ">=1.0.0" "1.2.3-beta.2" }} {{ semverCompare ">=1.0.0-0" "1.2.3-beta.2" }} {{ semverCompare ">1.2.3-beta.2" "1.2.3-beta.10" }}',
        "false true true",
        id="semver_compare_prereleases_need_a_prerelease_constraint",
    ),
    pytest.param(
        '{{ semverCompare "bogus" "1.2.3" }}',
        ERROR(
            'template: t:1:3: executing "t" at <semverCompare "bogus" "1.2.3">: error calling semverCompare: improper constraint: bogus'
        ),
        id="semver_compare_bad_constraint",
    ),
    pytest.param('{{ semverCompare ">1" "01.2.3" }}', "false", id="semver_compare_bad_version"),
    pytest.param(
        '{{ (call .time.Parse "2024-03-05T07:08:09.25Z").Format "Monday, 02-Jan-06 15:04:05.000 MST" }}|{{ (call .time.Parse "2024-03-05T07:08:09.25Z").Format "Monat _2 002 3:04PM -07:00 Z07:00 .999999" }}',
        "Tuesday, 05-Mar-24 07:08:09.250 UTC|Monat  5 065 7:08AM +00:00 Z .25",
        id="time_layouts_format_as_go",
    ),
    pytest.param(
        '{{ mustToDate "2006-01-02 15:04:05" "2024-03-05 07:08:09.125" | date "15:04:05.000" }}',
        "07:08:09.125",
        id="parsing_reads_a_fraction_the_layout_does_not_name",
    ),
    pytest.param('{{ mustToDate "2006 002" "2024 065" | date "Jan 2" }}', "Mar 5", id="parsing_a_day_of_the_year"),
    pytest.param(
        '{{ mustToDate "Jan 2 2006" "Mar   5    2024" | date "2006-01-02" }}',
        "2024-03-05",
        id="parsing_spaces_match_any_run_of_spaces",
    ),
    pytest.param(
        '{{ mustToDate "2006-01-02 15:04" "2024-03-05 07:61" }}',
        ERROR(
            'template: t:1:3: executing "t" at <mustToDate "2006-01-02 15:04" "2024-03-05 07:61">: error calling mustToDate: parsing time "2024-03-05 07:61": minute out of range'
        ),
        id="parsing_a_value_out_of_range",
    ),
    pytest.param(
        '{{ mustToDate "2006-01-02" "05/03/2024" }}',
        ERROR(
            'template: t:1:3: executing "t" at <mustToDate "2006-01-02" "05/03/2024">: error calling mustToDate: parsing time "05/03/2024" as "2006-01-02": cannot parse "05/03/2024" as "2006"'
        ),
        id="parsing_text_that_does_not_match",
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_sprig_function_renders_as_go_does(text: str, expected: str | ERROR) -> None:
    if isinstance(expected, ERROR):
        with pytest.raises(TemplateError) as caught:
            render(text)
        assert str(caught.value) == expected.message
    else:
        assert render(text) == expected
