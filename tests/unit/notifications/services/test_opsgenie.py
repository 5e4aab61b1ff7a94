"""`service.opsgenie` against a local server speaking Opsgenie's Alert API (api.opsgenie.com, GenieKey auth)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from ramp.notifications.services.base import Notification, SendError, ServiceConfigError
from ramp.notifications.services.registry import build_service
from tests.backends import serve
from tests.backends.paging import ContextCalls, OpsgenieAlerts, redirecting_client

SHOP_KEY = "11111111-2222-3333-4444-555555555555"
OPS_KEY = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
TEAM_ID = "4513b7ea-3b91-438f-b7e4-e3e54af9147c"
UPSTREAM_DOCS_TEMPLATE = {
    "description": "Rollout: guestbook\nPhase: Degraded\n",
    "priority": "P1",
    "alias": "guestbook",
    "note": "Error from Ramp!",
    "actions": ["Restart", "AnExampleAction"],
    "tags": ["OverwriteQuietHours", "Critical"],
    "visibleTo": [
        {"Id": "team-id-1", "Type": "team"},
        {"Name": "rocket_team", "Type": "team"},
        {"Id": "user-id-1", "Type": "user"},
        {"Username": "trinity@opsgenie.com", "Type": "user"},
    ],
    "details": {"environment": "production", "service": "web"},
    "entity": "Argo Rollout",
    "user": "John Doe",
}


@pytest.fixture
def backend() -> OpsgenieAlerts:
    return OpsgenieAlerts(api_keys={SHOP_KEY: "shop", OPS_KEY: "ops"})


@pytest.fixture
async def calls(backend: OpsgenieAlerts) -> AsyncIterator[ContextCalls]:
    with serve(backend) as server:
        async with redirecting_client(server.url) as client:
            yield ContextCalls(client)


def opsgenie(calls: ContextCalls, **options: object):
    settings = {"apiUrl": "api.opsgenie.com", "apiKeys": {"shop": SHOP_KEY, TEAM_ID: OPS_KEY}, **options}
    return build_service("opsgenie", "opsgenie", settings, calls.context())


async def test_the_upstream_docs_template_creates_one_alert_with_every_field(calls, backend) -> None:
    notification = Notification("[Ramp] Rollout guestbook has a problem.", {"opsgenie": UPSTREAM_DOCS_TEMPLATE})
    await opsgenie(calls).send(notification, "shop")

    [(team, alert)] = backend.alerts
    assert team == "shop"
    assert alert == {
        "message": "[Ramp] Rollout guestbook has a problem.",
        "responders": [{"type": "team", "name": "shop"}],
        "source": "Ramp",
        "description": "Rollout: guestbook\nPhase: Degraded\n",
        "priority": "P1",
        "alias": "guestbook",
        "note": "Error from Ramp!",
        "actions": ["Restart", "AnExampleAction"],
        "tags": ["OverwriteQuietHours", "Critical"],
        "visibleTo": [
            {"id": "team-id-1", "type": "team"},
            {"name": "rocket_team", "type": "team"},
            {"id": "user-id-1", "type": "user"},
            {"username": "trinity@opsgenie.com", "type": "user"},
        ],
        "details": {"environment": "production", "service": "web"},
        "entity": "Argo Rollout",
        "user": "John Doe",
    }


async def test_a_message_only_template_sends_the_message_to_the_team_given_by_its_id(calls, backend) -> None:
    await opsgenie(calls).send(Notification("Rollout guestbook is aborted."), TEAM_ID)

    [(team, alert)] = backend.alerts
    assert team == "ops"
    assert alert == {
        "message": "Rollout guestbook is aborted.",
        "responders": [{"type": "team", "id": TEAM_ID}],
        "source": "Ramp",
    }


async def test_a_long_message_is_cut_to_opsgenies_130_characters(calls, backend) -> None:
    await opsgenie(calls).send(Notification("x" * 200), "shop")
    message = backend.alerts[0][1]["message"]
    assert len(message) == 130
    assert message.endswith("...")


async def test_an_opsgenie_block_without_description_is_refused_as_upstream_does(calls, backend) -> None:
    with pytest.raises(SendError, match=r"opsgenie\.description is missing"):
        await opsgenie(calls).send(Notification("m", {"opsgenie": {"priority": "P2"}}), "shop")
    assert backend.alerts == []


async def test_opsgenies_validation_error_comes_back_in_its_words(calls, backend) -> None:
    notification = Notification("m", {"opsgenie": {"description": "d", "priority": "P9"}})
    with pytest.raises(SendError) as raised:
        await opsgenie(calls).send(notification, "shop")
    assert "HTTP 422" in str(raised.value)
    assert "Priority should be one of" in str(raised.value)
    assert SHOP_KEY not in str(raised.value)


async def test_a_revoked_key_is_opsgenies_401_and_the_key_is_never_in_the_error(calls) -> None:
    service = build_service(
        "opsgenie", "eu", {"apiUrl": "api.opsgenie.com", "apiKeys": {"shop": "revoked-key-123"}}, calls.context()
    )
    with pytest.raises(SendError) as raised:
        await service.send(Notification("m"), "shop")
    assert str(raised.value).startswith("service.opsgenie.eu: Opsgenie Alert API answered HTTP 401")
    assert "Could not authenticate" in str(raised.value)
    assert "revoked-key-123" not in str(raised.value)


async def test_an_unknown_team_names_the_known_ones(calls, backend) -> None:
    with pytest.raises(SendError, match=r"no API key for team 'payments'") as raised:
        await opsgenie(calls).send(Notification("m"), "payments")
    assert SHOP_KEY not in str(raised.value)
    assert backend.alerts == []


async def test_an_empty_message_is_refused_before_sending(calls, backend) -> None:
    with pytest.raises(SendError, match=r"message is empty"):
        await opsgenie(calls).send(Notification("  "), "shop")
    assert backend.alerts == []


async def test_an_unknown_template_field_is_refused(calls, backend) -> None:
    with pytest.raises(SendError, match=r"opsgenie\.responders is not a field"):
        await opsgenie(calls).send(Notification("m", {"opsgenie": {"description": "d", "responders": []}}), "shop")
    assert backend.alerts == []


async def test_the_eu_host_and_a_full_url_both_work() -> None:
    backend = OpsgenieAlerts(api_keys={SHOP_KEY: "shop"}, host="api.eu.opsgenie.com")
    with serve(backend) as server:
        async with redirecting_client(server.url) as client:
            context = ContextCalls(client).context()
            for api_url in ("api.eu.opsgenie.com", "https://api.eu.opsgenie.com/"):
                service = build_service(
                    "opsgenie", "opsgenie", {"apiUrl": api_url, "apiKeys": {"shop": SHOP_KEY}}, context
                )
                await service.send(Notification("m"), "shop")
    assert len(backend.alerts) == 2


async def test_insecure_skip_verify_asks_for_a_client_that_skips_certificate_checks(calls, backend) -> None:
    service = opsgenie(calls, insecureSkipVerify=True)
    await service.send(Notification("m"), "shop")
    assert calls.insecure_requests == [True]
    assert len(backend.alerts) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({}, r"option apiKeys: is required", id="no_keys"),
        pytest.param({"apiKeys": {"shop": SHOP_KEY}, "apiUrl": "ftp://x"}, r"option apiUrl: is not", id="bad_url"),
        pytest.param(
            {"apiKeys": {"shop": SHOP_KEY}, "insecureSkipVerify": "yes"}, r"insecureSkipVerify: must be true", id="flag"
        ),
        pytest.param(
            {"apiKeys": {"shop": SHOP_KEY}, "maxIdleConns": 10}, r"option maxIdleConns: Ramp does not tune", id="pool"
        ),
        pytest.param({"apiKeys": {"shop": SHOP_KEY}, "apiKey": SHOP_KEY}, r"unknown option apiKey:", id="unknown"),
    ],
)
def test_bad_options_are_refused_when_the_service_is_built(options: dict[str, object], message: str) -> None:
    with pytest.raises(ServiceConfigError, match=message) as raised:
        build_service("opsgenie", "opsgenie", options, ContextCalls(httpx.AsyncClient()).context())
    assert SHOP_KEY not in str(raised.value)
