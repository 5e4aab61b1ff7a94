"""The whole adversarial corpus against the real reconcilers, while ordinary rollouts progress beside it
(issue 13: one tenant cannot stall everyone).

Given a cluster-wide controller with leader election on (so it holds a Lease), and in one namespace a canary
Rollout with steps and a rolling one, both Healthy;
When both update to a new image and, in another namespace, every corpus input is applied as the object that
reaches a reconciler (tests/adversarial/objects.py: AnalysisRuns, Rollouts, Experiments; a few kubectl calls of
many objects each);
Then each bad object gets its InvalidSpec condition or Error run naming the budget or field it broke (or the API
server refuses it naming the field), each good one is accepted; the canary is promoted and both ordinary
rollouts go Healthy on the new image; `/healthz` answered 200 every time a thread asked; the Lease never changed
hands and the log never says "lease lost"; the controller never exited; and its loop monitor says the event
loop was never held more than 50 ms by one callback (CPU on the loop's thread) while the corpus and the updates
ran. (The monitor's tick figures, also reported, cannot tell one long callback from many short ones when a busy
machine makes a tick wait hundreds of ms; the per-callback figure can, whatever the load.)

Figures (apply-to-condition times, the worst loop hold and wall lag) are printed and written to
build/e2e/adversarial-cluster.json. Wall time is reported, never asserted beyond the generous waits.
"""

from __future__ import annotations

import copy
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.adversarial.corpus import load_entries, load_pure_entries
from tests.adversarial.objects import CorpusObject, check_template, corpus_objects
from tests.e2e.gates import RampGates
from tests.e2e.harness import (
    INSTANCE_ID_LABEL,
    Cluster,
    ControllerProcess,
    KubectlError,
    build_dir,
    instance_id_for,
    wait_until,
)
from tests.e2e.scenario import Scenario

pytestmark = pytest.mark.cluster

CONTROLLER_NAMESPACE = "argo-rollouts"
OLD, NEW = "nginx:1.27", "nginx:1.28"
BATCH = 40
HELD_LIMIT = 0.05
TERMINAL_RUN_PHASES = ("Successful", "Failed", "Error", "Inconclusive")
PLURALS = {"Rollout": "rollouts", "AnalysisRun": "analysisruns", "Experiment": "experiments"}


