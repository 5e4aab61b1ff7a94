"""The prometheus provider's AWS SigV4 signing (Amazon Managed Prometheus), against a local STS and query endpoint.

The stand-in (tests.backends.aws) recomputes every signature with botocore from the known test credentials before
it answers the query, so a reading that succeeds proves the request was signed with the expected credentials.
Credentials come from the standard AWS chain: environment keys, a shared credentials file profile, a web identity
token exchanged through STS AssumeRoleWithWebIdentity, and `roleArn` assumed through STS AssumeRole.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ramp.api.analysis import Metric
from ramp.providers.aws import AwsAccess, SigV4Signer
from ramp.providers.base import EVALUATE, MeasurementContext, Reading
from ramp.providers.prometheus import PrometheusProvider
from tests.backends import ReceivedRequest, Reply
from tests.backends.aws import (
    BASE_KEYS,
    PROFILE_KEYS,
    REGION,
    ROLE_KEYS,
    WEB_IDENTITY_ROLE,
    WEB_IDENTITY_TOKEN,
    WEB_KEYS,
    AwsStandIn,
    isolate_aws_environment,
    read_authorization,
    signing_key,
    use_keys,
    use_web_identity,
)

NOW = datetime(2024, 1, 1, tzinfo=UTC)
ROLE = "arn:aws:iam::123456789012:role/amp-reader"
VECTOR = '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1704067200,"0.99"]}]}}'


def answer_query(request: ReceivedRequest) -> Reply:
    if request.path == "/workspaces/ws-1/api/v1/query":
        return Reply.json(VECTOR)
    return Reply.json('{"status":"error","errorType":"not_found","error":"no such path"}', 404)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[AwsStandIn]:
    isolate_aws_environment(monkeypatch, tmp_path)
    stand_in = AwsStandIn("aps", answer_query, refused_roles=frozenset({"arn:aws:iam::123456789012:role/other"}))
    stand_in.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", stand_in.url)
    yield stand_in
    stand_in.stop()


async def measure(address: str, sigv4: dict[str, Any], **settings: Any) -> Reading:
    prometheus = {"address": address, "query": "up", "authentication": {"sigv4": sigv4}, **settings}
    metric = Metric.model_validate({"name": "m", "provider": {"prometheus": prometheus}})
    async with httpx.AsyncClient() as http:
        context = MeasurementContext(metric=metric, namespace="default", run_name="r", run_uid="u", now=NOW, http=http)
        return await PrometheusProvider().measure(context)


async def test_environment_keys_sign_the_query(aws: AwsStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    use_keys(monkeypatch, BASE_KEYS)
    reading = await measure(aws.url + "/workspaces/ws-1", {"region": REGION})
    assert (reading.phase, reading.value, reading.message) == (EVALUATE, "[0.99]", None)
    assert aws.signed_with == [BASE_KEYS.access_key]
    assert aws.sts_calls == []


async def test_a_web_identity_is_exchanged_through_sts(
    aws: AwsStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_web_identity(monkeypatch, tmp_path, aws.url)
    reading = await measure(aws.url + "/workspaces/ws-1", {"region": REGION})
    assert (reading.phase, reading.value) == (EVALUATE, "[0.99]")
    assert [(call["Action"], call["RoleArn"], call["WebIdentityToken"]) for call in aws.sts_calls] == [
        ("AssumeRoleWithWebIdentity", WEB_IDENTITY_ROLE, WEB_IDENTITY_TOKEN)
    ]
    assert aws.signed_with == [WEB_KEYS.access_key]


async def test_role_arn_is_assumed_with_the_chain_credentials(aws: AwsStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    use_keys(monkeypatch, BASE_KEYS)
    reading = await measure(aws.url + "/workspaces/ws-1", {"region": REGION, "roleArn": ROLE})
    assert (reading.phase, reading.value) == (EVALUATE, "[0.99]")
    assert [(call["Action"], call["RoleArn"]) for call in aws.sts_calls] == [("AssumeRole", ROLE)]
    assert aws.signed_with == [ROLE_KEYS.access_key]


async def test_a_profile_reads_the_shared_credentials_file(
    aws: AwsStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "aws-credentials").write_text(
        f"[team]\naws_access_key_id = {PROFILE_KEYS.access_key}\naws_secret_access_key = {PROFILE_KEYS.secret_key}\n"
    )
    use_keys(monkeypatch, BASE_KEYS)  # a named profile wins over the environment's keys, as in the AWS SDKs
    reading = await measure(aws.url + "/workspaces/ws-1", {"region": REGION, "profile": "team"})
    assert (reading.phase, reading.value) == (EVALUATE, "[0.99]")
    assert aws.signed_with == [PROFILE_KEYS.access_key]


@pytest.mark.parametrize(
    ("sigv4", "keys", "message"),
    [
        pytest.param({"region": REGION}, False, "no AWS credentials found", id="no_credentials"),
        pytest.param(
            {"region": REGION, "profile": "nope"}, True, "The config profile (nope) could not be found", id="no_profile"
        ),
        pytest.param(
            {"region": REGION, "roleArn": "arn:aws:iam::123456789012:role/other"},
            True,
            "STS AssumeRole for role arn:aws:iam::123456789012:role/other failed: AccessDenied",
            id="role_refused",
        ),
        # Upstream signs whenever the address is Amazon Managed Prometheus', even with no sigv4 settings.
        pytest.param({}, True, "no AWS region", id="aps_workspaces_address_without_region"),
    ],
)
async def test_credentials_that_cannot_be_had_are_errors_and_nothing_is_queried(
    aws: AwsStandIn, monkeypatch: pytest.MonkeyPatch, sigv4: dict[str, str], keys: bool, message: str
) -> None:
    if keys:
        use_keys(monkeypatch, BASE_KEYS)
    reading = await measure(aws.url + "/aps-workspaces/ws-1", sigv4)
    assert reading.phase == "Error"
    assert (reading.message or "").startswith("provider.prometheus.authentication.sigv4: ")
    assert message in (reading.message or "")
    assert BASE_KEYS.secret_key not in (reading.message or "")
    assert aws.signed_with == []


async def test_sigv4_with_basic_auth_is_refused_naming_both(aws: AwsStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    use_keys(monkeypatch, BASE_KEYS)
    reading = await measure(
        aws.url + "/workspaces/ws-1",
        {"region": REGION},
        authentication={"sigv4": {"region": REGION}, "basicAuth": {"username": "u", "password": "p"}},
    )
    assert reading.phase == "Error"
    assert "sets sigv4 together with basicAuth or oauth2" in (reading.message or "")
    assert aws.signed_with == []


async def test_a_wrong_secret_is_refused_by_the_endpoint(aws: AwsStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    use_keys(monkeypatch, BASE_KEYS.__class__(BASE_KEYS.access_key, "not-the-secret"))
    reading = await measure(aws.url + "/workspaces/ws-1", {"region": REGION})
    assert reading.phase == "Error"
    assert "answered HTTP 403" in (reading.message or "")
    assert aws.signed_with == [None]


def test_the_signer_signs_an_httpx_request_as_botocore_checks_it() -> None:
    """A MockTransport sees the signed request: the Authorization header names the key, region and service."""
    seen: list[httpx.Request] = []

    def transport(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"status": "success"})

    access = AwsAccess(REGION, ROLE_KEYS.access_key, ROLE_KEYS.secret_key, ROLE_KEYS.token)
    with httpx.Client(transport=httpx.MockTransport(transport)) as client:
        client.post("http://aps.test:8080/api/v1/query", data={"query": "up"}, auth=SigV4Signer(access, "aps"))
    request = seen[0]
    parts = read_authorization(request.headers["authorization"])
    assert parts["Credential"].startswith(f"{ROLE_KEYS.access_key}/")
    assert parts["Credential"].endswith(f"/{REGION}/aps/aws4_request")
    assert parts["SignedHeaders"] == "content-type;host;x-amz-date;x-amz-security-token"
    assert request.headers["x-amz-security-token"] == ROLE_KEYS.token
    received = ReceivedRequest(
        request.method, request.url.path, {}, {k.lower(): v for k, v in request.headers.items()}, request.content
    )
    assert signing_key(received, "http://aps.test:8080", "aps") == ROLE_KEYS.access_key
