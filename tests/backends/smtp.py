"""A real SMTP server (aiosmtpd, from PyPI) on 127.0.0.1 for the email notification service's tests.

`SmtpServer(mode=...)`:
- `"starttls"`: plain SMTP that offers STARTTLS and refuses MAIL before it (`require_starttls`), AUTH PLAIN/LOGIN
  only over TLS (as port 587 servers do);
- `"implicit"`: TLS from the first byte (as port 465 servers do);
- `"plain"`: no TLS at all (as an internal relay on port 25).
With `users`, AUTH is required before MAIL. The certificate is self-signed, made by the `openssl` command for
`localhost`/127.0.0.1 in a temporary directory. Each accepted message is kept in `received` with its envelope,
the parsed message, whether the session was encrypted and who logged in.
"""

from __future__ import annotations

import email
import email.policy
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import warnings
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    encrypted: bool
    login: str | None


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate and key for localhost and 127.0.0.1 (the `openssl` command)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("the openssl command is needed to make the SMTP test server's certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.server.lock:
            self.server.received.append(
                ReceivedMail(
                    mail_from=envelope.mail_from,
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    message=message,
                    encrypted=session.ssl is not None or smtp.transport.get_extra_info("sslcontext") is not None,
                    login=session.auth_data if session.authenticated else None,
                )
            )
        return "250 Message accepted for delivery"

    async def handle_RCPT(self, smtp: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address.endswith("@refused.example"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


class _Controller(Controller):
    """aiosmtpd's threaded Controller on a port the system picks (port 0), which it then reports in `port`."""

    def factory(self) -> Any:
        # The implicit-TLS server lets AUTH through without STARTTLS (it is encrypted from the first byte), which
        # aiosmtpd warns about since it cannot tell.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
            return super().factory()

    def _create_server(self) -> Any:
        creating = super()._create_server()

        async def bound() -> Any:
            server = await creating
            self.port = server.sockets[0].getsockname()[1]
            return server

        return bound()


class SmtpServer:
    """A running aiosmtpd server; use as a context manager."""

    def __init__(self, *, mode: str = "starttls", users: dict[str, str] | None = None) -> None:
        if mode not in ("starttls", "implicit", "plain"):
            raise ValueError(mode)
        self.mode = mode
        self.users = dict(users or {})
        self.received: list[ReceivedMail] = []
        self.lock = threading.Lock()
        self._tmp = tempfile.TemporaryDirectory(prefix="ramp-smtp-")
        self.cert, key = make_certificate(Path(self._tmp.name))
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.load_cert_chain(self.cert, key)
        kwargs: dict[str, Any] = {}
        if mode == "starttls":
            kwargs |= {"tls_context": self.tls, "require_starttls": True}
        if self.users:
            kwargs |= {"authenticator": self._authenticate, "auth_required": True}
            # aiosmtpd counts only STARTTLS as TLS for AUTH; an implicit-TLS connection is encrypted from the start.
            kwargs["auth_require_tls"] = mode == "starttls"
        self.controller = _Controller(
            _Handler(self),
            hostname="127.0.0.1",
            port=0,
            ssl_context=self.tls if mode == "implicit" else None,
            server_hostname="smtp.test",
            **kwargs,
        )

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if self.users.get(user) == password:
                return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.controller.stop()
        self._tmp.cleanup()


def free_port() -> int:
    """A port nothing listens on right now (for the server-down test)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
