"""`ramp.notifications.config.load_config`: upstream's ConfigMap keys, the built-in catalog under them, and every
key Ramp cannot use named in a ConfigProblem (never an exception)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ramp.notifications import catalog
from ramp.notifications.config import Condition, load_config

FIXTURE = Path(__file__).parents[2] / "fixtures" / "notifications" / "argo-rollouts-notification-configmap.yaml"
TYPES = ("slack", "email", "webhook")
ALIAS_BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]\n" for level in range(1, 7)
)


def load(data, secret=None, **options):
    options.setdefault("service_types", TYPES)
    return load_config(data, secret, namespace="argo-rollouts", **options)


def test_the_documented_catalog_configmap_loads_unchanged_with_no_problem():
    data = yaml.safe_load(FIXTURE.read_text())["data"]
    config, problems = load(data, with_catalog=False)
    assert problems == []
    assert set(config.triggers) == set(catalog.TRIGGERS)
    assert {template for conditions in config.triggers.values() for c in conditions for template in c.send} == set(
        config.templates
    )
    assert config.triggers["on-rollout-aborted"] == (Condition(when="", send=("rollout-aborted",)),)
    assert config.builtin == frozenset()


def test_the_builtin_catalog_is_there_without_a_configmap():
    config, problems = load(None)
    assert problems == []
    assert set(config.triggers) == set(catalog.TRIGGERS)
    assert set(config.templates) == set(catalog.TEMPLATES)
    assert "trigger.on-rollout-completed" in config.builtin


def test_a_configmap_key_wins_over_the_builtin_one():
    config, problems = load(
        {
            "trigger.on-rollout-completed": "- when: rollout.spec.replicas > 1\n  send: [mine]",
            "template.mine": "message: mine",
        }
    )
    assert problems == []
    assert config.triggers["on-rollout-completed"] == (Condition("rollout.spec.replicas > 1", ("mine",)),)
    assert "trigger.on-rollout-completed" not in config.builtin
    assert "trigger.on-rollout-aborted" in config.builtin


def test_without_the_catalog_only_the_configmap_counts():
    config, _ = load({"template.a": "message: a"}, with_catalog=False)
    assert config.triggers == {}
    assert set(config.templates) == {"a"}


def test_conditions_keep_when_send_once_per_and_description():
    config, problems = load(
        {
            "trigger.on-x": (
                "- description: first\n  when: rollout.status.phase == 'Degraded'\n"
                "  oncePer: rollout.metadata.generation\n  send: [a, b]\n- send: [a]\n"
            ),
            "template.a": "message: a",
            "template.b": "message: b",
        }
    )
    assert problems == []
    assert config.triggers["on-x"] == (
        Condition("rollout.status.phase == 'Degraded'", ("a", "b"), "rollout.metadata.generation", "first"),
        Condition("", ("a",)),
    )


def test_services_get_their_secret_references_replaced_in_every_string():
    config, problems = load(
        {
            "service.slack": "token: $slack-token\nusername: ramp",
            "service.webhook.github": (
                "url: https://api.example.com\nheaders:\n- name: Authorization\n  value: Bearer $gh_token\nretries: 3\n"
            ),
        },
        {"slack-token": "xoxb-1", "gh_token": "ghp-2"},
    )
    assert problems == []
    assert config.services["slack"].type == "slack"
    assert config.services["slack"].options == {"token": "xoxb-1", "username": "ramp"}
    github = config.services["github"]
    assert (github.type, github.name) == ("webhook", "github")
    assert github.options["headers"] == [{"name": "Authorization", "value": "Bearer ghp-2"}]
    assert github.options["retries"] == 3
    assert "xoxb" not in repr(config.services["slack"])


def test_default_triggers_subscriptions_and_context_are_read():
    config, problems = load(
        {
            "defaultTriggers": "- on-rollout-aborted\n- on-rollout-completed",
            "defaultTriggers.slack": "[on-rollout-paused]",
            "subscriptions": (
                "- recipients: [slack:ops, email:oncall@example.com]\n  triggers: [on-rollout-aborted]\n"
                "  selector: team=payments,env in (prod)\n- recipients: [slack:all]\n"
            ),
            "context": "dashboardUrl: https://ramp.example.com\nenabled: true",
        }
    )
    assert problems == []
    assert config.default_triggers == ("on-rollout-aborted", "on-rollout-completed")
    assert config.service_default_triggers == {"slack": ("on-rollout-paused",)}
    first, second = config.subscriptions
    assert first.recipients == ("slack:ops", "email:oncall@example.com")
    assert first.triggers == ("on-rollout-aborted",)
    assert first.selector.matches({"team": "payments", "env": "prod"})
    assert not first.selector.matches({"team": "payments", "env": "dev"})
    assert second.triggers == () and second.selector.matches({})
    assert config.context == {"dashboardUrl": "https://ramp.example.com", "enabled": "true"}


@pytest.mark.parametrize(
    ("data", "key", "words"),
    [
        pytest.param({"trigger.on-x": "- send: [a\n"}, "trigger.on-x", "not valid YAML", id="trigger-not-yaml"),
        pytest.param({"trigger.on-x": "send: [a]"}, "trigger.on-x", "YAML list of conditions", id="trigger-not-list"),
        pytest.param(
            {"trigger.on-x": "- when: rollout.spec.replicas >\n  send: [rollout-paused]"},
            "trigger.on-x",
            "when does not compile",
            id="when-does-not-compile",
        ),
        pytest.param(
            {"trigger.on-x": "- when: x\n  oncePer: a b\n  send: [rollout-paused]"},
            "trigger.on-x",
            "oncePer does not compile",
            id="once-per-does-not-compile",
        ),
        pytest.param(
            {"trigger.on-x": "- send: [rollout-paused]\n  sendTo: [x]"},
            "trigger.on-x",
            "field 'sendTo' is not a condition field",
            id="condition-unknown-field",
        ),
        pytest.param(
            {"trigger.on-x": "- send: [nope]"},
            "trigger.on-x",
            "template 'nope', which is not configured",
            id="send-missing",
        ),
        pytest.param({"trigger.on-x": "- when: 'true'"}, "trigger.on-x", "sends no template", id="send-empty"),
        pytest.param({"template.t": "- message: a"}, "template.t", "YAML map", id="template-not-map"),
        pytest.param({"template.t": "message: [a]"}, "template.t", "message must be a string", id="message-not-string"),
        pytest.param(
            {"template.t": "message: a\nsms: {to: b}"},
            "template.t",
            "'sms' is not a template field",
            id="template-unknown-field",
        ),
        pytest.param(
            {"template.t": "message: a\nslack: hello"},
            "template.t",
            "field 'slack' must be a map",
            id="template-service-part-not-map",
        ),
        pytest.param(
            {"template.t": "message: a\nrocketchat: {emoji: ':x:'}"},
            "template.t",
            "Ramp has no rocketchat service",
            id="template-field-of-missing-service",
        ),
        pytest.param(
            {"template.t": "message: '{{.a'"}, "template.t", "message does not compile", id="template-does-not-compile"
        ),
        pytest.param(
            {"service.telegram": "token: x"},
            "service.telegram",
            "no notification service of type 'telegram'",
            id="service-type-missing",
        ),
        pytest.param(
            {"service.slack.a.b": "token: x"}, "service.slack.a.b", "service.<type>.<name>", id="service-key-too-long"
        ),
        pytest.param({"service.slack": "- token"}, "service.slack", "must be a YAML map", id="service-options-not-map"),
        pytest.param(
            {"service.slack": "token: $missing"},
            "service.slack",
            "$missing names no key of the Secret",
            id="secret-missing",
        ),
        pytest.param(
            {"service.slack": "token: a", "service.webhook.slack": "url: http://x"},
            "service.webhook.slack",
            "also named 'slack'",
            id="service-name-twice",
        ),
        pytest.param(
            {"defaultTriggers": "[on-nothing]"},
            "defaultTriggers",
            "'on-nothing' is not configured",
            id="default-trigger-unknown",
        ),
        pytest.param(
            {"defaultTriggers.slack": "on-x"},
            "defaultTriggers.slack",
            "YAML list of trigger names",
            id="default-triggers-not-list",
        ),
        pytest.param(
            {"subscriptions": "- recipients: [slack:a]\n  selector: 'a b'"},
            "subscriptions",
            "selector",
            id="subscription-bad-selector",
        ),
        pytest.param(
            {"subscriptions": "- recipients: [slack:a]\n  triggers: [on-nothing]"},
            "subscriptions",
            "'on-nothing'",
            id="subscription-unknown-trigger",
        ),
        pytest.param(
            {"subscriptions": "- recipient: [slack:a]"},
            "subscriptions",
            "'recipient' is not a subscription field",
            id="subscription-unknown-field",
        ),
        pytest.param({"context": "[a]"}, "context", "YAML map of strings", id="context-not-map"),
        pytest.param({"template.t": "[" * 100_000}, "template.t", "nested too deeply", id="yaml-nested-absurdly"),
        pytest.param({"trigger.on-x": "- " * 80 + "a"}, "trigger.on-x", "nested too deeply", id="yaml-nested-deep"),
        pytest.param(
            {"service.webhook.w": ALIAS_BOMB}, "service.webhook.w", "more than 100000 values", id="alias-bomb"
        ),
        pytest.param({"tigger.on-x": "- send: [a]"}, "tigger.on-x", "Ramp does not know this key", id="unknown-key"),
        pytest.param({"trigger.on-x": 3}, "trigger.on-x", "must be a string", id="value-not-string"),
    ],
)
def test_keys_ramp_cannot_use_are_named_in_a_problem(data, key, words):
    config, problems = load(data)
    assert any(problem.key == key and words in problem.message for problem in problems), problems
    assert config.namespace == "argo-rollouts"


@pytest.mark.parametrize(
    ("data", "absent"),
    [
        ({"trigger.on-x": "- when: a >\n  send: [rollout-paused]"}, "on-x"),
        ({"service.slack": "- token"}, "slack"),
        ({"template.t": "message: '{{.a'"}, "t"),
    ],
)
def test_a_key_that_cannot_be_used_is_left_out(data, absent):
    config, _ = load(data)
    assert absent not in config.triggers and absent not in config.services and absent not in config.templates


def test_problems_name_the_secret_reference_never_its_value():
    _, problems = load({"service.slack": "token: $tok\nchannel: $chan"}, {"tok": "s3cr3t"})
    assert [str(problem) for problem in problems if "s3cr3t" in str(problem)] == []
    assert any("$chan" in problem.message for problem in problems)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "trigger.on-x",
                "template.t",
                "service.slack",
                "service.webhook.w",
                "defaultTriggers",
                "subscriptions",
                "context",
                "defaultTriggers.slack",
                "other",
            ]
        ),
        st.lists(st.sampled_from([*"-:[]{}$ \n'\"abc.|>=&", "{{", "}}", "send: ", "when: ", "- "]), max_size=20).map(
            "".join
        ),
    )
)
def test_load_config_never_raises_on_any_text(data):
    _, problems = load(data)
    assert all(problem.key in data for problem in problems)
