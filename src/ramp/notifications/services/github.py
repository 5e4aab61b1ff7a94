"""`service.github`: set a commit status on GitHub as a GitHub App (`POST /repos/{owner}/{repo}/statuses/{sha}`).

Options (upstream's): `appID`, `installationID` (numbers, or strings of digits), `privateKey` (the app's PEM key,
usually a `$secret` reference), `enterpriseBaseURL` (GitHub Enterprise Server's API root, e.g.
`https://git.example.com/api/v3`; `/api/v3` is added when missing, as GitHub's Go client does, and the token
exchange uses the same root), `insecureSkipVerify`.

Authentication is GitHub's App flow: a JWT signed RS256 with the private key (`iss` = app ID, valid 9 minutes)
buys an installation token (`POST /app/installations/{id}/access_tokens`), kept until a minute before it expires
and dropped when GitHub answers 401.

The template's `github` block: `repoURLPath` (the repository URL: https, `git@host:org/repo` or ssh),
`revisionPath` (the commit SHA), `status: {state, label, targetURL}` (label is the status context; the
description is the message, cut to GitHub's 140 characters). Both paths are required: upstream's defaults read an
Argo CD Application (`.app.spec.source.repoURL`, `.app.status.operationState.syncResult.revision`), which a Rollout
does not have. Upstream's `deployment`, `pullRequestComment`, `checkRun` and `repositoryDispatch` are refused
with a named error before anything is sent. As upstream, GitHub's limit of 1000 statuses per SHA and context is
not a failure: the status is not set again and the send counts as done (logged as a warning); any other 422 is.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ramp.notifications.services.base import Notification, SendError, Service, ServiceContext, register
from ramp.notifications.services.paging import Options, TemplateFields, api_error, post

log = logging.getLogger(__name__)

GITHUB_API = "https://api.github.com"
API_VERSION = "2022-11-28"
FIELDS = ("repoURLPath", "revisionPath", "status", "deployment", "pullRequestComment", "checkRun", "repositoryDispatch")
NOT_SUPPORTED = ("deployment", "pullRequestComment", "checkRun", "repositoryDispatch")
STATUS_FIELDS = ("state", "label", "targetURL")
DESCRIPTION_LIMIT = 140
JWT_BACKDATE_SECONDS = 60
JWT_LIFETIME_SECONDS = 540
TOKEN_MARGIN_SECONDS = 60
STATUS_LIMIT_TEXT = "maximum number of statuses"
_SCP_LIKE = re.compile(r"^(?:[^@/:]+@)?[^/:]+:(?P<path>.+)$")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class AppCredentials:
    """A GitHub App's identity: it signs the JWTs that buy installation tokens."""

    app_id: int
    installation_id: int
    private_key: rsa.RSAPrivateKey

    def jwt(self, now: float) -> str:
        """An RS256 JWT for the app, issued a minute in the past (clock drift) and valid for 9 minutes."""
        header = _b64url(json.dumps({"alg": "RS256", "typ": "JWT"}, separators=(",", ":")).encode())
        claims = {
            "iat": int(now) - JWT_BACKDATE_SECONDS,
            "exp": int(now) + JWT_LIFETIME_SECONDS,
            "iss": str(self.app_id),
        }
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signature = self.private_key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{header}.{payload}.{_b64url(signature)}"


@dataclass(frozen=True)
class CommitStatus:
    """Where and what: `POST /repos/{owner}/{repo}/statuses/{sha}` with `body`."""

    owner: str
    repo: str
    sha: str
    body: Mapping[str, str]


