"""kubeconfig `auth-provider: {name: oidc, config: {...}}`: an OpenID Connect id token, refreshed as client-go does.

Config keys: `idp-issuer-url`, `client-id`, `client-secret`, `id-token`, `refresh-token`,
`idp-certificate-authority` (a file) or `idp-certificate-authority-data` (base64), and `extra-scopes` (used by
login tools only; the refresh grant sends none). Any other key is refused by name.

The id token is sent as the bearer token while its `exp` claim is more than 10 s away. Then (and once after a
401) Ramp reads the issuer's `/.well-known/openid-configuration`, posts a `refresh_token` grant to its
`token_endpoint` (client credentials as HTTP basic auth, then as form fields if the provider refuses that), and
requires an `id_token` in the answer. The new id token and refresh token (the old one stays when none comes back)
are written back into the kubeconfig file that defines the user, as client-go's persister does, so the next
`ramp` or `kubectl` run starts with them. Concurrent requests share one refresh.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import ssl
import tempfile
import time
from collections.abc import AsyncGenerator, Generator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import yaml

from ramp.kube.errors import ConfigError, CredentialError

log = logging.getLogger(__name__)

# oauth2's expiry margin: a token this close to its `exp` counts as expired.
EXPIRY_MARGIN_SECONDS = 10.0
_KEYS = {
    "idp-issuer-url",
    "client-id",
    "client-secret",
    "id-token",
    "refresh-token",
    "idp-certificate-authority",
    "idp-certificate-authority-data",
    "extra-scopes",
}


class OidcError(ConfigError):
    """The oidc auth-provider is misconfigured, or its token cannot be refreshed."""


@dataclass(frozen=True)
class OidcConfig:
    issuer_url: str
    client_id: str
    client_secret: str = ""
    id_token: str = ""
    refresh_token: str = ""
    idp_ca_data: bytes | None = None
    kubeconfig: Path | None = None
    """The file that defines the user: refreshed tokens are written back into it."""
    user: str = ""


def parse_auth_provider(entry: Mapping[str, Any], origin: Path, user: str) -> OidcConfig:
    """Validate a user's `auth-provider`; only `oidc` exists (client-go dropped gcp and azure)."""
    where = f"kubeconfig {origin}: user {user!r} auth-provider"
    name = str(entry.get("name") or "")
    if name != "oidc":
        raise OidcError(
            f"{where}: {name!r} is not supported (client-go removed the gcp and azure providers); "
            "use the cloud's exec plugin (gke-gcloud-auth-plugin, kubelogin) or `name: oidc`"
        )
    conf = dict(entry.get("config") or {})
    unknown = sorted(set(conf) - _KEYS)
    if unknown:
        raise OidcError(f"{where}: unknown oidc config key(s) {unknown}; known: {sorted(_KEYS)}")
    for required in ("idp-issuer-url", "client-id"):
        if not conf.get(required):
            raise OidcError(f"{where}: oidc config needs `{required}`")
    ca: bytes | None = None
    if conf.get("idp-certificate-authority-data"):
        try:
            ca = base64.b64decode(str(conf["idp-certificate-authority-data"]), validate=True)
        except ValueError as err:
            raise OidcError(f"{where}: `idp-certificate-authority-data` is not valid base64") from err
    elif conf.get("idp-certificate-authority"):
        path = Path(str(conf["idp-certificate-authority"])).expanduser()
        path = path if path.is_absolute() else origin.parent / path
        try:
            ca = path.read_bytes()
        except OSError as err:
            raise OidcError(f"{where}: `idp-certificate-authority: {path}` cannot be read: {err.strerror}") from err
    return OidcConfig(
        issuer_url=str(conf["idp-issuer-url"]).rstrip("/"),
        client_id=str(conf["client-id"]),
        client_secret=str(conf.get("client-secret") or ""),
        id_token=str(conf.get("id-token") or ""),
        refresh_token=str(conf.get("refresh-token") or ""),
        idp_ca_data=ca,
        kubeconfig=origin,
        user=user,
    )


def id_token_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT (not verified: the API server verifies it), or None when unreadable."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    return float(exp) if isinstance(exp, (int, float)) else None


def id_token_valid(token: str, now: float) -> bool:
    expiry = id_token_expiry(token)
    return bool(token) and expiry is not None and now < expiry - EXPIRY_MARGIN_SECONDS


