"""The provider registry: every provider a metric may name has a provider, or a named refusal (plugins)."""

from __future__ import annotations

from ramp.api.providers import PROVIDER_FIELDS
from ramp.providers.registry import PROVIDERS


def test_every_provider_field_has_a_provider() -> None:
    missing = [field for field in PROVIDER_FIELDS if field != "plugin" and field not in PROVIDERS]
    assert missing == []


def test_plugins_are_registered_by_their_name() -> None:
    assert "plugin/ramp/judge" in PROVIDERS
