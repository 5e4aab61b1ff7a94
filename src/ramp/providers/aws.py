"""AWS credentials and Signature Version 4 for the providers that call AWS (CloudWatch, Amazon Managed Prometheus).

Credentials come from botocore's standard chain, as upstream's AWS SDK finds them: the environment
(`AWS_ACCESS_KEY_ID`, ...), the shared config and credentials files (a `profile`), a web identity token
(`AWS_WEB_IDENTITY_TOKEN_FILE` with `AWS_ROLE_ARN`, exchanged through STS `AssumeRoleWithWebIdentity`, as on EKS
with IRSA), the container and instance metadata endpoints. A `roleArn` is then assumed through STS `AssumeRole` with
those credentials. botocore honours `AWS_ENDPOINT_URL_STS` (and `AWS_ENDPOINT_URL`) for the STS calls.

botocore is synchronous, so credentials are resolved in a worker thread (`asyncio.to_thread`) within a total
deadline, and cached per (region, profile, roleArn): botocore refreshes temporary credentials before they expire.
Requests are signed with botocore's `SigV4Auth`; `SigV4Signer` does it for an httpx request.

botocore is imported when credentials are first resolved (in that worker thread), not with this module: it costs
the controller about 23 MiB of memory, which every installation without an AWS metric would carry.

Used by `ramp.providers.prometheus` (service "aps") and `ramp.providers.cloudwatch` (service "monitoring").
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

RESOLVE_DEADLINE_SECONDS = 20.0
"""At most this long to find credentials (including STS calls), so a measurement never hangs on AWS."""

ROLE_SESSION_NAME = "ramp-analysis"

_CLIENT_TIMEOUTS: dict[str, Any] = {
    "connect_timeout": 5,
    "read_timeout": 10,
    "retries": {"max_attempts": 2, "mode": "standard"},
}
_SIGNED_RESPONSE_HEADERS = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256")


class AwsError(Exception):
    """Credentials that cannot be found or assumed; the message says which and how to fix it."""


@dataclass(frozen=True)
class AwsSettings:
    """What a metric (or the controller's environment) says about AWS: each None means "from the chain"."""

    region: str | None = None
    profile: str | None = None
    role_arn: str | None = None


@dataclass(frozen=True)
class AwsAccess:
    """Resolved credentials and the region to sign for."""

    region: str
    access_key: str
    secret_key: str
    token: str | None = None


class AwsCredentialSource:
    """Finds credentials through botocore's chain, once per settings, and hands out fresh frozen copies."""

    def __init__(self, deadline_seconds: float = RESOLVE_DEADLINE_SECONDS) -> None:
        self.deadline_seconds = deadline_seconds
        self._lock = threading.Lock()
        self._cache: dict[AwsSettings, tuple[str, Any]] = {}

    async def resolve(self, settings: AwsSettings) -> AwsAccess:
        """Credentials for `settings`; raises AwsError (also when the deadline passes)."""
        try:
            async with asyncio.timeout(self.deadline_seconds):
                return await asyncio.to_thread(self.resolve_now, settings)
        except TimeoutError:
            raise AwsError(
                f"AWS credentials were not found within {self.deadline_seconds:g}s (is the STS endpoint reachable?)"
            ) from None

    def resolve_now(self, settings: AwsSettings) -> AwsAccess:
        """`resolve`, blocking (botocore's own calls): run it off the event loop."""
        from botocore.exceptions import BotoCoreError, ClientError

        with self._lock:
            entry = self._cache.get(settings)
        try:
            if entry is None:
                entry = _build_credentials(settings)
            frozen = entry[1].get_frozen_credentials()
        except (BotoCoreError, ClientError) as problem:
            with self._lock:
                self._cache.pop(settings, None)
            raise AwsError(describe_aws_problem(problem, settings)) from None
        if not frozen.access_key or not frozen.secret_key:
            raise AwsError("the AWS credentials found have no access key or secret key")
        with self._lock:
            self._cache[settings] = entry
        return AwsAccess(entry[0], frozen.access_key, frozen.secret_key, frozen.token or None)


def _build_credentials(settings: AwsSettings) -> tuple[str, Any]:
    from botocore.config import Config
    from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials
    from botocore.session import Session

    session = Session(profile=settings.profile or None)
    session.set_default_client_config(Config(**_CLIENT_TIMEOUTS))
    if settings.region:
        session.set_config_variable("region", settings.region)
    region = session.get_config_variable("region")
    if not region:
        raise AwsError("no AWS region: set AWS_REGION in the controller's environment (or sigv4.region on the metric)")
    credentials = session.get_credentials()
    if credentials is None:
        raise AwsError(
            "no AWS credentials found: give the controller AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile "
            "in the shared credentials file, or a web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN)"
        )
    if settings.role_arn:
        fetcher = AssumeRoleCredentialFetcher(
            client_creator=session.create_client,
            source_credentials=credentials,
            role_arn=settings.role_arn,
            extra_args={"RoleSessionName": ROLE_SESSION_NAME},
        )
        credentials = DeferredRefreshableCredentials(refresh_using=fetcher.fetch_credentials, method="assume-role")
    return str(region), credentials


def describe_aws_problem(problem: Exception, settings: AwsSettings) -> str:
    """One line for a botocore failure, naming the role when assuming it failed."""
    from botocore.exceptions import ClientError

    if isinstance(problem, ClientError):
        error = problem.response.get("Error", {})
        operation = problem.operation_name or "an AWS call"
        detail = f"{error.get('Code') or 'error'}: {error.get('Message') or 'no message'}"
        role = f" for role {settings.role_arn}" if settings.role_arn and operation == "AssumeRole" else ""
        return f"STS {operation}{role} failed: {detail}"
    text = str(problem).strip().splitlines()[0] if str(problem).strip() else type(problem).__name__
    return f"cannot get AWS credentials: {text}"


def sign_headers(
    access: AwsAccess, service: str, method: str, url: str, body: bytes, headers: Mapping[str, str]
) -> dict[str, str]:
    """The SigV4 headers (Authorization, X-Amz-Date, X-Amz-Security-Token) for a request with `headers`."""
    # Imported already by the credentials' resolution (credentials come before any signing).
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    credentials = _Credentials(access.access_key, access.secret_key, access.token)
    SigV4Auth(credentials, service, access.region).add_auth(request)
    return {name: str(request.headers[name]) for name in _SIGNED_RESPONSE_HEADERS if name in request.headers}


@dataclass(frozen=True)
class _Credentials:
    """What botocore's signer reads from credentials."""

    access_key: str
    secret_key: str
    token: str | None


class SigV4Signer(httpx.Auth):
    """Signs each httpx request (its method, URL, Content-Type and body) with resolved credentials."""

    requires_request_body = True

    def __init__(self, access: AwsAccess, service: str) -> None:
        self.access = access
        self.service = service

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        signed_headers = {}
        if "content-type" in request.headers:
            signed_headers["Content-Type"] = request.headers["content-type"]
        signed = sign_headers(
            self.access, self.service, request.method, str(request.url), request.content, signed_headers
        )
        for name, value in signed.items():
            request.headers[name] = value
        yield request
