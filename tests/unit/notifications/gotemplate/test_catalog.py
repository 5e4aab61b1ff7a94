"""Notification templates of the shape of Argo Rollouts' catalog (manifests/notifications/*.yaml) render exactly
as Go renders them: every field of every template in fixtures/catalog.yaml, with a canary and a blue-green
Rollout (and their AnalysisRuns), against the text Go 1.26's text/template with sprig v3.3.0 wrote for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ramp.notifications.gotemplate import TemplateError, compile_template
from tests.unit.notifications.gotemplate.samples import NOW

FIXTURE = yaml.safe_load((Path(__file__).parent / "fixtures" / "catalog.yaml").read_text())
JSON_FIELDS = {"slack.attachments", "slack.blocks", "teams.facts", "webhook.audit-log.body"}


def _fields(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield ".".join(path), node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _fields(value, (*path, key))


def _cases() -> Iterator[Any]:
    for template_key, body in FIXTURE["templates"].items():
        for field, text in _fields(yaml.safe_load(body)):
            for sample in FIXTURE["samples"]:
                expected = FIXTURE["expected"][template_key][field][sample]
                yield pytest.param(text, sample, expected, field, id=f"{template_key}:{field}:{sample}")


@pytest.mark.parametrize(("text", "sample", "expected", "field"), list(_cases()))
def test_catalog_template_renders_as_go_does(text: str, sample: str, expected: Any, field: str) -> None:
    template = compile_template(text, name="t")
    variables = FIXTURE["samples"][sample]
    if isinstance(expected, dict):
        with pytest.raises(TemplateError) as caught:
            template.render(variables, now=NOW)
        assert str(caught.value) == expected["error"]
        return
    rendered = template.render(variables, now=NOW)
    assert rendered == expected
    if field in JSON_FIELDS:
        json.loads(rendered)  # what a service posts must be JSON, as upstream's is


def test_every_template_of_the_fixture_has_expected_text_for_every_field_and_sample() -> None:
    for template_key, body in FIXTURE["templates"].items():
        fields = dict(_fields(yaml.safe_load(body)))
        assert set(FIXTURE["expected"][template_key]) == set(fields)
        for field in fields:
            assert set(FIXTURE["expected"][template_key][field]) == set(FIXTURE["samples"])
