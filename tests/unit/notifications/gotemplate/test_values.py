"""The public API around rendering: the data is read as upstream reads it (numbers as float64) and never changed,
`time_variables` gives Argo Rollouts' `time` variable, `now` fixes sprig's clock, and a `GoFunc` in the data is
callable with `call`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from ramp.notifications.gotemplate import FuncError, GoFunc, Template, compile_template, time_variables
from tests.unit.notifications.gotemplate.samples import NOW


def test_compile_once_render_many() -> None:
    template = compile_template("Rollout {{ .rollout.metadata.name }} has been completed.", name="message")
    assert isinstance(template, Template)
    assert template.name == "message"
    for name in ("a", "b"):
        assert template.render({"rollout": {"metadata": {"name": name}}}) == f"Rollout {name} has been completed."


def test_integers_of_the_data_are_go_float64() -> None:
    template = compile_template('{{ .n }} {{ printf "%T" .n }} {{ .big }}')
    assert template.render({"n": 3, "big": 1_000_000}) == "3 float64 1e+06"


def test_rendering_never_changes_the_callers_data() -> None:
    data = {"labels": {"app": "web"}, "items": [1, 2]}
    compile_template('{{ set .labels "extra" "x" }}{{ $_ := unset .labels "app" }}').render(data)
    assert data == {"labels": {"app": "web"}, "items": [1, 2]}


def test_time_variables_are_argo_rollouts_time() -> None:
    variables = {"time": time_variables(lambda: NOW), "at": "2024-01-01T23:04:05Z"}
    text = '{{ (call .time.Now).Format "2006-01-02" }} {{ ((call .time.Now).Sub (call .time.Parse .at)).Hours }}'
    assert compile_template(text).render(variables) == "2024-01-02 4"


def test_now_fixes_sprigs_clock() -> None:
    moment = datetime(2030, 6, 7, 8, 9, 10, tzinfo=UTC)
    text = '{{ now | date "2006-01-02 15:04" }} {{ ago (toDate "2006-01-02" "2030-06-07") }}'
    assert compile_template(text).render({}, now=moment) == "2030-06-07 08:09 8h9m10s"


def test_a_gofunc_in_the_data_is_callable() -> None:
    def greet(name: str) -> str:
        if not name:
            raise FuncError("no name")
        return f"hello {name}"

    template = compile_template("{{ call .greet .who }}")
    assert template.render({"greet": GoFunc("greet", greet, ("string",)), "who": "ops"}) == "hello ops"


def test_random_functions_give_values_of_the_right_shape() -> None:
    rendered = compile_template("{{ uuidv4 }} {{ randAlphaNum 12 }} {{ randNumeric 4 }}").render({})
    uuid, alnum, numeric = rendered.split()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", uuid)
    assert re.fullmatch(r"[A-Za-z0-9]{12}", alnum)
    assert re.fullmatch(r"[0-9]{4}", numeric)


def test_secret_bytes_print_as_go_prints_a_byte_slice() -> None:
    # Upstream gives templates its Secret's data as map[string][]byte.
    text = (
        "{{ .secrets.token }} {{ len .secrets.token }} "
        '{{ printf "%s %T" .secrets.token .secrets.token }} {{ toString .secrets.token }}'
    )
    assert compile_template(text).render({"secrets": {"token": b"ab"}}) == "[97 98] 2 ab []uint8 ab"
