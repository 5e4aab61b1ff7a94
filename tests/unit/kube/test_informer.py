"""The informer's list/watch state machine, driven through an httpx.MockTransport (one client's transport
stub answering a scripted sequence, not an API server): paging, events, bookmarks, 410 → re-list, and
reconnecting from the last resourceVersion after a dropped connection."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

import httpx
import pytest

from ramp.kube import informer as informer_module
from ramp.kube.client import KubeClient
from ramp.kube.config import ClusterConfig
from ramp.kube.informer import EventHandler, Informer
from ramp.kube.metrics import K8S_REQUESTS
from ramp.kube.resources import REPLICA_SETS, ROLLOUTS

Script = list[Callable[[httpx.Request], httpx.Response]]


def _obj(name: str, rv: str, namespace: str = "ns") -> dict:
    return {"metadata": {"name": name, "namespace": namespace, "resourceVersion": rv, "managedFields": [{}]}}


def _list(items: list[dict], rv: str, cont: str = "") -> Callable[[httpx.Request], httpx.Response]:
    return lambda _: httpx.Response(200, json={"items": items, "metadata": {"resourceVersion": rv, "continue": cont}})


def _watch(*events: dict) -> Callable[[httpx.Request], httpx.Response]:
    body = "".join(json.dumps(e) + "\n" for e in events).encode()
    return lambda _: httpx.Response(200, content=body)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        self.two_updates = asyncio.Event()

    def handler(self) -> EventHandler:
        return EventHandler(
            on_add=lambda o: self.seen.append(("add", _name_rv(o))),
            on_update=self._update,
            on_delete=lambda o: self.seen.append(("delete", _name_rv(o))),
        )

    def _update(self, old: dict, new: dict) -> None:
        self.seen.append(("update", f"{_name_rv(old)}->{_name_rv(new)}"))
        if sum(kind == "update" for kind, _ in self.seen) >= 2:
            self.two_updates.set()


def _name_rv(obj: dict) -> str:
    return f"{obj['metadata']['name']}@{obj['metadata']['resourceVersion']}"


class ScriptedClient:
    """A KubeClient whose transport answers `script` in order, then holds the next request open (as a quiet
    watch would) after setting `finished`; `requests` records what the informer asked."""

    def __init__(self, script: Script) -> None:
        self.requests: list[httpx.Request] = []
        self.finished = asyncio.Event()

        async def answer(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            if len(self.requests) > len(script):
                self.finished.set()
                await asyncio.Event().wait()  # hold the last watch open until the test cancels
            return script[len(self.requests) - 1](request)

        self.client = KubeClient(ClusterConfig(server="https://mock"), transport=httpx.MockTransport(answer), qps=0)


async def _run_script(script: Script, resource=ROLLOUTS, **kwargs) -> tuple[Informer, Recorder, list[httpx.Request]]:
    """Run an informer until it makes one request more than the script has; return what it did."""

    scripted = ScriptedClient(script)
    client, requests, finished = scripted.client, scripted.requests, scripted.finished
    informer = Informer(client, resource, label_selector="!x", **kwargs)
    recorder = Recorder()
    informer.add_handler(recorder.handler())
    task = asyncio.create_task(informer.run())
    await asyncio.wait_for(finished.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await client.aclose()
    return informer, recorder, requests


def _describe(request: httpx.Request) -> str:
    params = request.url.params
    if params.get("watch") == "true":
        assert params["allowWatchBookmarks"] == "true"
        return f"watch@{params.get('resourceVersion')}"
    if "continue" in params:
        return f"list+{params['continue']}"
    version = params.get("resourceVersion", "")
    return f"list@{version}" + (f"/limit={params['limit']}" if "limit" in params else "")


async def test_lists_from_the_watch_cache_then_watches_and_relists_from_the_last_version_when_it_is_gone() -> None:
    script: Script = [
        _list([_obj("a", "1"), _obj("b", "2")], "10"),
        _watch(
            {"type": "MODIFIED", "object": _obj("a", "11")},
            {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "12"}}},
            {
                "type": "ERROR",
                "object": {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"},
            },
        ),
        _list([_obj("a", "11"), _obj("c", "13")], "14"),
    ]
    informer, recorder, requests = await _run_script(script)
    # The first list asks for version 0 (the watch cache, in one piece); the re-list for the last version
    # seen, "not older than", still from the cache: neither is paged.
    assert [_describe(r) for r in requests] == ["list@0", "watch@10", "list@12", "watch@14"]
    assert all(r.url.params["labelSelector"] == "!x" for r in requests)
    assert recorder.seen == [
        ("add", "a@1"),
        ("add", "b@2"),
        ("update", "a@1->a@11"),
        ("add", "c@13"),  # found by the re-list
        ("delete", "b@2"),  # gone by the time of the re-list
    ]
    assert sorted(informer.keys()) == ["ns/a", "ns/c"]
    assert informer.resource_version == "14"
    assert informer.has_synced
    cached = informer.get("ns/a")
    assert cached is not None
    assert "managedFields" not in cached["metadata"]
    assert (cached["apiVersion"], cached["kind"]) == ("argoproj.io/v1alpha1", "Rollout")


async def test_a_relist_refused_as_expired_reads_consistently_in_pages(monkeypatch) -> None:
    monkeypatch.setattr(informer_module, "_BACKOFF_BASE", 0.001)
    gone = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}
    script: Script = [
        _list([_obj("a", "1")], "5"),
        lambda _: httpx.Response(410, json=gone),
        lambda _: httpx.Response(410, json=gone),  # even version 5 is no longer kept
        _list([_obj("a", "7")], "", cont="page2"),
        _list([_obj("b", "8")], "9"),
    ]
    informer, recorder, requests = await _run_script(script, page_size=1)
    assert [_describe(r) for r in requests] == ["list@0", "watch@5", "list@5", "list@/limit=1", "list+page2", "watch@9"]
    assert recorder.seen == [("add", "a@1"), ("update", "a@1->a@7"), ("add", "b@8")]
    assert informer.resource_version == "9"


async def test_a_410_answer_to_the_watch_request_relists() -> None:
    script: Script = [
        _list([_obj("a", "1")], "5"),
        lambda _: httpx.Response(410, json={"kind": "Status", "code": 410, "reason": "Expired"}),
        _list([_obj("a", "1")], "9"),
    ]
    _, recorder, requests = await _run_script(script)
    assert [_describe(r) for r in requests] == ["list@0", "watch@5", "list@5", "watch@9"]
    assert recorder.seen == [("add", "a@1")]  # unchanged on re-list: no spurious update


async def test_a_dropped_connection_resumes_the_watch_from_the_last_version(monkeypatch) -> None:
    monkeypatch.setattr(informer_module, "_BACKOFF_BASE", 0.001)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    script: Script = [
        _list([], "3"),
        _watch({"type": "ADDED", "object": _obj("a", "4")}),
        refuse,  # the API server is restarting
        lambda _: httpx.Response(503, json={"kind": "Status", "code": 503, "message": "starting"}),
        _watch({"type": "DELETED", "object": _obj("a", "6")}),
    ]
    before = K8S_REQUESTS.value("rollouts", "", "N/A", "Watch", "0")
    informer, recorder, requests = await _run_script(script)
    assert [_describe(r) for r in requests] == ["list@0", "watch@3", "watch@4", "watch@4", "watch@4", "watch@6"]
    assert recorder.seen == [("add", "a@4"), ("delete", "a@4")]
    assert len(informer) == 0
    assert K8S_REQUESTS.value("rollouts", "", "N/A", "Watch", "0") - before == 1


async def test_resync_redelivers_every_cached_object_as_an_update() -> None:
    script: Script = [_list([_obj("a", "1", "x"), _obj("b", "2", "y")], "5")]

    scripted = ScriptedClient(script)
    client = scripted.client
    informer = Informer(client, REPLICA_SETS, resync_period=0.05)
    recorder = Recorder()
    informer.add_handler(recorder.handler())
    task = asyncio.create_task(informer.run())
    await asyncio.wait_for(informer.wait_for_sync(), timeout=5)
    await asyncio.wait_for(recorder.two_updates.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await client.aclose()
    assert ("update", "a@1->a@1") in recorder.seen
    assert ("update", "b@2->b@2") in recorder.seen
    assert [o["metadata"]["name"] for o in informer.list("y")] == ["b"]
    assert informer.get("x/a") is not None
    assert informer.get("x/a")["kind"] == "ReplicaSet"  # list items of built-in kinds arrive without kind


async def test_a_failing_handler_does_not_stop_the_informer() -> None:
    script: Script = [_list([_obj("a", "1"), _obj("b", "2")], "5")]

    def explode(_: dict) -> None:
        raise RuntimeError("handler bug")

    scripted = ScriptedClient(script)
    client = scripted.client
    informer = Informer(client, ROLLOUTS)
    recorder = Recorder()
    informer.add_handler(EventHandler(on_add=explode))
    informer.add_handler(recorder.handler())
    task = asyncio.create_task(informer.run())
    await asyncio.wait_for(informer.wait_for_sync(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await client.aclose()
    assert recorder.seen == [("add", "a@1"), ("add", "b@2")]


async def test_a_silent_watch_is_reopened_at_once_from_the_last_version(caplog) -> None:
    def silent(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no bytes for 120 s", request=request)

    caplog.set_level(logging.INFO, logger="ramp.kube.informer")
    script: Script = [_list([], "3"), _watch({"type": "ADDED", "object": _obj("a", "4")}), silent]
    informer, _, requests = await _run_script(script)
    assert [_describe(r) for r in requests] == ["list@0", "watch@3", "watch@4", "watch@4"]
    assert "watch silent too long; reconnecting" in caplog.text
    assert "watch failed" not in caplog.text, "a dead connection is not a failure to back off from"
    assert informer.get("ns/a") is not None


async def test_an_unexpected_error_is_logged_and_the_informer_starts_again_from_a_fresh_list(
    monkeypatch, caplog
) -> None:
    monkeypatch.setattr(informer_module, "_BACKOFF_BASE", 0.001)
    calls = 0

    def buggy_index(obj: dict) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise KeyError("a bug")
        return [obj["metadata"]["name"]]

    script: Script = [_list([_obj("a", "1")], "5"), _list([_obj("a", "1")], "5")]

    scripted = ScriptedClient(script)
    client, requests = scripted.client, scripted.requests
    informer = Informer(client, ROLLOUTS)
    informer.add_index("by-name", buggy_index)
    task = asyncio.create_task(informer.run())
    await informer.wait_for_sync()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await client.aclose()
    assert [_describe(r) for r in requests[:2]] == ["list@0", "list@0"]
    assert "informer failed unexpectedly" in caplog.text
    assert "KeyError: 'a bug'" in caplog.text, "logged with its traceback"
    assert [o["metadata"]["name"] for o in informer.by_index("by-name", "a")] == ["a"]


def _pointing_at(name: str, rv: str, *services: str) -> dict:
    return {**_obj(name, rv), "spec": {"services": list(services)}}


async def test_an_index_follows_adds_updates_deletes_and_relists() -> None:
    script: Script = [
        _list([_pointing_at("r1", "1", "web"), _pointing_at("r2", "2", "web", "api")], "5"),
        _watch(
            {"type": "MODIFIED", "object": _pointing_at("r1", "6", "api")},
            {"type": "DELETED", "object": _pointing_at("r2", "7", "web", "api")},
            {"type": "ADDED", "object": _pointing_at("r3", "8", "web")},
            {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}},
        ),
        _list([_pointing_at("r3", "8", "web")], "9"),
    ]
    seen_by_index: list[tuple[list[str], list[str]]] = []

    def snapshot(informer: Informer) -> None:
        web = sorted(o["metadata"]["name"] for o in informer.by_index("services", "ns/web"))
        api = sorted(o["metadata"]["name"] for o in informer.by_index("services", "ns/api"))
        seen_by_index.append((web, api))

    scripted = ScriptedClient(script)
    client, finished = scripted.client, scripted.finished
    informer = Informer(client, ROLLOUTS)
    informer.add_index("services", lambda o: [f"ns/{s}" for s in o["spec"]["services"]])
    informer.add_handler(
        EventHandler(
            on_add=lambda _: snapshot(informer),
            on_update=lambda _, __: snapshot(informer),
            on_delete=lambda _: snapshot(informer),
        )
    )
    task = asyncio.create_task(informer.run())
    await finished.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await client.aclose()
    assert seen_by_index == [
        (["r1", "r2"], ["r2"]),  # listed (handlers run after the whole list is in the cache)
        (["r1", "r2"], ["r2"]),
        (["r2"], ["r1", "r2"]),  # r1 moved from web to api
        ([], ["r1"]),  # r2 deleted
        (["r3"], ["r1"]),  # r3 added
        (["r3"], []),  # the re-list found r1 gone
    ]
