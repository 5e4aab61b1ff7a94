"""How `service.github` authenticates: as a GitHub App, the way GitHub documents it.

`AppCredentials` signs a JWT (RS256 with the app's private key; `iss` = the app ID, issued a minute in the past for
clock drift, valid 9 minutes: GitHub allows at most 10). `InstallationTokens` trades it for an installation token
(`POST <api>/app/installations/{id}/access_tokens`, 201 with `token` and `expires_at`), keeps the token until a
minute before it expires, and forgets it when GitHub answers 401 so the next send buys a new one.
`private_key_of` reads the `privateKey` option (PKCS#1 or PKCS#8 PEM). Used by `ramp.notifications.services.github`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ramp.notifications.services.base import SendError
from ramp.notifications.services.paging import Options, api_error, post

API_VERSION = "2022-11-28"
HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
JWT_BACKDATE_SECONDS = 60
JWT_LIFETIME_SECONDS = 540
TOKEN_MARGIN_SECONDS = 60


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class AppCredentials:
    """A GitHub App's identity: it signs the JWTs that buy installation tokens."""

    app_id: int
    installation_id: int
    private_key: rsa.RSAPrivateKey

    def jwt(self, now: float) -> str:
        header = _b64url(json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":")).encode())
        claims = {
            "iat": int(now) - JWT_BACKDATE_SECONDS,
            "exp": int(now) + JWT_LIFETIME_SECONDS,
            "iss": str(self.app_id),
        }
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signature = self.private_key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{payload}.{_b64url(signature)}"


@dataclass
class InstallationTokens:
    """The installation token of one app installation, bought when needed and kept while it is good."""

    label: str
    api: str
    app: AppCredentials
    http: httpx.AsyncClient
    _token: tuple[str, float] | None = field(default=None, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def forget(self) -> None:
        self._token = None

    async def get(self) -> str:
        async with self._lock:
            now = time.time()
            if self._token is not None and self._token[1] - TOKEN_MARGIN_SECONDS > now:
                return self._token[0]
            jwt = self.app.jwt(now)
            url = f"{self.api}/app/installations/{self.app.installation_id}/access_tokens"
            headers = {"Authorization": f"Bearer {jwt}", **HEADERS}
            response = await post(self.http, url, label=self.label, body=None, headers=headers, secrets=[jwt])
            if response.status_code != httpx.codes.CREATED:
                raise api_error(self.label, "GitHub installation token exchange", response, [jwt])
            try:
                answer = response.json()
                token = answer["token"]
                expires_at = datetime.fromisoformat(answer["expires_at"]).timestamp()
            except (ValueError, KeyError, TypeError):
                raise SendError(f"{self.label}: GitHub's installation token answer lacks token or expires_at") from None
            if not isinstance(token, str) or not token:
                raise SendError(f"{self.label}: GitHub's installation token answer has no token")
            self._token = (token, expires_at)
            return token


def private_key_of(reader: Options) -> rsa.RSAPrivateKey:
    """The `privateKey` option as an RSA key; `ServiceConfigError` (never quoting the key) when it is not one."""
    text = reader.text("privateKey", required=True).strip()
    if "\\n" in text and "\n" not in text:
        text = text.replace("\\n", "\n")  # a key pasted on one line with escaped newlines
    problem = "is not a PEM RSA private key (use the .pem file GitHub generated for the app)"
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise reader.error("privateKey", problem) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise reader.error("privateKey", problem)
    return key
