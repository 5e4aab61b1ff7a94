"""A local stand-in for AWS: STS and one signed service endpoint on 127.0.0.1 (a free port).

`AwsStandIn` answers STS's `AssumeRoleWithWebIdentity` (checking the web identity token) and `AssumeRole` (checking
its SigV4 signature) with temporary credentials in STS's XML, and passes every other request to the test's
responder only when its SigV4 signature is right: the signature is computed again with botocore from the known
test credentials and the request exactly as it arrived. A request with a wrong signature gets 403, as AWS answers.
`signed_with` keeps which access key signed each service request, `sts_calls` each STS form.

`isolate_aws_environment` clears the caller's AWS variables and files (and turns off the instance metadata
endpoint), so botocore finds only what a test gives it. Used by tests/unit/providers and tests/e2e.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from tests.backends import LocalHttpServer, ReceivedRequest, Reply

REGION = "us-east-1"
WEB_IDENTITY_TOKEN = "eyJ.test-web-identity-token.sig"
WEB_IDENTITY_ROLE = "arn:aws:iam::123456789012:role/ramp-web-identity"


@dataclass(frozen=True)
class KeyPair:
    access_key: str
    secret_key: str
    token: str | None = None


BASE_KEYS = KeyPair("AKIDBASEEXAMPLE", "base/secret/KEYEXAMPLE")
PROFILE_KEYS = KeyPair("AKIDPROFILEEXAMPLE", "profile/secret/KEYEXAMPLE")
WEB_KEYS = KeyPair("ASIAWEBEXAMPLE", "web/secret/KEYEXAMPLE", "web-session-token")
ROLE_KEYS = KeyPair("ASIAROLEEXAMPLE", "role/secret/KEYEXAMPLE", "role-session-token")
KNOWN_KEYS = {keys.access_key: keys for keys in (BASE_KEYS, PROFILE_KEYS, WEB_KEYS, ROLE_KEYS)}


def isolate_aws_environment(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """No AWS variable, config or credentials file of the machine reaches botocore; no instance metadata calls."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(folder / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(folder / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def use_keys(monkeypatch: pytest.MonkeyPatch, keys: KeyPair) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys.secret_key)
    if keys.token:
        monkeypatch.setenv("AWS_SESSION_TOKEN", keys.token)


def use_web_identity(monkeypatch: pytest.MonkeyPatch, folder: Path, sts_url: str) -> None:
    """The variables EKS sets for a service account with an IAM role, STS pointed at the stand-in."""
    token_file = folder / "web-identity-token"
    token_file.write_text(WEB_IDENTITY_TOKEN)
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_ROLE_ARN", WEB_IDENTITY_ROLE)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts_url)


def read_authorization(value: str) -> dict[str, str]:
    """The parts of `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`."""
    algorithm, _, rest = value.partition(" ")
    parts = dict(item.strip().split("=", 1) for item in rest.split(","))
    return {"algorithm": algorithm, **parts}


def signing_key(
    request: ReceivedRequest, base_url: str, service: str, known: Mapping[str, KeyPair] = KNOWN_KEYS
) -> str | None:
    """The access key (one of `known`) whose SigV4 signature for `service` the request carries, or None."""
    header = request.headers.get("authorization", "")
    if not header.startswith("AWS4-HMAC-SHA256 "):
        return None
    parts = read_authorization(header)
    access_key, _date, region, signed_service, _ = parts["Credential"].split("/")
    keys = known.get(access_key)
    if keys is None or signed_service != service or region != REGION:
        return None
    if request.headers.get("x-amz-security-token") != keys.token:
        return None
    names = parts["SignedHeaders"].split(";")
    url = base_url + request.path + (("?" + urlencode(request.query)) if request.query else "")
    rebuilt = AWSRequest(
        method=request.method, url=url, data=request.body, headers={name: request.headers[name] for name in names}
    )
    rebuilt.context["timestamp"] = request.headers["x-amz-date"]
    signer = SigV4Auth(keys, signed_service, region)
    expected = signer.signature(signer.string_to_sign(rebuilt, signer.canonical_request(rebuilt)), rebuilt)
    return access_key if expected == parts["Signature"] else None


def sts_credentials_reply(action: str, keys: KeyPair) -> Reply:
    expiration = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = (
        f'<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><{action}Result>'
        f"<Credentials><AccessKeyId>{keys.access_key}</AccessKeyId><SecretAccessKey>{keys.secret_key}"
        f"</SecretAccessKey><SessionToken>{keys.token}</SessionToken><Expiration>{expiration}</Expiration>"
        "</Credentials><AssumedRoleUser><AssumedRoleId>AROA:ramp</AssumedRoleId>"
        "<Arn>arn:aws:sts::123456789012:assumed-role/ramp/ramp</Arn></AssumedRoleUser>"
        f"</{action}Result><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></{action}Response>"
    )
    return Reply(200, body, {"Content-Type": "text/xml"})


def sts_error_reply(code: str, message: str, status: int = 403) -> Reply:
    body = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>1</RequestId></ErrorResponse>"
    )
    return Reply(status, body, {"Content-Type": "text/xml"})


class AwsStandIn:
    """STS and a SigV4-checking service endpoint (`service`, such as "aps") on one local server."""

    def __init__(
        self, service: str, respond: Callable[[ReceivedRequest], Reply], refused_roles: frozenset[str] = frozenset()
    ) -> None:
        self.service = service
        self.respond = respond
        self.refused_roles = refused_roles
        self.signed_with: list[str | None] = []
        self.sts_calls: list[dict[str, str]] = []
        self.server = LocalHttpServer(self._answer)

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> AwsStandIn:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def _answer(self, request: ReceivedRequest) -> Reply:
        form = request.form if request.method == "POST" and request.path == "/" else {}
        action = form.get("Action", "")
        if action == "AssumeRoleWithWebIdentity":
            self.sts_calls.append(form)
            if form.get("WebIdentityToken") != WEB_IDENTITY_TOKEN:
                return sts_error_reply("InvalidIdentityToken", "The web identity token is not valid", 400)
            return sts_credentials_reply(action, WEB_KEYS)
        if action == "AssumeRole":
            self.sts_calls.append(form)
            if signing_key(request, self.url, "sts") is None:
                return sts_error_reply("SignatureDoesNotMatch", "The request signature does not match")
            if form.get("RoleArn") in self.refused_roles:
                return sts_error_reply("AccessDenied", f"Not authorized to assume {form.get('RoleArn')}")
            return sts_credentials_reply(action, ROLE_KEYS)
        signer = signing_key(request, self.url, self.service)
        self.signed_with.append(signer)
        if signer is None:
            return Reply.json('{"message":"The request signature we calculated does not match the signature"}', 403)
        return self.respond(request)
