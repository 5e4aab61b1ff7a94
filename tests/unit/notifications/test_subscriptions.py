"""`ramp.notifications.subscriptions`: the annotation forms and global subscriptions notifications-engine reads."""

from __future__ import annotations

import pytest

from ramp.notifications.config import load_config
from ramp.notifications.subscriptions import Destination, destinations_for, parse_recipients, subscription_problems

P = "notifications.argoproj.io"


def config(**data):
    base = {
        "service.slack": "token: t",
        "service.email": "host: smtp.example.com",
        "service.webhook.hooks": "url: http://example.com",
    }
    loaded, problems = load_config(
        {**base, **data}, {}, namespace="argo-rollouts", service_types=("slack", "email", "webhook")
    )
    assert problems == []
    return loaded


@pytest.mark.parametrize(
    ("data", "annotations", "labels", "expected"),
    [
        pytest.param(
            {},
            {f"{P}/subscribe.on-rollout-step-completed.slack": "my-channel1;my-channel2"},
            {},
            {"on-rollout-step-completed": {Destination("slack", "my-channel1"), Destination("slack", "my-channel2")}},
            id="trigger-and-service-with-two-recipients",
        ),
        pytest.param(
            {},
            {f"{P}/subscribe.on-rollout-aborted.hooks": ""},
            {},
            {"on-rollout-aborted": {Destination("hooks", "")}},
            id="empty-value-is-one-empty-recipient",
        ),
        pytest.param(
            {},
            {f"{P}/subscribe.on-rollout-aborted.slack": " a ; ;b;"},
            {},
            {"on-rollout-aborted": {Destination("slack", "a"), Destination("slack", "b")}},
            id="recipients-trimmed-and-blanks-dropped",
        ),
        pytest.param(
            {"defaultTriggers": "[on-rollout-aborted, on-rollout-completed]"},
            {f"{P}/subscribe.slack": "ops"},
            {},
            {
                "on-rollout-aborted": {Destination("slack", "ops")},
                "on-rollout-completed": {Destination("slack", "ops")},
            },
            id="service-only-gets-the-default-triggers",
        ),
        pytest.param(
            {"defaultTriggers": "[on-rollout-aborted]", "defaultTriggers.email": "[on-rollout-paused]"},
            {f"{P}/subscribe.email": "a@example.com", f"{P}/subscribe.slack": "ops"},
            {},
            {
                "on-rollout-paused": {Destination("email", "a@example.com")},
                "on-rollout-aborted": {Destination("slack", "ops")},
            },
            id="service-default-triggers-win-for-their-service",
        ),
        pytest.param(
            {"defaultTriggers": "[on-rollout-completed]"},
            {
                f"{P}/subscriptions": (
                    "- trigger: [on-rollout-aborted, on-rollout-paused]\n  destinations:\n"
                    "  - service: slack\n    recipients: [a, b]\n"
                    "- destinations:\n  - service: email\n    recipients: [c@example.com]\n"
                )
            },
            {},
            {
                "on-rollout-aborted": {Destination("slack", "a"), Destination("slack", "b")},
                "on-rollout-paused": {Destination("slack", "a"), Destination("slack", "b")},
                "on-rollout-completed": {Destination("email", "c@example.com")},
            },
            id="subscriptions-yaml-annotation",
        ),
        pytest.param(
            {
                "subscriptions": (
                    "- recipients: [slack:ops, 'hooks']\n  triggers: [on-rollout-aborted]\n  selector: team=pay\n"
                    "- recipients: [email:x@example.com]\n  triggers: [on-rollout-paused]\n  selector: team=other\n"
                )
            },
            {},
            {"team": "pay"},
            {"on-rollout-aborted": {Destination("slack", "ops"), Destination("hooks", "")}},
            id="global-subscriptions-by-selector",
        ),
        pytest.param(
            {"defaultTriggers": "[on-rollout-completed]", "subscriptions": "- recipients: [slack:all]"},
            {f"{P}/subscribe.on-rollout-completed.slack": "all"},
            {},
            {"on-rollout-completed": {Destination("slack", "all")}},
            id="global-without-triggers-uses-defaults-and-duplicates-merge",
        ),
        pytest.param(
            {}, {"other/annotation": "x", f"{P}/subscribe.": "x"}, {}, {}, id="other-annotations-give-nothing"
        ),
    ],
)
def test_destinations_follow_upstream_subscription_forms(data, annotations, labels, expected):
    assert destinations_for(config(**data), annotations, labels) == expected


@pytest.mark.parametrize(
    ("annotations", "words"),
    [
        ({f"{P}/subscribe.on-rollout-aborted.pager": "x"}, "service 'pager' is not configured"),
        ({f"{P}/subscribe.on-nothing.slack": "x"}, "trigger 'on-nothing' is not configured"),
        ({f"{P}/subscribe.a.b.c": "x"}, "subscribe.<trigger>.<service>"),
        ({f"{P}/subscribe.slack": "x"}, "no default triggers for service 'slack'"),
        ({f"{P}/subscriptions": "{a"}, "not valid YAML"),
        ({f"{P}/subscriptions": "[" * 100_000}, "nested too deeply"),
        ({f"{P}/subscriptions": "- trigger: [on-rollout-aborted]"}, "no destinations"),
    ],
)
def test_subscriptions_ramp_cannot_honour_are_named(annotations, words):
    problems = subscription_problems(config(), annotations)
    assert any(words in why for _, why in problems), problems


def test_a_valid_subscription_has_no_problem():
    assert subscription_problems(config(), {f"{P}/subscribe.on-rollout-aborted.slack": "ops"}) == []


def test_recipients_split_on_semicolons():
    assert parse_recipients("a;b") == ("a", "b")
    assert parse_recipients("") == ("",)