class CorpusEndpoint:
    """The web metrics the corpus AnalysisRuns read: each path answers its JSON document (404 otherwise), to
    GET, POST and PUT alike (a POSTed body is read and dropped)."""

    def __init__(self, documents: dict[str, Any]) -> None:
        self.documents = documents
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                document = endpoint.documents.get(self.path)
                body = json.dumps(document).encode()
                self.send_response(200 if self.path in endpoint.documents else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def url_of(server: ThreadingHTTPServer) -> Callable[[str], str]:
        return lambda path: f"http://127.0.0.1:{server.server_address[1]}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def corpus_namespace(cluster: Cluster, namespace: str) -> Iterator[str]:
    """A second namespace whose argoproj objects carry the same instance id as the test's namespace."""
    name = cluster.create_namespace("adversarial-corpus")
    cluster.instance_ids[name] = instance_id_for(namespace)
    yield name
    cluster.instance_ids.pop(name, None)
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


class Watch:
    """A thread asking /healthz every 0.2 s and reading the Lease holder every second."""

    def __init__(self, cluster: Cluster, controller: ControllerProcess, lease: str) -> None:
        self.healthz_ok = 0
        self.healthz_failures: list[str] = []
        self.holders: list[str] = []
        self.lease_errors: list[str] = []
        self._stop = threading.Event()
        self._cluster, self._controller, self._lease = cluster, controller, lease
        self._thread = threading.Thread(target=self._run, name="watch", daemon=True)

    def _run(self) -> None:
        url = f"http://127.0.0.1:{self._controller.healthz_port}/healthz"
        next_lease = 0.0
        while not self._stop.is_set():
            try:
                answer = httpx.get(url, timeout=5)
                if answer.status_code == 200:
                    self.healthz_ok += 1
                else:
                    self.healthz_failures.append(f"HTTP {answer.status_code}")
            except httpx.HTTPError as failure:
                self.healthz_failures.append(repr(failure))
            if time.monotonic() >= next_lease:
                next_lease = time.monotonic() + 1.0
                try:
                    lease = self._cluster.get("lease", self._lease, CONTROLLER_NAMESPACE)
                    self.holders.append(str(lease["spec"].get("holderIdentity")))
                except KubectlError as failure:
                    self.lease_errors.append(str(failure))
            self._stop.wait(0.2)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def verdict(item: CorpusObject, obj: dict[str, Any]) -> tuple[bool, str | None]:
    """(settled, problem): whether Ramp has answered the object yet, and what is wrong with the answer if so."""
    status = obj.get("status") or {}
    texts = list(_strings(status))
    named = item.expect == "ok" or any(want in text for want in (item.expect, *item.also) for text in texts)
    excused = any(want in text for want in item.also for text in texts)
    if item.kind == "Rollout":
        if str(status.get("observedGeneration")) != str(obj["metadata"]["generation"]):
            return False, None
        invalid = next(
            (c for c in status.get("conditions") or [] if c.get("type") == "InvalidSpec" and c.get("status") == "True"),
            None,
        )
        if item.expect == "ok":
            if invalid is not None and not any(want in str(invalid.get("message")) for want in item.also):
                return True, f"refused a good input: {invalid.get('message')}"
            if invalid is not None:
                return True, None
            return (status.get("phase") == "Healthy"), None
        if invalid is None:
            return False, None
        message = str(invalid.get("message"))
        field = item.expect if item.expect.startswith("spec") else None
        if not (item.expect in message or (field is None and message.startswith("spec"))):
            return True, f"InvalidSpec does not name {item.expect!r}: {message[:300]}"
        return True, None
    if item.kind == "AnalysisRun":
        phase = status.get("phase")
        if phase not in TERMINAL_RUN_PHASES:
            return False, None
        if item.expect == "ok":
            good = phase != "Error" or excused
            return True, None if good else f"a good input ended in Error: {status.get('message')}"
        if phase != "Error":
            return True, f"phase {phase}, not Error"
        return True, None if named else f"no message names {item.expect!r}: {[t[:200] for t in texts][:6]}"
    # Experiment
    runs = status.get("analysisRuns") or []
    if item.expect == "ok":
        created = [run for run in runs if run.get("analysisRun")]
        if created:
            return True, None
        if status.get("phase") in ("Error", "Failed"):
            return True, f"a good input ended {status.get('phase')}: {status.get('message')}"
        return False, None
    if named:
        return True, None
    if status.get("phase") in ("Error", "Failed", "Successful"):
        return True, f"no message names {item.expect!r}: {texts[:6]}"
    return False, None


def _lone_surrogates_replaced(text: str) -> str:
    """JSON text with each lone surrogate escape as U+FFFD: what the API server's JSON decoder makes of it, and
    kubectl's YAML reader refuses the escape outright."""
    text = re.sub(r"\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])", r"\\ufffd", text)
    return re.sub(r"(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}", r"\\ufffd", text)


def _stamp(text: Any) -> datetime | None:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")) if text else None


def stamped_seconds(obj: dict[str, Any]) -> float | None:
    """Seconds from the object's creation to Ramp's answer, by the timestamps written (whole seconds): the run's
    completedAt, else the newest condition's lastTransitionTime."""
    status = obj.get("status") or {}
    created = _stamp(obj["metadata"].get("creationTimestamp"))
    stamps = [_stamp(status.get("completedAt"))] + [
        _stamp(c.get("lastTransitionTime")) for c in status.get("conditions") or []
    ]
    answered = next((stamp for stamp in stamps if stamp is not None), None)
    return None if created is None or answered is None else (answered - created).total_seconds()


def _apply(cluster: Cluster, namespace: str, items: list[CorpusObject]) -> tuple[float, dict[str, str]]:
    """Apply `items` with one kubectl call; returns when the call started and the objects the API refused."""
    started = time.monotonic()
    refused: dict[str, str] = {}
    # JSON documents (kubectl's YAML reader refuses some escapes the corpus needs, such as a lone surrogate),
    # already labelled with the instance id so `cluster.apply` passes them on unchanged.
    label = {INSTANCE_ID_LABEL: cluster.instance_ids[namespace]}
    documents = []
    for item in items:
        manifest = copy.deepcopy(item.manifest)
        manifest["metadata"]["labels"] = {**manifest["metadata"].get("labels", {}), **label}
        documents.append(_lone_surrogates_replaced(json.dumps(manifest)))
    try:
        cluster.apply("\n---\n".join(documents), namespace, server_side=True)
    except KubectlError as error:
        for match in re.finditer(r'"([a-z0-9-]+)" is invalid: ([^\n]*)', str(error)):
            refused[match.group(1)] = match.group(2)
        if not refused:
            raise
    return started, refused


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.MULTILINE)
    assert match, f"{name} not on /metrics"
    return float(match.group(1))


