"""The pure parts of `create analysisrun`: argument flags, the template file, the run's name."""

from __future__ import annotations

import json

import pytest

from ramp.actions import ActionError
from ramp.actions.analysis import choose_run_name, parse_argument_flags, parse_template_manifest

TEMPLATE_YAML = """
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: rate
  creationTimestamp: 2026-01-01T00:00:00Z
spec:
  args: [{name: service}]
  metrics:
  - name: success-rate
    successCondition: result[0] >= 0.95
    provider: {web: {url: "http://svc/{{args.service}}"}}
"""


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        pytest.param(["service=web"], [{"name": "service", "value": "web"}], id="name and value"),
        pytest.param(["q=a=b"], [{"name": "q", "value": "a=b"}], id="value keeps later equals signs"),
        pytest.param(["empty="], [{"name": "empty", "value": ""}], id="empty value"),
        pytest.param(["a=1", "b=2"], [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}], id="several in order"),
    ],
)
def test_argument_flags(flags: list[str], expected: list[dict[str, str]]) -> None:
    assert parse_argument_flags(flags) == expected


@pytest.mark.parametrize("flag", ["service", "=web"])
def test_argument_flags_without_name_or_equals_sign_are_refused(flag: str) -> None:
    with pytest.raises(ActionError, match="is not NAME=VALUE"):
        parse_argument_flags([flag])


@pytest.mark.parametrize(
    ("template_name", "name", "generate_name", "expected"),
    [
        pytest.param("rate", "try-1", "x-", ("try-1", None), id="name wins"),
        pytest.param("rate", None, "x-", (None, "x-"), id="generate name next"),
        pytest.param("rate", None, None, (None, "rate-"), id="else from the template"),
    ],
)
def test_run_name(
    template_name: str, name: str | None, generate_name: str | None, expected: tuple[str | None, str | None]
) -> None:
    assert choose_run_name(template_name, name, generate_name) == expected


def test_a_template_without_a_name_needs_a_run_name() -> None:
    with pytest.raises(ActionError, match="--name or --generate-name"):
        choose_run_name("", None, None)


@pytest.mark.parametrize("text", [TEMPLATE_YAML, json.dumps({"kind": "ClusterAnalysisTemplate", "spec": {}})])
def test_template_files_in_yaml_or_json_are_read(text: str) -> None:
    manifest = parse_template_manifest(text, "t.yaml")
    assert manifest["kind"] in ("AnalysisTemplate", "ClusterAnalysisTemplate")
    json.dumps(manifest)  # plain JSON: YAML timestamps became strings


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("kind: Rollout\nspec: {}\n", "--from-file takes an AnalysisTemplate", id="kind"),
        pytest.param("a: [\n", "not valid YAML", id="syntax"),
        pytest.param(TEMPLATE_YAML + "---\n" + TEMPLATE_YAML, "exactly one", id="two documents"),
        pytest.param("kind: AnalysisTemplate\nspec: {metrics: 3}\n", "spec.metrics", id="bad field named"),
    ],
)
def test_bad_template_files_are_refused_with_the_file_named(text: str, message: str) -> None:
    with pytest.raises(ActionError) as error:
        parse_template_manifest(text, "t.yaml")
    assert str(error.value).startswith("t.yaml: ")
    assert message in str(error.value)
