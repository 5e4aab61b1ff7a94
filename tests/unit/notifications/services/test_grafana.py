"""`service.grafana` against a local server speaking Grafana's annotations API (`POST /api/annotations`)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from ramp.notifications.services.base import Notification, SendError, ServiceConfigError
from ramp.notifications.services.registry import build_service
from tests.backends import LocalHttpServer, serve
from tests.backends.paging import ContextCalls, GrafanaAnnotations

API_KEY = "glsa_s3cr3tT0kenValue_1234"


@pytest.fixture
def backend() -> GrafanaAnnotations:
    return GrafanaAnnotations(api_key=API_KEY)


@pytest.fixture
def server(backend: GrafanaAnnotations) -> Iterator[LocalHttpServer]:
    with serve(backend) as running:
        yield running


@pytest.fixture
async def calls() -> AsyncIterator[ContextCalls]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield ContextCalls(client)


def grafana(calls: ContextCalls, server: LocalHttpServer, **options: object):
    settings = {"apiUrl": f"{server.url}/api", "apiKey": API_KEY, **options}
    return build_service("grafana", "grafana", settings, calls.context())


async def test_the_message_becomes_an_annotation_tagged_with_the_recipients_tags(calls, server, backend) -> None:
    before = int(time.time() * 1000)
    await grafana(calls, server).send(Notification("Rollout guestbook is now running 1.2"), "ramp|guestbook")

    [annotation] = backend.annotations
    assert annotation["text"] == "Rollout guestbook is now running 1.2"
    assert annotation["tags"] == ["ramp", "guestbook"]
    assert annotation["isRegion"] is False
    assert before <= annotation["time"] <= int(time.time() * 1000)


async def test_upstreams_apiURL_spelling_and_a_trailing_slash_work(calls, server, backend) -> None:
    settings = {"apiURL": f"{server.url}/api/", "apiKey": API_KEY}
    await build_service("grafana", "grafana", settings, calls.context()).send(Notification("m"), "")
    assert backend.annotations[0]["tags"] == []


async def test_a_wrong_key_is_grafanas_401_and_the_key_is_never_in_the_error(calls, server, backend) -> None:
    service = grafana(calls, server, apiKey="glsa_wrong_key_9876")
    with pytest.raises(SendError) as raised:
        await service.send(Notification("m"), "ramp")
    assert str(raised.value).startswith("service.grafana: Grafana annotations API answered HTTP 401")
    assert "Invalid API key" in str(raised.value)
    assert "glsa_wrong_key_9876" not in str(raised.value)
    assert backend.annotations == []


async def test_an_empty_message_is_refused_before_sending(calls, server, backend) -> None:
    with pytest.raises(SendError, match=r"message is empty"):
        await grafana(calls, server).send(Notification(""), "ramp")
    assert backend.annotations == []
    assert server.requests == []


async def test_a_grafana_block_in_the_template_is_refused(calls, server, backend) -> None:
    with pytest.raises(SendError, match=r"grafana block"):
        await grafana(calls, server).send(Notification("m", {"grafana": {"dashboardUID": "abc"}}), "ramp")
    assert backend.annotations == []


async def test_a_wrong_api_path_is_grafanas_404(calls, server) -> None:
    settings = {"apiUrl": f"{server.url}/grafana/api", "apiKey": API_KEY}
    with pytest.raises(SendError, match=r"HTTP 404"):
        await build_service("grafana", "grafana", settings, calls.context()).send(Notification("m"), "ramp")


async def test_insecure_skip_verify_asks_for_a_client_that_skips_certificate_checks(calls, server, backend) -> None:
    await grafana(calls, server, insecureSkipVerify=True).send(Notification("m"), "ramp")
    assert calls.insecure_requests == [True]
    assert len(backend.annotations) == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"apiKey": API_KEY}, r"option apiUrl: is required", id="no_url"),
        pytest.param({"apiUrl": "grafana.example.com", "apiKey": API_KEY}, r"option apiUrl: must be", id="no_scheme"),
        pytest.param({"apiUrl": "https://g.example.com/api"}, r"option apiKey: is required", id="no_key"),
        pytest.param(
            {"apiUrl": "https://g.example.com/api", "apiKey": API_KEY, "idleConnTimeout": "90s"},
            r"option idleConnTimeout: Ramp does not tune",
            id="pool",
        ),
        pytest.param(
            {"apiUrl": "https://g.example.com/api", "apiKey": API_KEY, "dashboardUID": "x"},
            r"unknown option dashboardUID",
            id="unknown",
        ),
    ],
)
def test_bad_options_are_refused_when_the_service_is_built(options: dict[str, object], message: str) -> None:
    with pytest.raises(ServiceConfigError, match=message) as raised:
        build_service("grafana", "grafana", options, ContextCalls(httpx.AsyncClient()).context())
    assert API_KEY not in str(raised.value)