def persist_tokens(path: Path, user: str, id_token: str, refresh_token: str) -> None:
    """Write the refreshed tokens into the user's `auth-provider.config` in `path` (atomically, mode kept)."""
    doc = yaml.safe_load(path.read_text()) or {}
    for item in doc.get("users") or []:
        if isinstance(item, dict) and item.get("name") == user:
            conf = item.setdefault("user", {}).setdefault("auth-provider", {}).setdefault("config", {})
            conf["id-token"] = id_token
            if refresh_token:
                conf["refresh-token"] = refresh_token
            break
    else:
        return
    mode = path.stat().st_mode & 0o777
    fd, tmp = tempfile.mkstemp(prefix=".ramp-kubeconfig-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            yaml.safe_dump(doc, out, sort_keys=False)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def refresh(config: OidcConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> OidcConfig:
    """One refresh_token grant at the issuer's token endpoint: `config` with the new tokens (not yet persisted)."""
    if not config.refresh_token:
        raise OidcError(f"oidc user {config.user!r}: the id-token expired and there is no refresh-token; log in again")
    verify: ssl.SSLContext | bool = True
    if config.idp_ca_data:
        verify = ssl.create_default_context(cadata=config.idp_ca_data.decode("ascii", "replace"))
    async with httpx.AsyncClient(verify=verify, transport=transport, timeout=30.0) as http:
        discovery_url = f"{config.issuer_url}/.well-known/openid-configuration"
        try:
            found = await http.get(discovery_url)
            found.raise_for_status()
            endpoint = str(found.json()["token_endpoint"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as err:
            raise OidcError(f"oidc: cannot read token_endpoint from {discovery_url}: {err}") from err
        form = {"grant_type": "refresh_token", "refresh_token": config.refresh_token}
        try:
            answer = await http.post(endpoint, data=form, auth=(config.client_id, config.client_secret))
            if answer.status_code in (400, 401):
                # Some providers want the client credentials as form fields (oauth2's auto-detected style).
                creds = {"client_id": config.client_id, "client_secret": config.client_secret}
                answer = await http.post(endpoint, data={**form, **creds})
        except httpx.HTTPError as err:
            raise OidcError(f"oidc: refresh at {endpoint} failed: {err}") from err
    if answer.status_code != 200:
        raise OidcError(f"oidc: refresh at {endpoint} answered {answer.status_code}: {answer.text[:200]}")
    try:
        body = answer.json()
    except ValueError as err:
        raise OidcError(f"oidc: refresh at {endpoint} did not answer JSON") from err
    id_token = body.get("id_token") if isinstance(body, dict) else None
    if not id_token:
        raise OidcError(
            f"oidc: the answer of {endpoint} has no id_token (was the `openid` scope requested at login, "
            "and does the provider return id tokens on refresh?)"
        )
    return replace(config, id_token=str(id_token), refresh_token=str(body.get("refresh_token") or config.refresh_token))


class OidcAuth(httpx.Auth):
    """The id token as bearer token, refreshed (one refresh for all concurrent requests) and persisted."""

    def __init__(self, config: OidcConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self._transport = transport
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.refreshes = 0

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise OidcError("the oidc auth-provider is refreshed by Ramp's async client only")
        yield request  # pragma: no cover

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self._token_for(request)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and self.config.refresh_token:
            log.info("oidc id-token refused (401); refreshing it", extra={"user": self.config.user})
            request.headers["Authorization"] = f"Bearer {await self._token_for(request, stale=token)}"
            yield request

    async def _token_for(self, request: httpx.Request, stale: str | None = None) -> str:
        try:
            return await self.token(stale=stale)
        except ConfigError as err:
            raise CredentialError(str(err), request=request) from err

    async def token(self, *, stale: str | None = None) -> str:
        """A valid id token; `stale` (one the server refused) is refreshed even if its `exp` is ahead."""
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
        async with self._lock:
            current = self.config.id_token
            if current != stale and id_token_valid(current, time.time()):
                return current
            fresh = await refresh(self.config, transport=self._transport)
            self.refreshes += 1
            if fresh.kubeconfig is not None:
                try:
                    persist_tokens(fresh.kubeconfig, fresh.user, fresh.id_token, fresh.refresh_token)
                except OSError as err:
                    raise OidcError(f"oidc: cannot write the refreshed tokens to {fresh.kubeconfig}: {err}") from err
            self.config = fresh
            return fresh.id_token
