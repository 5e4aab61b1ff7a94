"""The OpenAPI document describes every route of the JSON API and every action."""

from __future__ import annotations

import json

from ramp.dashboard.api import ACTIONS, ROUTES
from ramp.dashboard.openapi import build_openapi


def test_every_route_and_every_action_is_described() -> None:
    document = build_openapi()
    paths = set(document["paths"])
    routes = {route.path for route in ROUTES if not route.path.endswith("/{action}")}
    assert routes <= paths
    assert {f"/api/v1/namespaces/{{namespace}}/rollouts/{{name}}/{verb}" for verb in ACTIONS} <= paths
    assert document["openapi"].startswith("3.1")
    json.dumps(document)


def test_actions_are_posts_that_say_why_they_were_refused() -> None:
    for verb in ACTIONS:
        operation = build_openapi()["paths"][f"/api/v1/namespaces/{{namespace}}/rollouts/{{name}}/{verb}"]["post"]
        assert {"200", "401", "403", "409"} <= set(operation["responses"])
