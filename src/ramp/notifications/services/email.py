"""The `email` service: one SMTP message per send, over implicit TLS or STARTTLS, with AUTH when configured.

ConfigMap entry (`service.email[.<name>]`), as upstream:

    host: smtp.example.com     # required
    port: 587                  # required: 465 speaks TLS from the start; any other port upgrades with STARTTLS
                               # when the server offers it
    username: $email-username  # optional: AUTH (PLAIN, LOGIN or CRAM-MD5, whichever the server offers)
    password: $email-password
    from: ramp@example.com     # required: envelope sender and From header
    html: false                # true: the body is sent as text/html
    insecure_skip_verify: false   # true: the server's certificate is not checked

The recipient is one address or several separated by commas (`a@x.org, b@x.org`). Subject: the template's
`email.subject` (line breaks become spaces); body: `email.body` if the template has it, else the message.
A password is never sent over an unencrypted connection: when the server offers neither TLS nor STARTTLS and
a username is set, the send fails with a `SendError` naming the reason. Timeouts are the HTTP client's
(`ServiceContext.http.timeout`), so one setting bounds every service. Errors carry the server's SMTP reply,
never the password.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

import aiosmtplib
import httpx

from ramp.notifications.services.base import Notification, SendError, ServiceContext, register
from ramp.notifications.services.chat_common import OptionReader, check_fields, redact, service_label

IMPLICIT_TLS_PORT = 465
_ADDRESS = re.compile(r"^[^@\s,<>\"]+@[^@\s,<>\"]+$")
_DEFAULT_TIMEOUT = 30.0


def smtp_timeout(timeout: httpx.Timeout) -> float:
    """One number for an SMTP conversation's steps: the HTTP client's longest of connect and read."""
    values = [value for value in (timeout.connect, timeout.read) if value is not None]
    return max(values) if values else _DEFAULT_TIMEOUT


def parse_recipients(recipient: str) -> list[str]:
    """`a@x.org, b@x.org` -> the addresses; ValueError naming a bad one."""
    addresses = [part.strip() for part in recipient.split(",") if part.strip()]
    if not addresses:
        raise ValueError("the subscription names no address (recipient)")
    for address in addresses:
        if not _ADDRESS.match(address):
            raise ValueError(f"recipient {address!r} is not an email address")
    return addresses


class EmailService:
    """`service.email[.<name>]`."""

    def __init__(
        self,
        name: str,
        *,
        host: str,
        port: int,
        username: str,
        password: str,
        sender: str,
        html: bool,
        insecure: bool,
        timeout: float,
    ) -> None:
        self.name = name
        self.label = service_label("email", name)
        self.host = host
        self.port = port
        self.username = username
        self.sender = sender
        self.sender_address = parseaddr(sender)[1]
        self.html = html
        self.insecure = insecure
        self.timeout = timeout
        self.warnings: tuple[str, ...] = ()
        self._password = password

    def message_for(self, notification: Notification, recipients: list[str]) -> EmailMessage:
        fields = notification.of("email")
        check_fields(fields, ("subject", "body"), prefix="email", label=self.label)
        subject = " ".join(str(fields.get("subject") or "").split())
        body = str(fields.get("body") or "") or notification.message
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(recipients)
        message["Subject"] = subject
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=self.sender_address.rpartition("@")[2] or None)
        message.set_content(body, subtype="html" if self.html else "plain", charset="utf-8")
        return message

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    async def send(self, notification: Notification, recipient: str) -> None:
        try:
            recipients = parse_recipients(recipient)
        except ValueError as error:
            raise SendError(f"{self.label}: {error}") from None
        message = self.message_for(notification, recipients)
        where = f"{self.label}: SMTP {self.host}:{self.port}"
        secrets = [self._password]
        implicit_tls = self.port == IMPLICIT_TLS_PORT
        client = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=implicit_tls,
            start_tls=False,
            tls_context=self.tls_context(),
            timeout=self.timeout,
        )
        try:
            await client.connect()
            try:
                await client.ehlo()
                if not implicit_tls and client.supports_extension("starttls"):
                    await client.starttls(tls_context=self.tls_context())
                encrypted = client.get_transport_info("sslcontext") is not None
                if self.username:
                    if not encrypted:
                        raise SendError(
                            f"{where}: the server offers no TLS (port 465) or STARTTLS, and Ramp does not send a "
                            "password in the clear; enable STARTTLS on the server or use port 465"
                        )
                    await client.login(self.username, self._password)
                await client.send_message(message, sender=self.sender_address, recipients=recipients)
            finally:
                if client.is_connected:
                    try:
                        await client.quit()
                    except (aiosmtplib.SMTPException, OSError):
                        client.close()
        except SendError:
            raise
        except aiosmtplib.SMTPAuthenticationError as error:
            raise SendError(f"{where}: login refused: {redact(_smtp_text(error), secrets)}") from None
        except aiosmtplib.SMTPRecipientsRefused as error:
            refused = "; ".join(redact(_smtp_text(each), secrets) for each in error.recipients)
            raise SendError(f"{where}: recipients refused: {refused}") from None
        except aiosmtplib.SMTPTimeoutError:
            raise SendError(f"{where}: timed out after {self.timeout:g}s") from None
        except (aiosmtplib.SMTPException, OSError) as error:
            detail = redact(_smtp_text(error), secrets)
            raise SendError(f"{where}: {detail}") from None


def _smtp_text(error: BaseException) -> str:
    code = getattr(error, "code", None)
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    if isinstance(error, aiosmtplib.SMTPRecipientRefused):
        message = f"{error.recipient}: {error.message}"
    cause = error.__cause__ or error.__context__
    if isinstance(cause, ssl.SSLError):
        message = f"{message} ({cause.reason or cause})"
    return f"{code} {message}" if isinstance(code, int) and code > 0 else str(message)


@register("email")
def build(name: str, options: Mapping[str, Any], context: ServiceContext) -> EmailService:
    reader = OptionReader(service_label("email", name), options)
    host = reader.string("host", required=True)
    port = reader.integer("port", minimum=1, maximum=65535)
    if port is None:
        raise reader.fail("port", "is required (587 for STARTTLS, 465 for TLS, 25 for plain SMTP)")
    username = reader.string("username")
    password = reader.string("password")
    if password and not username:
        raise reader.fail("password", "is set but username is not: set both for AUTH, or neither")
    sender = reader.string("from", required=True)
    if not _ADDRESS.match(parseaddr(sender)[1]):
        raise reader.fail("from", f"must be an email address, not {sender!r}")
    html = reader.boolean("html")
    insecure = reader.boolean("insecure_skip_verify")
    reader.finish()
    return EmailService(
        name,
        host=host,
        port=port,
        username=username,
        password=password,
        sender=sender,
        html=html,
        insecure=insecure,
        timeout=smtp_timeout(context.http.timeout),
    )
