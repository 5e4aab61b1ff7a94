"""The `email` service against a real SMTP server (aiosmtpd): STARTTLS, implicit TLS, AUTH, certificate checks,
and refusals that never show the password."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ramp.notifications.services import email as email_service
from ramp.notifications.services.base import Notification, SendError, ServiceConfigError
from ramp.notifications.services.registry import build_service
from tests.backends.chat import service_context
from tests.backends.smtp import SmtpServer, free_port

PASSWORD = "app-password-s3cret"
USERS = {"ramp@example.com": PASSWORD}


@pytest.fixture
def starttls_server() -> Iterator[SmtpServer]:
    with SmtpServer(mode="starttls", users=USERS) as server:
        yield server


def options_for(server: SmtpServer, **extra: Any) -> dict[str, Any]:
    return {
        "host": server.host,
        "port": server.port,
        "username": "ramp@example.com",
        "password": PASSWORD,
        "from": "ramp@example.com",
        "insecure_skip_verify": True,
        **extra,
    }


async def test_starttls_and_auth_deliver_the_message_with_the_templates_subject(starttls_server: SmtpServer) -> None:
    async with service_context() as context:
        service = build_service("email", "email", options_for(starttls_server), context)
        fields = {"email": {"subject": "Rollout guestbook has been aborted.\n"}}
        await service.send(Notification("Rollout guestbook aborted at step 2.\n", fields), "oncall@example.com")
    [mail] = starttls_server.received
    assert mail.encrypted and mail.login == "ramp@example.com"
    assert (mail.mail_from, mail.rcpt_tos) == ("ramp@example.com", ("oncall@example.com",))
    assert mail.message["Subject"] == "Rollout guestbook has been aborted."
    assert (mail.message["From"], mail.message["To"]) == ("ramp@example.com", "oncall@example.com")
    assert mail.message["Message-ID"] and mail.message["Date"]
    assert mail.message.get_content_type() == "text/plain"
    # SMTP carries lines ending in CRLF.
    assert mail.message.get_content().replace("\r\n", "\n") == "Rollout guestbook aborted at step 2.\n"


async def test_several_recipients_html_and_the_templates_body(starttls_server: SmtpServer) -> None:
    async with service_context() as context:
        options = options_for(starttls_server, html=True, **{"from": "Ramp <ramp@example.com>"})
        service = build_service("email", "email", options, context)
        fields = {"email": {"subject": "done", "body": "<b>guestbook</b> completed"}}
        await service.send(Notification("plain message", fields), "a@example.com, b@example.org")
    [mail] = starttls_server.received
    assert mail.mail_from == "ramp@example.com"
    assert mail.rcpt_tos == ("a@example.com", "b@example.org")
    assert mail.message["To"] == "a@example.com, b@example.org"
    assert mail.message["From"] == "Ramp <ramp@example.com>"
    assert mail.message.get_content_type() == "text/html"
    assert mail.message.get_content().strip() == "<b>guestbook</b> completed"


async def test_port_465_speaks_tls_from_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    with SmtpServer(mode="implicit", users=USERS) as server:
        # The implicit-TLS port is 465 as upstream; the test server cannot bind it, so the service is told its port.
        monkeypatch.setattr(email_service, "IMPLICIT_TLS_PORT", server.port)
        async with service_context() as context:
            service = build_service("email", "email", options_for(server), context)
            await service.send(Notification("over TLS"), "oncall@example.com")
    [mail] = server.received
    assert mail.encrypted and mail.login == "ramp@example.com"


async def test_the_servers_certificate_is_checked_unless_insecure_skip_verify(starttls_server: SmtpServer) -> None:
    async with service_context() as context:
        service = build_service("email", "email", options_for(starttls_server, insecure_skip_verify=False), context)
        with pytest.raises(SendError) as caught:
            await service.send(Notification("m"), "oncall@example.com")
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value) or "certificate verify failed" in str(caught.value)
    assert starttls_server.received == []


async def test_a_wrong_password_is_a_send_error_without_the_password(starttls_server: SmtpServer) -> None:
    async with service_context() as context:
        service = build_service("email", "email", options_for(starttls_server, password="wrong-pass-99"), context)
        with pytest.raises(SendError) as caught:
            await service.send(Notification("m"), "oncall@example.com")
    message = str(caught.value)
    assert message.startswith(f"service.email: SMTP 127.0.0.1:{starttls_server.port}: login refused: 535")
    assert "wrong-pass-99" not in message and PASSWORD not in message


async def test_a_password_is_never_sent_without_tls_and_an_open_relay_gets_mail_in_plain() -> None:
    with SmtpServer(mode="plain") as relay:
        async with service_context() as context:
            with_auth = build_service("email", "email", options_for(relay), context)
            with pytest.raises(SendError, match=r"offers no TLS .* does not send a password in the clear"):
                await with_auth.send(Notification("m"), "oncall@example.com")
            assert relay.received == []
            anonymous = build_service(
                "email", "relay", {"host": relay.host, "port": relay.port, "from": "ramp@example.com"}, context
            )
            await anonymous.send(Notification("internal relay"), "oncall@example.com")
    [mail] = relay.received
    assert not mail.encrypted and mail.login is None


async def test_refused_recipients_bad_addresses_and_a_server_down_are_send_errors(starttls_server: SmtpServer) -> None:
    async with service_context(timeout_seconds=2) as context:
        service = build_service("email", "email", options_for(starttls_server), context)
        with pytest.raises(SendError, match=r"recipients refused: .*550 .*No such user"):
            await service.send(Notification("m"), "nobody@refused.example")
        with pytest.raises(SendError, match=r"recipient 'not-an-address' is not an email address"):
            await service.send(Notification("m"), "a@example.com, not-an-address")
        with pytest.raises(SendError, match="names no address"):
            await service.send(Notification("m"), " , ")
        with pytest.raises(SendError, match=r"email\.cc not supported"):
            await service.send(Notification("m", {"email": {"cc": "x@example.com"}}), "a@example.com")
        down = build_service("email", "email", options_for(starttls_server, port=free_port()), context)
        with pytest.raises(SendError) as refused:
            await down.send(Notification("m"), "a@example.com")
    assert "service.email: SMTP 127.0.0.1:" in str(refused.value) and PASSWORD not in str(refused.value)
    assert starttls_server.received == []


async def test_the_smtp_timeout_is_the_http_clients() -> None:
    async with service_context(timeout_seconds=3.5) as context:
        service = build_service("email", "e", {"host": "h", "port": 25, "from": "r@example.com"}, context)
    assert isinstance(service, email_service.EmailService)
    assert service.timeout == 3.5


@pytest.mark.parametrize(
    ("options", "error"),
    [
        pytest.param({"port": 25, "from": "r@x.org"}, r"option 'host' is required", id="no_host"),
        pytest.param({"host": "h", "from": "r@x.org"}, r"option 'port' is required", id="no_port"),
        pytest.param({"host": "h", "port": 70000, "from": "r@x.org"}, r"'port' must be a whole number", id="port"),
        pytest.param({"host": "h", "port": 25}, r"option 'from' is required", id="no_from"),
        pytest.param({"host": "h", "port": 25, "from": "ramp"}, r"'from' must be an email address", id="bad_from"),
        pytest.param(
            {"host": "h", "port": 25, "from": "r@x.org", "password": PASSWORD}, r"'password' is set but", id="pw_only"
        ),
        pytest.param(
            {"host": "h", "port": 25, "from": "r@x.org", "insecureSkipVerify": True},
            r"unknown option\(s\) insecureSkipVerify",
            id="camel_case_is_not_emails_option",
        ),
    ],
)
async def test_bad_options_are_refused_when_built_without_the_password(options: dict[str, Any], error: str) -> None:
    async with service_context() as context:
        with pytest.raises(ServiceConfigError, match=error) as caught:
            build_service("email", "email", options, context)
    assert PASSWORD not in str(caught.value)