def _over(text: str, histogram: str, bound: str = "0.05") -> float:
    """How many observations of `histogram` were above `bound` (its count minus the bucket at `bound`)."""
    return _metric(text, f"{histogram}_count") - _metric(text, f'{histogram}_bucket{{le="{bound}"}}')


def test_the_adversarial_corpus_never_stalls_the_controller_or_the_rollouts_beside_it(
    cluster: Cluster,
    namespace: str,
    corpus_namespace: str,
    start_controller: Callable[..., ControllerProcess],
) -> None:
    load_at_start = list(os.getloadavg())
    instance = instance_id_for(namespace)
    controller = start_controller()  # cluster-wide, leader election on (the default), the test's instance id
    controller.wait_for_log("leader acquired", timeout=60)
    controller.wait_for_log("workers started", timeout=90)
    lease = f"argo-rollouts-controller-lock-{instance}"
    holder = cluster.get("lease", lease, CONTROLLER_NAMESPACE)["spec"]["holderIdentity"]
    s = Scenario(cluster, namespace)
    gates = RampGates(cluster, namespace)
    # Given a canary with steps and a rolling canary, both Healthy
    s.given_rollout("canary", image=OLD, replicas=4, canary={"steps": [{"setWeight": 50}, {"pause": {}}]})
    s.given_rollout("rolling", image=OLD, replicas=4, canary={"maxSurge": 1, "maxUnavailable": 0})
    s.then_phase("canary", "Healthy")
    s.then_phase("rolling", "Healthy")
    endpoint = CorpusEndpoint({})
    try:
        objects, documents = corpus_objects(CorpusEndpoint.url_of(endpoint.server))
        endpoint.documents.update(documents)
        corpus = Scenario(cluster, corpus_namespace)
        corpus.given(json.dumps(check_template(CorpusEndpoint.url_of(endpoint.server))))
        before = controller.metrics()
        log_offset = len(controller.log())
        applied_at: dict[str, float] = {}
        refused: dict[str, str] = {}
        settled_at: dict[str, float] = {}
        stamped: dict[str, float | None] = {}
        problems: dict[str, str] = {}
        with Watch(cluster, controller, lease) as watch:
            # When both ordinary rollouts update
            gates.set_image("canary", "app", NEW)
            gates.set_image("rolling", "app", NEW)
            # And every corpus input is applied beside them, many objects per kubectl call
            for start in range(0, len(objects), BATCH):
                batch = objects[start : start + BATCH]
                started, batch_refused = _apply(cluster, corpus_namespace, batch)
                refused.update(batch_refused)
                applied_at.update({item.name: started for item in batch})
            # Then each object is answered: a condition or Error naming its budget or field (or the API refuses it)
            by_name = {item.name: item for item in objects}

            def all_settled() -> bool:
                for kind, plural in PLURALS.items():
                    for obj in cluster.list(plural, corpus_namespace):
                        item = by_name.get(obj["metadata"]["name"])
                        if item is None or item.kind != kind or item.name in settled_at:
                            continue
                        done, problem = verdict(item, obj)
                        if done:
                            settled_at[item.name] = time.monotonic()
                            stamped[item.entry_id + "/" + item.name] = stamped_seconds(obj)
                            if problem:
                                problems[item.name] = f"{item.entry_id}: {problem}"
                return all(item.name in settled_at or item.name in refused for item in objects)

            wait_until(
                all_settled,
                240,
                "every corpus object answered",
                interval=0.5,
            )
            # And the ordinary rollouts progress as if alone: the canary pauses at 50%, is promoted, both go Healthy
            s.then_phase("canary", "Paused", timeout=90)
            gates.promote("canary")
            s.then_phase("canary", "Healthy", timeout=90)
            s.then_phase("rolling", "Healthy", timeout=90)
            s.then_ready_images("app=canary", {NEW: 4}, timeout=90)
            s.then_ready_images("app=rolling", {NEW: 4}, timeout=90)
        after = controller.metrics()
    finally:
        endpoint.stop()
    log = controller.log()

    times = sorted(
        ((settled_at[name] - applied_at[name], by_name[name].entry_id) for name in settled_at),
        reverse=True,
    )
    held_max, lag_max = (
        _metric(after, "ramp_event_loop_held_seconds_max"),
        _metric(after, "ramp_event_loop_lag_seconds_max"),
    )
    figures = {
        "inputs": len(load_pure_entries()) + len(load_entries()),
        "objects": len(objects),
        "refused_by_api": len(refused),
        # Seen by this test's polling, which starts once every batch is applied: an upper bound, loose by the
        # time the batches took to apply; the timestamps Ramp wrote give the tighter figure below.
        "worst_batch_start_to_seen_seconds": round(times[0][0], 2) if times else None,
        "worst_created_to_answer_seconds_by_timestamps": max(
            (t for t in stamped.values() if t is not None), default=None
        ),
        "worst_by_timestamps": sorted(((t, key) for key, t in stamped.items() if t is not None), reverse=True)[:5],
        "load_average_at_start_and_end": [load_at_start, list(os.getloadavg())],
        "loop_held_max_seconds_since_start": held_max,
        "loop_lag_max_seconds_since_start": lag_max,
        "loop_held_over_50ms_during_corpus": _over(after, "ramp_event_loop_held_seconds")
        - _over(before, "ramp_event_loop_held_seconds"),
        "loop_lag_over_50ms_during_corpus": _over(after, "ramp_event_loop_lag_seconds")
        - _over(before, "ramp_event_loop_lag_seconds"),
        "callback_held_max_seconds_since_start": _metric(after, "ramp_event_loop_callback_seconds_max"),
        "callbacks_over_50ms_during_corpus": _metric(after, "ramp_event_loop_slow_callbacks_total")
        - _metric(before, "ramp_event_loop_slow_callbacks_total"),
        "healthz_answers": watch.healthz_ok,
        "lease_reads": len(watch.holders),
        "wrong_answers": problems,
        "refused": {by_name[name].entry_id: message[:200] for name, message in refused.items()},
        "held_warnings": [line for line in log[log_offset:].splitlines() if "event loop held" in line][:10],
        "slow_callbacks": [line for line in log[log_offset:].splitlines() if "event loop callback held" in line][:10],
    }
    (build_dir() / "adversarial-cluster.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))

    assert not problems, f"{len(problems)} objects answered wrongly: " + "; ".join(list(problems.values())[:8])
    for name, message in refused.items():
        assert by_name[name].api_refuses, f"{by_name[name].entry_id} refused by the API server: {message}"
    # And /healthz answered every time, and the Lease never changed hands
    assert watch.healthz_ok >= 20 and not watch.healthz_failures, watch.healthz_failures[:5]
    assert watch.holders and set(watch.holders) == {holder}, sorted(set(watch.holders))
    assert "lease lost" not in log
    # And the controller never exited
    assert controller.alive
    # And while the corpus and the updates ran, no callback held its event loop more than 50 ms (CPU on the loop's
    # own thread; counted between the scrapes before and after). The since-start maximum printed above also
    # covers start-up (the first list of every watched kind of the whole cluster).
    slow = figures["callbacks_over_50ms_during_corpus"]
    assert slow == 0, (
        f"{slow:.0f} event-loop callbacks held it over {HELD_LIMIT * 1000:.0f} ms while the corpus ran: "
        f"{figures['slow_callbacks']}"
    )
