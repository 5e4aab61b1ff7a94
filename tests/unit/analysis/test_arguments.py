"""Run arguments: their values (value, secretKeyRef, fieldRef) and "{{args.name}}" substituted into metrics."""

from __future__ import annotations

from typing import Any

import pytest

from ramp.analysis.arguments import (
    SECRET_PLACEHOLDER,
    ArgumentError,
    list_secret_names,
    redact_secrets,
    resolve_arguments,
    substitute_arguments,
    substitute_text,
)
from ramp.api.analysis import Argument, Metric

RUN = {"metadata": {"name": "run", "namespace": "ns", "labels": {"app": "web"}}}


def args(*items: dict[str, Any]) -> list[Argument]:
    return [Argument.model_validate(item) for item in items]


def test_values_come_from_value_secret_and_field() -> None:
    arguments = args(
        {"name": "app", "value": "web"},
        {"name": "token", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}},
        {"name": "label", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
    )
    resolved = resolve_arguments(arguments, run=RUN, secrets={"creds": {"token": "s3cret"}})
    assert dict(resolved.values) == {"app": "web", "token": "s3cret", "label": "web"}
    assert resolved.secrets == {"s3cret"}
    assert list_secret_names(arguments) == ["creds"]


def test_secrets_not_read_yet_stand_as_a_placeholder() -> None:
    arguments = args({"name": "token", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "token"}}})
    assert resolve_arguments(arguments, run=RUN).values == {"token": SECRET_PLACEHOLDER}


@pytest.mark.parametrize(
    ("arguments", "secrets", "expected"),
    [
        pytest.param([{"name": "app"}], None, 'argument "app" was not supplied', id="no-value"),
        pytest.param(
            [{"name": "t", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "nope"}}}],
            {"creds": {"token": "x"}},
            "key 'nope' does not exist in secret 'creds'",
            id="missing-secret-key",
        ),
        pytest.param(
            [{"name": "t", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "k"}}}],
            {},
            'secret "gone"',
            id="missing-secret",
        ),
        pytest.param(
            [{"name": "f", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['x']"}}}],
            None,
            "metadata.labels['x']",
            id="missing-field",
        ),
    ],
)
def test_unresolvable_arguments_name_the_argument(
    arguments: list[dict[str, Any]], secrets: dict[str, dict[str, str]] | None, expected: str
) -> None:
    with pytest.raises(ArgumentError, match=None) as raised:
        resolve_arguments(args(*arguments), run=RUN, secrets=secrets)
    assert expected in str(raised.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("{{args.app}}", "web", id="whole"),
        pytest.param("up{app='{{ args.app }}'}", "up{app='web'}", id="whitespace-inside-braces"),
        pytest.param("{{args.app}}-{{args.n}}", "web-3", id="several"),
        pytest.param("no placeholders", "no placeholders", id="plain"),
        pytest.param('say "{{args.q}}"', 'say "a "quoted"\nvalue"', id="quotes-and-newlines-kept-as-text"),
    ],
)
def test_placeholders_are_replaced_by_values(text: str, expected: str) -> None:
    assert substitute_text(text, {"app": "web", "n": "3", "q": 'a "quoted"\nvalue'}) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("{{args.missing}}", 'no argument "missing"', id="unknown-argument"),
        pytest.param("{{ other }}", "failed to resolve {{ other }}", id="not-an-argument"),
        pytest.param("{{args.app", "never closed", id="unclosed"),
    ],
)
def test_a_placeholder_nothing_fills_is_an_error(text: str, expected: str) -> None:
    with pytest.raises(ArgumentError) as raised:
        substitute_text(text, {"app": "web"}, "provider.web.url")
    assert expected in str(raised.value)
    assert "provider.web.url" in str(raised.value)


def test_every_string_of_a_metric_is_substituted() -> None:
    metric = Metric.model_validate(
        {
            "name": "m",
            "interval": "{{args.interval}}",
            "count": "{{args.count}}",
            "failureLimit": "{{ args.limit }}",
            "successCondition": "result > {{args.threshold}}",
            "provider": {
                "web": {
                    "url": "http://{{args.host}}/metrics?app={{args.app}}",
                    "headers": [{"key": "Authorization", "value": "Bearer {{args.token}}"}],
                    "body": '{"app": "{{args.app}}"}',
                }
            },
        }
    )
    values = {
        "interval": "5s",
        "count": "3",
        "limit": "1",
        "threshold": "0.9",
        "host": "h:80",
        "app": "web",
        "token": "t",
    }
    resolved = substitute_arguments(metric, values)
    assert resolved.interval == "5s"
    assert (resolved.effective_count, resolved.effective_failure_limit) == (3, 1)
    assert resolved.success_condition == "result > 0.9"
    web = resolved.provider.web
    assert web is not None
    assert web.url == "http://h:80/metrics?app=web"
    assert web.headers is not None and web.headers[0].value == "Bearer t"
    assert web.body == '{"app": "web"}'
    assert metric.provider.web is not None and metric.provider.web.url.startswith("http://{{")  # a new metric


def test_job_specs_are_substituted_too() -> None:
    metric = Metric.model_validate(
        {
            "name": "smoke",
            "provider": {
                "job": {
                    "spec": {
                        "template": {
                            "spec": {"containers": [{"name": "c", "image": "busybox", "args": ["{{args.url}}"]}]}
                        }
                    }
                }
            },
        }
    )
    resolved = substitute_arguments(metric, {"url": "http://svc"})
    assert resolved.provider.job is not None
    assert resolved.provider.job.spec["template"]["spec"]["containers"][0]["args"] == ["http://svc"]


def test_an_unknown_argument_in_a_metric_names_the_metric_and_field() -> None:
    metric = Metric.model_validate({"name": "m", "provider": {"web": {"url": "http://{{args.host}}"}}})
    with pytest.raises(ArgumentError) as raised:
        substitute_arguments(metric, {})
    assert 'metric "m"' in str(raised.value)
    assert "provider.web.url" in str(raised.value)
    assert 'no argument "host"' in str(raised.value)


def test_secret_values_are_redacted_from_messages() -> None:
    assert redact_secrets("401 for token s3cret", {"s3cret"}) == "401 for token *****"
    assert redact_secrets(None, {"x"}) is None
