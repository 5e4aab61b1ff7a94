"""Addresses in measurement messages never show a password (`ramp.providers.base.redact_url`)."""

from __future__ import annotations

import pytest

from ramp.providers.base import redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://kayenta:8090/canary", "http://kayenta:8090/canary"),
        ("https://ops:hunter2@oap:12800/graphql", "https://ops:*****@oap:12800/graphql"),
        ("https://token@oap/graphql?x=1", "https://token@oap/graphql?x=1"),
        ("not a url at all", "not a url at all"),
    ],
    ids=["no_userinfo", "password", "user_only", "not_a_url"],
)
def test_a_password_in_an_address_is_hidden(url: str, shown: str) -> None:
    assert redact_url(url) == shown
