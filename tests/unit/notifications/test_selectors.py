"""`ramp.notifications.selectors`: Kubernetes' label selector syntax of global subscriptions."""

from __future__ import annotations

import pytest

from ramp.notifications.selectors import SelectorError, parse_label_selector


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        ("", {}, True),
        ("app=web", {"app": "web"}, True),
        ("app==web", {"app": "api"}, False),
        ("app!=web", {}, True),
        ("app!=web", {"app": "web"}, False),
        ("env in (prod, stage)", {"env": "stage"}, True),
        ("env in (prod)", {}, False),
        ("env notin (prod)", {}, True),
        ("env notin (prod)", {"env": "prod"}, False),
        ("canary", {"canary": ""}, True),
        ("!canary", {"canary": "yes"}, False),
        ("team=pay,env in (prod),!canary", {"team": "pay", "env": "prod"}, True),
        ("example.com/team=pay", {"example.com/team": "pay"}, True),
    ],
)
def test_selectors_match_as_kubernetes_matches_them(selector, labels, matches):
    assert parse_label_selector(selector).matches(labels) is matches


@pytest.mark.parametrize("selector", ["a b", "a=(b)", "env in prod", "=x", "a=b,,c"])
def test_text_that_is_no_selector_is_refused_naming_the_part(selector):
    with pytest.raises(SelectorError, match="is not"):
        parse_label_selector(selector)
