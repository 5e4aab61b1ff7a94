"""Microsoft Teams: `teams-workflows` against a local Power Automate webhook trigger, `teams` against a local
Office 365 connector."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ramp.notifications.services.base import Notification, SendError, ServiceConfigError
from ramp.notifications.services.registry import build_service
from ramp.notifications.services.teams import CARD_CONTENT_TYPE, card_color
from tests.backends.chat import TeamsConnector, TeamsWorkflow, service_context

FACTS = '[{"name": "Strategy", "value": "Canary"}, {"name": "Step", "value": 3}]'
SECTIONS = '[{"facts": [{"name": "Namespace", "value": "shop"}]}]'
ACTIONS = """[{"@type": "OpenUri", "name": "Open Rollout",
  "targets": [{"os": "default", "uri": "https://ramp.example/rollouts/shop/guestbook"}]},
  {"@type": "HttpPOST", "name": "Not convertible", "target": "https://x"}]"""


async def test_workflows_sends_an_adaptive_card_built_from_the_template_fields_as_upstream_does() -> None:
    with TeamsWorkflow() as workflow:
        async with service_context() as context:
            service = build_service(
                "teams-workflows", "teams-workflows", {"recipientUrls": {"ops": workflow.url}}, context
            )
            fields = {
                "teams-workflows": {
                    "title": "Rollout guestbook completed",
                    "themeColor": "#18be52",
                    "facts": FACTS,
                    "sections": SECTIONS,
                    "potentialAction": ACTIONS,
                    "summary": "guestbook completed",
                }
            }
            await service.send(Notification("Rollout guestbook has been completed.", fields), "ops")
    [envelope] = workflow.accepted
    assert envelope["type"] == "message"
    [attachment] = envelope["attachments"]
    assert attachment["contentType"] == CARD_CONTENT_TYPE
    assert attachment["content"] == {
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": "Rollout guestbook completed",
                "size": "Large",
                "weight": "Bolder",
                "color": "Good",
                "wrap": True,
            },
            {"type": "TextBlock", "text": "Rollout guestbook has been completed.", "wrap": True},
            {"type": "FactSet", "facts": [{"title": "Strategy", "value": "Canary"}, {"title": "Step", "value": "3"}]},
            {"type": "FactSet", "facts": [{"title": "Namespace", "value": "shop"}]},
        ],
        "actions": [
            {"type": "Action.OpenUrl", "title": "Open Rollout", "url": "https://ramp.example/rollouts/shop/guestbook"}
        ],
    }


async def test_workflows_sends_a_templates_own_adaptive_card_inside_the_envelope() -> None:
    card = {"type": "AdaptiveCard", "version": "1.5", "body": [{"type": "TextBlock", "text": "custom"}]}
    with TeamsWorkflow() as workflow:
        async with service_context() as context:
            service = build_service("teams-workflows", "tw", {"recipientUrls": {"ops": workflow.url}}, context)
            fields = {"teams-workflows": {"adaptiveCard": json.dumps(card), "title": "ignored"}}
            await service.send(Notification("m", fields), "ops")
    assert workflow.accepted == [
        {"type": "message", "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card}]}
    ]


async def test_workflows_errors_name_the_status_and_never_the_signature() -> None:
    with TeamsWorkflow() as workflow:
        async with service_context() as context:
            bad_sig = workflow.url_with("WrongSignature999")
            service = build_service("teams-workflows", "tw", {"recipientUrls": {"ops": bad_sig}}, context)
            with pytest.raises(SendError) as caught:
                await service.send(Notification("m"), "ops")
            with pytest.raises(SendError, match=r"no webhook for recipient 'dev' in recipientUrls \(it has: ops\)"):
                await service.send(Notification("m"), "dev")
            with pytest.raises(SendError, match=r"adaptiveCard must be a JSON object"):
                await service.send(Notification("m", {"teams-workflows": {"adaptiveCard": "[1]"}}), "ops")
            with pytest.raises(SendError, match=r"teams-workflows\.template not supported"):
                await service.send(Notification("m", {"teams-workflows": {"template": "{}"}}), "ops")
    message = str(caught.value)
    assert "HTTP 401" in message and "DirectApiAuthorizationRequired" in message
    assert "WrongSignature999" not in message and "powerautomate" not in message


async def test_connector_sends_a_message_card_and_reads_its_answer_1() -> None:
    with TeamsConnector() as connector:
        async with service_context() as context:
            service = build_service("teams", "teams", {"recipientUrls": {"channelName": connector.url}}, context)
            fields = {
                "teams": {
                    "title": "Rollout guestbook aborted",
                    "summary": "guestbook aborted",
                    "themeColor": "#FF0000",
                    "sections": SECTIONS,
                    "facts": FACTS,
                    "potentialAction": ACTIONS,
                }
            }
            await service.send(Notification("Rollout guestbook has been aborted.", fields), "channelName")
    [card] = connector.accepted
    assert card == {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "title": "Rollout guestbook aborted",
        "summary": "guestbook aborted",
        "text": "Rollout guestbook has been aborted.",
        "themeColor": "#FF0000",
        "sections": [*json.loads(SECTIONS), {"facts": json.loads(FACTS)}],
        "potentialAction": json.loads(ACTIONS),
    }


async def test_connector_sends_a_raw_template_as_it_is_and_refuses_one_that_is_not_json() -> None:
    raw = '{"@type": "MessageCard", "@context": "https://schema.org/extensions", "text": "raw card"}'
    with TeamsConnector() as connector:
        async with service_context() as context:
            service = build_service("teams", "teams", {"recipientUrls": {"c": connector.url}}, context)
            await service.send(Notification("m", {"teams": {"template": raw}}), "c")
            with pytest.raises(SendError, match=r"teams\.template is not valid JSON"):
                await service.send(Notification("m", {"teams": {"template": "{oops"}}), "c")
    assert connector.accepted == [json.loads(raw)]


async def test_connector_refusals_are_send_errors_with_its_text_and_without_the_url() -> None:
    with TeamsConnector() as connector:
        async with service_context() as context:
            service = build_service("teams", "teams", {"recipientUrls": {"c": connector.url}}, context)
            with pytest.raises(SendError) as caught:
                await service.send(Notification(""), "c")
    message = str(caught.value)
    assert "HTTP 400: Summary or Text is required." in message
    assert "connectorSecret987" not in message and "webhookb2" not in message


@pytest.mark.parametrize(
    ("colour", "named"),
    [("Good", "Good"), ("attention", "Attention"), ("#18be52", "Good"), ("#E96D76", "Attention"),
     ("#f4c030", "Warning"), ("#000080", "Accent"), ("#808080", "Default")],
)  # fmt: skip
def test_theme_colours_become_adaptive_card_colours(colour: str, named: str) -> None:
    assert card_color(colour, label="x") == named


@pytest.mark.parametrize(
    ("service_type", "options", "error"),
    [
        pytest.param("teams", {}, r"option 'recipientUrls' is required", id="no_urls"),
        pytest.param("teams", {"recipientUrls": {"c": ""}}, r"mapping of names to non-empty strings", id="empty"),
        pytest.param(
            "teams",
            {"recipientUrls": {"c": "http://outlook.example/webhookb2/secretkey1"}},
            r"must be an https",
            id="http",
        ),
        pytest.param(
            "teams-workflows",
            {"recipientUrls": {"c": "https://example.webhook.office.com/webhookb2/secretkey1"}},
            r"recipientUrls\.c' is not a Teams workflow webhook URL",
            id="connector_url_for_workflows",
        ),
        pytest.param("teams-workflows", {"recipientUrls": {"c": "x"}, "url": "y"}, r"must be an http", id="bad_url"),
        pytest.param(
            "teams",
            {"recipientUrls": {"c": "https://api.powerautomate.com/webhook/secretkey1"}},
            r"'recipientUrls\.c' is a Teams workflow webhook URL.*service\.teams-workflows",
            id="workflow_url_for_connector",
        ),
    ],
)
async def test_bad_options_are_refused_when_built_without_showing_the_url(
    service_type: str, options: dict[str, Any], error: str
) -> None:
    async with service_context() as context:
        with pytest.raises(ServiceConfigError, match=error) as caught:
            build_service(service_type, "t", options, context)
    assert "secretkey1" not in str(caught.value)


async def test_real_workflow_url_shapes_are_accepted() -> None:
    urls = {
        "a": "https://prod-12.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=s",
        "b": "https://default0a1b.c2.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/x",
        "c": "https://api.powerautomate.com/webhook/x",
    }
    async with service_context() as context:
        service = build_service("teams-workflows", "tw", {"recipientUrls": urls}, context)
    assert service.name == "tw"
