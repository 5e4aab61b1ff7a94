"""`service.github` against a local GitHub: the App's JWT checked, installation tokens issued, commit statuses set."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ramp.notifications.services.base import Notification, SendError, ServiceConfigError
from ramp.notifications.services.registry import build_service
from tests.backends import LocalHttpServer, serve
from tests.backends.github import GitHubApp
from tests.backends.paging import ContextCalls, redirecting_client

APP_ID = 123456
INSTALLATION_ID = 98765432
SHA = "0d1a2b3c4d5e6f708192a3b4c5d6e7f801234567"


def pem(
    key: rsa.RSAPrivateKey, fmt: serialization.PrivateFormat = serialization.PrivateFormat.TraditionalOpenSSL
) -> str:
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def github(key: rsa.RSAPrivateKey) -> GitHubApp:
    return GitHubApp(APP_ID, INSTALLATION_ID, key.public_key(), repos={"example/guestbook": {SHA}})


@pytest.fixture
def server(github: GitHubApp) -> Iterator[LocalHttpServer]:
    with serve(github) as running:
        yield running


@pytest.fixture
async def calls(server: LocalHttpServer) -> AsyncIterator[ContextCalls]:
    async with redirecting_client(server.url) as client:
        yield ContextCalls(client)


def options(key: rsa.RSAPrivateKey, **more: object) -> dict[str, object]:
    return {"appID": APP_ID, "installationID": str(INSTALLATION_ID), "privateKey": pem(key), **more}


def completed(**status: str) -> Notification:
    return Notification(
        message="Rollout guestbook is now running 0d1a2b3.",
        fields={
            "github": {
                "repoURLPath": "https://github.com/example/guestbook.git",
                "revisionPath": SHA,
                "status": {
                    "state": "success",
                    "label": "continuous-delivery/guestbook",
                    "targetURL": "https://ramp.example.com/rollouts/guestbook",
                    **status,
                },
            }
        },
    )


async def test_a_status_is_set_with_an_installation_token_bought_with_the_apps_jwt(key, calls, server, github) -> None:
    await build_service("github", "github", options(key), calls.context()).send(completed(), "")

    assert github.statuses == [
        (
            "example/guestbook",
            SHA,
            {
                "id": 1,
                "state": "success",
                "description": "Rollout guestbook is now running 0d1a2b3.",
                "target_url": "https://ramp.example.com/rollouts/guestbook",
                "context": "continuous-delivery/guestbook",
            },
        )
    ]
    exchange, status = server.requests
    assert exchange.path == f"/app/installations/{INSTALLATION_ID}/access_tokens"
    assert exchange.headers["host"] == "api.github.com"
    assert status.headers["accept"] == "application/vnd.github+json"


async def test_the_installation_token_is_kept_until_it_nearly_expires(key, calls, github) -> None:
    service = build_service("github", "github", options(key), calls.context())
    for state in ("pending", "success", "failure"):
        await service.send(completed(state=state), "")
    assert github.tokens_issued == 1
    assert [status["state"] for _, _, status in github.statuses] == ["pending", "success", "failure"]


async def test_a_token_about_to_expire_is_renewed(key, calls, github) -> None:
    github.token_lifetime = timedelta(seconds=30)
    service = build_service("github", "github", options(key), calls.context())
    await service.send(completed(), "")
    await service.send(completed(), "")
    assert github.tokens_issued == 2


async def test_a_revoked_token_fails_once_and_the_next_send_buys_a_new_one(key, calls, github) -> None:
    service = build_service("github", "github", options(key), calls.context())
    await service.send(completed(), "")
    github.revoke_tokens()
    with pytest.raises(SendError, match=r"HTTP 401.*Bad credentials") as raised:
        await service.send(completed(), "")
    assert "ghs_" not in str(raised.value)
    await service.send(completed(), "")
    assert github.tokens_issued == 2
    assert len(github.statuses) == 2


async def test_a_key_that_is_not_the_apps_is_refused_by_github(calls, github) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    service = build_service("github", "github", options(stranger), calls.context())
    with pytest.raises(SendError) as raised:
        await service.send(completed(), "")
    assert "installation token exchange answered HTTP 401" in str(raised.value)
    assert "A JSON web token could not be decoded" in str(raised.value)
    assert "PRIVATE KEY" not in str(raised.value)
    assert github.statuses == []


async def test_a_wrong_app_id_or_installation_is_githubs_answer(key, calls, github) -> None:
    with pytest.raises(SendError, match="Integration not found"):
        await build_service("github", "github", options(key, appID=1), calls.context()).send(completed(), "")
    with pytest.raises(SendError, match="HTTP 404"):
        await build_service("github", "github", options(key, installationID=1), calls.context()).send(completed(), "")


async def test_a_pkcs8_key_and_ssh_repository_urls_work(key, calls, github) -> None:
    settings = options(key, privateKey=pem(key, serialization.PrivateFormat.PKCS8))
    service = build_service("github", "github", settings, calls.context())
    for url in ("git@github.com:example/guestbook.git", "ssh://git@github.com/example/guestbook"):
        notification = completed()
        notification.fields["github"]["repoURLPath"] = url
        await service.send(notification, "")
    assert [repo for repo, _, _ in github.statuses] == ["example/guestbook", "example/guestbook"]


async def test_the_message_is_cut_to_githubs_140_characters(key, calls, github) -> None:
    notification = Notification("y" * 300, completed().fields)
    await build_service("github", "github", options(key), calls.context()).send(notification, "")
    description = github.statuses[0][2]["description"]
    assert len(description) == 140
    assert description.endswith("...")


async def test_an_invalid_state_is_githubs_validation_error(key, calls, github) -> None:
    with pytest.raises(SendError, match=r"HTTP 422.*state is not included in the list"):
        await build_service("github", "github", options(key), calls.context()).send(completed(state="done"), "")


async def test_an_unknown_commit_is_githubs_validation_error(key, calls) -> None:
    notification = completed()
    notification.fields["github"]["revisionPath"] = "f" * 40
    with pytest.raises(SendError, match=r"No commit found for SHA"):
        await build_service("github", "github", options(key), calls.context()).send(notification, "")


async def test_githubs_status_limit_counts_as_sent_as_upstream_does(key, calls, github) -> None:
    github.status_limit = 1
    service = build_service("github", "github", options(key), calls.context())
    await service.send(completed(), "")
    await service.send(completed(), "")
    assert len(github.statuses) == 1


async def test_github_enterprise_serves_under_api_v3(key, github) -> None:
    github.prefix = "/api/v3"
    with serve(github) as server:
        async with httpx.AsyncClient(timeout=5) as client:
            context = ContextCalls(client).context()
            for base in (server.url, f"{server.url}/api/v3/"):
                service = build_service("github", "ghe", options(key, enterpriseBaseURL=base), context)
                await service.send(completed(), "")
    assert len(github.statuses) == 2
    assert all(request.path.startswith("/api/v3/") for request in server.requests)


def commented(content: str, tag: str | None = None) -> Notification:
    comment = {"content": content, **({"commentTag": tag} if tag else {})}
    block = {"repoURLPath": "https://github.com/example/guestbook", "revisionPath": SHA, "pullRequestComment": comment}
    return Notification("m", {"github": block})


async def test_each_pull_request_of_the_revision_gets_a_comment(key, calls, github) -> None:
    github.pulls = {"example/guestbook": {7: {SHA}, 8: {SHA}, 9: {"f" * 40}}}
    service = build_service("github", "github", options(key), calls.context())
    await service.send(commented("Rollout guestbook is now running 0d1a2b3."), "")
    await service.send(commented("Rollout guestbook is now running 0d1a2b3."), "")

    assert [(c["issue"], c["body"]) for c in github.comments] == [
        (7, "Rollout guestbook is now running 0d1a2b3."),
        (8, "Rollout guestbook is now running 0d1a2b3."),
        (7, "Rollout guestbook is now running 0d1a2b3."),
        (8, "Rollout guestbook is now running 0d1a2b3."),
    ]


async def test_a_tagged_comment_is_edited_in_place_with_upstreams_marker(key, calls, github) -> None:
    github.pulls = {"example/guestbook": {7: {SHA}}}
    github.comments.append(
        {
            "id": 1,
            "repo": "example/guestbook",
            "issue": 7,
            "body": "left by Argo\n<!-- argocd-notifications cd/guestbook -->",
            "edits": 0,
        }
    )
    service = build_service("github", "github", options(key), calls.context())
    await service.send(commented("Paused at step 2.", tag="cd/guestbook"), "")
    await service.send(commented("Completed.", tag="cd/guestbook"), "")

    assert github.comments == [
        {
            "id": 1,
            "repo": "example/guestbook",
            "issue": 7,
            "body": "Completed.\n<!-- argocd-notifications cd/guestbook -->",
            "edits": 2,
        }
    ]


async def test_a_comment_is_cut_to_githubs_65536_characters(key, calls, github) -> None:
    github.pulls = {"example/guestbook": {7: {SHA}}}
    service = build_service("github", "github", options(key), calls.context())
    await service.send(commented("z" * 70000, tag="cd"), "")
    await service.send(commented("z" * 70000), "")
    assert [len(c["body"]) for c in github.comments] == [65536, 65536]
    assert github.comments[0]["body"].endswith("...\n<!-- argocd-notifications cd -->")


async def test_an_empty_comment_is_githubs_validation_error(key, calls, github) -> None:
    github.pulls = {"example/guestbook": {7: {SHA}}}
    with pytest.raises(SendError, match=r"GitHub \(comment\) answered HTTP 422.*body wasn't supplied"):
        await build_service("github", "github", options(key), calls.context()).send(commented(""), "")


def deployed(state: str, **more: object) -> Notification:
    block = {
        "state": state,
        "environment": "production",
        "environmentURL": "https://guestbook.example.com",
        "logURL": "https://ramp.example.com/rollouts/guestbook",
        "requiredContexts": [],
        **more,
    }
    return Notification(
        "Rollout guestbook is now running 0d1a2b3.",
        {"github": {"repoURLPath": "https://github.com/example/guestbook", "revisionPath": SHA, "deployment": block}},
    )


async def test_a_deployment_is_created_once_and_each_send_adds_a_status(key, calls, github) -> None:
    service = build_service("github", "github", options(key), calls.context())
    await service.send(deployed("in_progress"), "")
    await service.send(deployed("success"), "")

    [deployment] = github.deployments
    assert deployment["request"] == {
        "ref": SHA,
        "auto_merge": True,
        "transient_environment": False,
        "environment": "production",
        "required_contexts": [],
    }
    assert [(deployment_id, status["state"]) for deployment_id, status in github.deployment_statuses] == [
        (deployment["id"], "in_progress"),
        (deployment["id"], "success"),
    ]
    assert github.deployment_statuses[1][1] == {
        "id": 2,
        "state": "success",
        "environment": "production",
        "environment_url": "https://guestbook.example.com",
        "log_url": "https://ramp.example.com/rollouts/guestbook",
        "description": "Rollout guestbook is now running 0d1a2b3.",
    }


async def test_a_deployment_to_another_environment_is_a_new_deployment(key, calls, github) -> None:
    service = build_service("github", "github", options(key), calls.context())
    await service.send(deployed("success"), "")
    await service.send(deployed("success", environment="staging", autoMerge=False, transientEnvironment="true"), "")
    assert [
        (d["environment"], d["request"]["auto_merge"], d["request"]["transient_environment"])
        for d in github.deployments
    ] == [
        ("production", True, False),
        ("staging", False, True),
    ]


async def test_githubs_refusal_of_a_deployment_state_comes_back(key, calls, github) -> None:
    with pytest.raises(SendError, match=r"GitHub \(deployment status\) answered HTTP 422.*state is not included"):
        await build_service("github", "github", options(key), calls.context()).send(deployed("done"), "")


async def test_a_reference_that_github_does_not_know_is_its_422(key, calls, github) -> None:
    with pytest.raises(SendError, match=r"GitHub \(deployment\) answered HTTP 422.*No ref found for: v9"):
        await build_service("github", "github", options(key), calls.context()).send(
            deployed("success", reference="v9"), ""
        )
    assert github.deployment_statuses == []


async def test_a_check_run_is_created_on_the_revision(key, calls, github) -> None:
    notification = completed()
    del notification.fields["github"]["status"]
    notification.fields["github"]["checkRun"] = {
        "name": "continuous-delivery/guestbook",
        "details_url": "https://ramp.example.com/rollouts/guestbook",
        "conclusion": "success",
        "started_at": "2024-01-01T12:00:00Z",
        "completed_at": "2024-01-01T12:05:00Z",
        "output": {"title": "Rollout of guestbook", "summary": "guestbook runs 0d1a2b3", "text": "All steps passed."},
    }
    await build_service("github", "github", options(key), calls.context()).send(notification, "")

    [(repo, run)] = github.check_runs
    assert repo == "example/guestbook"
    assert run == {
        "id": 1,
        "name": "continuous-delivery/guestbook",
        "head_sha": SHA,
        "external_id": "ramp-notifications",
        "status": "completed",
        "conclusion": "success",
        "details_url": "https://ramp.example.com/rollouts/guestbook",
        "started_at": "2024-01-01T12:00:00Z",
        "completed_at": "2024-01-01T12:05:00Z",
        "output": {"title": "Rollout of guestbook", "summary": "guestbook runs 0d1a2b3", "text": "All steps passed."},
    }
    assert github.statuses == []


async def test_a_completed_check_run_without_conclusion_is_refused_as_upstream_does(key, calls, server) -> None:
    notification = completed()
    notification.fields["github"]["checkRun"] = {"name": "cd", "status": "completed"}
    with pytest.raises(SendError, match=r"github\.checkRun\.conclusion is required when status is completed"):
        await build_service("github", "github", options(key), calls.context()).send(notification, "")
    assert server.requests == []


async def test_status_check_run_and_dispatch_all_go_out_in_upstreams_order(key, calls, server, github) -> None:
    notification = completed()
    notification.fields["github"]["checkRun"] = {"name": "cd", "status": "in_progress"}
    notification.fields["github"]["repositoryDispatch"] = {
        "event_type": "rollout-completed",
        "client_payload": '{"rollout": "guestbook", "revision": 3}',
    }
    await build_service("github", "github", options(key), calls.context()).send(notification, "")

    assert [request.path.rsplit("/", 2)[-2:] for request in server.requests[1:]] == [
        ["statuses", SHA],
        ["guestbook", "check-runs"],
        ["guestbook", "dispatches"],
    ]
    assert github.dispatches == [
        (
            "example/guestbook",
            {"event_type": "rollout-completed", "client_payload": {"rollout": "guestbook", "revision": 3}},
        )
    ]
    assert github.check_runs[0][1]["status"] == "in_progress"


async def test_a_dispatch_needs_no_revision_but_a_json_object_payload(key, calls, server, github) -> None:
    service = build_service("github", "github", options(key), calls.context())
    block = {"repoURLPath": "https://github.com/example/guestbook", "repositoryDispatch": {"event_type": "go"}}
    await service.send(Notification("m", {"github": block}), "")
    assert github.dispatches == [("example/guestbook", {"event_type": "go"})]

    block["repositoryDispatch"] = {"event_type": "go", "client_payload": "[1, 2]"}
    with pytest.raises(SendError, match=r"client_payload must be a JSON object"):
        await service.send(Notification("m", {"github": block}), "")


async def test_githubs_check_run_validation_comes_back_in_its_words(key, calls) -> None:
    notification = completed()
    del notification.fields["github"]["status"]
    notification.fields["github"]["checkRun"] = {"name": "cd", "status": "done"}
    with pytest.raises(SendError, match=r"GitHub \(check run\) answered HTTP 422.*status is not included in the list"):
        await build_service("github", "github", options(key), calls.context()).send(notification, "")


@pytest.mark.parametrize(
    ("github_block", "message"),
    [
        pytest.param({"revisionPath": SHA, "status": {"state": "success"}}, r"repoURLPath is missing", id="no_repo"),
        pytest.param(
            {"repoURLPath": "https://github.com/example/guestbook", "status": {"state": "success"}},
            r"revisionPath is missing",
            id="no_revision",
        ),
        pytest.param(
            {"repoURLPath": "guestbook", "revisionPath": SHA, "status": {"state": "success"}},
            r"names no owner/repository",
            id="no_owner",
        ),
        pytest.param(
            {"repoURLPath": "https://github.com/example/guestbook", "revisionPath": SHA},
            r"status is missing",
            id="none",
        ),
    ],
)
async def test_templates_that_say_too_little_are_refused(key, calls, server, github_block, message) -> None:
    with pytest.raises(SendError, match=message):
        await build_service("github", "github", options(key), calls.context()).send(
            Notification("m", {"github": github_block}), ""
        )
    assert server.requests == []


async def test_a_recipient_is_refused_because_the_template_names_the_repository(key, calls, server) -> None:
    with pytest.raises(SendError, match=r"takes no recipient"):
        await build_service("github", "github", options(key), calls.context()).send(completed(), "example/guestbook")
    assert server.requests == []


async def test_insecure_skip_verify_asks_for_a_client_that_skips_certificate_checks(key, calls, github) -> None:
    await build_service("github", "github", options(key, insecureSkipVerify=True), calls.context()).send(
        completed(), ""
    )
    assert calls.insecure_requests == [True]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"appID": None}, r"option appID: is required", id="no_app_id"),
        pytest.param({"appID": "12a"}, r"option appID: must be a whole number", id="app_id_not_a_number"),
        pytest.param({"installationID": None}, r"option installationID: is required", id="no_installation"),
        pytest.param({"privateKey": None}, r"option privateKey: is required", id="no_key"),
        pytest.param({"privateKey": "-----BEGIN RSA PRIVATE KEY-----\nabc\n"}, r"privateKey: is not a PEM", id="bad"),
        pytest.param({"enterpriseBaseURL": "git.example.com"}, r"enterpriseBaseURL: must be an http", id="ghe_url"),
        pytest.param({"maxIdleConnsPerHost": 2}, r"maxIdleConnsPerHost: Ramp does not tune", id="pool"),
        pytest.param({"token": "ghp_x"}, r"unknown option token", id="unknown"),
    ],
)
def test_bad_options_are_refused_when_the_service_is_built(key, changes: dict[str, object], message: str) -> None:
    settings = {name: value for name, value in {**options(key), **changes}.items() if value is not None}
    with pytest.raises(ServiceConfigError, match=message) as raised:
        build_service("github", "github", settings, ContextCalls(httpx.AsyncClient()).context())
    assert "PRIVATE KEY" not in str(raised.value)
    assert "ghp_x" not in str(raised.value)
