"""`service.pagerdutyv2` against a local server speaking the PagerDuty Events API v2 at events.pagerduty.com."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from ramp.notifications.services.base import Notification, SendError, ServiceConfigError
from ramp.notifications.services.registry import build_service
from tests.backends import serve
from tests.backends.paging import ContextCalls, PagerDutyEvents, redirecting_client

KEY = "0123456789abcdef0123456789abcdef"
OTHER_KEY = "fedcba9876543210fedcba9876543210"
ABORTED = Notification(
    message="Rollout guestbook is aborted.",
    fields={
        "pagerdutyv2": {
            "summary": "Rollout guestbook is aborted.",
            "severity": "critical",
            "source": "guestbook",
            "component": "frontend",
            "group": "shop",
            "class": "release",
            "url": "https://ramp.example.com/rollouts/guestbook",
            "dedupKey": "guestbook-aborted",
        },
        "slack": {"attachments": "[]"},
    },
)


@pytest.fixture
def backend() -> PagerDutyEvents:
    return PagerDutyEvents()


@pytest.fixture
async def calls(backend: PagerDutyEvents) -> AsyncIterator[ContextCalls]:
    with serve(backend) as server:
        async with redirecting_client(server.url) as client:
            yield ContextCalls(client)


def pagerduty(calls: ContextCalls, **options: object):
    return build_service(
        "pagerdutyv2", "pagerdutyv2", {"serviceKeys": {"shop": KEY, "ops": OTHER_KEY}, **options}, calls.context()
    )


async def test_a_trigger_event_carries_the_templates_fields_and_the_recipients_key(calls, backend) -> None:
    await pagerduty(calls).send(ABORTED, "shop")

    assert backend.events == [
        {
            "routing_key": KEY,
            "event_action": "trigger",
            "dedup_key": "guestbook-aborted",
            "client": "Ramp",
            "client_url": "https://ramp.example.com/rollouts/guestbook",
            "payload": {
                "summary": "Rollout guestbook is aborted.",
                "severity": "critical",
                "source": "guestbook",
                "component": "frontend",
                "group": "shop",
                "class": "release",
            },
        }
    ]


async def test_each_recipient_pages_through_its_own_integration_key(calls, backend) -> None:
    minimal = Notification("m", {"pagerdutyv2": {"summary": "s", "severity": "info", "source": "x"}})
    await pagerduty(calls).send(minimal, "ops")

    assert backend.events[0]["routing_key"] == OTHER_KEY
    assert backend.events[0]["payload"] == {"summary": "s", "severity": "info", "source": "x"}
    assert "dedup_key" not in backend.events[0]
    assert "client_url" not in backend.events[0]


async def test_pagerdutys_refusal_is_a_send_error_with_its_words_and_never_the_key(calls, backend) -> None:
    wrong = Notification("m", {"pagerdutyv2": {"summary": "s", "severity": "fatal", "source": "x"}})
    with pytest.raises(SendError) as raised:
        await pagerduty(calls).send(wrong, "shop")

    assert "HTTP 400" in str(raised.value)
    assert "'payload.severity' is invalid" in str(raised.value)
    assert KEY not in str(raised.value)
    assert backend.events == []


async def test_a_short_integration_key_is_refused_by_pagerduty(backend) -> None:
    with serve(backend) as server:
        async with redirecting_client(server.url) as client:
            service = build_service(
                "pagerdutyv2", "pd", {"serviceKeys": {"shop": "short-key"}}, ContextCalls(client).context()
            )
            with pytest.raises(SendError) as raised:
                await service.send(ABORTED, "shop")

    assert "Length of 'routing_key' is incorrect" in str(raised.value)
    assert "short-key" not in str(raised.value)
    assert str(raised.value).startswith("service.pagerdutyv2.pd:")


async def test_an_unknown_recipient_names_the_known_ones_not_their_keys(calls, backend) -> None:
    with pytest.raises(SendError, match=r"no integration key for recipient 'payments'.*it has: ops, shop") as raised:
        await pagerduty(calls).send(ABORTED, "payments")
    assert KEY not in str(raised.value)
    assert backend.events == []


async def test_a_template_without_a_pagerdutyv2_block_is_refused(calls, backend) -> None:
    with pytest.raises(SendError, match=r"no pagerdutyv2 block"):
        await pagerduty(calls).send(Notification("only a message"), "shop")
    assert backend.events == []


@pytest.mark.parametrize("field", ["timestamp", "custom_details"])
async def test_fields_upstream_does_not_support_are_refused_not_dropped(calls, backend, field: str) -> None:
    notification = Notification("m", {"pagerdutyv2": {"summary": "s", "severity": "info", "source": "x", field: "1"}})
    with pytest.raises(SendError, match=rf"pagerdutyv2\.{field} is not a field"):
        await pagerduty(calls).send(notification, "shop")
    assert backend.events == []


async def test_a_server_that_is_down_is_a_send_error() -> None:
    with serve(PagerDutyEvents()) as server:
        url = server.url
    async with redirecting_client(url) as client:
        service = build_service(
            "pagerdutyv2", "pagerdutyv2", {"serviceKeys": {"shop": KEY}}, ContextCalls(client).context()
        )
        with pytest.raises(SendError, match=r"POST https://events.pagerduty.com/v2/enqueue failed"):
            await service.send(ABORTED, "shop")


async def test_a_timeout_comes_from_the_given_client() -> None:
    from tests.backends import Reply

    with serve(lambda _: Reply(202, delay_seconds=1.0)) as server:
        async with redirecting_client(server.url, timeout=0.1) as client:
            service = build_service(
                "pagerdutyv2", "pagerdutyv2", {"serviceKeys": {"shop": KEY}}, ContextCalls(client).context()
            )
            with pytest.raises(SendError, match="timed out"):
                await service.send(ABORTED, "shop")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({}, r"option serviceKeys: is required", id="no_keys"),
        pytest.param({"serviceKeys": "abc"}, r"serviceKeys: must be a mapping", id="keys_not_a_mapping"),
        pytest.param({"serviceKeys": {"shop": ""}}, r"serviceKeys.shop: must be a non-empty string", id="empty_key"),
        pytest.param({"serviceKeys": {"shop": KEY}, "apiUrl": "x"}, r"unknown option apiUrl", id="unknown_option"),
    ],
)
def test_bad_options_are_refused_when_the_service_is_built(options: dict[str, object], message: str) -> None:
    context = ContextCalls(httpx.AsyncClient()).context()
    with pytest.raises(ServiceConfigError, match=message) as raised:
        build_service("pagerdutyv2", "pagerdutyv2", options, context)
    assert KEY not in str(raised.value)
