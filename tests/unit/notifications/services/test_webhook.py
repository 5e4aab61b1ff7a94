"""The `webhook` service against local HTTP servers: the request a template makes, upstream's defaults, Slack
incoming webhooks, errors that carry no secret, and the retry options handed to the delivery layer."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from ramp.notifications.services.base import Notification, RetryPolicy, SendError, ServiceConfigError
from ramp.notifications.services.chat_common import RateLimited
from ramp.notifications.services.registry import build_service, service_types
from ramp.notifications.services.webhook import WebhookService, join_path
from tests.backends import Reply, serve
from tests.backends.chat import HttpsServer, SlackIncomingWebhook, service_context
from tests.backends.smtp import free_port, make_certificate

TOKEN = "ghp_secretToken12345"
PASSWORD = "api-key-very-secret"


async def test_every_chat_service_type_is_registered() -> None:
    assert {"webhook", "slack", "teams", "teams-workflows", "googlechat", "mattermost", "email"} <= set(service_types())


async def test_a_template_gives_the_method_path_and_body_and_the_options_the_headers_and_basic_auth() -> None:
    with serve(lambda _: Reply(201, '{"id": 1}')) as server:
        async with service_context() as context:
            options = {
                "url": server.url + "/api/",
                "headers": [{"name": "Authorization", "value": f"token {TOKEN}"}, {"name": "X-Kind", "value": "ci"}],
                "basicAuth": {"username": "ci", "password": PASSWORD},
            }
            service = build_service("webhook", "github", options, context)
            body = '{"state": "success", "context": "ramp/guestbook"}'
            fields = {"webhook": {"github": {"method": "POST", "path": "/repos/o/r/statuses/abc123", "body": body}}}
            await service.send(Notification("ignored for this webhook", fields), "")
    [request] = server.requests
    assert (request.method, request.path, request.body.decode()) == ("POST", "/api/repos/o/r/statuses/abc123", body)
    assert request.headers["x-kind"] == "ci"
    # basicAuth sets Authorization after the headers, as upstream's SetBasicAuth does.
    assert request.headers["authorization"] == "Basic " + base64.b64encode(f"ci:{PASSWORD}".encode()).decode()


async def test_without_template_fields_it_sends_get_with_the_message_as_body_like_upstream() -> None:
    with serve(lambda _: Reply(200)) as server:
        async with service_context() as context:
            service = build_service("webhook", "hook", {"url": server.url + "/notify"}, context)
            other = {"webhook": {"another-hook": {"method": "POST", "body": "{}"}}}
            await service.send(Notification("Rollout guestbook aborted", other), "")
    [request] = server.requests
    assert (request.method, request.path, request.body) == ("GET", "/notify", b"Rollout guestbook aborted")


async def test_a_template_path_keeps_the_urls_query_and_adds_its_own() -> None:
    assert (
        join_path("http://j/job/x/build?token=abc", "/with?cause=ramp")
        == "http://j/job/x/build/with?token=abc&cause=ramp"
    )
    assert join_path("http://h/", "a") == "http://h/a"
    with serve(lambda _: Reply(200)) as server:
        async with service_context() as context:
            service = build_service(
                "webhook", "jenkins", {"url": server.url + "/job/deploy/build?token=jobsecret"}, context
            )
            fields = {"webhook": {"jenkins": {"method": "post", "path": "buildWithParameters?ROLLOUT=guestbook"}}}
            await service.send(Notification("m", fields), "")
    [request] = server.requests
    assert request.method == "POST"
    assert request.path == "/job/deploy/build/buildWithParameters"
    assert request.query == {"token": "jobsecret", "ROLLOUT": "guestbook"}


async def test_slack_incoming_webhook_through_the_webhook_service_as_upstreams_docs_show() -> None:
    with SlackIncomingWebhook() as slack:
        async with service_context() as context:
            options = {"url": slack.url, "headers": [{"name": "Content-Type", "value": "application/json"}]}
            service = build_service("webhook", "slack_webhook", options, context)
            body = json.dumps({"attachments": [{"title": "guestbook", "color": "#18be52"}], "text": "done"})
            await service.send(Notification("m", {"webhook": {"slack_webhook": {"method": "POST", "body": body}}}), "")
            assert slack.accepted == [json.loads(body)]

            bad = Notification("m", {"webhook": {"slack_webhook": {"method": "POST", "body": "{not json"}}})
            with pytest.raises(SendError) as caught:
                await service.send(bad, "")
    message = str(caught.value)
    assert "HTTP 400" in message and "invalid_payload" in message
    assert "XXXXsecretpathXXXX" not in message and "/services/" not in message


async def test_an_error_answer_names_status_and_body_and_no_secret() -> None:
    with serve(lambda _: Reply(500, f"internal error while handling token {TOKEN}")) as server:
        async with service_context() as context:
            options = {
                "url": server.url + "/hooks/s3cr3t-path-key?apikey=querysecret",
                "headers": [{"name": "Authorization", "value": f"token {TOKEN}"}],
                "basicAuth": {"username": "ci", "password": PASSWORD},
            }
            service = build_service("webhook", "ci", options, context)
            with pytest.raises(SendError) as caught:
                await service.send(Notification("m", {"webhook": {"ci": {"method": "PUT", "body": "x"}}}), "")
    message = str(caught.value)
    assert message.startswith("service.webhook.ci: PUT http://127.0.0.1:")
    assert "answered HTTP 500: internal error" in message
    for secret in (TOKEN, PASSWORD, "s3cr3t-path-key", "querysecret"):
        assert secret not in message


async def test_server_down_and_timeout_are_send_errors_without_the_url_secret() -> None:
    async with service_context(timeout_seconds=0.3) as context:
        down = build_service("webhook", "down", {"url": f"http://127.0.0.1:{free_port()}/k/s3cr3tkey"}, context)
        with pytest.raises(SendError) as refused:
            await down.send(Notification("m"), "")
        with serve(lambda _: Reply(200, delay_seconds=2)) as server:
            slow = build_service("webhook", "slow", {"url": server.url + "/k/s3cr3tkey"}, context)
            with pytest.raises(SendError) as timed_out:
                await slow.send(Notification("m"), "")
    assert "service.webhook.down: GET http://127.0.0.1:" in str(refused.value)
    assert "timed out" in str(timed_out.value)
    assert "s3cr3tkey" not in str(refused.value) + str(timed_out.value)


async def test_an_unknown_method_or_template_field_is_refused_by_name() -> None:
    async with service_context() as context:
        service = build_service("webhook", "ci", {"url": "http://127.0.0.1:9/"}, context)
        with pytest.raises(SendError, match=r"webhook\.ci\.method is 'TRACE'"):
            await service.send(Notification("m", {"webhook": {"ci": {"method": "TRACE"}}}), "")
        with pytest.raises(SendError, match=r"webhook\.ci\.headers not supported"):
            await service.send(Notification("m", {"webhook": {"ci": {"headers": "x"}}}), "")


async def test_retry_options_become_the_retry_policy_the_delivery_layer_reads() -> None:
    async with service_context() as context:
        default = build_service("webhook", "a", {"url": "http://h"}, context)
        assert isinstance(default, WebhookService)
        assert default.retry_policy == RetryPolicy(1.0, 5.0, 3)
        tuned = build_service(
            "webhook",
            "b",
            {"url": "http://h", "retryWaitMin": "500ms", "retryWaitMax": "1m30s", "retryMax": 5},
            context,
        )
        assert isinstance(tuned, WebhookService)
        assert tuned.retry_policy == RetryPolicy(0.5, 90.0, 5)
        # Go's JSON reads a bare number as nanoseconds.
        nanos = build_service("webhook", "c", {"url": "http://h", "retryWaitMin": 2_000_000_000}, context)
        assert isinstance(nanos, WebhookService)
        assert nanos.retry_policy.wait_min_seconds == 2.0


async def test_insecure_skip_verify_takes_the_insecure_client_and_pool_options_are_named_warnings() -> None:
    async with service_context() as context:
        service = build_service(
            "webhook", "a", {"url": "https://h", "insecureSkipVerify": True, "maxIdleConns": 5}, context
        )
        assert isinstance(service, WebhookService)
        assert service.client is context.client_for(insecure=True) and service.client is not context.http
        assert service.warnings == (
            "service.webhook.a: option 'maxIdleConns' has no effect in Ramp "
            "(Ramp's services share the controller's HTTP connection pool)",
        )


@pytest.mark.parametrize(
    ("options", "error"),
    [
        pytest.param({}, r"service\.webhook\.x: option 'url' is required", id="no_url"),
        pytest.param({"url": "ftp://h/secretpath"}, r"option 'url' must be an http:// or https:// URL", id="bad_url"),
        pytest.param({"url": "http://h", "method": "POST"}, r"unknown option\(s\) method", id="unknown_option"),
        pytest.param({"url": "http://h", "headers": {"a": "b"}}, r"option 'headers' must be a list", id="headers_map"),
        pytest.param({"url": "http://h", "basicAuth": {"user": "u"}}, r"option 'basicAuth' must be", id="basic_auth"),
        pytest.param({"url": "http://h", "retryWaitMin": "soon"}, r"'retryWaitMin' must be a duration", id="duration"),
        pytest.param({"url": "http://h", "retryMax": -1}, r"'retryMax' must be a whole number", id="retry_max"),
        pytest.param({"url": "http://h", "insecureSkipVerify": "yes"}, r"must be true or false", id="bool"),
        pytest.param(
            {"url": "http://h", "retryWaitMin": "10s", "retryWaitMax": "1s"}, r"retryWaitMax' must not be", id="order"
        ),
    ],
)
async def test_bad_options_are_refused_when_built(options: dict[str, Any], error: str) -> None:
    async with service_context() as context:
        with pytest.raises(ServiceConfigError, match=error) as caught:
            build_service("webhook", "x", options, context)
    assert "secretpath" not in str(caught.value)


async def test_http_429_is_rate_limited_with_the_retry_after_the_delivery_layer_waits() -> None:
    with serve(lambda _: Reply(429, "slow down", {"Retry-After": "3"})) as server:
        async with service_context() as context:
            service = build_service("webhook", "ci", {"url": server.url}, context)
            with pytest.raises(RateLimited) as caught:
                await service.send(Notification("m"), "")
    assert caught.value.retry_after_seconds == 3.0
    assert isinstance(caught.value, SendError)
    assert "rate limited (HTTP 429, Retry-After 3s): slow down" in str(caught.value)


async def test_insecure_skip_verify_reaches_a_self_signed_https_server_that_is_refused_otherwise(
    tmp_path: Path,
) -> None:
    cert, key = make_certificate(tmp_path)
    server = HttpsServer(lambda _: Reply(200), cert, key).start()
    try:
        async with service_context() as context:
            url = server.url + "/hook/s3cr3t-key"
            checked = build_service("webhook", "a", {"url": url}, context)
            with pytest.raises(SendError) as caught:
                await checked.send(Notification("m"), "")
            insecure = build_service("webhook", "b", {"url": url, "insecureSkipVerify": True}, context)
            await insecure.send(Notification("m"), "")
    finally:
        server.stop()
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value) and "s3cr3t-key" not in str(caught.value)
    assert [request.path for request in server.requests] == ["/hook/s3cr3t-key"]
