"""`service.alertmanager` against local servers speaking Alertmanager's API v2 (`POST /api/v2/alerts`)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest

from ramp.notifications.services.base import Notification, SendError, ServiceConfigError
from ramp.notifications.services.registry import build_service
from tests.backends import LocalHttpServer, Reply, serve
from tests.backends.paging import AlertmanagerAlerts, ContextCalls

PASSWORD = "am-pass-Zq8!"
TOKEN = "am-bearer-token-7f3e"
DEPLOYED = Notification(
    message="Rollout guestbook has been healthy.",
    fields={
        "alertmanager": {
            "labels": {"fault_priority": "P5", "event_bucket": "deploy", "recipient": "team-a"},
            "annotations": {"rollout": "guestbook", "message": "Rollout guestbook has been healthy."},
            "generatorURL": "git@github.com:example/guestbook.git",
        }
    },
    template="rollout-completed",
)


@pytest.fixture
async def calls() -> AsyncIterator[ContextCalls]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield ContextCalls(client)


def target(server: LocalHttpServer) -> str:
    return server.url.removeprefix("http://")


def alertmanager(calls: ContextCalls, *servers: LocalHttpServer, **options: object):
    settings = {"targets": [target(server) for server in servers], **options}
    return build_service("alertmanager", "alertmanager", settings, calls.context())


async def test_the_alert_carries_labels_annotations_generator_url_and_start(calls) -> None:
    backend = AlertmanagerAlerts()
    with serve(backend) as server:
        await alertmanager(calls, server).send(DEPLOYED, "")

    [alert] = backend.alerts
    assert alert["labels"] == {
        "fault_priority": "P5",
        "event_bucket": "deploy",
        "recipient": "team-a",
        "alertname": "rollout-completed",
    }
    assert alert["annotations"] == {"rollout": "guestbook", "message": "Rollout guestbook has been healthy."}
    assert alert["generatorURL"] == "https://github.com/example/guestbook.git"
    assert datetime.fromisoformat(alert["startsAt"]).tzinfo is not None
    assert server.requests[0].headers["content-type"] == "application/json"
    assert "authorization" not in server.requests[0].headers


async def test_a_templates_own_alertname_wins(calls) -> None:
    backend = AlertmanagerAlerts()
    notification = Notification("m", {"alertmanager": {"labels": {"alertname": "app-deployed"}}}, template="t")
    with serve(backend) as server:
        await alertmanager(calls, server).send(notification, "")
    assert backend.alerts[0]["labels"] == {"alertname": "app-deployed"}
    assert "annotations" not in backend.alerts[0]
    assert "generatorURL" not in backend.alerts[0]


async def test_every_target_of_a_cluster_gets_the_alert(calls) -> None:
    first, second = AlertmanagerAlerts(), AlertmanagerAlerts()
    with serve(first) as one, serve(second) as two:
        await alertmanager(calls, one, two).send(DEPLOYED, "")
    assert len(first.alerts) == len(second.alerts) == 1


async def test_one_target_taking_the_alert_is_enough(calls) -> None:
    backend = AlertmanagerAlerts()
    with serve(AlertmanagerAlerts()) as gone:
        down = target(gone)
    with serve(backend) as server:
        service = build_service("alertmanager", "am", {"targets": [down, target(server)]}, calls.context())
        await service.send(DEPLOYED, "")
    assert len(backend.alerts) == 1


async def test_no_target_taking_it_is_a_send_error_naming_each(calls) -> None:
    with serve(AlertmanagerAlerts()) as gone:
        down = target(gone)
    with serve(AlertmanagerAlerts(bearer_token="other")) as server:
        service = build_service(
            "alertmanager", "am", {"targets": [down, target(server)], "bearerToken": TOKEN}, calls.context()
        )
        with pytest.raises(SendError) as raised:
            await service.send(DEPLOYED, "")
    message = str(raised.value)
    assert message.startswith("service.alertmanager.am: no Alertmanager took the alert: ")
    assert f"POST http://{down}/api/v2/alerts failed" in message
    assert "answered HTTP 401: Unauthorized" in message
    assert TOKEN not in message


async def test_basic_auth_is_sent_as_alertmanagers_web_config_expects(calls) -> None:
    backend = AlertmanagerAlerts(basic_auth=("ramp", PASSWORD))
    with serve(backend) as server:
        service = alertmanager(calls, server, basicAuth={"username": "ramp", "password": PASSWORD})
        await service.send(DEPLOYED, "")
    assert len(backend.alerts) == 1


async def test_a_wrong_password_is_a_401_without_the_password(calls) -> None:
    with serve(AlertmanagerAlerts(basic_auth=("ramp", "right"))) as server:
        service = alertmanager(calls, server, basicAuth={"username": "ramp", "password": PASSWORD})
        with pytest.raises(SendError, match="HTTP 401") as raised:
            await service.send(DEPLOYED, "")
    encoded = base64.b64encode(f"ramp:{PASSWORD}".encode()).decode()
    assert PASSWORD not in str(raised.value)
    assert encoded not in str(raised.value)


async def test_a_bearer_token_and_a_custom_api_path(calls) -> None:
    backend = AlertmanagerAlerts(bearer_token=TOKEN)

    def behind_a_proxy(request):
        return backend(request.__class__(**{**request.__dict__, "path": request.path.removeprefix("/am")}))

    with serve(behind_a_proxy) as server:
        await alertmanager(calls, server, bearerToken=TOKEN, apiPath="/am/api/v2/alerts").send(DEPLOYED, "")
    assert len(backend.alerts) == 1


async def test_the_timeout_option_bounds_each_request(calls) -> None:
    with serve(lambda _: Reply(200, delay_seconds=2.0)) as server, pytest.raises(SendError, match="timed out"):
        await alertmanager(calls, server, timeout=1).send(DEPLOYED, "")


async def test_alertmanagers_own_validation_error_comes_back(calls) -> None:
    notification = Notification("m", {"alertmanager": {"labels": {"alertname": ""}}})
    refused = r"HTTP 400: \"at least one label pair required\""
    with serve(AlertmanagerAlerts()) as server, pytest.raises(SendError, match=refused):
        await alertmanager(calls, server).send(notification, "")


async def test_a_template_without_labels_is_refused_before_sending(calls) -> None:
    with serve(AlertmanagerAlerts()) as server:
        with pytest.raises(SendError, match=r"alertmanager\.labels is missing"):
            await alertmanager(calls, server).send(Notification("m", template="t"), "")
        assert server.requests == []


async def test_no_alertname_and_no_template_name_is_refused(calls) -> None:
    with serve(AlertmanagerAlerts()) as server, pytest.raises(SendError, match=r"set labels\.alertname"):
        await alertmanager(calls, server).send(Notification("m", {"alertmanager": {"labels": {"a": "b"}}}), "")


async def test_insecure_skip_verify_asks_for_a_client_that_skips_certificate_checks(calls) -> None:
    backend = AlertmanagerAlerts()
    with serve(backend) as server:
        await alertmanager(calls, server, insecureSkipVerify=True).send(DEPLOYED, "")
    assert calls.insecure_requests == [True]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({}, r"option targets: is required", id="no_targets"),
        pytest.param({"targets": "a:9093"}, r"option targets: must be a list", id="targets_not_a_list"),
        pytest.param({"targets": ["http://a:9093"]}, r"each target must be host:port", id="target_with_scheme"),
        pytest.param({"targets": ["a:9093"], "scheme": "ftp"}, r"option scheme: must be http or https", id="scheme"),
        pytest.param({"targets": ["a:9093"], "apiPath": "api"}, r"option apiPath: must be a path", id="path"),
        pytest.param({"targets": ["a:9093"], "timeout": 0}, r"option timeout: must be a positive", id="timeout"),
        pytest.param(
            {"targets": ["a:9093"], "basicAuth": {"username": "u", "password": PASSWORD}, "bearerToken": TOKEN},
            r"basicAuth: and bearerToken are both set",
            id="both_auths",
        ),
        pytest.param(
            {"targets": ["a:9093"], "basicAuth": {"username": "u"}}, r"basicAuth: option password: is required", id="pw"
        ),
        pytest.param(
            {"targets": ["a:9093"], "basicAuth": {"username": "u", "password": PASSWORD, "realm": "x"}},
            r"basicAuth: unknown option realm",
            id="basic_auth_unknown_key",
        ),
        pytest.param({"targets": ["a:9093"], "maxConnsPerHost": 3}, r"maxConnsPerHost: Ramp does not tune", id="pool"),
        pytest.param({"targets": ["a:9093"], "receiver": "x"}, r"unknown option receiver", id="unknown"),
    ],
)
def test_bad_options_are_refused_when_the_service_is_built(options: dict[str, object], message: str) -> None:
    with pytest.raises(ServiceConfigError, match=message) as raised:
        build_service("alertmanager", "alertmanager", options, ContextCalls(httpx.AsyncClient()).context())
    assert PASSWORD not in str(raised.value)
    assert TOKEN not in str(raised.value)