@dataclass
class GitHubService:
    name: str
    label: str
    api: str
    app: AppCredentials
    http: httpx.AsyncClient
    _token: tuple[str, float] | None = field(default=None, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    async def send(self, notification: Notification, recipient: str) -> None:
        if recipient:
            raise SendError(
                f"{self.label}: the github service takes no recipient (the template's github.repoURLPath names the "
                f'repository); subscribe with an empty value: notifications.argoproj.io/subscribe.<trigger>.github: ""'
            )
        status = commit_status_for(self.label, notification)
        token = await self._installation_token()
        url = f"{self.api}/repos/{quote(status.owner)}/{quote(status.repo)}/statuses/{quote(status.sha)}"
        headers = {"Authorization": f"token {token}", **self._headers()}
        response = await post(self.http, url, label=self.label, body=status.body, headers=headers, secrets=[token])
        if response.status_code == httpx.codes.CREATED:
            return
        if response.status_code == httpx.codes.UNAUTHORIZED:
            self._token = None  # revoked or expired early: the next send buys a new one
        if response.status_code == httpx.codes.UNPROCESSABLE_ENTITY and STATUS_LIMIT_TEXT in response.text:
            log.warning(
                "%s: GitHub keeps no more statuses for %s/%s@%s and context %r; the status is left as it is",
                self.label,
                status.owner,
                status.repo,
                status.sha,
                status.body.get("context", "default"),
            )
            return
        raise api_error(self.label, "GitHub commit statuses API", response, [token])

    def _headers(self) -> dict[str, str]:
        return {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}

    async def _installation_token(self) -> str:
        async with self._lock:
            now = time.time()
            if self._token is not None and self._token[1] - TOKEN_MARGIN_SECONDS > now:
                return self._token[0]
            jwt = self.app.jwt(now)
            url = f"{self.api}/app/installations/{self.app.installation_id}/access_tokens"
            headers = {"Authorization": f"Bearer {jwt}", **self._headers()}
            response = await post(self.http, url, label=self.label, body=None, headers=headers, secrets=[jwt])
            if response.status_code != httpx.codes.CREATED:
                raise api_error(self.label, "GitHub installation token exchange", response, [jwt])
            try:
                answer = response.json()
                token = answer["token"]
                expires_at = datetime.fromisoformat(answer["expires_at"]).timestamp()
            except (ValueError, KeyError, TypeError):
                raise SendError(
                    f"{self.label}: GitHub's installation token answer has no token and expires_at"
                ) from None
            if not isinstance(token, str) or not token:
                raise SendError(f"{self.label}: GitHub's installation token answer has no token")
            self._token = (token, expires_at)
            return token


def commit_status_for(label: str, notification: Notification) -> CommitStatus:
    """The commit status a notification sets, or a `SendError` naming what the template lacks or Ramp refuses."""
    fields = TemplateFields(label, "github", notification.of("github"), FIELDS)
    refused = [name for name in NOT_SUPPORTED if fields.has(name)]
    if refused:
        raise SendError(
            f"{label}: the template's {', '.join(f'github.{name}' for name in refused)}: Ramp's github service sets "
            "commit statuses only (github.status); remove it from the template"
        )
    status = fields.mapping("status")
    if not status:
        raise fields.error("status", "is missing; Ramp's github service sets commit statuses: give state and label")
    status_fields = TemplateFields(label, "github.status", status, STATUS_FIELDS)
    owner, repo = repository_of(fields.text("repoURLPath").strip(), fields)
    sha = fields.text("revisionPath").strip()
    if not sha or sha == "<no value>":
        raise fields.error("revisionPath", "is missing or empty; set it to the commit, e.g. a field of the rollout")
    body = {"state": status_fields.text("state").strip()}
    if description := truncate(notification.message.strip(), DESCRIPTION_LIMIT):
        body["description"] = description
    if context := status_fields.text("label").strip():
        body["context"] = context
    if target_url := status_fields.text("targetURL").strip():
        body["target_url"] = target_url
    return CommitStatus(owner=owner, repo=repo, sha=sha, body=body)


def repository_of(url: str, fields: TemplateFields) -> tuple[str, str]:
    """(owner, repository) of an https, ssh or `git@host:org/repo` URL, as upstream reads it."""
    if not url or url == "<no value>":
        raise fields.error("repoURLPath", "is missing or empty; set it to the repository URL")
    if "://" in url:
        path = urlsplit(url).path
    elif match := _SCP_LIKE.match(url):
        path = match.group("path")
    else:
        path = url
    parts = [part for part in path.removesuffix("/").removesuffix(".git").split("/") if part]
    if len(parts) < 2:
        raise fields.error("repoURLPath", f"({url!r}) names no owner/repository")
    return parts[0], parts[1]


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def api_root_for(reader: Options) -> str:
    """api.github.com, or the enterprise API root with `/api/v3` (GitHub's Go client adds it when missing)."""
    enterprise = reader.text("enterpriseBaseURL").strip().rstrip("/")
    if not enterprise:
        return GITHUB_API
    try:
        parsed = httpx.URL(enterprise)
    except httpx.InvalidURL:
        parsed = httpx.URL()
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise reader.error("enterpriseBaseURL", "must be an http(s) URL, e.g. https://git.example.com/api/v3")
    host = parsed.host
    if enterprise.endswith("/api/v3") or host.startswith("api.") or ".api." in host:
        return enterprise
    return enterprise + "/api/v3"


def private_key_of(reader: Options) -> rsa.RSAPrivateKey:
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


@register("github")
def build(name: str, options: Mapping[str, Any], context: ServiceContext) -> Service:
    reader = Options("github", name, options)
    app_id = reader.integer("appID", required=True)
    installation_id = reader.integer("installationID", required=True)
    private_key = private_key_of(reader)
    api = api_root_for(reader)
    insecure = reader.flag("insecureSkipVerify")
    reader.finish()
    assert app_id is not None and installation_id is not None  # required=True
    app = AppCredentials(app_id=app_id, installation_id=installation_id, private_key=private_key)
    http = context.client_for(insecure=True) if insecure else context.http
    return GitHubService(name=name, label=reader.label, api=api, app=app, http=http)
